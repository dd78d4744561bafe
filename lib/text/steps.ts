/**
 * Genius steps: a response is a sequence of steps, one per line, and each step is sampled from a prompt
 * holding the query (as the chat template's user turn, with an open assistant turn), the preamble
 * "The reasoning steps are:\n\n" and the steps so far (docs/algorithm.md, "Exploration").
 */
import { invalidArgument } from '../errors';
import type { ChatTemplateArgs } from './chat-template-args';
import { Tokenizer } from './tokenizer';

/** The text that opens every Genius response, before the first step. */
export const STEP_PREAMBLE = 'The reasoning steps are:\n\n';

/** The steps of a response: its lines, without the blank ones (a blank line carries no step). */
export function splitSteps(text: string): string[] {
  if (typeof text !== 'string') invalidArgument('text', 'a string');
  return text.split('\n').filter((line) => line.trim() !== '');
}

/**
 * The text of `steps`, each ended by the '\n' that stopped its sampling, so that the next step starts on
 * a fresh line: splitSteps(joinSteps(steps)) gives the (non-blank) steps back.
 */
export function joinSteps(steps: readonly string[]): string {
  if (!Array.isArray(steps)) invalidArgument('steps', 'an array of strings');
  steps.forEach((step, index) => {
    if (typeof step !== 'string' || step.includes('\n')) invalidArgument(`steps[${index}]`, 'a string of one line');
  });
  return steps.map((step) => `${step}\n`).join('');
}

/**
 * `text` as the user turn of the chat template (rendered with `chatTemplate`'s kwargs and time), with the assistant
 * turn opened: what a chat model answers.
 */
export function chatPrompt(tokenizer: Tokenizer, text: string, chatTemplate: ChatTemplateArgs = {}): string {
  Tokenizer.check(tokenizer);
  if (typeof text !== 'string') invalidArgument('text', 'a string');
  return tokenizer.applyChatTemplate([{ role: 'user', content: text }], { ...chatTemplate, addGenerationPrompt: true });
}

/** The prompt from which the next step (after `steps`) of the response to `query` is sampled. */
export function stepPrompt(
  tokenizer: Tokenizer,
  query: string,
  steps: readonly string[] = [],
  chatTemplate: ChatTemplateArgs = {},
): string {
  Tokenizer.check(tokenizer);
  if (typeof query !== 'string') invalidArgument('query', 'a string');
  return chatPrompt(tokenizer, query, chatTemplate) + STEP_PREAMBLE + joinSteps(steps);
}

/**
 * The token ids of a response's first step prompt. The chat template writes its own special tokens, so the
 * tokenizer adds none (a second BOS would change what the model sees).
 */
export function encodeStepPrompt(tokenizer: Tokenizer, query: string, chatTemplate: ChatTemplateArgs = {}): number[] {
  return tokenizer.encode(stepPrompt(tokenizer, query, [], chatTemplate), { addSpecialTokens: false });
}
