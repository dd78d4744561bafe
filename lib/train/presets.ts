/**
 * The settings of a Genius run's optimisation that depend on the model: the reference's, for real models and their
 * 100K pairs, and the embedded default's, for a 3M-parameter model and a few hundred pairs. A run (the library's
 * runPipeline, and so `genius-native train`) takes the embedded preset when it runs on models/default and the
 * reference's otherwise (presetFor); any option given overrides either. The other settings are the same for every
 * model: lib/train/options.ts.
 */
import path from 'node:path';
import { EMBEDDED_MODEL_DIR } from '../embedded';
import { invalidArgument } from '../errors';
import { DEFAULT_TRAIN_OPTIONS } from './options';

export interface RunPreset {
  /** Peak learning rate. */
  lr: number;
  /** Pairs per forward. */
  microBatch: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  /** Global gradient-norm clip (0: off). */
  maxGradNorm: number;
  epochs: number;
  /** β of the implicit reward. */
  beta: number;
  /** λ of the NLL term on the chosen side (0: none). */
  nllWeight: number;
  /** Explore → pairs → optimise rounds, each exploring with the policy the previous one trained. */
  iterations: number;
}

/** The reference's (docs/algorithm.md): the training defaults (128-pair steps at 5e-7, 1 epoch, β 0.1), one iteration. */
export const REFERENCE_PRESET: Readonly<RunPreset> = Object.freeze({
  lr: DEFAULT_TRAIN_OPTIONS.lr,
  microBatch: DEFAULT_TRAIN_OPTIONS.microBatch,
  gradAccum: DEFAULT_TRAIN_OPTIONS.gradAccum,
  maxGradNorm: DEFAULT_TRAIN_OPTIONS.maxGradNorm,
  epochs: DEFAULT_TRAIN_OPTIONS.epochs,
  beta: DEFAULT_TRAIN_OPTIONS.beta,
  nllWeight: DEFAULT_TRAIN_OPTIONS.nllWeight,
  iterations: 1,
});

/**
 * The embedded default's: its ~2,000 pairs would make 16 reference steps at a rate that does not move a
 * 3M-parameter model, so 16-pair steps at 3e-5, clipped at 1. The rate was chosen on an earlier embedded model (the
 * largest of 1e-5, 3e-5, 1e-4 that did not lower its accuracy) and checked on data/changes/validation.jsonl for this
 * one (seed 0: 8.7% → 93.0% greedy in one iteration; README, "The embedded default, and what Genius gains on it").
 * One iteration: after it the validation accuracy is within a few points of what the model's worked solutions reach.
 */
export const EMBEDDED_PRESET: Readonly<RunPreset> = Object.freeze({
  lr: 3e-5,
  microBatch: 8,
  gradAccum: 2,
  maxGradNorm: 1,
  epochs: 1,
  beta: 0.1,
  nllWeight: 0,
  iterations: 1,
});

export const PRESETS = Object.freeze({ reference: REFERENCE_PRESET, embedded: EMBEDDED_PRESET });
export type PresetName = keyof typeof PRESETS;

/** The preset of a run on `modelDir`: the embedded one for the embedded default model, else the reference's. */
export function presetFor(modelDir: string): PresetName {
  if (typeof modelDir !== 'string') invalidArgument('modelDir', 'a model directory path');
  return path.resolve(modelDir) === EMBEDDED_MODEL_DIR ? 'embedded' : 'reference';
}
