/** What a benchmark run reports: the JSON file `genius-native bench` writes, and what its table and markdown show. */
import type { LoadReport } from './machine-load';
import type { BenchPlan } from './plan';
import type { SweepReport } from './sweep';
import type { Summary } from './stats';
import type { WorkloadName } from './protocol';
import type { Side } from './worker-process';

/** One comparison that must hold for a workload's numbers to be reported: |value| within `limit`. */
export interface Check {
  name: string;
  value: number;
  limit: number;
  /** 'max': value must be <= limit; 'min': value must be >= limit. */
  kind: 'max' | 'min';
  holds: boolean;
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

export interface WorkloadReport {
  /** False when a check failed: the ratios are then withheld. */
  valid: boolean;
  checks: Check[];
  metrics: MetricRow[];
  notes: string[];
  /** The machine's load while the measurements ran; a noisy workload's numbers are not for publishing. */
  load?: LoadReport;
}

export interface TrainReport extends WorkloadReport {
  /** The log-prob stage's peak memory by sequence length: chunked (ours) against the full log_softmax. */
  logprobMemory: { vocab: number; hidden: number; rows: LogprobMemoryRow[]; check: Check | null };
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
