/** The options of foresight exploration (docs/algorithm.md, "Exploration"), with the defaults of the paper and its code. */
import { invalidArgument } from '../errors';
import { resolveChatTemplateArgs, type ResolvedChatTemplateArgs } from '../text/chat-template-args';
import { STRATEGIES, type Strategy } from './resampling';
import { REJECTED_SAMPLINGS, type RejectedSampling } from './pair-selection';

export type StepScore = 'foresight' | 'step';
export const STEP_SCORES: readonly StepScore[] = ['foresight', 'step'];

export interface ExploreOptions {
  /** M: beams kept per query. Default 2. */
  beams: number;
  /** N: candidate steps sampled per beam at each step (the reference's num_rollout). Default 4. */
  rollouts: number;
  /** K: steps explored with foresight before the final part. Default 4. */
  foresightSteps: number;
  /** Temperature of candidate steps. Default 0.6. */
  stepTemperature: number;
  /** Temperature of foresight rollouts and final parts (the reference's vLLM default). Default 1. */
  rolloutTemperature: number;
  /** τ of the re-sampling softmax. Default 0.1. */
  tau: number;
  /** 'light' skips foresight at a step when every candidate's mean log-prob is above −0.25. Default 'full'. */
  mode: 'full' | 'light';
  strategy: Strategy;
  /**
   * What a candidate step is scored by: 'foresight' (the default), the mean token log-prob of its rollout to the
   * end; 'step', its own mean token log-prob — the paper's "w/o foresight" ablation (rollouts still run, so the
   * pairs hold whole responses as with foresight).
   */
  score: StepScore;
  /** Token limit of each candidate step and each rollout. Default 1024. */
  maxTokens: number;
  /** Token limit of each beam's final part. Default 3000. */
  finalMaxTokens: number;
  /** Queries explored together: their candidates and rollouts share each native call. Default 8. */
  queriesInFlight: number;
  seed: number;
  /** How pair events draw the rejected trajectory. Default 'paper'. */
  rejected: RejectedSampling;
  /** The spurious-preference control: chosen and rejected swapped at random in half the pairs. Default false. */
  shuffleSides: boolean;
  /**
   * What the chat template renders each query with besides it: kwargs (Qwen3's enable_thinking, say) and the time
   * of strftime_now(), which a run pins when it starts (lib/text/chat-template-args.ts). Default: no kwargs.
   */
  chatTemplate: ResolvedChatTemplateArgs;
}

export const DEFAULT_EXPLORE_OPTIONS: Readonly<ExploreOptions> = Object.freeze({
  beams: 2,
  rollouts: 4,
  foresightSteps: 4,
  stepTemperature: 0.6,
  rolloutTemperature: 1,
  tau: 0.1,
  mode: 'full',
  strategy: 'foresight',
  score: 'foresight',
  maxTokens: 1024,
  finalMaxTokens: 3000,
  queriesInFlight: 8,
  seed: 0,
  rejected: 'paper',
  shuffleSides: false,
  chatTemplate: Object.freeze({ kwargs: Object.freeze({}) }),
});

/** `options` over the defaults, each checked. */
export function resolveExploreOptions(options: Partial<ExploreOptions> = {}): ExploreOptions {
  const resolved = { ...DEFAULT_EXPLORE_OPTIONS, ...options };
  const positiveIntegers = ['beams', 'rollouts', 'maxTokens', 'finalMaxTokens', 'queriesInFlight'] as const;
  for (const name of positiveIntegers) {
    if (!Number.isInteger(resolved[name]) || resolved[name] < 1) invalidArgument(name, 'a positive integer');
  }
  if (!Number.isInteger(resolved.foresightSteps) || resolved.foresightSteps < 0) {
    invalidArgument('foresightSteps', 'an integer >= 0');
  }
  for (const name of ['stepTemperature', 'rolloutTemperature'] as const) {
    if (!Number.isFinite(resolved[name]) || resolved[name] < 0) invalidArgument(name, 'a number >= 0');
  }
  if (!Number.isFinite(resolved.tau) || resolved.tau <= 0) invalidArgument('tau', 'a number > 0');
  if (resolved.mode !== 'full' && resolved.mode !== 'light') invalidArgument('mode', "'full' or 'light'");
  if (!STRATEGIES.includes(resolved.strategy)) invalidArgument('strategy', `one of ${STRATEGIES.join(', ')}`);
  if (!STEP_SCORES.includes(resolved.score)) invalidArgument('score', `one of ${STEP_SCORES.join(', ')}`);
  if (!REJECTED_SAMPLINGS.includes(resolved.rejected)) {
    invalidArgument('rejected', `one of ${REJECTED_SAMPLINGS.join(', ')}`);
  }
  if (typeof resolved.shuffleSides !== 'boolean') invalidArgument('shuffleSides', 'a boolean');
  if (!Number.isSafeInteger(resolved.seed) || resolved.seed < 0) invalidArgument('seed', 'an integer >= 0');
  return { ...resolved, chatTemplate: resolveChatTemplateArgs(resolved.chatTemplate) };
}
