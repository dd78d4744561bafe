/**
 * Foresight: one full Genius exploration of Q queries (M beams, N candidates per beam, K steps) per measurement.
 * The sides draw different samples, so their steps and responses end at different places: wall time is reported
 * with the tokens each side generated and the tokens it ran through the model (prefills, re-encoded prefixes,
 * padding and finished rows included), which is where KV reuse shows.
 */
import { interleaved, withWorkers, type CompareContext } from '../interleave';
import type { ForesightSetup } from '../protocol';
import type { WorkloadReport } from '../results';
import { bySide, MEGABYTE, metricRow, parityHolds, rooflineRow, workloadReport } from './report';

/** What both sides (and `bench --profile`) run: Genius's defaults. */
export function foresightSetup(context: CompareContext): ForesightSetup {
  const { queries, ...shape } = context.plan.foresight;
  return {
    ...context.common,
    ...shape,
    queries: context.inputs.queries.slice(0, queries),
    stepTemperature: 0.6,
    rolloutTemperature: 1,
    tau: 0.1,
    seed: 0,
  };
}

export async function compareForesight(context: CompareContext, parity?: WorkloadReport): Promise<WorkloadReport> {
  const run = await withWorkers(
    context,
    'foresight',
    () => foresightSetup(context),
    (workers) => interleaved(context, workers, context.plan.repeats),
  );
  const { queries, ...shape } = context.plan.foresight;
  return workloadReport(
    parityHolds(parity),
    [
      metricRow(
        'wall time',
        's',
        'lower',
        bySide(run, (m) => m.seconds),
      ),
      rooflineRow(context, run, (m) => m.computedTokens),
      metricRow(
        'generated tokens/s',
        'tok/s',
        'higher',
        bySide(run, (m) => m.generatedTokens / m.seconds),
      ),
      metricRow(
        'generated tokens',
        'tokens',
        'neither',
        bySide(run, (m) => m.generatedTokens),
      ),
      metricRow(
        'computed tokens',
        'tokens',
        'neither',
        bySide(run, (m) => m.computedTokens),
      ),
      metricRow(
        'computed per generated token',
        '×',
        'lower',
        bySide(run, (m) => m.computedTokens / m.generatedTokens),
      ),
      metricRow(
        'pairs',
        'pairs',
        'neither',
        bySide(run, (m) => m.pairs),
      ),
      metricRow(
        'peak RSS',
        'MiB',
        'lower',
        bySide(run, (m) => m.peakRssBytes / MEGABYTE),
      ),
    ],
    [
      `queries ${queries}, M = ${shape.beams}, N = ${shape.rollouts}, K = ${shape.foresightSteps}; ` +
        `${shape.maxTokens} tokens at most per step and rollout, ${shape.finalMaxTokens} per final part; ` +
        'ours explores the queries together; the reference, one query at a time as its code does',
    ],
  );
}
