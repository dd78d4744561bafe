/**
 * `bench --sweep`: how each side scales with the size of the work. Rollout runs at every batch of SWEEP_BATCHES
 * rows (prompts × the plan's n samples) and training at every SWEEP_PAIRS pairs per step, each point a full
 * interleaved comparison of its own, with its roofline share and its machine load.
 */
import { compareRollout } from './compare/rollout';
import { compareTrainSteps } from './compare/train';
import type { CompareContext } from './interleave';
import type { LoadReport } from './machine-load';
import type { MetricRow, WorkloadReport } from './results';

export const SWEEP_BATCHES = [8, 16, 32, 64, 128];
export const SWEEP_PAIRS = [4, 8, 16, 32];

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

/** The prompts and pairs the sweep's largest points need. */
export function sweepSizes(n: number): { prompts: number; pairs: number } {
  return { prompts: Math.ceil(Math.max(...SWEEP_BATCHES) / n), pairs: Math.max(...SWEEP_PAIRS) };
}

function point(size: number, report: WorkloadReport, speed: string, load: LoadReport | undefined): SweepPoint {
  const row = (metric: string): MetricRow => report.metrics.find((candidate) => candidate.metric === metric)!;
  return { size, valid: report.valid, speed: row(speed), roofline: row('share of matmul rate'), load };
}

export async function runSweep(
  context: CompareContext,
  parity: WorkloadReport,
  parts: { rollout: boolean; train: boolean },
): Promise<SweepReport> {
  const sweep: SweepReport = { rollout: [], train: [] };
  const { plan } = context;
  for (const batch of parts.rollout ? SWEEP_BATCHES : []) {
    context.log(`sweep: rollout at batch ${batch}`);
    const prompts = Math.max(1, Math.round(batch / plan.rollout.n));
    const at = { ...context, plan: { ...plan, rollout: { ...plan.rollout, prompts } } };
    const report = await compareRollout(at, parity);
    sweep.rollout.push(point(prompts * plan.rollout.n, report, 'new tokens/s', context.loads.rollout));
  }
  for (const pairs of parts.train ? SWEEP_PAIRS : []) {
    context.log(`sweep: train at ${pairs} pairs per step`);
    const at = {
      ...context,
      inputs: { ...context.inputs, pairs: context.inputs.pairs.slice(0, pairs) },
      plan: { ...plan, train: { ...plan.train, pairs, microBatch: Math.min(plan.train.microBatch, pairs) } },
    };
    sweep.train.push(point(pairs, await compareTrainSteps(at, parity), 'time per step', context.loads.train));
  }
  return sweep;
}
