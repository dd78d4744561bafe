/**
 * `genius-native sft`: supervised fine-tuning by next-token cross-entropy on the responses of {prompt, response}
 * lines (or of preference pairs' chosen responses), from a model directory or from random weights (--init with a
 * config.json and --tokenizer); writes the trained model to --out.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { Model } from '../../lib';
import { readSftExamples } from '../../lib/data/sft-examples';
import { supervisedFineTune } from '../../lib/train/optimize';
import { encodeSftExamples } from '../../lib/train/sequences';
import { DEFAULT_SFT_OPTIONS } from '../../lib/train/options';
import { joinLaunchedRun } from '../dist-flags';
import { Interrupt } from '../interrupt';
import { loadTrainedModel, loraFlags, newAdapterOf, type LoraArgs } from '../lora-flags';
import { UsageError } from '../usage';
import {
  maxLength,
  printSteps,
  reportData,
  resumable,
  tokenizerAndEos,
  trainingFlags,
  trainOptions,
  type TrainingArgs,
} from '../training';

interface SftArgs extends TrainingArgs, LoraArgs {
  model?: string;
  init?: string;
  data: string;
  'init-seed': number;
}

/** A model from random weights for `configFile` (Model.init reads a directory's config.json). */
async function initModel(configFile: string, args: SftArgs): Promise<{ model: Model; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'genius-init-'));
  try {
    await fs.copyFile(configFile, path.join(dir, 'config.json'));
    const model = await Model.init(dir, { seed: args['init-seed'], device: args.device, dtype: args.dtype });
    return { model, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export const sftCommand: CommandModule<object, SftArgs> = {
  command: 'sft',
  describe: 'Supervised fine-tuning on prompt/response lines, from a model or from random weights',
  builder: (yargs) =>
    loraFlags(trainingFlags(yargs, DEFAULT_SFT_OPTIONS))
      .option('model', { type: 'string', describe: 'Hugging Face model directory to start from' })
      .option('init', { type: 'string', describe: 'config.json of a new model with random weights' })
      .option('init-seed', { type: 'number', default: 0, describe: 'seed of the random weights' })
      .option('data', { type: 'string', demandOption: true, describe: 'JSONL of {prompt, response} (or pairs)' })
      .conflicts('model', 'init')
      .check((args) => {
        if (args.model === undefined && args.init === undefined) throw new UsageError('give --model or --init');
        if (args.init !== undefined && args.tokenizer === undefined) throw new UsageError('--init needs --tokenizer');
        if (args.init !== undefined && (args.adapter !== undefined || newAdapterOf(args, 0) !== undefined)) {
          throw new UsageError('LoRA adapts a model: give --model, not --init');
        }
        return true;
      }) as unknown as Argv<SftArgs>,
  handler: async (args) => {
    using interrupt = new Interrupt();
    using group = await joinLaunchedRun(args);
    const resumed = await resumable(args, group);
    const read = await readSftExamples(args.data, { skipBad: args['skip-bad'] });
    const source = args.model ?? (args.tokenizer as string);
    const { model, cleanup } =
      resumed || args.init === undefined
        ? {
            model: await loadTrainedModel(args, args.model as string, resumed ? args.out : undefined, args.seed),
            cleanup: async () => {},
          }
        : await initModel(args.init, args);
    try {
      const { tokenizer, eosTokenId } = await tokenizerAndEos(args.tokenizer ?? source, model);
      const length = maxLength(args, model);
      const { sequences, report } = encodeSftExamples(tokenizer, read.records, { maxLength: length, eosTokenId });
      reportData(args.data, read, report, length, sequences.length);
      const options = trainOptions(args, resumed ? args.out : source, interrupt.signal, group);
      await printSteps(args, interrupt, false, supervisedFineTune(model, sequences, options), group);
    } finally {
      model.dispose();
      await cleanup();
    }
  },
};
