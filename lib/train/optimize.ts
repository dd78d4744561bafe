/**
 * The training loop over a data set: the optimise half of Genius (preference pairs, the ACO loss by default)
 * and supervised fine-tuning, on the same machinery. Each is an async generator of per-step metrics, so a caller
 * (the CLI, the Genius loop) prints, logs or stops as it likes:
 *
 *   for await (const step of optimize(model, pairs, { checkpoint: { dir: 'out' } })) console.log(step.loss);
 *
 * Steps are taken in batches of microBatch × gradAccum examples (defaults: lib/train/options.ts), in a seeded
 * shuffle per epoch, with the linear warm-up schedule of the reference; with a checkpoint directory the run is saved every `every` steps (or each
 * epoch) and at the end, and `resume` continues a saved run exactly where it stopped. The reference model is the
 * starting policy, frozen: its log-probs are taken once, before the first step, and saved with the run.
 *
 * With a process group (options.group) the run is data-parallel: a step's batch is microBatch × gradAccum × the
 * group's size examples, rank r training on those at positions r, r + size, ... of it; the reference log-probs
 * are shared out the same way; rank 0 alone claims and writes the checkpoint directory. A run resumes on another
 * number of ranks as long as the batch stays the same (microBatch × gradAccum × ranks). `shardOptimizer` shares
 * AdamW's moments out between the ranks (ZeRO-1) for the same weights.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { CallOptions } from '../async';
import { fromRankZero, type ProcessGroup } from '../dist/process-group';
import { ErrorCode, GeniusError, invalidArgument } from '../errors';
import { Model } from '../model/model';
import type { DType } from '../native-types';
import {
  claimCheckpointDirectory,
  copyModelFiles,
  OPTIMIZER_FILE,
  STATE_DIR,
  writeCheckpoint,
  writeTrainingState,
  type TrainingState,
} from './checkpoint';
import { epochOrder, linearWarmupRate, planSteps, warmupSteps, type StepPlan } from './schedule';
import { DEFAULT_SFT_OPTIONS, DEFAULT_TRAIN_OPTIONS, resolveTrainOptions, type TrainSettings } from './options';
import type { TrainingPair, TrainingSequence } from './sequences';
import { Trainer, type ReferenceLogprobs, type StepResult, type TrainerOptions } from './trainer';

export interface CheckpointOptions {
  /** The checkpoint directory (a Hugging Face model directory plus training_state/). */
  dir: string;
  /** Save every this many steps; 0 or absent: at the end of each epoch. The last step is always saved. */
  every?: number;
  /** Where the tokenizer and generation_config.json are copied from. Default: the model's directory. */
  sourceDir?: string;
  /** Largest safetensors shard in bytes. Default 5 GB, as save_pretrained. */
  shardBytes?: number;
  /** Dtype of the saved weights. Default: the one the model was loaded from. */
  dtype?: DType;
  /**
   * Continue the run saved in `dir`; the model must be the one loaded from `dir`. Without it, `dir` must not
   * exist or be empty.
   */
  resume?: boolean;
}

/** A training run's options: any of the settings (defaults: lib/train/options.ts) and how the run is kept. */
export interface TrainOptions extends TrainerOptions, Partial<TrainSettings>, CallOptions {
  /** Stop after exactly this many steps (cycling through epochs as needed) instead of `epochs`. */
  steps?: number;
  checkpoint?: CheckpointOptions;
  /**
   * The frozen reference policy: another model, or 'base', a LoRA model's base with its adapter off (no second copy
   * in memory); default: the model itself, before its first step.
   */
  referenceModel?: Model | 'base';
}

export interface StepMetrics extends StepResult {
  /** Steps done, this one included. */
  step: number;
  totalSteps: number;
  /** Epochs done, fractional. */
  epoch: number;
  /** The learning rate this step used. */
  lr: number;
  seconds: number;
  tokensPerSecond: number;
}

const DEFAULT_SHARD_BYTES = 5 * 1000 ** 3;

type Objective =
  { kind: 'preference'; pairs: readonly TrainingPair[] } | { kind: 'sft'; sequences: readonly TrainingSequence[] };

/** Trains `model` in place on preference pairs with options.loss (default ACO). */
export function optimize(
  model: Model,
  pairs: readonly TrainingPair[],
  options: TrainOptions = {},
): AsyncGenerator<StepMetrics> {
  return train(model, { kind: 'preference', pairs }, options);
}

/** Trains `model` in place by next-token cross-entropy on the sequences' responses. */
export function supervisedFineTune(
  model: Model,
  sequences: readonly TrainingSequence[],
  options: TrainOptions = {},
): AsyncGenerator<StepMetrics> {
  return train(model, { kind: 'sft', sequences }, options);
}

/** The settings that decide a run's numbers, recorded with it so that a resume cannot silently change them. */
function settingsOf(
  model: Model,
  objective: Objective,
  settings: TrainSettings,
  options: TrainOptions,
  plan: StepPlan,
): Record<string, unknown> {
  const { loss, beta, alpha, acoWeight, referenceFree, nllWeight } = settings;
  const preference = objective.kind === 'preference' ? { loss, beta, alpha, acoWeight, referenceFree, nllWeight } : {};
  return {
    ...preference,
    ...(model.adapter && { lora: model.adapter }),
    lr: settings.lr,
    warmupRatio: settings.warmupRatio,
    microBatch: settings.microBatch,
    batchSize: plan.batchSize,
    totalSteps: plan.totalSteps,
    seed: settings.seed,
    maxGradNorm: settings.maxGradNorm,
    weightDecay: settings.weightDecay,
    adamBeta1: settings.adamBeta1,
    adamBeta2: settings.adamBeta2,
    adamEps: settings.adamEps,
    autocast: options.autocast ?? null,
  };
}

function fingerprint(objective: Objective): string {
  const hash = createHash('sha256');
  const add = (sequence: TrainingSequence): void => {
    hash.update(new Uint8Array(sequence.tokens.buffer, sequence.tokens.byteOffset, sequence.tokens.byteLength));
    hash.update(`|${sequence.promptLength};`);
  };
  if (objective.kind === 'preference') {
    for (const pair of objective.pairs) {
      add(pair.chosen);
      add(pair.rejected);
      hash.update(`${pair.chosenAdvantage},${pair.rejectedAdvantage};`);
    }
  } else {
    objective.sequences.forEach(add);
  }
  return hash.digest('hex');
}

/** The run saved in the checkpoint directory, if resuming one; checks that it is this run. */
async function resumedState(
  model: Model,
  checkpoint: CheckpointOptions | undefined,
  objective: Objective,
  settings: Record<string, unknown>,
  data: string,
  group: ProcessGroup | undefined,
): Promise<TrainingState | undefined> {
  if (checkpoint === undefined) return undefined;
  const claim = (): Promise<TrainingState | undefined> =>
    claimCheckpointDirectory(checkpoint.dir, 'checkpoint.dir', checkpoint.resume ?? false);
  const state = await fromRankZero(group, claim);
  if (state === undefined) return undefined;
  // A LoRA run's checkpoint is its adapter: the model resumed is the base with the adapter loaded from it.
  const loadedFrom = model.adapterDir ?? model.dir;
  if (path.resolve(loadedFrom) !== path.resolve(checkpoint.dir)) {
    invalidArgument(
      'model',
      `the model loaded from the checkpoint being resumed (${checkpoint.dir}), not ${loadedFrom}`,
    );
  }
  const changed = Object.keys({ ...settings, ...state.settings }).filter(
    (key) => JSON.stringify(settings[key]) !== JSON.stringify(state.settings[key]),
  );
  if (state.objective !== objective.kind || state.data !== data || changed.length > 0) {
    const what = [
      ...(state.objective !== objective.kind ? [`objective ${state.objective} → ${objective.kind}`] : []),
      ...(state.data !== data ? ['the training data'] : []),
      ...changed.map((key) => `${key} ${JSON.stringify(state.settings[key])} → ${JSON.stringify(settings[key])}`),
    ];
    invalidArgument('resume', `the same run as the one saved in ${checkpoint.dir}; changed: ${what.join(', ')}`);
  }
  return state;
}

function pick(reference: ReferenceLogprobs, indices: readonly number[]): ReferenceLogprobs {
  return {
    chosen: Float64Array.from(indices, (i) => reference.chosen[i]),
    rejected: Float64Array.from(indices, (i) => reference.rejected[i]),
  };
}

/**
 * Σ log πref of the pairs' responses: from `referenceModel` when given, a LoRA model's base for 'base', else from the
 * trainer's model as it is now. The ranks of a group score their shares (pairs r, r + size, ...) and gather the
 * others'.
 */
async function referenceLogprobs(
  trainer: Trainer,
  referenceModel: Model | 'base' | undefined,
  pairs: readonly TrainingPair[],
  options: TrainOptions,
): Promise<ReferenceLogprobs> {
  const { group } = options;
  const share = group ? pairs.filter((_, i) => i % group.size === group.rank) : pairs;
  let scored: ReferenceLogprobs;
  if (referenceModel === undefined || referenceModel === 'base') {
    scored = await trainer.referenceLogprobs(share, { ...options, adapter: referenceModel !== 'base' });
  } else {
    using scorer = await Trainer.create(
      referenceModel,
      { ...options, group: undefined, shardOptimizer: false },
      options,
    );
    scored = await scorer.referenceLogprobs(share, options);
  }
  if (!group) return scored;
  const shares = await group.allGatherJson({
    chosen: Array.from(scored.chosen),
    rejected: Array.from(scored.rejected),
  });
  const pick = (side: 'chosen' | 'rejected'): Float64Array =>
    Float64Array.from(pairs, (_, i) => shares[i % group.size][side][Math.floor(i / group.size)]);
  return { chosen: pick('chosen'), rejected: pick('rejected') };
}

async function* train(model: Model, objective: Objective, given: TrainOptions): AsyncGenerator<StepMetrics> {
  Model.handleOf(model, 'model');
  const items = objective.kind === 'preference' ? objective.pairs : objective.sequences;
  if (!Array.isArray(items) || items.length === 0) {
    invalidArgument(objective.kind === 'preference' ? 'pairs' : 'sequences', 'a non-empty array');
  }
  if (typeof given !== 'object' || given === null) invalidArgument('options', 'an object');
  const examples = items.length;
  const resolved = resolveTrainOptions(given, objective.kind === 'sft' ? DEFAULT_SFT_OPTIONS : DEFAULT_TRAIN_OPTIONS);
  // The trainer and the native calls read the resolved settings, so that no default is decided twice.
  const options: TrainOptions = { ...given, ...resolved };
  const { lr, seed } = resolved;
  const { group } = options;
  const ranks = group?.size ?? 1;
  const plan = planSteps(examples, resolved.microBatch * resolved.gradAccum * ranks, resolved.epochs, options.steps);
  const warmup = warmupSteps(plan.totalSteps, resolved.warmupRatio);
  const settings = settingsOf(model, objective, resolved, options, plan);
  const data = fingerprint(objective);
  const { checkpoint } = options;
  const resumed = await resumedState(model, checkpoint, objective, settings, data, group);
  if (resumed?.completed) return;

  using trainer = await Trainer.create(model, options, options);
  if (resumed && resumed.step > 0 && checkpoint) {
    await trainer.loadState(path.join(checkpoint.dir, STATE_DIR, OPTIMIZER_FILE), options);
  }
  let reference: ReferenceLogprobs | undefined;
  if (objective.kind === 'preference' && !options.referenceFree) {
    reference = resumed?.reference
      ? { chosen: Float64Array.from(resumed.reference.chosen), rejected: Float64Array.from(resumed.reference.rejected) }
      : await referenceLogprobs(trainer, options.referenceModel, objective.pairs, options);
  }

  let savedStep = resumed?.step;
  const save = async (step: number): Promise<void> => {
    if (checkpoint === undefined) return;
    const completed = step === plan.totalSteps;
    // The ranks' weights and optimizers are the same: rank 0 writes them for all, gathering a sharded optimizer's
    // state from the other ranks, which take part in saveState (and write nothing).
    if ((group?.rank ?? 0) !== 0) {
      if (trainer.options.shardOptimizer && !completed) {
        await trainer.saveState(path.join(checkpoint.dir, STATE_DIR, OPTIMIZER_FILE), options);
      }
      savedStep = step;
      return;
    }
    const state: TrainingState = {
      format: 'genius-native-training',
      objective: objective.kind,
      step,
      totalSteps: plan.totalSteps,
      completed,
      settings,
      data,
      reference: reference && { chosen: Array.from(reference.chosen), rejected: Array.from(reference.rejected) },
    };
    await writeCheckpoint(checkpoint.dir, async (staging) => {
      await trainer.saveModel(staging, {
        shardBytes: checkpoint.shardBytes ?? DEFAULT_SHARD_BYTES,
        dtype: checkpoint.dtype,
        signal: options.signal,
      });
      await copyModelFiles(checkpoint.sourceDir ?? model.dir, staging);
      // A finished run is not resumed: its optimizer state (twice the weights in float32) is not kept.
      if (!completed) await trainer.saveState(path.join(staging, STATE_DIR, OPTIMIZER_FILE), options);
      await writeTrainingState(staging, state);
    });
    savedStep = step;
  };
  const every = checkpoint?.every ?? 0;
  const due = (step: number): boolean =>
    step === plan.totalSteps || (every > 0 ? step % every === 0 : step % plan.stepsPerEpoch === 0);

  let order: { epoch: number; indices: number[] } | undefined;
  for (let step = resumed?.step ?? 0; step < plan.totalSteps; step++) {
    const epoch = Math.floor(step / plan.stepsPerEpoch);
    if (order?.epoch !== epoch) order = { epoch, indices: epochOrder(examples, seed, epoch) };
    const start = (step % plan.stepsPerEpoch) * plan.batchSize;
    const batch = order.indices.slice(start, start + plan.batchSize);
    const indices = group ? batch.filter((_, i) => i % ranks === group.rank) : batch;
    const rate = linearWarmupRate(lr, step, plan.totalSteps, warmup);
    const began = performance.now();
    let result: StepResult;
    try {
      result =
        objective.kind === 'preference'
          ? await trainer.preferenceStep(
              indices.map((i) => objective.pairs[i]),
              reference && pick(reference, indices),
              rate,
              options,
            )
          : await trainer.sftStep(
              indices.map((i) => objective.sequences[i]),
              rate,
              options,
            );
    } catch (error) {
      if ((error as GeniusError).code !== ErrorCode.NonFinite) throw error;
      const kept =
        checkpoint === undefined
          ? 'no checkpoint directory was given'
          : savedStep === undefined
            ? `no checkpoint had been saved yet in ${checkpoint.dir}`
            : `the last good checkpoint (step ${savedStep}) is in ${checkpoint.dir}`;
      throw new GeniusError(
        ErrorCode.NonFinite,
        `training stopped at step ${step + 1} of ${plan.totalSteps}: ${(error as Error).message}; ${kept}`,
        { cause: error },
      );
    }
    const seconds = (performance.now() - began) / 1000;
    if (due(step + 1)) await save(step + 1);
    yield {
      ...result,
      step: step + 1,
      totalSteps: plan.totalSteps,
      epoch: (step + 1) / plan.stepsPerEpoch,
      lr: rate,
      seconds,
      tokensPerSecond: result.tokens / Math.max(seconds, 1e-9),
    };
  }
}
