/**
 * The inputs both sides of the benchmark get: queries (from the default model's query set), their prompts as
 * token ids (chat template, Genius preamble), and preference pairs of those prompts with random responses of
 * about the plan's sequence length. Made once, by our tokenizer, and sent to both sides as they are.
 */
import path from 'node:path';
import { readQueries } from '../data/queries';
import { seededRandom } from '../genius/random';
import { packageRoot } from '../package-root';
import { stepPrompt } from '../text/steps';
import type { Tokenizer } from '../text/tokenizer';
import type { BenchPlan } from './plan';
import type { PairJson } from './protocol';

export const QUERIES_FILE = path.join(packageRoot, 'data', 'changes', 'queries.jsonl');

export interface BenchInputs {
  queries: string[];
  /** stepPrompt of each query, as token ids. */
  prompts: number[][];
  pairs: PairJson[];
}

/** The shortest response of a pair, for prompts as long as the sequence length. */
const MIN_RESPONSE = 8;

function randomPairs(tokenizer: Tokenizer, prompts: number[][], plan: BenchPlan['train']): PairJson[] {
  const random = seededRandom('bench', 'pairs');
  const tokens = (count: number): number[] =>
    Array.from({ length: count }, () => Math.floor(random() * tokenizer.vocabSize));
  return Array.from({ length: plan.pairs }, (_, i) => {
    const prompt = prompts[i % prompts.length];
    const length = Math.max(MIN_RESPONSE, plan.sequenceLength - prompt.length);
    // The rejected response is up to an eighth shorter, so that micro-batches are ragged as real ones are.
    const rejectedLength = length - Math.floor((random() * length) / 8);
    return {
      chosen: { tokens: [...prompt, ...tokens(length)], promptLength: prompt.length },
      rejected: { tokens: [...prompt, ...tokens(rejectedLength)], promptLength: prompt.length },
      chosenAdvantage: random(),
      rejectedAdvantage: -random(),
    };
  });
}

/** The queries a plan uses (the query set's first ones, cycled if it is short) and their prompts. */
export async function benchPrompts(tokenizer: Tokenizer, plan: BenchPlan): Promise<Omit<BenchInputs, 'pairs'>> {
  const all = await readQueries(QUERIES_FILE);
  const count = Math.max(plan.rollout.prompts, plan.foresight.queries, plan.train.pairs, 2);
  const queries = Array.from({ length: count }, (_, i) => all[i % all.length].instruction);
  const prompts = queries.map((query) => tokenizer.encode(stepPrompt(tokenizer, query), { addSpecialTokens: false }));
  return { queries, prompts };
}

/** The prompts with the plan's pairs. */
export function benchInputs(tokenizer: Tokenizer, plan: BenchPlan, prompted: Omit<BenchInputs, 'pairs'>): BenchInputs {
  return { ...prompted, pairs: randomPairs(tokenizer, prompted.prompts, plan.train) };
}
