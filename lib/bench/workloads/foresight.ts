/**
 * Foresight workload, ours: one Genius exploration of the queries (lib/genius: candidates and rollouts of a batch
 * of queries share each native call, and rows continue from kept KV caches instead of being prefilled again).
 * bench/python/foresight.py is the reference's.
 */
import { Genius } from '../../genius/genius';
import type { ForesightSetup, ForesightResult } from '../protocol';
import { required, type Loaded, type Run } from './loaded';

export async function prepareForesight(setup: ForesightSetup, loaded: Loaded): Promise<Run<'foresight'>> {
  const model = required(loaded.model, 'a model');
  const tokenizer = required(loaded.tokenizer, 'a tokenizer');
  const queries = setup.queries.map((instruction, id) => ({ id, instruction }));
  const genius = (repeat: number): Genius =>
    new Genius(model, tokenizer, {
      beams: setup.beams,
      rollouts: setup.rollouts,
      foresightSteps: setup.foresightSteps,
      maxTokens: setup.maxTokens,
      finalMaxTokens: setup.finalMaxTokens,
      stepTemperature: setup.stepTemperature,
      rolloutTemperature: setup.rolloutTemperature,
      tau: setup.tau,
      seed: setup.seed + repeat,
    });
  // A Genius finds the tokens holding '\n' through the tokenizer, which caches every token's text: a first one
  // here leaves that work in the setup, where the reference finds its newline token ids too.
  genius(0);
  return async ({ repeat = 0 }) => {
    const result: ForesightResult = { queries: queries.length, pairs: 0, generatedTokens: 0, computedTokens: 0 };
    for await (const event of genius(repeat).explore(queries)) {
      if (event.type === 'pair') result.pairs++;
      if (event.type === 'progress') {
        result.generatedTokens = event.generatedTokens;
        result.computedTokens = event.computedTokens;
      }
    }
    return result;
  };
}
