/**
 * Parity: do the two sides compute the same thing for the same model? The logits of one sequence, greedy
 * decoding of two prompts and the (reference-free) ACO loss of two pairs with its gradient norm. Every other
 * workload's ratios are withheld when this fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { atLeast, atMost, greedyAgreement, maxAbsDifference, scaledDifference } from '../checks';
import { withWorkers, type CompareContext } from '../interleave';
import type { WorkloadReport } from '../results';
import type { Side } from '../worker-process';
import { workloadReport } from './report';

const PAIRS = 2;
const GREEDY_PROMPTS = 2;

function readLogits(file: string): Float32Array {
  const bytes = fs.readFileSync(file);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

export async function compareParity(context: CompareContext): Promise<WorkloadReport> {
  const { inputs, plan, tolerances } = context;
  const logitsFile = (side: Side): string => path.join(context.scratch, `${side}-logits.f32`);
  const measured = await withWorkers(
    context,
    'parity',
    (side) => ({
      ...context.common,
      logitTokens: inputs.prompts[0],
      greedyPrompts: inputs.prompts.slice(0, GREEDY_PROMPTS),
      greedyTokens: plan.parity.greedyTokens,
      pairs: inputs.pairs.slice(0, PAIRS),
      beta: 0.1,
      alpha: 1,
      logitsFile: logitsFile(side),
    }),
    async (workers) => ({ ours: await workers.ours.measure(), reference: await workers.reference.measure() }),
  );
  const { ours, reference } = measured;
  const oursLogits = readLogits(logitsFile('ours'));
  const referenceLogits = readLogits(logitsFile('reference'));
  const scale = referenceLogits.reduce((largest, value) => Math.max(largest, Math.abs(value)), 1);
  const checks = [
    atMost(
      'max |logit diff| / max(1, max |logit|)',
      maxAbsDifference(oursLogits, referenceLogits) / scale,
      tolerances.logits,
    ),
    atLeast(
      'greedy tokens agreeing',
      greedyAgreement(ours.greedy, reference.greedy, plan.parity.greedyTokens),
      tolerances.greedy,
    ),
    atMost('|ACO loss diff| / max(1, |loss|)', scaledDifference(ours.loss, reference.loss), tolerances.loss),
    atMost(
      'grad norm relative diff',
      Math.abs(ours.gradNorm - reference.gradNorm) / reference.gradNorm,
      tolerances.gradNorm,
    ),
  ];
  const notes = [
    `logits [${ours.logitsShape.join(', ')}] of a ${inputs.prompts[0].length}-token prompt; ` +
      `${GREEDY_PROMPTS} prompts × ${plan.parity.greedyTokens} greedy tokens; ACO loss of ${PAIRS} pairs ` +
      `(ours ${ours.loss.toPrecision(6)}, reference ${reference.loss.toPrecision(6)})`,
  ];
  return workloadReport(checks, [], notes);
}
