/**
 * `genius-native optimize`: trains a model on preference pairs (the reference's JSONL format) with the ACO loss
 * of Genius, or DPO, IPO, SimPO, ROPO or SFT on the chosen responses; writes the trained model to --out.
 */
import type { Argv, CommandModule } from 'yargs';
import { Model, type PreferenceLossKind } from '../../lib';
import { readPairs } from '../../lib/data/pairs';
import { optimize } from '../../lib/train/optimize';
import { encodePairs } from '../../lib/train/sequences';
import { Interrupt } from '../interrupt';
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

interface OptimizeArgs extends TrainingArgs {
  model: string;
  pairs: string;
  loss: PreferenceLossKind;
  beta: number;
  alpha: number;
  'aco-weight': 'paper' | 'reference-code';
  'reference-free': boolean;
}

export const optimizeCommand: CommandModule<object, OptimizeArgs> = {
  command: 'optimize',
  describe: 'Train a model on preference pairs (ACO by default)',
  builder: (yargs) =>
    trainingFlags(yargs, { lr: 5e-7, warmupRatio: 0.1 })
      .option('model', { type: 'string', demandOption: true, describe: 'Hugging Face model directory' })
      .option('pairs', { type: 'string', demandOption: true, describe: 'preference pairs, JSONL' })
      .option('loss', {
        choices: ['aco', 'dpo', 'ipo', 'simpo', 'ropo', 'sft'] as PreferenceLossKind[],
        default: 'aco',
      })
      .option('beta', { type: 'number', default: 0.1, describe: 'β of the implicit reward' })
      .option('alpha', { type: 'number', default: 1, describe: "ACO's advantage temperature α" })
      .option('aco-weight', {
        choices: ['paper', 'reference-code'] as const,
        default: 'paper' as const,
        describe: "ACO's weight clip: min(1, ·) as in the paper, or max(1, ·) as in its code",
      })
      .option('reference-free', {
        type: 'boolean',
        default: false,
        describe: 'log πref := 0',
      }) as unknown as Argv<OptimizeArgs>,
  handler: async (args) => {
    using interrupt = new Interrupt();
    const resumed = await resumable(args);
    const read = await readPairs(args.pairs, { skipBad: args['skip-bad'], requireAdvantages: args.loss === 'aco' });
    using model = await Model.load(resumed ? args.out : args.model, { device: args.device, dtype: args.dtype });
    const { tokenizer, eosTokenId } = await tokenizerAndEos(args.tokenizer ?? args.model, model);
    const length = maxLength(args, model);
    const { pairs, report } = encodePairs(tokenizer, read.records, { maxLength: length, eosTokenId });
    reportData(args.pairs, read, report, length, pairs.length);
    const options = {
      ...trainOptions(args, resumed ? args.out : args.model, interrupt.signal),
      loss: args.loss,
      beta: args.beta,
      alpha: args.alpha,
      acoWeight: args['aco-weight'],
      referenceFree: args['reference-free'],
    };
    await printSteps(args, interrupt, true, optimize(model, pairs, options));
  },
};
