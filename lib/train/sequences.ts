/**
 * Training sequences: a prompt's tokens followed by a response's, the response ending in EOS. Prompt and
 * response are tokenized apart (the prompt exactly as apply_chat_template(tokenize=True) would, without
 * adding special tokens, since the rendered prompt already holds them), so the boundary between them is
 * never moved by a merge across it.
 *
 * Truncation follows open-instruct, which the Genius reference trains with (encode_sft_example, then a
 * filter): the concatenation is cut to its first `maxLength` tokens, which keeps the whole prompt and drops
 * the end of the response; an example left with no response token at all (a prompt of maxLength tokens or
 * more) is dropped, and for a pair, the pair. Both are counted.
 */
import { invalidArgument } from '../errors';
import { Tokenizer } from '../text/tokenizer';
import type { PreferencePair } from '../data/pairs';
import type { SftExample } from '../data/sft-examples';
import type { NativeSequences } from '../native-types';

export interface TrainingSequence {
  tokens: Int32Array;
  /** The first promptLength tokens are the prompt; the rest, the response, are the ones trained on. */
  promptLength: number;
}

export interface TrainingPair {
  chosen: TrainingSequence;
  rejected: TrainingSequence;
  /** A_w (0 when the pair has none; only ACO reads it). */
  chosenAdvantage: number;
  /** A_l. */
  rejectedAdvantage: number;
}

export interface EncodeOptions {
  /** Longest sequence, prompt included. */
  maxLength: number;
  /** Appended to every response; undefined appends nothing. */
  eosTokenId?: number;
}

/** What encoding did to the data. */
export interface EncodeReport {
  /** Examples (pairs) of which a response lost tokens to maxLength. */
  truncated: number;
  /** Examples (pairs) dropped for keeping no response token, or for an empty prompt. */
  dropped: number;
}

type Encoded = { sequence: TrainingSequence; truncated: boolean } | undefined;

function encodeSequence(tokenizer: Tokenizer, prompt: string, response: string, options: EncodeOptions): Encoded {
  const promptIds = tokenizer.encode(prompt, { addSpecialTokens: false });
  const responseIds = tokenizer.encode(response, { addSpecialTokens: false });
  if (options.eosTokenId !== undefined) responseIds.push(options.eosTokenId);
  const length = Math.min(promptIds.length + responseIds.length, options.maxLength);
  // The first response token is predicted from the last prompt token: there must be one.
  if (promptIds.length === 0 || length <= promptIds.length) return undefined;
  const tokens = new Int32Array(length);
  tokens.set(promptIds);
  tokens.set(responseIds.slice(0, length - promptIds.length), promptIds.length);
  return {
    sequence: { tokens, promptLength: promptIds.length },
    truncated: length < promptIds.length + responseIds.length,
  };
}

/** The arguments of encodePairs and encodeSftExamples, checked. */
function checkArguments(tokenizer: Tokenizer, examples: unknown, name: string, options: EncodeOptions): void {
  Tokenizer.check(tokenizer);
  if (!Array.isArray(examples)) invalidArgument(name, 'an array');
  if (typeof options !== 'object' || options === null) invalidArgument('options', 'an object with maxLength');
  if (options.eosTokenId !== undefined && !Number.isInteger(options.eosTokenId)) {
    invalidArgument('eosTokenId', 'a token id');
  }
  if (!Number.isInteger(options.maxLength) || options.maxLength < 2) invalidArgument('maxLength', 'an integer >= 2');
}

export function encodePairs(
  tokenizer: Tokenizer,
  pairs: readonly PreferencePair[],
  options: EncodeOptions,
): { pairs: TrainingPair[]; report: EncodeReport } {
  checkArguments(tokenizer, pairs, 'pairs', options);
  const encoded: TrainingPair[] = [];
  const report: EncodeReport = { truncated: 0, dropped: 0 };
  for (const pair of pairs) {
    const chosen = encodeSequence(tokenizer, pair.prompt, pair.chosen[0].content, options);
    const rejected = encodeSequence(tokenizer, pair.prompt, pair.rejected[0].content, options);
    if (chosen === undefined || rejected === undefined) {
      report.dropped += 1;
      continue;
    }
    if (chosen.truncated || rejected.truncated) report.truncated += 1;
    encoded.push({
      chosen: chosen.sequence,
      rejected: rejected.sequence,
      chosenAdvantage: pair.chosen_weights ?? 0,
      rejectedAdvantage: pair.rejected_weights ?? 0,
    });
  }
  return { pairs: encoded, report };
}

export function encodeSftExamples(
  tokenizer: Tokenizer,
  examples: readonly SftExample[],
  options: EncodeOptions,
): { sequences: TrainingSequence[]; report: EncodeReport } {
  checkArguments(tokenizer, examples, 'examples', options);
  const sequences: TrainingSequence[] = [];
  const report: EncodeReport = { truncated: 0, dropped: 0 };
  for (const example of examples) {
    const encoded = encodeSequence(tokenizer, example.prompt, example.response, options);
    if (encoded === undefined) {
      report.dropped += 1;
      continue;
    }
    if (encoded.truncated) report.truncated += 1;
    sequences.push(encoded.sequence);
  }
  return { sequences, report };
}

/** @internal Sequences in the flat layout native calls take. */
export function packSequences(sequences: readonly TrainingSequence[]): NativeSequences {
  const lengths = Int32Array.from(sequences, (sequence) => sequence.tokens.length);
  const tokens = new Int32Array(lengths.reduce((total, length) => total + length, 0));
  let offset = 0;
  for (const sequence of sequences) {
    tokens.set(sequence.tokens, offset);
    offset += sequence.tokens.length;
  }
  return { tokens, lengths, promptLengths: Int32Array.from(sequences, (sequence) => sequence.promptLength) };
}

/** The longest training sequence: `maxLength`, within the model's positions (a longer one cannot be run). */
export function sequenceLimit(maxLength: number, model: { config: { maxPositions: number } }): number {
  return Math.min(maxLength, model.config.maxPositions);
}
