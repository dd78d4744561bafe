/**
 * What a benchmark run reports, and how a workload's numbers become its report: the median and spread of the
 * repeats, the checks that must hold for the sides to be compared at all, and ours / reference ratios, withheld
 * when a check fails: a disagreement is not a speed-up. This is the JSON file `genius-native bench` writes;
 * format.ts shows it as a table and as markdown.
 */
import type { ProfileRow } from '../native-types';
import type { LoadReport } from './machine';
import type { BenchPlan } from './plan';
import type { CompareContext, Side, WorkloadName } from './protocol';

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

/** Summaries of repeated measurements: the median, and the spread that says how far to trust it. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median: 0.05 means the measurements lie within 5% of the median's size. */
  spread: number;
  values: number[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function summarize(values: readonly number[]): Summary {
  const center = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median: center, min, max, spread: center === 0 ? 0 : (max - min) / Math.abs(center), values: [...values] };
}

/** One comparison that must hold for a workload's numbers to be reported: |value| within `limit`. */
export interface Check {
  name: string;
  value: number;
  limit: number;
  /** 'max': value must be <= limit; 'min': value must be >= limit. */
  kind: 'max' | 'min';
  holds: boolean;
}

export function atMost(name: string, value: number, limit: number): Check {
  return { name, value, limit, kind: 'max', holds: value <= limit };
}

export function atLeast(name: string, value: number, limit: number): Check {
  return { name, value, limit, kind: 'min', holds: value >= limit };
}

/**
 * A goal the project set for a ratio (the lora workload's, from its issue): reported beside the checks, but a
 * missed one is a finding about our speed or memory, not a disagreement, so it does not make the workload invalid.
 */
export interface Target {
  name: string;
  /** The ratio measured; null when the workload is invalid (its ratios are withheld). */
  value: number | null;
  /** The ratio must be at most this. */
  limit: number;
  /** null when the workload is invalid. */
  met: boolean | null;
}

export function targetAtMost(name: string, value: number | null, limit: number): Target {
  return { name, value, limit, met: value === null ? null : value <= limit };
}

/**
 * When the two sides agree. Both run the same kernels (libtorch is the wheel's), so in float32 they differ only by
 * the order of additions (batched against unbatched, chunked against whole); in bfloat16 or float16 rounding is
 * coarser and the limits are looser. A wrong implementation misses them by far.
 */
export interface Tolerances {
  /** Largest |logit difference|, relative to max(1, largest |logit|). */
  logits: number;
  /** Largest |loss difference|, relative to max(1, |loss|). */
  loss: number;
  /** Largest relative difference of gradient norms. */
  gradNorm: number;
  /** Smallest share of greedy tokens agreeing (up to each prompt's first divergence). */
  greedy: number;
  /** Largest |token log-prob difference| of the log-prob stage (always float32). */
  logprobs: number;
}

const FLOAT32: Tolerances = { logits: 1e-3, loss: 1e-3, gradNorm: 1e-2, greedy: 0.9, logprobs: 1e-3 };
const HALF: Tolerances = { logits: 5e-2, loss: 5e-2, gradNorm: 1e-1, greedy: 0.5, logprobs: 1e-3 };

export function tolerancesFor(dtype: string): Tolerances {
  return dtype === 'float32' ? FLOAT32 : HALF;
}

/** |a − b| / max(1, |b|): a difference that is absolute near 0 and relative away from it. */
export function scaledDifference(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1, Math.abs(b));
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return Number.isNaN(worst) ? Infinity : worst;
}

export interface MetricRow {
  metric: string;
  unit: string;
  /** Which way is better; 'neither' for counts that describe the work rather than rate it. */
  better: 'higher' | 'lower' | 'neither';
  ours: Summary;
  reference: Summary;
  /** ours / reference of the medians; null when the workload is invalid: a disagreement is not a speed-up. */
  ratio: number | null;
}

export type UnratedRow = Omit<MetricRow, 'ratio'>;

export interface WorkloadReport {
  /** False when a check failed: the ratios are then withheld. */
  valid: boolean;
  checks: Check[];
  metrics: MetricRow[];
  notes: string[];
  /** The machine's load while the measurements ran; a noisy workload's numbers are not for publishing. */
  load?: LoadReport;
  /** Goals for the workload's ratios, where the project set some. */
  targets?: Target[];
}

/** Measurements of both sides, in the order they were taken. */
export interface SideMeasurements<M> {
  ours: M[];
  reference: M[];
}

/** The row of `pick` over every measurement of each side. */
export function metricRow<M>(
  metric: string,
  unit: string,
  better: MetricRow['better'],
  measurements: SideMeasurements<M>,
  pick: (measurement: M) => number,
): UnratedRow {
  const summary = (side: M[]): Summary => summarize(side.map(pick));
  return { metric, unit, better, ours: summary(measurements.ours), reference: summary(measurements.reference) };
}

/**
 * The roofline row: each measurement's model FLOPs per second as a percentage of the machine's matmul rate
 * (machine.ts); 2 FLOPs per matmul weight per token through a forward, so `passes` is 3 with the backward.
 */
export function rooflineRow<M extends { seconds: number }>(
  context: CompareContext,
  measurements: SideMeasurements<M>,
  tokens: (measurement: M) => number,
  passes = 1,
): UnratedRow {
  const share = (m: M): number =>
    100 * ((2 * passes * context.model.matmulParameters * tokens(m)) / m.seconds / context.matmulRate);
  return metricRow('share of matmul rate', '%', 'higher', measurements, share);
}

export function workloadReport(checks: Check[], rows: UnratedRow[], notes: string[] = []): WorkloadReport {
  const valid = checks.every((check) => check.holds);
  const metrics = rows.map((row) => ({ ...row, ratio: valid ? row.ours.median / row.reference.median : null }));
  return { valid, checks, metrics, notes };
}

/** A workload whose sides run the model is only as valid as the model's parity. */
export function parityHolds(parity: WorkloadReport | undefined): Check[] {
  return parity === undefined ? [] : [atLeast('parity valid (1 = yes)', parity.valid ? 1 : 0, 1)];
}

export interface SideMemory {
  /** Peak RSS above the RSS before the stage: what the stage itself needed. */
  peakDeltaBytes: number;
  seconds: number;
}

export interface LogprobMemoryRow {
  /** Positions scored (tokens whose log-prob is taken). */
  length: number;
  /** A side's memory, or why there is none: it failed (e.g. out of memory), or was not measured. */
  ours: SideMemory | { error: string } | { skipped: string };
  reference: SideMemory | { error: string } | { skipped: string };
  /** Largest |log-prob difference| between the sides; null when one side has no result. */
  maxAbsDiff: number | null;
}

/** The log-prob stage's peak memory by sequence length: chunked (ours) against the full log_softmax. */
export interface LogprobMemoryReport {
  vocab: number;
  hidden: number;
  rows: LogprobMemoryRow[];
  check: Check | null;
}

export interface TrainReport extends WorkloadReport {
  /** Absent when only the steps ran, as the lora workload's comparison (--only lora). */
  logprobMemory?: LogprobMemoryReport;
}

export interface SweepPoint {
  /** Rows of the rollout batch, or pairs of the training step. */
  size: number;
  valid: boolean;
  /** New tokens/s (rollout) or time per step (train). */
  speed: MetricRow;
  roofline: MetricRow;
  load?: LoadReport;
}

export interface SweepReport {
  rollout: SweepPoint[];
  train: SweepPoint[];
}

export interface BenchReport {
  format: 'genius-native-bench';
  date: string;
  mode: 'quick' | 'full';
  machine: {
    cpu: string;
    cores: number;
    memoryBytes: number;
    device: string;
    /** The GPU's name on CUDA, as torch reports it. */
    deviceName: string | null;
    platform: string;
    node: string;
    /** FLOP/s of large float32 matmuls, measured at the start: the roofline rows' 100%. */
    matmulFlops: number;
  };
  sides: Record<Side, { threads: number; versions: Record<string, string> }>;
  model: {
    dir: string;
    source: 'given' | 'default' | 'random';
    arch: string | null;
    modelType: string;
    layers: number;
    hidden: number;
    vocab: number;
    dtype: string;
  };
  /** The plan as run: the one asked for, cut to the model's positions where needed (see notes). */
  plan: BenchPlan;
  notes: string[];
  workloads: Partial<Record<Exclude<WorkloadName, 'train'>, WorkloadReport>> & { train?: TrainReport };
  /** With --sweep: each side's speed by batch (rollout) and by pairs per step (train). */
  sweep?: SweepReport;
}

/** `bench --profile`'s result for one workload: our side's phases and ops (native/profile). */
export interface WorkloadProfile {
  workload: WorkloadName;
  /** Wall time of the profiled run, the profiler's own collection included. */
  seconds: number;
  /** Time inside native ops and phases: the sum of every row's self time, what the shares are of. */
  nativeMs: number;
  phases: ProfileRow[];
  ops: ProfileRow[];
}
