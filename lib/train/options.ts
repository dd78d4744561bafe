/**
 * The options of a training run and their defaults, in one place: `optimize` and `supervisedFineTune` resolve what
 * they are given over these, the CLI's flags take their defaults from here, and the run presets
 * (lib/train/presets.ts) override the few that depend on the model. The preference defaults are the reference's
 * (docs/algorithm.md): AdamW at 5e-7 with a linear schedule warming up over 10% of the steps, no weight decay, no
 * clipping, 1 epoch of 128-pair steps, 1300 tokens at most, ACO with β 0.1 and α 1, the paper's weight clip, no
 * NLL term. Supervised fine-tuning differs only in its rate and warm-up (open-instruct's SFT defaults).
 */
import { invalidArgument } from '../errors';
import type { PreferenceLossKind } from '../native-types';

/** The settings that decide a training run's numbers. */
export interface TrainSettings {
  /** Peak learning rate. */
  lr: number;
  /** Share of the steps spent warming the rate up from 0. */
  warmupRatio: number;
  /** AdamW's decoupled weight decay (biases and norms never decay). */
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEps: number;
  /** Clip the global gradient norm to this; 0: no clipping. */
  maxGradNorm: number;
  /** Pairs (or sequences) per forward. */
  microBatch: number;
  /** Micro-batches accumulated into one optimizer step: a step trains on microBatch × gradAccum examples. */
  gradAccum: number;
  /** Passes over the data. */
  epochs: number;
  /** Seed of the data order. */
  seed: number;
  loss: PreferenceLossKind;
  /** β of the implicit reward. */
  beta: number;
  /** ACO's advantage temperature α. */
  alpha: number;
  /** ACO's weight clip: min(1, ·) as in the paper, or max(1, ·) as in its code. */
  acoWeight: 'paper' | 'reference-code';
  /** log πref := 0. */
  referenceFree: boolean;
  /** λ of an NLL term on the chosen side (RPO); 0: none. */
  nllWeight: number;
}

/** The longest training sequence (prompt + response) in tokens, unless asked otherwise; the model's positions cap it. */
export const DEFAULT_MAX_LENGTH = 1300;

export const DEFAULT_TRAIN_OPTIONS: Readonly<TrainSettings> = Object.freeze({
  lr: 5e-7,
  warmupRatio: 0.1,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEps: 1e-8,
  maxGradNorm: 0,
  microBatch: 1,
  gradAccum: 128,
  epochs: 1,
  seed: 0,
  loss: 'aco',
  beta: 0.1,
  alpha: 1,
  acoWeight: 'paper',
  referenceFree: false,
  nllWeight: 0,
});

export const DEFAULT_SFT_OPTIONS: Readonly<TrainSettings> = Object.freeze({
  ...DEFAULT_TRAIN_OPTIONS,
  lr: 2e-5,
  warmupRatio: 0.03,
});

const LOSSES: readonly PreferenceLossKind[] = ['aco', 'dpo', 'ipo', 'simpo', 'ropo', 'sft'];

/**
 * The settings among `options` over `defaults`, each checked; other keys of `options` are left out. A setting left
 * undefined takes its default (an explicit undefined, as an unset flag gives, does not erase it).
 */
export function resolveTrainOptions(
  options: Partial<TrainSettings> = {},
  defaults: Readonly<TrainSettings> = DEFAULT_TRAIN_OPTIONS,
): TrainSettings {
  if (typeof options !== 'object' || options === null) invalidArgument('options', 'an object');
  if (typeof defaults !== 'object' || defaults === null) invalidArgument('defaults', 'an object');
  const resolved = Object.fromEntries(
    Object.entries(defaults).map(([name, value]) => [name, options[name as keyof TrainSettings] ?? value]),
  ) as unknown as TrainSettings;
  for (const name of ['lr', 'weightDecay', 'maxGradNorm', 'adamEps', 'beta', 'alpha', 'nllWeight'] as const) {
    if (!Number.isFinite(resolved[name]) || resolved[name] < 0) invalidArgument(name, 'a finite number >= 0');
  }
  if (!(resolved.warmupRatio >= 0 && resolved.warmupRatio <= 1)) invalidArgument('warmupRatio', 'in [0, 1]');
  for (const name of ['adamBeta1', 'adamBeta2'] as const) {
    if (!(resolved[name] >= 0 && resolved[name] < 1)) invalidArgument(name, 'in [0, 1)');
  }
  for (const name of ['microBatch', 'gradAccum', 'epochs'] as const) {
    if (!Number.isInteger(resolved[name]) || resolved[name] < 1) invalidArgument(name, 'a positive integer');
  }
  if (!Number.isSafeInteger(resolved.seed) || resolved.seed < 0) invalidArgument('seed', 'an integer >= 0');
  if (!LOSSES.includes(resolved.loss)) invalidArgument('loss', `one of ${LOSSES.join(', ')}`);
  if (resolved.acoWeight !== 'paper' && resolved.acoWeight !== 'reference-code') {
    invalidArgument('acoWeight', "'paper' or 'reference-code'");
  }
  if (typeof resolved.referenceFree !== 'boolean') invalidArgument('referenceFree', 'a boolean');
  return resolved;
}

/** The longest training sequence: `maxLength` (default DEFAULT_MAX_LENGTH), checked. */
export function resolveMaxLength(maxLength: number = DEFAULT_MAX_LENGTH): number {
  if (!Number.isInteger(maxLength) || maxLength < 2) invalidArgument('maxLength', 'an integer >= 2');
  return maxLength;
}
