/**
 * --chat-template-kwargs, one definition for every command that renders a chat template: variables for the template
 * as JSON, under vLLM's name for them (transformers' apply_chat_template(**kwargs)).
 */
import type { Argv } from 'yargs';
import { checkChatTemplateKwargs } from '../lib/text/chat-template-args';
import { UsageError } from './usage';

export interface ChatTemplateFlagArgs {
  'chat-template-kwargs'?: string;
}

const FLAG = '--chat-template-kwargs';

/** The flag's template variables, parsed and checked (undefined without the flag): a mistake names the flag. */
export function chatTemplateKwargsOf(args: ChatTemplateFlagArgs): Record<string, unknown> | undefined {
  const text = args['chat-template-kwargs'];
  if (text === undefined) return undefined;
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
  return (
    yargs
      .option('chat-template-kwargs', {
        type: 'string',
        describe: `a JSON object of chat-template variables, as '{"enable_thinking": false}' (tools, documents, date_string, ...): ${describe}`,
      })
      // Checked with the other flags, before the command does anything (yargs' coerce would drop the error's code).
      .check((args) => {
        chatTemplateKwargsOf(args as ChatTemplateFlagArgs);
        return true;
      }) as unknown as Argv<T & ChatTemplateFlagArgs>
  );
}
