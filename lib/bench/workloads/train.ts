/**
 * Train workload, ours: ACO optimizer steps with the Trainer (chunked log-probs that never hold [B, T, V], one
 * AdamW update per step over micro-batches). The reference log-probs are those of the starting policy, taken
 * once before the first step, as optimize() does; bench/python/train.py is the reference's.
 */
import { Trainer } from '../../train/trainer';
import type { TrainingPair } from '../../train/sequences';
import type { PairJson, TrainSetup } from '../protocol';
import { required, type Loaded, type Run } from './loaded';

export function trainingPairs(pairs: readonly PairJson[]): TrainingPair[] {
  return pairs.map((pair) => ({
    chosen: { tokens: Int32Array.from(pair.chosen.tokens), promptLength: pair.chosen.promptLength },
    rejected: { tokens: Int32Array.from(pair.rejected.tokens), promptLength: pair.rejected.promptLength },
    chosenAdvantage: pair.chosenAdvantage,
    rejectedAdvantage: pair.rejectedAdvantage,
  }));
}

export async function prepareTrain(setup: TrainSetup, loaded: Loaded): Promise<Run<'train'>> {
  const model = required(loaded.model, 'a model');
  const pairs = trainingPairs(setup.pairs);
  const trainer = await Trainer.create(model, {
    loss: 'aco',
    acoWeight: 'paper',
    beta: setup.beta,
    alpha: setup.alpha,
    microBatch: setup.microBatch,
  });
  const reference = await trainer.referenceLogprobs(pairs);
  return async () => {
    const step = await trainer.preferenceStep(pairs, reference, setup.lr);
    return { loss: step.loss, gradNorm: step.gradNorm };
  };
}
