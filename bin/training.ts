/**
 * What `optimize` and `sft` share (and `train`, the optimiser's and preference-loss flags): the training flags,
 * loading the model (or the checkpoint being resumed), and printing one line of metrics per step (human-readable on
 * stderr, or one JSON object per line, `event: 'step'`, on stdout with --json; notes go to stderr either way, so that
 * --json output holds nothing else).
 */
import type { Argv } from 'yargs';
import { ErrorCode, GeniusError, Model, Tokenizer, type DType, type PreferenceLossKind } from '../lib';
import type { JsonLineRecords } from '../lib/data/jsonl';
import { endOfTurnId } from '../lib/genius/responses';
import { claimCheckpointDirectory } from '../lib/train/checkpoint';
import type { StepMetrics, TrainOptions } from '../lib/train/optimize';
import { DEFAULT_MAX_LENGTH, DEFAULT_TRAIN_OPTIONS, type TrainSettings } from '../lib/train/options';
import type { RunPreset } from '../lib/train/presets';
import { sequenceLimit, type EncodeReport } from '../lib/train/sequences';
import { fromRankZero, type ProcessGroup } from '../lib/dist/process-group';
import { shardFlags, type ShardArgs } from './dist-flags';
import { Interrupt } from './interrupt';
import { MODEL_DTYPES, placementFlags, type PlacementArgs } from './placement-flags';

/** The optimiser's flags: undefined where a run's preset (train) fills them in. */
export interface OptimizerArgs {
  lr?: number;
  'warmup-ratio'?: number;
  'weight-decay'?: number;
  'adam-beta1'?: number;
  'adam-beta2'?: number;
  'adam-eps'?: number;
  'max-grad-norm'?: number;
  'batch-size'?: number;
  'grad-accum'?: number;
  epochs?: number;
  'max-length': number;
}

/** What `optimize` and `sft` take besides the optimiser's flags. */
export interface TrainingArgs extends OptimizerArgs, PlacementArgs, ShardArgs {
  out: string;
  tokenizer?: string;
  steps?: number;
  seed: number;
  'save-steps': number;
  'checkpoint-layers': boolean;
  'save-dtype'?: DType;
  resume: boolean;
  'skip-bad': boolean;
  json: boolean;
}

/**
 * The optimiser's flags with the defaults of lib/train/options.ts. With `preset` (train), the flags a run preset
 * sets have no default of their own: the preset fills them in, and `preset` says so in the help.
 */
export function optimizerFlags<T>(
  yargs: Argv<T>,
  defaults: Readonly<TrainSettings>,
  preset?: string,
): Argv<T & OptimizerArgs> {
  const fromPreset = (name: keyof RunPreset): { default?: number; describe?: string } =>
    preset ? { describe: `[default: ${preset}]` } : { default: defaults[name as keyof TrainSettings] as number };
  return yargs
    .option('lr', { type: 'number', describe: 'peak learning rate', ...fromPreset('lr') })
    .option('warmup-ratio', { type: 'number', default: defaults.warmupRatio, describe: 'share of steps warming up' })
    .option('weight-decay', { type: 'number', default: defaults.weightDecay, describe: 'AdamW decoupled weight decay' })
    .option('adam-beta1', { type: 'number', default: defaults.adamBeta1 })
    .option('adam-beta2', { type: 'number', default: defaults.adamBeta2 })
    .option('adam-eps', { type: 'number', default: defaults.adamEps })
    .option('max-grad-norm', {
      type: 'number',
      describe: 'clip the global gradient norm (0: off)',
      ...fromPreset('maxGradNorm'),
    })
    .option('batch-size', {
      type: 'number',
      describe: 'examples per forward (micro-batch)',
      ...fromPreset('microBatch'),
    })
    .option('grad-accum', { type: 'number', describe: 'micro-batches per optimizer step', ...fromPreset('gradAccum') })
    .option('epochs', { type: 'number', ...fromPreset('epochs') })
    .option('max-length', {
      type: 'number',
      default: DEFAULT_MAX_LENGTH,
      describe: 'longest prompt + response in tokens',
    }) as Argv<T & OptimizerArgs>;
}

/** The optimiser's settings the flags name (undefined where a preset or the defaults decide). */
export function optimizerOptionsOf(args: OptimizerArgs): Partial<TrainSettings> {
  return {
    lr: args.lr,
    warmupRatio: args['warmup-ratio'],
    weightDecay: args['weight-decay'],
    adamBeta1: args['adam-beta1'],
    adamBeta2: args['adam-beta2'],
    adamEps: args['adam-eps'],
    maxGradNorm: args['max-grad-norm'],
    microBatch: args['batch-size'],
    gradAccum: args['grad-accum'],
    epochs: args.epochs,
  };
}

export function trainingFlags<T>(yargs: Argv<T>, defaults: Readonly<TrainSettings>): Argv<T & TrainingArgs> {
  return optimizerFlags(shardFlags(placementFlags(yargs)), defaults)
    .option('out', {
      type: 'string',
      demandOption: true,
      describe: 'checkpoint directory (a Hugging Face model directory)',
    })
    .option('tokenizer', { type: 'string', describe: 'tokenizer directory (default: the model directory)' })
    .option('steps', { type: 'number', describe: 'optimizer steps (overrides --epochs)' })
    .option('seed', { type: 'number', default: defaults.seed, describe: 'seed of the data order' })
    .option('save-steps', { type: 'number', default: 0, describe: 'checkpoint every N steps (0: every epoch)' })
    .option('checkpoint-layers', { type: 'boolean', default: false, describe: 'recompute layers in backward' })
    .option('save-dtype', {
      choices: MODEL_DTYPES,
      describe: 'dtype of the saved weights (default: the one the model was loaded from)',
    })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the run saved in --out' })
    .option('skip-bad', { type: 'boolean', default: false, describe: 'skip malformed data lines' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per step on stdout' }) as Argv<
    T & TrainingArgs
  >;
}

export interface PreferenceArgs {
  loss: PreferenceLossKind;
  beta?: number;
  alpha: number;
  'aco-weight': 'paper' | 'reference-code';
  'reference-free': boolean;
  'nll-weight'?: number;
}

/**
 * The preference-loss flags. With `preset` (train), β and the NLL weight have no default of their own: the run's
 * preset fills them in (lib/train/presets.ts), and `preset` says so in the help.
 */
export function preferenceFlags<T>(yargs: Argv<T>, preset?: string): Argv<T & PreferenceArgs> {
  const defaults = DEFAULT_TRAIN_OPTIONS;
  const fromPreset = (fallback: number): { default?: number } => (preset ? {} : { default: fallback });
  const presetNote = preset ? ` [default: ${preset}]` : '';
  return yargs
    .option('loss', {
      choices: ['aco', 'dpo', 'ipo', 'simpo', 'ropo', 'sft'] as PreferenceLossKind[],
      default: defaults.loss,
    })
    .option('beta', { type: 'number', ...fromPreset(defaults.beta), describe: `β of the implicit reward${presetNote}` })
    .option('alpha', { type: 'number', default: defaults.alpha, describe: "ACO's advantage temperature α" })
    .option('aco-weight', {
      choices: ['paper', 'reference-code'] as const,
      default: defaults.acoWeight,
      describe: "ACO's weight clip: min(1, ·) as in the paper, or max(1, ·) as in its code",
    })
    .option('reference-free', { type: 'boolean', default: defaults.referenceFree, describe: 'log πref := 0' })
    .option('nll-weight', {
      type: 'number',
      ...fromPreset(defaults.nllWeight),
      describe: `λ of an NLL term on the chosen side (RPO), against the chosen log-prob falling${presetNote}`,
    }) as Argv<T & PreferenceArgs>;
}

/** The loss options the preference flags name. */
export function lossOptionsOf(
  args: PreferenceArgs,
): Pick<TrainOptions, 'loss' | 'beta' | 'alpha' | 'acoWeight' | 'referenceFree' | 'nllWeight'> {
  return {
    loss: args.loss,
    beta: args.beta,
    alpha: args.alpha,
    acoWeight: args['aco-weight'],
    referenceFree: args['reference-free'],
    nllWeight: args['nll-weight'],
  };
}

/**
 * Checks --out before any work (a directory that can be written: new, empty, or with --resume a run of ours) and
 * says whether it holds a run to resume; rank 0 checks for all the ranks of a group.
 */
export async function resumable(
  args: TrainingArgs,
  group: ProcessGroup | undefined,
): Promise<{ completed: boolean } | undefined> {
  const state = await fromRankZero(group, () => claimCheckpointDirectory(args.out, 'out', args.resume));
  return state && { completed: state.completed };
}

export async function tokenizerAndEos(
  dir: string,
  model: Model,
): Promise<{ tokenizer: Tokenizer; eosTokenId?: number }> {
  const tokenizer = await Tokenizer.fromDir(dir);
  tokenizer.checkFits(model);
  return { tokenizer, eosTokenId: endOfTurnId(model, tokenizer) };
}

/** The options every training run takes from the flags (and the group of a data-parallel run). */
export function trainOptions(
  args: TrainingArgs,
  sourceDir: string,
  signal: AbortSignal,
  group: ProcessGroup | undefined,
): TrainOptions {
  return {
    ...optimizerOptionsOf(args),
    steps: args.steps,
    seed: args.seed,
    checkpointLayers: args['checkpoint-layers'],
    group,
    shardOptimizer: args['shard-optimizer'],
    signal,
    checkpoint: {
      dir: args.out,
      every: args['save-steps'],
      sourceDir,
      resume: args.resume,
      dtype: args['save-dtype'],
    },
  };
}

/** The longest sequence: --max-length, within the model's positions. */
export function maxLength(args: TrainingArgs, model: Model): number {
  return sequenceLimit(args['max-length'], model);
}

/** Notes on what reading and encoding did to the data; refuses data of which nothing is left. */
export function reportData(
  file: string,
  read: JsonLineRecords<unknown>,
  report: EncodeReport,
  length: number,
  kept: number,
): void {
  const skipped = read.skipped.length;
  console.error(
    `${file}: ${read.records.length} examples` +
      (skipped > 0
        ? `, ${skipped} malformed line(s) skipped (${read.skipped.map((bad) => bad.line).join(', ')})`
        : '') +
      `; ${report.truncated} truncated to ${length} tokens, ${report.dropped} dropped (no response token within it)`,
  );
  if (kept === 0) {
    throw new GeniusError(
      ErrorCode.BadFile,
      `${file}: no example keeps a response token within --max-length ${length}`,
    );
  }
}

const signed = (value: number): string => (value >= 0 ? '+' : '') + value.toFixed(4);

function describeStep(step: StepMetrics, preference: boolean): string {
  const parts = [
    `step ${step.step}/${step.totalSteps}`,
    `epoch ${step.epoch.toFixed(2)}`,
    `loss ${step.loss.toFixed(4)}`,
    ...(preference
      ? [
          `acc ${step.accuracy.toFixed(2)}`,
          `rewards ${signed(step.chosenReward)}/${signed(step.rejectedReward)}`,
          `margin ${signed(step.margin)}`,
        ]
      : []),
    `lr ${step.lr.toExponential(2)}`,
    `grad ${step.gradNorm.toFixed(4)}`,
    `${Math.round(step.tokensPerSecond)} tok/s`,
  ];
  return parts.join('  ');
}

/**
 * Runs the steps, printing each (rank 0 alone, for a group: the ranks' metrics are the same); Ctrl-C stops at the
 * next step (the last checkpoint stays in --out).
 */
export async function printSteps(
  args: TrainingArgs,
  interrupt: Interrupt,
  preference: boolean,
  steps: AsyncGenerator<StepMetrics>,
  group: ProcessGroup | undefined,
): Promise<void> {
  let last: StepMetrics | undefined;
  const lead = (group?.rank ?? 0) === 0;
  try {
    for await (const step of steps) {
      last = step;
      if (!lead) continue;
      if (args.json) {
        const { examples, ...fields } = step;
        const count = preference ? { pairs: examples } : { sequences: examples };
        console.log(JSON.stringify({ event: 'step', ...fields, ...count }));
      } else {
        console.error(describeStep(step, preference));
      }
    }
  } catch (error) {
    if (!interrupt.stopped(error)) throw error;
    console.error(
      `stopped after step ${last?.step ?? 0}; continue with --resume (from the last checkpoint in ${args.out})`,
    );
    process.exitCode = 130;
    return;
  }
  if (!lead) return;
  console.error(last ? `done: ${args.out} holds the model after step ${last.step}` : `${args.out} is already complete`);
}
