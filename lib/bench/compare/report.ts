/** Building a workload's report from its checks and measurements: ratios only when every check holds. */
import { atLeast } from '../checks';
import type { Check, MetricRow, WorkloadReport } from '../results';
import type { CompareContext } from '../interleave';
import { rooflineShare } from '../roofline';
import { summarize } from '../stats';

export type UnratedRow = Omit<MetricRow, 'ratio'>;

/** One number per measurement of each side. */
export interface SideValues {
  ours: number[];
  reference: number[];
}

/** `pick` of every measurement of each side. */
export function bySide<M>(measurements: { ours: M[]; reference: M[] }, pick: (measurement: M) => number): SideValues {
  return { ours: measurements.ours.map(pick), reference: measurements.reference.map(pick) };
}

export function metricRow(metric: string, unit: string, better: MetricRow['better'], values: SideValues): UnratedRow {
  return { metric, unit, better, ours: summarize(values.ours), reference: summarize(values.reference) };
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

export const MEGABYTE = 1024 * 1024;

/** The roofline row: each measurement's model FLOP/s as a percentage of the machine's matmul rate. */
export function rooflineRow<M extends { seconds: number }>(
  context: CompareContext,
  measurements: { ours: M[]; reference: M[] },
  tokens: (measurement: M) => number,
  passes = 1,
): UnratedRow {
  const share = (m: M): number =>
    100 * rooflineShare(tokens(m), m.seconds, context.model.matmulParameters, context.matmulRate, passes);
  return metricRow('share of matmul rate', '%', 'higher', bySide(measurements, share));
}
