/**
 * The bookkeeping of foresight sampling against a hand-worked example: foresight scores, advantages, Q updates,
 * re-sampling probabilities, selections, chosen and rejected trajectories. The model is replaced by a scripted
 * fake with the same generate/continue interface (only here: every other Genius test runs a real model), so that
 * every score is a number chosen by hand.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer, resolveExploreOptions, stopStringMask } from '../lib';
import { STEP_PREAMBLE, rejectionProbabilities, softmax } from '../lib/testing';
import { exploreBatch, type StepSampler } from '../lib/genius/explorer';
import { chooseStepPair, recordPairs } from '../lib/genius/pair-selection';
import { drawWithoutReplacement, selectCandidates } from '../lib/genius/resampling';
import { seededRandom } from '../lib/genius/random';
import type { ExploreOptions } from '../lib/genius/options';
import type { ExplorationRecord } from '../lib/data/records';
import type { Generation, KvCache, SamplingOptions } from '../lib/model/model';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-sampling-'));
const tokenizerDirs = runReference<{ byteLevel: string }>('make_tokenizers.py', { out: dir });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let tokenizer: Tokenizer;
beforeAll(async () => {
  tokenizer = await Tokenizer.fromDir(tokenizerDirs.byteLevel);
});

const FINAL_TOKENS = 300;

/** What the fake samples: each continuation's text and mean token log-prob, chosen by hand. */
interface Script {
  /** Candidate step `index` after `context` (the response so far); `eos` ends the response inside the step. */
  step(context: string, index: number): { text: string; score: number; eos?: boolean };
  rollout(context: string): { text: string; score: number };
  final(context: string): { text: string; score: number };
}

interface Call {
  kind: 'generate' | 'continue';
  rows?: number[];
  n: number;
  cache?: FakeCache;
  phase: 'step' | 'rollout' | 'final';
}

/** A fake KV cache: row r holds the text of sample r's response so far. */
class FakeCache {
  disposed = false;
  constructor(readonly contexts: string[]) {}
  get rows(): number {
    return this.contexts.length;
  }
  dispose(): void {
    this.disposed = true;
  }
}

/** A StepSampler whose samples follow a script; it records its calls and refuses a disposed cache. */
class FakeSampler implements StepSampler {
  readonly calls: Call[] = [];
  readonly caches: FakeCache[] = [];
  constructor(private readonly script: Script) {}

  async generate(prompts: number[][], options: SamplingOptions): Promise<Generation> {
    this.calls.push({ kind: 'generate', n: options.n ?? 1, phase: this.phase(options) });
    return this.sample(
      prompts.map(() => ''),
      options,
    );
  }

  async continue(cache: KvCache, rows: number[], options: SamplingOptions): Promise<Generation> {
    const fake = cache as unknown as FakeCache;
    if (fake.disposed) throw new Error('continued a disposed cache');
    this.calls.push({ kind: 'continue', rows, n: options.n ?? 1, cache: fake, phase: this.phase(options) });
    return this.sample(
      rows.map((row) => fake.contexts[row]),
      options,
    );
  }

  private phase(options: SamplingOptions): Call['phase'] {
    if (options.stopTokenMask !== undefined) return 'step';
    return options.maxNewTokens === FINAL_TOKENS ? 'final' : 'rollout';
  }

  private sample(contexts: string[], options: SamplingOptions): Generation {
    const eos = tokenizer.eosTokenIds[0];
    const phase = this.phase(options);
    const samples = contexts.flatMap((context, input) =>
      Array.from({ length: options.n ?? 1 }, (_, index) => {
        const drawn = phase === 'step' ? this.script.step(context, index) : this.script[phase](context);
        const ended = phase !== 'step' || (drawn as { eos?: boolean }).eos === true;
        const text = ended ? drawn.text : `${drawn.text}\n`;
        const tokens = [...tokenizer.encode(text, { addSpecialTokens: false }), ...(ended ? [eos] : [])];
        return {
          input,
          context: context + text,
          sample: {
            input,
            tokens: Int32Array.from(tokens),
            logprobs: new Float32Array(tokens.length).fill(drawn.score),
            logprobSum: drawn.score * tokens.length,
            finishReason: ended ? ('eos' as const) : ('stop' as const),
          },
        };
      }),
    );
    const cache = options.keepCache ? new FakeCache(samples.map(({ context }) => context)) : undefined;
    if (cache) this.caches.push(cache);
    return {
      samples: samples.map(({ sample }) => sample),
      computedTokens: 0,
      cache: cache as unknown as KvCache | undefined,
    };
  }
}

const lastLine = (context: string): string => context.trimEnd().split('\n').at(-1)!;

/** The hand-worked example: M = 2, N = 2, K = 2. Step 1 draws a0..a3, step 2 draws <beam>b0, <beam>b1. */
const STEP_SCORES: Record<string, number> = { a0: -0.9, a1: -0.4, a2: -0.8, a3: -0.3 };
const FORESIGHT: Record<string, number> = {
  a0: -1.0,
  a1: -0.5,
  a2: -2.0,
  a3: -0.7,
  a1b0: -0.4,
  a1b1: -0.9,
  a3b0: -0.6,
  a3b1: -0.65,
};
const FINALS: Record<string, number> = { a1b0: -0.3, a3b0: -0.2 };

const handWorked: Script = {
  step: (context, index) => {
    const text = context === '' ? `a${index}` : `${lastLine(context)}b${index}`;
    return { text, score: STEP_SCORES[text] ?? -0.5 };
  },
  rollout: (context) => ({ text: `so ${lastLine(context)}`, score: FORESIGHT[lastLine(context)] }),
  final: (context) => ({ text: `end ${lastLine(context)}`, score: FINALS[lastLine(context)] }),
};

async function explore(sampler: FakeSampler, options: Partial<ExploreOptions>): Promise<ExplorationRecord> {
  const context = {
    sampler,
    tokenizer,
    newlineMask: stopStringMask(tokenizer, ['\n']),
    eosTokenIds: [...tokenizer.eosTokenIds],
    options: resolveExploreOptions({
      beams: 2,
      rollouts: 2,
      foresightSteps: 2,
      finalMaxTokens: FINAL_TOKENS,
      ...options,
    }),
  };
  const run = exploreBatch(context, [{ id: 7, instruction: 'What is 2 + 2?' }]);
  for (;;) {
    const next = await run.next();
    if (next.done) return next.value[0];
  }
}

function expectCloseLists(actual: number[][], expected: number[][]): void {
  expect(actual.map((list) => list.length)).toEqual(expected.map((list) => list.length));
  actual.forEach((list, i) => list.forEach((value, j) => expect(value).toBeCloseTo(expected[i][j], 10)));
}

describe('foresight sampling bookkeeping (hand-worked, strategy highest)', () => {
  let sampler: FakeSampler;
  let record: ExplorationRecord;
  beforeAll(async () => {
    sampler = new FakeSampler(handWorked);
    record = await explore(sampler, { strategy: 'highest' });
  });

  it('scores each candidate by its rollout and takes A = f − Q of its beam', () => {
    expectCloseLists(record.prob_pool, [
      [-1.0, -0.5, -2.0, -0.7],
      // Step 2: beams a1 (Q = −0.5) and a3 (Q = −0.7).
      [-0.4, -0.9, -0.6, -0.65],
      // Finals of beams a1b0 (Q = −0.4) and a3b0 (Q = −0.6).
      [-0.3, -0.2],
    ]);
    expectCloseLists(record.adv_pool, [
      [-1.0, -0.5, -2.0, -0.7],
      [0.1, -0.4, 0.1, 0.05],
      [0.1, 0.4],
    ]);
    expectCloseLists(record.step_prob, [
      [-0.9, -0.4, -0.8, -0.3],
      [-0.5, -0.5, -0.5, -0.5],
    ]);
  });

  it('selects the M best, carries Q into the beams and picks the answer by the final scores', () => {
    expect(record.sample_id_pool).toEqual([
      [1, 3],
      [0, 2],
      [1, 1],
    ]);
    expect(record.response_all_beams).toEqual([
      `${STEP_PREAMBLE}a1\na1b0\nend a1b0`,
      `${STEP_PREAMBLE}a3\na3b0\nend a3b0`,
    ]);
    expect(record.response).toBe(record.response_all_beams[1]);
  });

  it('records trajectories and rollouts in the reference layout', () => {
    expect(record.foresight_steps).toBe(2);
    expect(record.traj_pool).toEqual([
      ['a0', 'a1', 'a2', 'a3'].map((step) => `${STEP_PREAMBLE}${step}\nso ${step}`),
      ['a1\na1b0', 'a1\na1b1', 'a3\na3b0', 'a3\na3b1'].map(
        (steps) => `${STEP_PREAMBLE}${steps}\nso ${steps.split('\n')[1]}`,
      ),
      [],
    ]);
    expect(record.step_pool[1]).toEqual(['so a1b0', 'so a1b1', 'so a3b0', 'so a3b1']);
    expect(record.ground_truth).toBeNull();
    expect(record.question).toBe('What is 2 + 2?');
    expect(record.id).toBe(7);
  });

  it('batches each phase into one call and continues kept caches instead of prefilling again', () => {
    const calls = sampler.calls.map(({ kind, rows, n, phase, cache }) => ({
      kind,
      rows,
      n,
      phase,
      cache: cache && sampler.caches.indexOf(cache),
    }));
    expect(calls).toEqual([
      { kind: 'generate', n: 4, phase: 'step', rows: undefined, cache: undefined },
      { kind: 'continue', n: 1, phase: 'rollout', rows: [0, 1, 2, 3], cache: 0 },
      { kind: 'continue', n: 2, phase: 'step', rows: [1, 3], cache: 0 },
      { kind: 'continue', n: 1, phase: 'rollout', rows: [0, 1, 2, 3], cache: 1 },
      { kind: 'continue', n: 1, phase: 'final', rows: [0, 2], cache: 1 },
    ]);
    expect(sampler.caches.every((cache) => cache.disposed)).toBe(true);
  });

  it('builds one pair per step: chosen = highest f, rejected drawn from softmax(f / τ) without the chosen', () => {
    // Step 1: chosen a1 (f = −0.5); the others weigh e^(f / τ) = e^−10, e^−20, e^−7 at τ = 0.1.
    const others = Math.exp(-10) + Math.exp(-20) + Math.exp(-7);
    const paper = rejectionProbabilities(record.prob_pool[0], 1, 'paper', 0.1);
    [Math.exp(-10), 0, Math.exp(-20), Math.exp(-7)].forEach((weight, index) =>
      expect(paper[index]).toBeCloseTo(weight / others, 12),
    );
    // A higher τ flattens the draw towards uniform.
    expect(rejectionProbabilities(record.prob_pool[0], 1, 'paper', 1e6)[2]).toBeCloseTo(1 / 3, 5);
    expect(rejectionProbabilities(record.prob_pool[0], 1, 'uniform', 0.1)).toEqual([1 / 3, 0, 1 / 3, 1 / 3]);
    const pairs = recordPairs(record, tokenizer, { rejected: 'paper', tau: 0.1, seed: 3 });
    expect(pairs).toHaveLength(2);
    expect(pairs[0].chosen).toEqual([{ role: 'assistant', content: record.traj_pool[0][1] }]);
    expect(pairs[0].chosen_weights).toBeCloseTo(-0.5, 12);
    expect(pairs[0].chosen_average_weights).toBeCloseTo((-1.0 - 0.5 - 2.0 - 0.7) / 4, 12);
    expect(pairs[1].chosen).toEqual([{ role: 'assistant', content: record.traj_pool[1][0] }]);
    expect(pairs[1].chosen_weights).toBeCloseTo(0.1, 12);
    expect(pairs[1].chosen_average_weights).toBeCloseTo((0.1 - 0.4 + 0.1 + 0.05) / 4, 12);
    for (const [step, pair] of pairs.entries()) {
      const rejected = record.traj_pool[step].indexOf(pair.rejected[0].content);
      expect(rejected).not.toBe(record.traj_pool[step].indexOf(pair.chosen[0].content));
      expect(pair.rejected_weights).toBe(record.adv_pool[step][rejected]);
    }
  });
});

describe('re-sampling', () => {
  it('draws beams from softmax(f / τ) without replacement', () => {
    // f / τ = [−10, −5, −20, −7]: minus the max, exp gives [e^−5, 1, e^−15, e^−2].
    const total = Math.exp(-5) + 1 + Math.exp(-15) + Math.exp(-2);
    const probabilities = softmax([-1.0, -0.5, -2.0, -0.7], 0.1);
    [Math.exp(-5), 1, Math.exp(-15), Math.exp(-2)].forEach((weight, index) =>
      expect(probabilities[index]).toBeCloseTo(weight / total, 12),
    );
    // First draws follow the probabilities; the second draw is from the rest, renormalised.
    const random = seededRandom(1, 'test');
    const weights = [0.1, 0.2, 0.3, 0.4];
    const firsts = [0, 0, 0, 0];
    const pairs = new Map<string, number>();
    const draws = 40000;
    let repeats = 0;
    for (let i = 0; i < draws; i++) {
      const [first, second] = drawWithoutReplacement(weights, 2, random);
      if (second === first) repeats++;
      firsts[first]++;
      pairs.set(`${first}${second}`, (pairs.get(`${first}${second}`) ?? 0) + 1);
    }
    expect(repeats).toBe(0);
    weights.forEach((weight, index) => expect(firsts[index] / draws).toBeCloseTo(weight, 2));
    // P(3 then 2) = 0.4 · 0.3 / 0.6 = 0.2.
    expect(pairs.get('32')! / draws).toBeCloseTo(0.2, 2);
  });

  it('selects by the advantages with strategy advantage, uniformly with random, and repeats with a seed', () => {
    const scores = { scores: [-3, -0.1, -2, -1], advantages: [0, -5, -5, -5] };
    // softmax(A / 0.1) puts all but e^−50 of the mass on candidate 0.
    expect(selectCandidates('advantage', scores, 1, 0.1, seededRandom(0))).toEqual([0]);
    expect(selectCandidates('foresight', scores, 1, 0.1, seededRandom(0))).toEqual([1]);
    expect(selectCandidates('highest', scores, 3, 0.1, seededRandom(0))).toEqual([1, 3, 2]);
    const random = selectCandidates('random', scores, 4, 0.1, seededRandom(5));
    expect([...random].sort()).toEqual([0, 1, 2, 3]);
    expect(selectCandidates('random', scores, 4, 0.1, seededRandom(5))).toEqual(random);
  });

  it('chooses the first of tied best trajectories and skips pools of one', () => {
    expect(chooseStepPair([-1, -0.5, -0.5], [0, 0, 0], 'paper', 0.1, seededRandom(0))?.chosen).toBe(1);
    expect(chooseStepPair([-1], [0], 'paper', 0.1, seededRandom(0))).toBeNull();
    // Every other trajectory far below the best: softmax underflows for all of them and the draw is uniform.
    expect(rejectionProbabilities([0, -1e4, -2e4], 0, 'paper', 0.1)).toEqual([0, 0.5, 0.5]);
  });
});

describe('responses that end, and mode light', () => {
  it('scores a candidate that ends by its own tokens and carries its beam, unchanged, to the end', async () => {
    // a0 ends the response with EOS; as f it gets its own mean log-prob (−0.1), the best of step 1.
    const script: Script = {
      ...handWorked,
      step: (context, index) =>
        context === '' && index === 0 ? { text: 'a0', score: -0.1, eos: true } : handWorked.step(context, index),
      final: (context) => ({ text: `end ${lastLine(context)}`, score: -0.25 }),
    };
    const sampler = new FakeSampler(script);
    const record = await explore(sampler, { strategy: 'highest' });
    expectCloseLists(record.prob_pool, [
      [-0.1, -0.5, -2.0, -0.7],
      // The ended beam (Q = −0.1) is one entry with f = Q; beam a1 (Q = −0.5) samples two candidates.
      [-0.1, -0.4, -0.9],
      [-0.1, -0.25],
    ]);
    expectCloseLists(record.adv_pool, [
      [-0.1, -0.5, -2.0, -0.7],
      [0, 0.1, -0.4],
      [0, 0.15],
    ]);
    expect(record.sample_id_pool).toEqual([
      [0, 1],
      [0, 1],
      [0, 0],
    ]);
    expect(record.traj_pool[0][0]).toBe(`${STEP_PREAMBLE}a0`);
    expect(record.traj_pool[1][0]).toBe(`${STEP_PREAMBLE}a0`);
    expect(record.response_all_beams).toEqual([`${STEP_PREAMBLE}a0`, `${STEP_PREAMBLE}a1\na1b0\nend a1b0`]);
    // No rollout of the ended candidate, no step or final part of the ended beam.
    const rows = sampler.calls.map(({ phase, rows }) => [phase, rows]);
    expect(rows).toEqual([
      ['step', undefined],
      ['rollout', [1, 2, 3]],
      ['step', [1]],
      ['rollout', [0, 1]],
      ['final', [0]],
    ]);
  });

  it('with K = 0, samples the final part of each beam straight from the prompt', async () => {
    const sampler = new FakeSampler({ ...handWorked, final: () => ({ text: 'all at once', score: -1 }) });
    const record = await explore(sampler, { foresightSteps: 0, strategy: 'highest' });
    expect(sampler.calls.map(({ kind, phase, n }) => [kind, phase, n])).toEqual([['generate', 'final', 2]]);
    expect(record.response_all_beams).toEqual([`${STEP_PREAMBLE}all at once`, `${STEP_PREAMBLE}all at once`]);
    expect(record.traj_pool).toEqual([[]]);
    expect(record.sample_id_pool).toEqual([[0, 0]]);
  });

  it("with score 'step', scores candidates by their own log-prob though rollouts still run (w/o foresight)", async () => {
    const sampler = new FakeSampler(handWorked);
    const record = await explore(sampler, { strategy: 'highest', score: 'step' });
    const foresight = await explore(new FakeSampler(handWorked), { strategy: 'highest' });
    expect(sampler.calls.some(({ phase }) => phase === 'rollout')).toBe(true);
    // Trajectories are whole responses either way; only their scores differ: f = the step's own mean log-prob.
    expect(record.traj_pool[0]).toEqual(foresight.traj_pool[0]);
    expectCloseLists(record.prob_pool.slice(0, 1), record.step_prob.slice(0, 1));
    expect(record.prob_pool[0]).not.toEqual(foresight.prob_pool[0]);
  });

  it('with shuffled sides, swaps chosen and rejected in about half of the pairs, and keeps the pairs', async () => {
    const record = await explore(new FakeSampler(handWorked), { strategy: 'highest' });
    const many = Array.from({ length: 200 }, (_, id) => ({ ...record, id }));
    const options = { rejected: 'paper' as const, tau: 0.1, seed: 0 };
    const plain = many.flatMap((r) => recordPairs(r, tokenizer, options));
    const shuffled = many.flatMap((r) => recordPairs(r, tokenizer, { ...options, shuffleSides: true }));
    let swapped = 0;
    plain.forEach((pair, index) => {
      const other = shuffled[index];
      const same = other.chosen[0].content === pair.chosen[0].content;
      if (!same) {
        swapped++;
        expect([other.rejected, other.chosen_weights]).toEqual([pair.chosen, pair.rejected_weights]);
        expect([other.chosen, other.rejected_weights]).toEqual([pair.rejected, pair.chosen_weights]);
      } else expect(other).toEqual(pair);
    });
    expect(swapped / plain.length).toBeGreaterThan(0.4);
    expect(swapped / plain.length).toBeLessThan(0.6);
  });

  it('skips foresight when every candidate step is confident, scoring candidates by their own log-prob', async () => {
    const confident: Script = {
      step: (context, index) => ({ ...handWorked.step(context, index), score: -0.2 + (index % 2) * 0.01 }),
      rollout: handWorked.rollout,
      final: () => ({ text: 'end', score: -0.3 }),
    };
    const sampler = new FakeSampler(confident);
    const record = await explore(sampler, { strategy: 'highest', mode: 'light' });
    expect(sampler.calls.map(({ phase }) => phase)).toEqual(['step', 'step', 'final']);
    expect(record.traj_pool).toEqual([[], [], []]);
    expect(record.prob_pool.slice(0, 2)).toEqual([[], []]);
    expectCloseLists(record.step_prob, [
      [-0.2, -0.19, -0.2, -0.19],
      [-0.2, -0.19, -0.2, -0.19],
    ]);
    // Selected: the −0.19 candidates, a1 and a3, then a1b1 and a3b1; their Q = −0.19 shows in the final advantages.
    expect(record.sample_id_pool.slice(0, 2)).toEqual([
      [1, 3],
      [1, 3],
    ]);
    expectCloseLists(record.adv_pool.slice(2), [[-0.11, -0.11]]);
    expect(recordPairs(record, tokenizer, { rejected: 'paper', tau: 0.1, seed: 0 })).toEqual([]);
    const full = await explore(new FakeSampler(confident), { strategy: 'highest', mode: 'full' });
    expect(full.traj_pool[0]).toHaveLength(4);
  });
});
