/**
 * Re-sampling for exploitation: one preference pair per step from the step's completed trajectories
 * (GENIUS.md, step 5). Chosen T_w: the highest foresight score f (the first one on ties). Rejected T_l: drawn
 * from the others, by the paper's distribution or uniformly (the reference code).
 *
 * The paper's weights are F_k / f_w. The f are mean token log-probs, so f ≤ 0, and f_w is the largest: each
 * ratio f_j / f_w is ≥ 1 and grows as T_j gets worse, so worse trajectories are likelier to be rejected. Normalised
 * over the others, p_j = (f_j / f_w) / Σ_{i≠w} (f_i / f_w) = f_j / Σ_{i≠w} f_i: f_w cancels, which also covers
 * f_w = 0, where the ratios themselves are undefined. We compute p_j ∝ max(0, −f_j) (the same for f ≤ 0, and
 * never negative if rounding pushes an f above 0); when every other f is 0 the draw is uniform.
 */
import type { ExplorationRecord } from '../data/records';
import type { PreferencePair } from '../data/pairs';
import type { Tokenizer } from '../text/tokenizer';
import { drawIndex } from './resampling';
import { seededRandom, type Random } from './random';

/** 'paper': p_j ∝ f_j / f_w (see above); 'uniform': uniform among the others (the reference code). */
export type RejectedSampling = 'paper' | 'uniform';
export const REJECTED_SAMPLINGS: readonly RejectedSampling[] = ['paper', 'uniform'];

/** The index of the highest score, the first one on ties. */
export function chosenIndex(scores: readonly number[]): number {
  return scores.reduce((best, score, index) => (score > scores[best] ? index : best), 0);
}

/** The probability of each trajectory being drawn as rejected against `chosen` (0 for chosen itself). */
export function rejectionProbabilities(
  scores: readonly number[],
  chosen: number,
  sampling: RejectedSampling,
): number[] {
  const weights = scores.map((score, index) => {
    if (index === chosen) return 0;
    return sampling === 'paper' ? Math.max(0, -score) : 1;
  });
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total === 0) return scores.map((_, index) => (index === chosen ? 0 : 1 / (scores.length - 1)));
  return weights.map((weight) => weight / total);
}

export interface StepPair {
  chosen: number;
  rejected: number;
  /** The mean advantage over all of the step's trajectories. */
  meanAdvantage: number;
}

/** The pair of one step's pool of scored trajectories, or null when it holds fewer than two. */
export function chooseStepPair(
  scores: readonly number[],
  advantages: readonly number[],
  sampling: RejectedSampling,
  random: Random,
): StepPair | null {
  if (scores.length < 2) return null;
  const chosen = chosenIndex(scores);
  const rejected = drawIndex(rejectionProbabilities(scores, chosen, sampling), random);
  const meanAdvantage = advantages.reduce((sum, advantage) => sum + advantage, 0) / advantages.length;
  return { chosen, rejected, meanAdvantage };
}

export interface PairOptions {
  rejected: RejectedSampling;
  /** Seeds the rejected draws: each (record, step) gets its own stream. */
  seed: number;
}

/**
 * The preference pairs of one exploration record: one per step whose pool has two trajectories or more. The
 * prompt is the query rendered by the chat template with an open assistant turn, as the trainer reads it; the
 * trajectories begin with the step preamble (as the reference's do), so prompt + trajectory is the very text the
 * trajectory was sampled in.
 */
export function recordPairs(record: ExplorationRecord, tokenizer: Tokenizer, options: PairOptions): PreferencePair[] {
  const prompt = tokenizer.applyChatTemplate([{ role: 'user', content: record.question }], {
    addGenerationPrompt: true,
  });
  const pairs: PreferencePair[] = [];
  record.traj_pool.forEach((trajectories, step) => {
    // prob_pool[K] scores the final parts, which traj_pool[K] (empty) does not hold: pools follow traj_pool.
    if (trajectories.length < 2) return;
    const advantages = record.adv_pool[step];
    const random = seededRandom(options.seed, 'rejected', record.id, step);
    const pair = chooseStepPair(record.prob_pool[step], advantages, options.rejected, random)!;
    pairs.push({
      prompt,
      chosen: [{ role: 'assistant', content: trajectories[pair.chosen] }],
      rejected: [{ role: 'assistant', content: trajectories[pair.rejected] }],
      chosen_weights: advantages[pair.chosen],
      rejected_weights: advantages[pair.rejected],
      chosen_average_weights: pair.meanAdvantage,
    });
  });
  return pairs;
}
