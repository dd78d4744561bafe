/**
 * Parity: do the two sides compute the same thing for the same model? Each side (ours here,
 * bench/python/parity.py there) computes the logits of one sequence (written to a file), greedy decoding of two
 * prompts (EOS ignored), and the reference-free ACO loss of two pairs with its gradient norm (a step at learning
 * rate 0, which leaves the weights as they are). Parity runs first and always: every other workload's ratios are
 * withheld when it fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  required,
  withWorkers,
  type CommonSetup,
  type CompareContext,
  type Loaded,
  type Run,
  type Side,
} from './protocol';
import { atLeast, atMost, maxAbsDifference, scaledDifference, workloadReport, type WorkloadReport } from './results';
import { acoTrainer, trainingPairs, type PairJson } from './train';

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

export interface ParityResult {
  logitsShape: [number, number];
  greedy: number[][];
  loss: number;
  gradNorm: number;
}

const PAIRS = 2;
const GREEDY_PROMPTS = 2;

/** Our side's measurement. */
export async function prepareParity(setup: ParitySetup, loaded: Loaded): Promise<Run<'parity'>> {
  const model = required(loaded.model, 'a model');
  const pairs = trainingPairs(setup.pairs);
  const trainer = await acoTrainer(model, setup, { referenceFree: true, microBatch: pairs.length });
  return async () => {
    using logits = await model.logits(setup.logitTokens);
    const values = logits.toArray() as Float32Array;
    fs.writeFileSync(setup.logitsFile, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    const greedy: number[][] = [];
    for (const prompt of setup.greedyPrompts) {
      const generation = await model.generate([prompt], {
        maxNewTokens: setup.greedyTokens,
        temperature: 0,
        eosTokenIds: [],
      });
      greedy.push(Array.from(generation.samples[0].tokens));
    }
    const step = await trainer.preferenceStep(pairs, undefined, 0);
    return {
      logitsShape: logits.shape as [number, number],
      greedy,
      loss: step.loss,
      gradNorm: step.gradNorm,
    };
  };
}

/** The share of greedy tokens that agree, counting each prompt's tokens up to its first divergence. */
function greedyAgreement(ours: readonly number[][], reference: readonly number[][], tokens: number): number {
  if (ours.length !== reference.length || ours.length === 0) return 0;
  let agreeing = 0;
  ours.forEach((sequence, i) => {
    let same = 0;
    while (same < tokens && sequence[same] !== undefined && sequence[same] === reference[i][same]) same++;
    agreeing += same;
  });
  return agreeing / (ours.length * tokens);
}

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
