/**
 * The benchmark's worker protocol, spoken by both sides: our worker (lib/bench/worker.ts) and the Python reference's
 * (bench/python/worker.py). Each is a child process that runs one workload. Its stdin carries JSON lines: first
 * {workload, setup}, then one line of parameters per measurement; its stdout answers {event: 'ready'} once set up,
 * then one {event: 'measurement'} (or {event: 'error'}) per request. Both sides get the very same setup object.
 */
import type { MeasurementRecord } from './measure';

export const WORKLOADS = ['rollout', 'foresight', 'train', 'parity'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** Every process that a workload runs in: the timed workloads, and the log-prob stage's memory (part of train). */
export type WorkerWorkload = WorkloadName | 'logprobs';

export interface CommonSetup {
  /** The model directory; absent for workloads that need none (logprobs). */
  model?: string;
  device: string;
  dtype: 'float32' | 'bfloat16' | 'float16';
  /** Intra-op threads of libtorch; absent: each side's default. */
  threads?: number;
}

export interface RolloutSetup extends CommonSetup {
  prompts: number[][];
  n: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

export interface ForesightSetup extends CommonSetup {
  queries: string[];
  beams: number;
  rollouts: number;
  foresightSteps: number;
  maxTokens: number;
  finalMaxTokens: number;
  stepTemperature: number;
  rolloutTemperature: number;
  tau: number;
  seed: number;
}

export interface SequenceJson {
  tokens: number[];
  promptLength: number;
}

export interface PairJson {
  chosen: SequenceJson;
  rejected: SequenceJson;
  chosenAdvantage: number;
  rejectedAdvantage: number;
}

export interface TrainSetup extends CommonSetup {
  pairs: PairJson[];
  microBatch: number;
  lr: number;
  beta: number;
  alpha: number;
}

export interface LogprobSetup extends CommonSetup {
  hidden: number;
  vocab: number;
  lengths: number[];
}

export interface ParitySetup extends CommonSetup {
  logitTokens: number[];
  greedyPrompts: number[][];
  greedyTokens: number;
  pairs: PairJson[];
  beta: number;
  alpha: number;
  /** Where the side writes its [T, V] float32 logits (little-endian, row-major). */
  logitsFile: string;
}

export interface SetupOf {
  rollout: RolloutSetup;
  foresight: ForesightSetup;
  train: TrainSetup;
  logprobs: LogprobSetup;
  parity: ParitySetup;
}

export interface RolloutResult {
  newTokens: number;
  firstTokenSeconds: number;
  computedTokens: number;
}

export interface ForesightResult {
  queries: number;
  pairs: number;
  generatedTokens: number;
  computedTokens: number;
}

export interface TrainResult {
  loss: number;
  gradNorm: number;
}

export interface LogprobResult {
  length: number;
  logprobs: number[];
}

export interface ParityResult {
  logitsShape: [number, number];
  greedy: number[][];
  loss: number;
  gradNorm: number;
}

export interface ResultOf {
  rollout: RolloutResult;
  foresight: ForesightResult;
  train: TrainResult;
  logprobs: LogprobResult;
  parity: ParityResult;
}

/** The parameters of one measurement: `repeat` varies the seed; `length` picks a logprobs length. */
export interface MeasureParams {
  repeat?: number;
  length?: number;
}

export interface ReadyEvent {
  event: 'ready';
  setupSeconds: number;
  /** libtorch's intra-op threads. */
  threads: number;
  device: string;
  /** The GPU's name on CUDA (reported by the Python side); null otherwise. */
  deviceName: string | null;
  /** What the side runs on: torch and transformers; libtorch and genius-native. */
  versions: Record<string, string>;
}

export type Measurement<W extends WorkerWorkload> = MeasurementRecord & ResultOf[W] & { event: 'measurement' };

export interface ErrorEvent {
  event: 'error';
  message: string;
}
