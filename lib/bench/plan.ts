/**
 * What a benchmark run measures: the sizes of each workload, and the inputs both sides get. Quick is made to
 * finish within about 3 minutes on 2 CPU cores with the embedded default model (a random config gets 2 layers);
 * full is the measurement to publish, on a quiet machine. Any size can be overridden, e.g. to make the test
 * suite's run take seconds. `--sweep` adds points of its own (SWEEP_BATCHES, SWEEP_PAIRS).
 *
 * The inputs are queries (from the default model's query set), their prompts as token ids (chat template, Genius
 * preamble), and preference pairs of those prompts with random responses of about the plan's sequence length:
 * made once, by our tokenizer, and sent to both sides as they are.
 */
import { readQueries } from '../data/queries';
import { EMBEDDED_QUERIES } from '../embedded';
import { seededRandom } from '../genius/random';
import { DEFAULT_LORA } from '../model/lora';
import { encodeStepPrompt } from '../text/steps';
import type { Tokenizer } from '../text/tokenizer';
import type { PairJson } from './train';

export interface BenchPlan {
  /** Measurements per side after the warm-up one, interleaved ours, reference, ours, reference, ... */
  repeats: number;
  rollout: { prompts: number; n: number; maxNewTokens: number; temperature: number; topP: number };
  /** Genius's defaults M = 2, N = 4, K = 4; token limits are the workload's size. */
  foresight: {
    queries: number;
    beams: number;
    rollouts: number;
    foresightSteps: number;
    maxTokens: number;
    finalMaxTokens: number;
  };
  /** Each measurement is one optimizer step over `pairs` pairs of about `sequenceLength` tokens each. */
  train: { pairs: number; microBatch: number; sequenceLength: number; lr: number };
  /** The lora workload's adapter (its steps are train's): rank r and alpha, the scale being alpha / r. */
  lora: { rank: number; alpha: number };
  /** Sequence lengths (positions scored) of the log-prob stage's memory comparison. */
  logprobs: { lengths: number[] };
  parity: { greedyTokens: number };
  /** Decoder layers of a generated random model; undefined keeps the architecture's. */
  randomLayers: number | undefined;
}

export type PlanOverrides = {
  [K in keyof BenchPlan]?: BenchPlan[K] extends object ? Partial<BenchPlan[K]> : BenchPlan[K];
};

const FORESIGHT_SHAPE = { beams: 2, rollouts: 4, foresightSteps: 4 };

/** The reference trainer's adapter (open-instruct --use_lora: rank 64, alpha 16), our defaults. */
const REFERENCE_LORA = { rank: DEFAULT_LORA.rank, alpha: DEFAULT_LORA.alpha };

export const QUICK_PLAN: BenchPlan = {
  // 3 measurements a side at batch 32: 2 at batch 8 could not tell a 20% change from noise.
  repeats: 3,
  rollout: { prompts: 8, n: 4, maxNewTokens: 32, temperature: 1, topP: 1 },
  foresight: { queries: 1, ...FORESIGHT_SHAPE, maxTokens: 12, finalMaxTokens: 16 },
  train: { pairs: 2, microBatch: 2, sequenceLength: 96, lr: 1e-6 },
  lora: REFERENCE_LORA,
  logprobs: { lengths: [128, 256, 512] },
  parity: { greedyTokens: 16 },
  randomLayers: 2,
};

export const FULL_PLAN: BenchPlan = {
  repeats: 5,
  rollout: { prompts: 8, n: 8, maxNewTokens: 128, temperature: 1, topP: 1 },
  foresight: { queries: 8, ...FORESIGHT_SHAPE, maxTokens: 128, finalMaxTokens: 256 },
  train: { pairs: 8, microBatch: 4, sequenceLength: 512, lr: 1e-6 },
  lora: REFERENCE_LORA,
  logprobs: { lengths: [512, 1024, 2048, 4096, 8192] },
  parity: { greedyTokens: 32 },
  randomLayers: undefined,
};

export function resolvePlan(quick: boolean, overrides: PlanOverrides = {}): BenchPlan {
  const base = quick ? QUICK_PLAN : FULL_PLAN;
  return {
    repeats: overrides.repeats ?? base.repeats,
    rollout: { ...base.rollout, ...overrides.rollout },
    foresight: { ...base.foresight, ...overrides.foresight },
    train: { ...base.train, ...overrides.train },
    lora: { ...base.lora, ...overrides.lora },
    logprobs: { ...base.logprobs, ...overrides.logprobs },
    parity: { ...base.parity, ...overrides.parity },
    randomLayers: 'randomLayers' in overrides ? overrides.randomLayers : base.randomLayers,
  };
}

/**
 * The plan cut to what the model's positions hold (the engine refuses a call that could run past them): a
 * rollout's new tokens, greedy tokens, the training sequences, and foresight's token limits, whose worst case is
 * the prompt, K steps, then a rollout or the final part. Returns the plan and a note for each cut.
 */
export function fitPlan(
  plan: BenchPlan,
  maxPositions: number,
  longestPrompt: number,
): { plan: BenchPlan; notes: string[] } {
  const room = maxPositions - longestPrompt;
  const notes: string[] = [];
  const cut = (what: string, from: number, limit: number): number => {
    if (limit >= from) return from;
    // At least 1: a prompt that leaves no room at all is the engine's to refuse, with its own message.
    const to = Math.max(1, limit);
    notes.push(`${what} cut from ${from} to ${to} to fit the model's ${maxPositions} positions`);
    return to;
  };
  const { foresightSteps, maxTokens, finalMaxTokens } = plan.foresight;
  const scale = Math.min(1, room / (foresightSteps * maxTokens + Math.max(maxTokens, finalMaxTokens)));
  return {
    plan: {
      ...plan,
      rollout: { ...plan.rollout, maxNewTokens: cut('rollout new tokens', plan.rollout.maxNewTokens, room) },
      foresight: {
        ...plan.foresight,
        maxTokens: cut('foresight step tokens', maxTokens, Math.floor(maxTokens * scale)),
        finalMaxTokens: cut('foresight final tokens', finalMaxTokens, Math.floor(finalMaxTokens * scale)),
      },
      train: { ...plan.train, sequenceLength: cut('train sequence length', plan.train.sequenceLength, maxPositions) },
      parity: { greedyTokens: cut('parity greedy tokens', plan.parity.greedyTokens, room) },
    },
    notes,
  };
}

/**
 * `--sweep`'s points: rollout at each batch of rows (prompts × the plan's n samples), training at each count of
 * pairs per step.
 */
export const SWEEP_BATCHES = [8, 16, 32, 64, 128];
export const SWEEP_PAIRS = [4, 8, 16, 32];

/** The prompts and pairs the sweep's largest points need. */
export function sweepSizes(n: number): { prompts: number; pairs: number } {
  return { prompts: Math.ceil(Math.max(...SWEEP_BATCHES) / n), pairs: Math.max(...SWEEP_PAIRS) };
}

export interface BenchInputs {
  queries: string[];
  /** encodeStepPrompt of each query. */
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
  const all = await readQueries(EMBEDDED_QUERIES);
  const count = Math.max(plan.rollout.prompts, plan.foresight.queries, plan.train.pairs, 2);
  const queries = Array.from({ length: count }, (_, i) => all[i % all.length].instruction);
  const prompts = queries.map((query) => encodeStepPrompt(tokenizer, query));
  return { queries, prompts };
}

/** The prompts with the plan's pairs. */
export function benchInputs(tokenizer: Tokenizer, plan: BenchPlan, prompted: Omit<BenchInputs, 'pairs'>): BenchInputs {
  return { ...prompted, pairs: randomPairs(tokenizer, prompted.prompts, plan.train) };
}
