/**
 * --chat-template-kwargs, one definition for every command that renders a chat template: variables for the template
 * as JSON, under vLLM's name for them (transformers' apply_chat_template(**kwargs)).
 */
import type { Argv } from 'yargs';
import { checkChatTemplateKwargs } from '../lib/text/chat-template-args';
import { UsageError } from './usage';

export interface ChatTemplateFlagArgs {
  'chat-template-kwargs'?: Record<string, unknown>;
}

const FLAG = '--chat-template-kwargs';

/** The flag's JSON, parsed and checked: a mistake is a usage error naming the flag. */
function parseKwargs(text: string): Record<string, unknown> {
  let kwargs: unknown;
  try {
    kwargs = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${FLAG} must be JSON, as '{"enable_thinking": false}' (${(error as Error).message})`);
  }
  checkChatTemplateKwargs(kwargs, FLAG);
  return kwargs;
}

export function chatTemplateFlags<T>(yargs: Argv<T>, describe: string): Argv<T & ChatTemplateFlagArgs> {
  return yargs.option('chat-template-kwargs', {
    type: 'string',
    coerce: parseKwargs,
    describe: `${describe}: a JSON object of chat-template variables, as '{"enable_thinking": false}' (tools, documents, date_string, ...)`,
  }) as unknown as Argv<T & ChatTemplateFlagArgs>;
}
