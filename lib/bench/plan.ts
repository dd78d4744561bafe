/**
 * The sizes of a benchmark run. Quick is made to finish within about 3 minutes on 2 CPU cores with the embedded
 * default model (a random config gets 2 layers); full is the measurement to publish, on a quiet machine. Any size
 * can be overridden, e.g. to make the test suite's run take seconds.
 */
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

export const QUICK_PLAN: BenchPlan = {
  // 3 measurements a side at batch 32: 2 at batch 8 could not tell a 20% change from noise.
  repeats: 3,
  rollout: { prompts: 8, n: 4, maxNewTokens: 32, temperature: 1, topP: 1 },
  foresight: { queries: 1, ...FORESIGHT_SHAPE, maxTokens: 12, finalMaxTokens: 16 },
  train: { pairs: 2, microBatch: 2, sequenceLength: 96, lr: 1e-6 },
  logprobs: { lengths: [128, 256, 512] },
  parity: { greedyTokens: 16 },
  randomLayers: 2,
};

export const FULL_PLAN: BenchPlan = {
  repeats: 5,
  rollout: { prompts: 8, n: 8, maxNewTokens: 128, temperature: 1, topP: 1 },
  foresight: { queries: 8, ...FORESIGHT_SHAPE, maxTokens: 128, finalMaxTokens: 256 },
  train: { pairs: 8, microBatch: 4, sequenceLength: 512, lr: 1e-6 },
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
