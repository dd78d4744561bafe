/**
 * Re-sampling for exploration: which of a step's scored candidates become the beams of the next step
 * (and, with count 1, which beam gives the final answer). Pure functions over scores.
 */
import { invalidArgument } from '../errors';
import type { Random } from './random';

/**
 * How candidates are selected. The reference's strategies, made to select `count` of them:
 * - 'foresight' (the reference's foresight_sampling, the default): `count` draws without replacement from
 *   softmax(f / τ);
 * - 'advantage': the same draws from softmax(A / τ) (the reference's strategy names starting with "adv");
 * - 'highest': the `count` highest f, ties to the earlier candidate (the reference keeps only the single best,
 *   which leaves the other beams empty);
 * - 'random': `count` uniform draws without replacement.
 */
export type Strategy = 'foresight' | 'advantage' | 'highest' | 'random';
export const STRATEGIES: readonly Strategy[] = ['foresight', 'advantage', 'highest', 'random'];

/** softmax(values / temperature), computed stably (the maximum is subtracted first). */
export function softmax(values: readonly number[], temperature: number): number[] {
  if (!Array.isArray(values as unknown) || !values.every((value) => typeof value === 'number')) {
    invalidArgument('values', 'an array of numbers');
  }
  if (!Number.isFinite(temperature) || temperature <= 0) invalidArgument('temperature', 'a number > 0');
  const scaled = values.map((value) => value / temperature);
  const max = Math.max(...scaled);
  const weights = scaled.map((value) => Math.exp(value - max));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return weights.map((weight) => weight / total);
}

/** One index drawn with probability proportional to its weight (weights >= 0, not all 0). */
export function drawIndex(weights: readonly number[], random: Random): number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let target = random() * total;
  let last = -1;
  for (let index = 0; index < weights.length; index++) {
    if (weights[index] <= 0) continue;
    last = index;
    target -= weights[index];
    if (target < 0) return index;
  }
  // Rounding can leave a sliver of the total undrawn: it belongs to the last index with weight.
  return last;
}

/**
 * `count` distinct indices drawn one after another, each from the weights of those not yet drawn, renormalised
 * (numpy's choice(replace=False, p=...), which the reference uses). Indices of zero weight come last, in order,
 * when the others run out: softmax weights can underflow to 0.
 */
export function drawWithoutReplacement(weights: readonly number[], count: number, random: Random): number[] {
  const remaining = [...weights];
  const drawn: number[] = [];
  while (drawn.length < count && remaining.some((weight) => weight > 0)) {
    const index = drawIndex(remaining, random);
    drawn.push(index);
    remaining[index] = 0;
  }
  for (let index = 0; drawn.length < count && index < weights.length; index++) {
    if (!drawn.includes(index)) drawn.push(index);
  }
  return drawn;
}

export interface SelectionScores {
  /** Foresight scores f. */
  scores: readonly number[];
  /** Advantages A = f − Q of the candidate's beam. */
  advantages: readonly number[];
}

/** The indices of the `count` candidates selected by `strategy` (τ is the softmax temperature). */
export function selectCandidates(
  strategy: Strategy,
  { scores, advantages }: SelectionScores,
  count: number,
  tau: number,
  random: Random,
): number[] {
  switch (strategy) {
    case 'foresight':
      return drawWithoutReplacement(softmax(scores, tau), count, random);
    case 'advantage':
      return drawWithoutReplacement(softmax(advantages, tau), count, random);
    case 'random':
      return drawWithoutReplacement(
        scores.map(() => 1),
        count,
        random,
      );
    case 'highest':
      return scores
        .map((score, index) => ({ score, index }))
        .sort((a, b) => b.score - a.score || a.index - b.index)
        .slice(0, count)
        .map(({ index }) => index);
  }
}
