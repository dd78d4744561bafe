/** The flags of foresight exploration, shared by `explore` and `train`, and the options they stand for. */
import type { Argv } from 'yargs';
import {
  DEFAULT_EXPLORE_OPTIONS,
  STEP_SCORES,
  STRATEGIES,
  type ExploreOptions,
  type StepScore,
  type Strategy,
} from '../lib';

export interface ExploreFlagArgs {
  beams: number;
  rollouts: number;
  foresight: number;
  'step-temperature': number;
  'rollout-temperature': number;
  tau: number;
  mode: 'full' | 'light';
  strategy: Strategy;
  score: StepScore;
  'max-tokens': number;
  'final-max-tokens': number;
  'queries-in-flight': number;
  seed: number;
}

const defaults = DEFAULT_EXPLORE_OPTIONS;

export function exploreFlags<T>(yargs: Argv<T>): Argv<T & ExploreFlagArgs> {
  return yargs
    .option('beams', { type: 'number', default: defaults.beams, describe: 'M: beams per query' })
    .option('rollouts', { type: 'number', default: defaults.rollouts, describe: 'N: candidate steps per beam' })
    .option('foresight', { type: 'number', default: defaults.foresightSteps, describe: 'K: foresight steps' })
    .option('step-temperature', { type: 'number', default: defaults.stepTemperature })
    .option('rollout-temperature', { type: 'number', default: defaults.rolloutTemperature })
    .option('tau', { type: 'number', default: defaults.tau, describe: 'τ of the re-sampling softmax' })
    .option('mode', {
      choices: ['full', 'light'] as const,
      default: defaults.mode,
      describe: 'light: skip foresight when every candidate step is confident',
    })
    .option('strategy', { choices: STRATEGIES, default: defaults.strategy, describe: 'how beams are selected' })
    .option('score', {
      choices: STEP_SCORES,
      default: defaults.score,
      describe: "a step's score: its rollout's mean log-prob, or its own (the w/o-foresight ablation)",
    })
    .option('max-tokens', { type: 'number', default: defaults.maxTokens, describe: 'per step and per rollout' })
    .option('final-max-tokens', { type: 'number', default: defaults.finalMaxTokens, describe: 'per final part' })
    .option('queries-in-flight', {
      type: 'number',
      default: defaults.queriesInFlight,
      describe: 'queries explored together in each native call',
    })
    .option('seed', { type: 'number', default: defaults.seed }) as Argv<T & ExploreFlagArgs>;
}

/** The exploration options the flags name (checked by resolveExploreOptions where they are used). */
export function exploreOptionsOf(
  args: ExploreFlagArgs,
): Omit<ExploreOptions, 'rejected' | 'shuffleSides' | 'chatTemplate'> {
  return {
    beams: args.beams,
    rollouts: args.rollouts,
    foresightSteps: args.foresight,
    stepTemperature: args['step-temperature'],
    rolloutTemperature: args['rollout-temperature'],
    tau: args.tau,
    mode: args.mode,
    strategy: args.strategy,
    score: args.score,
    maxTokens: args['max-tokens'],
    finalMaxTokens: args['final-max-tokens'],
    queriesInFlight: args['queries-in-flight'],
    seed: args.seed,
  };
}
