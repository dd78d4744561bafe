/**
 * `genius-native optimize`: trains a model on preference pairs (the reference's JSONL format) with the ACO loss
 * of Genius, or DPO, IPO, SimPO, ROPO or SFT on the chosen responses; writes the trained model to --out.
 */
import type { Argv, CommandModule } from 'yargs';
import { readPairs } from '../../lib/data/pairs';
import { optimize } from '../../lib/train/optimize';
import { encodePairs } from '../../lib/train/sequences';
import { DEFAULT_TRAIN_OPTIONS } from '../../lib/train/options';
import { joinLaunchedRun } from '../dist-flags';
import { Interrupt } from '../interrupt';
import { loadTrainedModel, loraFlags, type LoraArgs } from '../lora-flags';
import {
  lossOptionsOf,
  maxLength,
  preferenceFlags,
  printSteps,
  reportData,
  resumable,
  tokenizerAndEos,
  trainingFlags,
  trainOptions,
  type PreferenceArgs,
  type TrainingArgs,
} from '../training';

interface OptimizeArgs extends TrainingArgs, PreferenceArgs, LoraArgs {
  model: string;
  pairs: string;
}

export const optimizeCommand: CommandModule<object, OptimizeArgs> = {
  command: 'optimize',
  describe: 'Train a model on preference pairs (ACO by default)',
  builder: (yargs) =>
    loraFlags(preferenceFlags(trainingFlags(yargs, DEFAULT_TRAIN_OPTIONS)))
      .option('model', { type: 'string', demandOption: true, describe: 'Hugging Face model directory' })
      .option('pairs', {
        type: 'string',
        demandOption: true,
        describe: 'preference pairs, JSONL',
      }) as unknown as Argv<OptimizeArgs>,
  handler: async (args) => {
    using interrupt = new Interrupt();
    using group = await joinLaunchedRun(args);
    const resumed = await resumable(args, group);
    const read = await readPairs(args.pairs, { skipBad: args['skip-bad'], requireAdvantages: args.loss === 'aco' });
    using model = await loadTrainedModel(args, args.model, resumed ? args.out : undefined, args.seed);
    const { tokenizer, eosTokenId } = await tokenizerAndEos(args.tokenizer ?? args.model, model);
    const length = maxLength(args, model);
    const { pairs, report } = encodePairs(tokenizer, read.records, { maxLength: length, eosTokenId });
    reportData(args.pairs, read, report, length, pairs.length);
    const options = {
      ...trainOptions(args, resumed ? args.out : args.model, interrupt.signal, group),
      ...lossOptionsOf(args),
      ...(model.adapter && { referenceModel: 'base' as const }),
    };
    await printSteps(args, interrupt, true, optimize(model, pairs, options), group);
  },
};
