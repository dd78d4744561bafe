/**
 * Rollout: P prompts × n samples × T new tokens in one batched call per side. Both sides must have sampled
 * exactly P·n·T tokens (EOS is ignored) for tokens/s to compare equal work.
 */
import { atMost } from '../checks';
import { interleaved, withWorkers, type CompareContext } from '../interleave';
import type { RolloutSetup } from '../protocol';
import type { WorkloadReport } from '../results';
import { bySide, MEGABYTE, metricRow, parityHolds, rooflineRow, workloadReport } from './report';

/** What both sides (and `bench --profile`) run. */
export function rolloutSetup(context: CompareContext): RolloutSetup {
  const { prompts, n, maxNewTokens, temperature, topP } = context.plan.rollout;
  return {
    ...context.common,
    prompts: context.inputs.prompts.slice(0, prompts),
    n,
    maxNewTokens,
    temperature,
    topP,
    seed: 0,
  };
}

export async function compareRollout(context: CompareContext, parity?: WorkloadReport): Promise<WorkloadReport> {
  const { plan } = context;
  const { prompts, n, maxNewTokens, temperature, topP } = plan.rollout;
  const run = await withWorkers(
    context,
    'rollout',
    () => rolloutSetup(context),
    (workers) => interleaved(context, workers, plan.repeats),
  );
  const expected = prompts * n * maxNewTokens;
  const all = [...run.ours, ...run.reference];
  const checks = [
    ...parityHolds(parity),
    atMost('samples short of P·n·T tokens', all.filter((m) => m.newTokens !== expected).length, 0),
  ];
  return workloadReport(
    checks,
    [
      metricRow(
        'new tokens/s',
        'tok/s',
        'higher',
        bySide(run, (m) => m.newTokens / m.seconds),
      ),
      rooflineRow(context, run, (m) => m.computedTokens),
      metricRow(
        'time to first token',
        's',
        'lower',
        bySide(run, (m) => m.firstTokenSeconds),
      ),
      metricRow(
        'wall time',
        's',
        'lower',
        bySide(run, (m) => m.seconds),
      ),
      metricRow(
        'peak RSS',
        'MiB',
        'lower',
        bySide(run, (m) => m.peakRssBytes / MEGABYTE),
      ),
    ],
    [`${prompts} prompts × ${n} samples × ${maxNewTokens} tokens, temperature ${temperature}, top-p ${topP}`],
  );
}
