/**
 * Re-sampling for exploitation: one preference pair per step from the step's completed trajectories
 * (docs/algorithm.md, "Pairs"). Chosen T_w: the highest foresight score f (the first one on ties). Rejected T_l:
 * drawn from the others, by the paper's distribution or uniformly (the reference code).
 *
 * The paper's Eq. 5 draws T_l from Categorical(F_k / f_k^w), after "the negative response is re-sampled from F_k":
 * F_k = softmax(f / τ) over the step's trajectories, and the slash is a set difference (dividing a distribution by
 * a constant would change nothing). So T_l is drawn from softmax(f / τ) with the chosen one removed and the rest
 * renormalised: a hard negative, usually the runner-up at τ = 0.1.
 */
import { parseRecord, type ExplorationRecord } from '../data/records';
import { invalidArgument } from '../errors';
import type { PreferencePair } from '../data/pairs';
import type { ChatTemplateArgs } from '../text/chat-template-args';
import { chatPrompt } from '../text/steps';
import { Tokenizer } from '../text/tokenizer';
import { drawIndex, softmax } from './resampling';
import { seededRandom, type Random } from './random';

/** 'paper': softmax(f / τ) without the chosen one (see above); 'uniform': uniform among the others (the reference code). */
export type RejectedSampling = 'paper' | 'uniform';
export const REJECTED_SAMPLINGS: readonly RejectedSampling[] = ['paper', 'uniform'];

/** The index of the highest score, the first one on ties. */
export function chosenIndex(scores: readonly number[]): number {
  return scores.reduce((best, score, index) => (score > scores[best] ? index : best), 0);
}

/** The probability of each trajectory being drawn as rejected against `chosen` (0 for chosen itself); τ as in F_k. */
export function rejectionProbabilities(
  scores: readonly number[],
  chosen: number,
  sampling: RejectedSampling,
  tau: number,
): number[] {
  const others = scores.map((_, index) => index !== chosen);
  const weights = sampling === 'paper' ? softmax(scores, tau) : scores.map(() => 1);
  // Removing the chosen one can leave no weight when softmax underflows for the others: then every other is as likely.
  const kept = weights.map((weight, index) => (others[index] ? weight : 0));
  const total = kept.reduce((sum, weight) => sum + weight, 0);
  if (!(total > 0)) return others.map((other) => (other ? 1 / (scores.length - 1) : 0));
  return kept.map((weight) => weight / total);
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
  tau: number,
  random: Random,
): StepPair | null {
  if (scores.length < 2) return null;
  const chosen = chosenIndex(scores);
  const rejected = drawIndex(rejectionProbabilities(scores, chosen, sampling, tau), random);
  const meanAdvantage = advantages.reduce((sum, advantage) => sum + advantage, 0) / advantages.length;
  return { chosen, rejected, meanAdvantage };
}

export interface PairOptions {
  rejected: RejectedSampling;
  /** τ of F_k = softmax(f / τ), the exploration's (default 0.1). */
  tau: number;
  /** Seeds the rejected draws: each (record, step) gets its own stream. */
  seed: number;
  /**
   * A control, not a method: swap chosen and rejected (with their advantages) in half of the pairs, at random. The
   * same pairs with their preference scrambled must not gain; if they do, a gain is not the foresight signal's.
   */
  shuffleSides?: boolean;
  /** What the chat template renders the prompt with besides the query: the exploration's (ExploreOptions). */
  chatTemplate?: ChatTemplateArgs;
}

/**
 * The preference pairs of one exploration record: one per step whose pool has two trajectories or more. The
 * prompt is the query rendered by the chat template with an open assistant turn, as the trainer reads it; the
 * trajectories begin with the step preamble (as the reference's do), so prompt + trajectory is the very text the
 * trajectory was sampled in.
 */
export function recordPairs(record: ExplorationRecord, tokenizer: Tokenizer, options: PairOptions): PreferencePair[] {
  parseRecord("argument 'record'", record);
  Tokenizer.check(tokenizer);
  if (typeof options !== 'object' || options === null) invalidArgument('options', 'an object');
  if (!REJECTED_SAMPLINGS.includes(options.rejected)) {
    invalidArgument('rejected', `one of ${REJECTED_SAMPLINGS.join(', ')}`);
  }
  if (!Number.isFinite(options.tau) || options.tau <= 0) invalidArgument('tau', 'a number > 0');
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) invalidArgument('seed', 'an integer >= 0');
  const prompt = chatPrompt(tokenizer, record.question, options.chatTemplate);
  const pairs: PreferencePair[] = [];
  record.traj_pool.forEach((trajectories, step) => {
    // prob_pool[K] scores the final parts, which traj_pool[K] (empty) does not hold: pools follow traj_pool.
    if (trajectories.length < 2) return;
    const advantages = record.adv_pool[step];
    const random = seededRandom(options.seed, 'rejected', record.id, step);
    const pair = chooseStepPair(record.prob_pool[step], advantages, options.rejected, options.tau, random)!;
    const [chosen, rejected] =
      options.shuffleSides && random() < 0.5 ? [pair.rejected, pair.chosen] : [pair.chosen, pair.rejected];
    pairs.push({
      prompt,
      chosen: [{ role: 'assistant', content: trajectories[chosen] }],
      rejected: [{ role: 'assistant', content: trajectories[rejected] }],
      chosen_weights: advantages[chosen],
      rejected_weights: advantages[rejected],
      chosen_average_weights: pair.meanAdvantage,
    });
  });
  return pairs;
}
