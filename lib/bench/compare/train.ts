/**
 * Train: ACO optimizer steps over the same pairs from the same weights, one step per measurement. Both sides
 * take the same steps in the same order (the warm-up step included), so their losses must agree step by step.
 * The log-prob stage's memory by sequence length is part of this workload (compare/logprob-memory.ts).
 */
import { atMost, scaledDifference, tolerancesFor } from '../checks';
import { interleaved, withWorkers, type CompareContext } from '../interleave';
import type { TrainSetup } from '../protocol';
import type { TrainReport, WorkloadReport } from '../results';
import { compareLogprobMemory } from './logprob-memory';
import { bySide, MEGABYTE, metricRow, parityHolds, rooflineRow, workloadReport } from './report';

/**
 * What both sides (and `bench --profile`) run: a float32 model, as optimizer steps on half-precision weights are
 * not what either side trains with; on CUDA both run the forward and backward under bfloat16 autocast.
 */
export function trainSetup(context: CompareContext): TrainSetup {
  const { microBatch, lr } = context.plan.train;
  const pairs = context.inputs.pairs.slice(0, context.plan.train.pairs); // a sweep's inputs hold more
  return { ...context.common, dtype: 'float32', pairs, microBatch, lr, beta: 0.1, alpha: 1 };
}

/** The optimizer steps of both sides, compared (compareTrain adds the log-prob stage's memory). */
export async function compareTrainSteps(context: CompareContext, parity?: WorkloadReport): Promise<WorkloadReport> {
  const { plan } = context;
  const { microBatch, lr } = plan.train;
  const onCuda = context.common.device.startsWith('cuda');
  const setup = trainSetup(context);
  const run = await withWorkers(
    context,
    'train',
    () => setup,
    (workers) => interleaved(context, workers, plan.repeats),
  );
  const pairs = setup.pairs.length;
  const tokens = setup.pairs.reduce((sum, pair) => sum + pair.chosen.tokens.length + pair.rejected.tokens.length, 0);
  // The LM head's work counts at the scored (response) positions only, the work the loss needs: the reference
  // also takes logits at the prompts' positions, and a large vocabulary then made our share exceed 100%.
  const scored = setup.pairs.reduce(
    (sum, pair) =>
      sum +
      pair.chosen.tokens.length -
      pair.chosen.promptLength +
      pair.rejected.tokens.length -
      pair.rejected.promptLength,
    0,
  );
  const { matmulParameters, vocab, hidden } = context.model;
  const head = vocab * hidden;
  const headWeightedTokens = (tokens * (matmulParameters - head) + scored * head) / matmulParameters;
  const lossDiffs = run.ours.map((ours, step) => scaledDifference(ours.loss, run.reference[step].loss));
  const tolerance = tolerancesFor(onCuda ? 'bfloat16' : 'float32').loss;
  const report = workloadReport(
    [...parityHolds(parity), atMost('max |step loss diff| / max(1, |loss|)', Math.max(...lossDiffs), tolerance)],
    [
      metricRow(
        'time per step',
        'ms',
        'lower',
        bySide(run, (m) => m.seconds * 1000),
      ),
      metricRow(
        'pairs/s',
        'pairs/s',
        'higher',
        bySide(run, (m) => pairs / m.seconds),
      ),
      metricRow(
        'tokens/s',
        'tok/s',
        'higher',
        bySide(run, (m) => tokens / m.seconds),
      ),
      rooflineRow(context, run, () => headWeightedTokens, 3),
      metricRow(
        'peak RSS',
        'MiB',
        'lower',
        bySide(run, (m) => m.peakRssBytes / MEGABYTE),
      ),
    ],
    [
      `${pairs} pairs of ${tokens} tokens in all per step, micro-batches of ${microBatch} pairs, AdamW at lr ${lr.toExponential()}` +
        (onCuda ? ', bfloat16 autocast' : ''),
    ],
  );
  return report;
}

export async function compareTrain(context: CompareContext, parity?: WorkloadReport): Promise<TrainReport> {
  const report = await compareTrainSteps(context, parity);
  return { ...report, logprobMemory: await compareLogprobMemory(context) };
}
