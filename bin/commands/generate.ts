/** `genius-native generate`: sample continuations of prompts with a Hugging Face model directory. */
import type { CommandModule } from 'yargs';
import {
  Model,
  Tokenizer,
  chatPrompt,
  endOfResponseIds,
  readGenerationDefaults,
  resolveSampling,
  responseText,
  stopStringMask,
  trimAtStop,
} from '../../lib';
import { readJsonLineRecords, recordObject, RecordError } from '../../lib/data/jsonl';
import { generationConfigFields } from '../../lib/model/generation-defaults';
import { UsageError } from '../usage';
import { adapterFlag, type AdapterArgs } from '../lora-flags';
import { placementFlags, type PlacementArgs } from '../placement-flags';
import { chatTemplateFlags, chatTemplateKwargsOf, type ChatTemplateFlagArgs } from '../chat-template-flags';

interface GenerateArgs extends PlacementArgs, AdapterArgs, ChatTemplateFlagArgs {
  model: string;
  prompt?: string;
  input?: string;
  chat: boolean;
  'max-tokens': number;
  temperature?: number;
  'top-p'?: number;
  'top-k'?: number;
  'min-p'?: number;
  'repetition-penalty'?: number;
  n: number;
  stop: string[];
  seed: number;
  'skip-bad': boolean;
  json: boolean;
}

/** A line of an --input file: its `prompt`, else its `instruction` (a query file's). */
function promptOf(value: unknown): { prompt: string } {
  const record = recordObject(value);
  const prompt = record.prompt ?? record.instruction;
  if (typeof prompt !== 'string') throw new RecordError('needs a string field "prompt" or "instruction"');
  return { prompt };
}

/** Prompts from --prompt or a JSONL file of {prompt} or {instruction} objects. */
async function readPrompts(args: GenerateArgs): Promise<string[]> {
  if (args.prompt !== undefined) return [args.prompt];
  const read = await readJsonLineRecords(args.input as string, promptOf, { skipBad: args['skip-bad'] });
  return read.records.map((record) => record.prompt);
}

export const generateCommand: CommandModule<object, GenerateArgs> = {
  command: 'generate',
  describe: 'Sample continuations of prompts with a model directory',
  builder: (yargs) =>
    chatTemplateFlags(adapterFlag(placementFlags(yargs)), 'with --chat')
      .option('model', { type: 'string', demandOption: true, describe: 'Hugging Face model directory' })
      .option('prompt', { type: 'string', describe: 'one prompt text' })
      .option('input', { type: 'string', describe: 'JSONL file of {"prompt"} or {"instruction"} objects' })
      .conflicts('prompt', 'input')
      .check((args) => {
        if (args.prompt === undefined && args.input === undefined) throw new UsageError('give --prompt or --input');
        if (args['chat-template-kwargs'] !== undefined && !args.chat) {
          throw new UsageError('--chat-template-kwargs renders the chat template: give --chat too');
        }
        return true;
      })
      .option('chat', { type: 'boolean', default: false, describe: 'wrap each prompt in the chat template' })
      .option('max-tokens', { type: 'number', default: 128, describe: 'new tokens at most per sample' })
      .option('temperature', { type: 'number', describe: "0 is greedy (default: generation_config.json's, else 1)" })
      .option('top-p', { type: 'number', describe: "default: generation_config.json's, else 1" })
      .option('top-k', { type: 'number', describe: "0 disables (default: generation_config.json's, else 0)" })
      .option('min-p', {
        type: 'number',
        describe: "drop tokens below min-p × the top one's probability (default: generation_config.json's, else 0)",
      })
      .option('repetition-penalty', {
        type: 'number',
        describe: "> 0: penalise tokens seen in the prompt or sample (default: generation_config.json's, else 1)",
      })
      .option('n', { type: 'number', default: 1, describe: 'samples per prompt' })
      .option('stop', { type: 'string', array: true, default: [], describe: 'stop string (repeatable)' })
      .option('seed', { type: 'number', default: 0 })
      .option('skip-bad', { type: 'boolean', default: false, describe: 'skip malformed --input lines' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'JSON lines: the sampling settings used, then one object per sample',
      }),
  handler: async (args) => {
    const sampling = resolveSampling(
      {
        temperature: args.temperature,
        topP: args['top-p'],
        topK: args['top-k'],
        minP: args['min-p'],
        repetitionPenalty: args['repetition-penalty'],
      },
      readGenerationDefaults(args.model),
    );
    const texts = await readPrompts(args);
    const tokenizer = await Tokenizer.fromDir(args.model);
    using model = await Model.load(args.model, { device: args.device, dtype: args.dtype, adapter: args.adapter });
    tokenizer.checkFits(model);
    // The chat template writes its own special tokens; a plain prompt gets the tokenizer's (BOS, say).
    const prompts = texts.map((text) =>
      args.chat
        ? tokenizer.encode(chatPrompt(tokenizer, text, { kwargs: chatTemplateKwargsOf(args) }), {
            addSpecialTokens: false,
          })
        : tokenizer.encode(text),
    );
    const eosTokenIds = endOfResponseIds(model, tokenizer);
    const used = generationConfigFields(sampling);
    if (args.json) console.log(JSON.stringify({ event: 'settings', ...used }));
    else
      console.error(
        `sampling with ${Object.entries(used)
          .map(([name, value]) => `${name} ${value}`)
          .join(', ')}`,
      );
    const result = await model.generate(prompts, {
      n: args.n,
      maxNewTokens: args['max-tokens'],
      ...sampling,
      seed: args.seed,
      eosTokenIds,
      stopTokenMask: args.stop.length > 0 ? stopStringMask(tokenizer, args.stop, model.config.vocabSize) : undefined,
    });
    for (const sample of result.samples) {
      const { text } = trimAtStop(responseText(tokenizer, sample.tokens), args.stop);
      if (args.json) {
        console.log(
          JSON.stringify({
            event: 'sample',
            prompt_index: sample.input,
            text,
            token_ids: Array.from(sample.tokens),
            logprobs: Array.from(sample.logprobs),
            finish_reason: sample.finishReason,
          }),
        );
      } else {
        console.log(`--- prompt ${sample.input} (${sample.finishReason}, ${sample.tokens.length} tokens)\n${text}`);
      }
    }
  },
};
