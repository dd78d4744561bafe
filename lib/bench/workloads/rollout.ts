/**
 * Rollout workload, ours: one Model.generate of P prompts × n samples × T new tokens, EOS ignored so that both
 * sides sample exactly P·n·T tokens (bench/python/rollout.py is the reference's). Time to first token is when
 * the engine reports its first sampled step.
 */
import type { RolloutSetup } from '../protocol';
import { required, type Loaded, type Run } from './loaded';

export async function prepareRollout(setup: RolloutSetup, loaded: Loaded): Promise<Run<'rollout'>> {
  const model = required(loaded.model, 'a model');
  return async ({ repeat = 0 }) => {
    const started = performance.now();
    let firstTokenAt: number | undefined;
    const generation = await model.generate(setup.prompts, {
      n: setup.n,
      maxNewTokens: setup.maxNewTokens,
      temperature: setup.temperature,
      topP: setup.topP,
      seed: setup.seed + repeat,
      eosTokenIds: [],
      // Progress (step, total) comes before each step's draw: step 1 means the first token has been sampled.
      onProgress: (step) => {
        if (step >= 1) firstTokenAt ??= performance.now();
      },
    });
    const newTokens = generation.samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
    return {
      newTokens,
      firstTokenSeconds: ((firstTokenAt ?? performance.now()) - started) / 1000,
      computedTokens: generation.computedTokens,
    };
  };
}
