/** `genius-native generate`: sample continuations of prompts with a Hugging Face model directory. */
import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { GeniusError, ErrorCode, Model, Tokenizer, stopStringMask, trimAtStop, type DType } from '../../lib';

interface GenerateArgs {
  model: string;
  prompt?: string;
  input?: string;
  chat: boolean;
  'max-tokens': number;
  temperature: number;
  'top-p': number;
  'top-k': number;
  n: number;
  stop: string[];
  seed: number;
  device: string;
  dtype?: DType;
  json: boolean;
}

/** Prompts from --prompt or a JSONL file of {prompt} or {instruction} objects. */
function readPrompts(args: GenerateArgs): string[] {
  if (args.prompt !== undefined) return [args.prompt];
  const file = args.input as string;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new GeniusError(ErrorCode.BadFile, `${file}: cannot read (${(error as Error).message})`);
  }
  return text
    .split('\n')
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line.length > 0)
    .map(({ line, number }) => {
      let record: { prompt?: unknown; instruction?: unknown };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        throw new GeniusError(ErrorCode.BadFile, `${file}:${number}: not valid JSON`);
      }
      const prompt = record.prompt ?? record.instruction;
      if (typeof prompt !== 'string') {
        throw new GeniusError(ErrorCode.BadFile, `${file}:${number}: needs a string field "prompt" or "instruction"`);
      }
      return prompt;
    });
}

export const generateCommand: CommandModule<object, GenerateArgs> = {
  command: 'generate',
  describe: 'Sample continuations of prompts with a model directory',
  builder: (yargs) =>
    yargs
      .option('model', { type: 'string', demandOption: true, describe: 'Hugging Face model directory' })
      .option('prompt', { type: 'string', describe: 'one prompt text' })
      .option('input', { type: 'string', describe: 'JSONL file of {"prompt"} or {"instruction"} objects' })
      .conflicts('prompt', 'input')
      .check((args) => {
        if (args.prompt === undefined && args.input === undefined) throw new Error('give --prompt or --input');
        return true;
      })
      .option('chat', { type: 'boolean', default: false, describe: 'wrap each prompt in the chat template' })
      .option('max-tokens', { type: 'number', default: 128, describe: 'new tokens at most per sample' })
      .option('temperature', { type: 'number', default: 1, describe: '0 is greedy' })
      .option('top-p', { type: 'number', default: 1 })
      .option('top-k', { type: 'number', default: 0, describe: '0 disables' })
      .option('n', { type: 'number', default: 1, describe: 'samples per prompt' })
      .option('stop', { type: 'string', array: true, default: [], describe: 'stop string (repeatable)' })
      .option('seed', { type: 'number', default: 0 })
      .option('device', { type: 'string', default: 'cpu', describe: 'cpu, cuda or cuda:N' })
      .option('dtype', { choices: ['float32', 'bfloat16', 'float16'] as DType[], describe: 'weights dtype' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per sample' }),
  handler: async (args) => {
    const texts = readPrompts(args);
    const tokenizer = await Tokenizer.fromDir(args.model);
    using model = await Model.load(args.model, { device: args.device, dtype: args.dtype });
    const prompts = texts.map((text) =>
      args.chat
        ? tokenizer.encode(
            tokenizer.applyChatTemplate([{ role: 'user', content: text }], { addGenerationPrompt: true }),
            {
              addSpecialTokens: false,
            },
          )
        : tokenizer.encode(text),
    );
    const eosTokenIds = [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
    const result = await model.generate(prompts, {
      n: args.n,
      maxNewTokens: args['max-tokens'],
      temperature: args.temperature,
      topP: args['top-p'],
      topK: args['top-k'],
      seed: args.seed,
      eosTokenIds,
      stopTokenMask: args.stop.length > 0 ? stopStringMask(tokenizer, args.stop, model.config.vocabSize) : undefined,
    });
    for (const sample of result.samples) {
      const { text } = trimAtStop(tokenizer.decode(sample.tokens, { skipSpecialTokens: true }), args.stop);
      if (args.json) {
        console.log(
          JSON.stringify({
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
