/**
 * Train: ACO optimizer steps over the same pairs from the same weights, one step per measurement. Ours is the
 * Trainer (chunked log-probs that never hold [B, T, V], one AdamW update per step over micro-batches); the
 * reference log-probs are those of the starting policy, taken once before the first step, as optimize() does.
 * bench/python/train.py is the reference's. Both sides take the same steps in the same order (the warm-up step
 * included), so their losses must agree step by step. The log-prob stage's memory by sequence length is part of
 * this workload (logprob-memory.ts).
 */
import type { TrainingPair } from '../train/sequences';
import type { Model } from '../model/model';
import { Trainer, type TrainerOptions } from '../train/trainer';
import { compareLogprobMemory } from './logprob-memory';
import {
  interleaved,
  required,
  type CommonSetup,
  type CompareContext,
  type Loaded,
  type MeasurementRecord,
} from './protocol';
import {
  atMost,
  metricRow,
  MIB,
  parityHolds,
  rooflineRow,
  scaledDifference,
  tolerancesFor,
  workloadReport,
  type Check,
  type SideMeasurements,
  type Tolerances,
  type TrainReport,
  type UnratedRow,
  type WorkloadReport,
} from './results';

export interface SequenceJson {
  tokens: number[];
  promptLength: number;
}

/** A preference pair as both sides get it (plan.ts makes them). */
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

export interface TrainResult {
  loss: number;
  gradNorm: number;
}

/**
 * What both sides (and `bench --profile`) run: a float32 model, as optimizer steps on half-precision weights are
 * not what either side trains with; on CUDA both run the forward and backward under bfloat16 autocast.
 */
export function trainSetup(context: CompareContext): TrainSetup {
  const { microBatch, lr } = context.plan.train;
  const pairs = context.inputs.pairs.slice(0, context.plan.train.pairs); // a sweep's inputs hold more
  return { ...context.common, dtype: 'float32', pairs, microBatch, lr, beta: 0.1, alpha: 1 };
}

/** The pairs as the Trainer takes them. */
export function trainingPairs(pairs: readonly PairJson[]): TrainingPair[] {
  return pairs.map((pair) => ({
    chosen: { tokens: Int32Array.from(pair.chosen.tokens), promptLength: pair.chosen.promptLength },
    rejected: { tokens: Int32Array.from(pair.rejected.tokens), promptLength: pair.rejected.promptLength },
    chosenAdvantage: pair.chosenAdvantage,
    rejectedAdvantage: pair.rejectedAdvantage,
  }));
}

/** The Trainer that train and parity step with: the ACO loss, weighted as the paper does. */
export function acoTrainer(
  model: Model,
  setup: { beta: number; alpha: number },
  options: Pick<TrainerOptions, 'microBatch' | 'referenceFree'>,
): Promise<Trainer> {
  return Trainer.create(model, { loss: 'aco', acoWeight: 'paper', beta: setup.beta, alpha: setup.alpha, ...options });
}

/**
 * Our side's measurement, of the train and lora workloads alike: the Trainer of a model loaded with an adapter
 * trains the adapter alone. The reference log-probs are the starting weights' with any adapter off: the base's.
 */
export async function prepareTrain(setup: TrainSetup, loaded: Loaded): Promise<() => Promise<TrainResult>> {
  const pairs = trainingPairs(setup.pairs);
  const trainer = await acoTrainer(required(loaded.model, 'a model'), setup, { microBatch: setup.microBatch });
  const reference = await trainer.referenceLogprobs(pairs, { adapter: false });
  return async () => {
    const step = await trainer.preferenceStep(pairs, reference, setup.lr);
    return { loss: step.loss, gradNorm: step.gradNorm };
  };
}

/** How far optimizer steps may differ: float32 weights, but bfloat16 autocast on CUDA. */
export function stepTolerances(context: CompareContext): Tolerances {
  return tolerancesFor(context.common.device.startsWith('cuda') ? 'bfloat16' : 'float32');
}

/** What the train and lora workloads report of their optimizer steps, before the ratios are taken. */
export interface StepParts {
  checks: Check[];
  rows: UnratedRow[];
  notes: string[];
}

/**
 * The checks and rows of both sides' optimizer steps: their losses must agree step by step; time, throughput, the
 * share of matmul rate (`passes` over the model's weights per token: 3 when every weight takes a gradient) and
 * peak RSS.
 */
export function stepParts(
  context: CompareContext,
  setup: TrainSetup,
  run: SideMeasurements<TrainResult & MeasurementRecord>,
  passes: number,
  parity?: WorkloadReport,
): StepParts {
  const onCuda = context.common.device.startsWith('cuda');
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
  return {
    checks: [
      ...parityHolds(parity),
      atMost('max |step loss diff| / max(1, |loss|)', Math.max(...lossDiffs), stepTolerances(context).loss),
    ],
    rows: [
      metricRow('time per step', 'ms', 'lower', run, (m) => m.seconds * 1000),
      metricRow('pairs/s', 'pairs/s', 'higher', run, (m) => pairs / m.seconds),
      metricRow('tokens/s', 'tok/s', 'higher', run, (m) => tokens / m.seconds),
      rooflineRow(context, run, () => headWeightedTokens, passes),
      metricRow('peak RSS', 'MiB', 'lower', run, (m) => m.peakRssBytes / MIB),
    ],
    notes: [
      `${pairs} pairs of ${tokens} tokens in all per step, micro-batches of ${setup.microBatch} pairs, AdamW at lr ${setup.lr.toExponential()}` +
        (onCuda ? ', bfloat16 autocast' : ''),
    ],
  };
}

/** The optimizer steps of both sides, compared (compareTrain adds the log-prob stage's memory). */
export async function compareTrainSteps(context: CompareContext, parity?: WorkloadReport): Promise<WorkloadReport> {
  const setup = trainSetup(context);
  const { checks, rows, notes } = stepParts(context, setup, await interleaved(context, 'train', setup), 3, parity);
  return workloadReport(checks, rows, notes);
}

export async function compareTrain(context: CompareContext, parity?: WorkloadReport): Promise<TrainReport> {
  const report = await compareTrainSteps(context, parity);
  return { ...report, logprobMemory: await compareLogprobMemory(context) };
}
