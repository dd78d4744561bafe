/**
 * Parity workload, ours: what we compute for the inputs that bench/python/parity.py gets, so that the benchmark
 * can check it compares equals: the logits of one sequence (written to a file), greedy decoding of each prompt
 * (EOS ignored), and the reference-free ACO loss of a batch of pairs with its gradient norm (a step at learning
 * rate 0, which leaves the weights as they are).
 */
import fs from 'node:fs';
import { Trainer } from '../../train/trainer';
import type { ParitySetup } from '../protocol';
import { required, type Loaded, type Run } from './loaded';
import { trainingPairs } from './train';

export async function prepareParity(setup: ParitySetup, loaded: Loaded): Promise<Run<'parity'>> {
  const model = required(loaded.model, 'a model');
  const pairs = trainingPairs(setup.pairs);
  const trainer = await Trainer.create(model, {
    loss: 'aco',
    acoWeight: 'paper',
    beta: setup.beta,
    alpha: setup.alpha,
    referenceFree: true,
    microBatch: pairs.length,
  });
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
