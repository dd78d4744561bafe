import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, Model, type Generation, type StepTokens } from '../lib';
import { EMBEDDED_MODEL_DIR } from '../lib/embedded';
import { runReference } from './helpers/python';
import { countDraws, expectDrawnFrom } from './helpers/sampling';

// Tiny random checkpoints written by transformers itself: Llama (GQA), Llama with llama3 rope
// scaling, Qwen2 (q/k/v bias, tied embeddings), Mistral (sliding window).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-engine-'));
const models = runReference<Record<string, string>>('make_tiny_models.py', { out: dir, initializer_range: 0.2 });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Deterministic token ids in [1, vocab) of a given length. */
const tokens = (length: number, salt: number, vocab = 256): number[] =>
  Array.from({ length }, (_, i) => 1 + ((i * 37 + salt * 101) % (vocab - 1)));

interface Reference {
  logits: number[][];
  greedy: { tokens: number[]; logprobs: number[] }[];
}

describe.each(Object.keys(models))('%s: parity with transformers', (name) => {
  const prompts = [tokens(5, 1), tokens(17, 2), tokens(9, 3)];
  const sequence = tokens(40, 4);
  const repetitionPenalty = 1.5;
  let model: Model;
  let reference: Reference;
  /** generate(do_sample=False, repetition_penalty=1.5) */
  let penalized: Reference;
  beforeAll(async () => {
    model = await Model.load(models[name]);
    reference = runReference<Reference>('hf_rollout.py', {
      dir: models[name],
      logits_tokens: sequence,
      greedy_prompts: prompts,
      max_new_tokens: 32,
    });
    penalized = runReference<Reference>('hf_rollout.py', {
      dir: models[name],
      greedy_prompts: prompts,
      max_new_tokens: 32,
      repetition_penalty: repetitionPenalty,
    });
  });
  afterAll(() => model.dispose());

  it('gives the same logits (float32, max abs diff <= 1e-4)', async () => {
    using logits = await model.logits(sequence);
    expect(logits.shape).toEqual([sequence.length, 256]);
    const ours = logits.toArray() as Float32Array;
    const worst = Math.max(...reference.logits.flat().map((v, i) => Math.abs(v - ours[i])));
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it('decodes 32 greedy tokens identically, batched with ragged prompts, with the same log-probs', async () => {
    const result = await model.generate(prompts, { maxNewTokens: 32, temperature: 0, eosTokenIds: [] });
    expect(result.samples).toHaveLength(prompts.length);
    result.samples.forEach((sample, i) => {
      expect(sample.input).toBe(i);
      expect(Array.from(sample.tokens)).toEqual(reference.greedy[i].tokens);
      expect(sample.finishReason).toBe('length');
      const worst = Math.max(...reference.greedy[i].logprobs.map((v, j) => Math.abs(v - sample.logprobs[j])));
      expect(worst).toBeLessThanOrEqual(1e-4);
      const sum = Array.from(sample.logprobs).reduce((a, b) => a + b, 0);
      expect(sample.logprobSum).toBeCloseTo(sum, 4);
    });
  });

  it('continues a kept cache exactly like generating the whole sequence at once', async () => {
    const first = await model.generate(prompts, { maxNewTokens: 6, temperature: 0, eosTokenIds: [], keepCache: true });
    const rest = await model.continue(first.cache!, [0, 1, 2], { maxNewTokens: 10, temperature: 0, eosTokenIds: [] });
    first.cache!.dispose();
    rest.samples.forEach((sample, i) => {
      const whole = [...first.samples[i].tokens, ...sample.tokens];
      expect(whole).toEqual(reference.greedy[i].tokens.slice(0, 16));
    });
  });

  it('decodes greedily with a repetition penalty as generate(repetition_penalty) does, log-probs the model’s own', async () => {
    const options = { temperature: 0, repetitionPenalty, eosTokenIds: [] };
    const result = await model.generate(prompts, { ...options, maxNewTokens: 32 });
    result.samples.forEach((sample, i) => {
      expect(Array.from(sample.tokens)).toEqual(penalized.greedy[i].tokens);
      const worst = Math.max(...penalized.greedy[i].logprobs.map((v, j) => Math.abs(v - sample.logprobs[j])));
      expect(worst).toBeLessThanOrEqual(1e-4);
    });
    // The penalty changed what greedy decoding draws.
    expect(penalized.greedy.map((g) => g.tokens)).not.toEqual(reference.greedy.map((g) => g.tokens));

    // A continued row has seen its prompt and the tokens drawn before.
    const first = await model.generate(prompts, { ...options, maxNewTokens: 6, keepCache: true });
    const rest = await model.continue(first.cache!, [0, 1, 2], { ...options, maxNewTokens: 10 });
    first.cache!.dispose();
    rest.samples.forEach((sample, i) => {
      expect([...first.samples[i].tokens, ...sample.tokens]).toEqual(penalized.greedy[i].tokens.slice(0, 16));
    });
  });

  it('keeps each row’s repetition penalty when its n samples fork and finished rows leave the batch', async () => {
    // The first prompt's fourth token ends a sample: rows finish at different steps and the batch is compacted.
    const eos = penalized.greedy[0].tokens[3];
    const result = await model.generate(prompts, {
      n: 2,
      maxNewTokens: 32,
      temperature: 0,
      repetitionPenalty,
      eosTokenIds: [eos],
    });
    const expected = penalized.greedy.map(({ tokens: ids }) =>
      ids.includes(eos) ? ids.slice(0, ids.indexOf(eos) + 1) : ids,
    );
    expect(result.samples.map((sample) => Array.from(sample.tokens))).toEqual(expected.flatMap((ids) => [ids, ids]));
    expect(new Set(expected.map((ids) => ids.length)).size).toBeGreaterThan(1);
  });
});

describe('sampling', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(models.llama);
  });
  afterAll(() => model.dispose());
  const prompt = [tokens(6, 7)];

  it('repeats with the same seed and differs with another', async () => {
    const options = { n: 4, maxNewTokens: 12, temperature: 1, seed: 11, eosTokenIds: [] };
    const a = await model.generate(prompt, options);
    const b = await model.generate(prompt, options);
    const c = await model.generate(prompt, { ...options, seed: 12 });
    const ids = (g: typeof a) => g.samples.map((s) => Array.from(s.tokens));
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a)).not.toEqual(ids(c));
  });

  it('draws first tokens with the model distribution (chi-square over 4096 samples)', async () => {
    using logits = await model.logits(prompt[0]);
    const row = Array.from((logits.toArray() as Float32Array).slice((prompt[0].length - 1) * 256));
    const max = Math.max(...row);
    const weights = row.map((v) => Math.exp(v - max));
    const total = weights.reduce((a, b) => a + b, 0);
    const draws = 4096;
    const result = await model.generate(prompt, {
      n: draws,
      maxNewTokens: 1,
      temperature: 1,
      seed: 3,
      eosTokenIds: [],
    });
    const counts = countDraws(
      result.samples.map((sample) => sample.tokens[0]),
      256,
    );
    expectDrawnFrom(
      counts,
      weights.map((w) => w / total),
    );
  });

  it('never emits tokens outside top-k, top-p or min-p', async () => {
    using logits = await model.logits(prompt[0]);
    const row = Array.from((logits.toArray() as Float32Array).slice((prompt[0].length - 1) * 256));
    const order = row.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
    const topK = new Set(order.slice(0, 3).map(([, i]) => i));
    const k = await model.generate(prompt, { n: 500, maxNewTokens: 1, topK: 3, seed: 1, eosTokenIds: [] });
    for (const sample of k.samples) expect(topK.has(sample.tokens[0])).toBe(true);

    const max = order[0][0];
    const probs = order.map(([v, i]) => [Math.exp(v - max), i] as const);
    const total = probs.reduce((a, [p]) => a + p, 0);
    const allowed = new Set<number>();
    let mass = 0;
    for (const [p, i] of probs) {
      if (mass >= 0.5 * total) break;
      allowed.add(i);
      mass += p;
    }
    const p = await model.generate(prompt, { n: 500, maxNewTokens: 1, topP: 0.5, seed: 2, eosTokenIds: [] });
    for (const sample of p.samples) expect(allowed.has(sample.tokens[0])).toBe(true);

    // min-p 0.2 at temperature 0.5: p_i / p_max = exp((l_i - l_max) / 0.5) >= 0.2.
    const kept = new Set(order.filter(([v]) => Math.exp((v - max) / 0.5) >= 0.2).map(([, i]) => i));
    const minP = { n: 500, maxNewTokens: 1, temperature: 0.5, minP: 0.2, seed: 3, eosTokenIds: [] };
    const m = await model.generate(prompt, minP);
    expect(new Set(m.samples.map((sample) => sample.tokens[0]))).toEqual(kept);
  });

  it('draws a seeded sample the same beside others or alone, under a repetition penalty and min-p (float64)', async () => {
    // float64, so that the batch's other rows change the logits by rounding only.
    using model64 = await Model.load(models.llama, { dtype: 'float64' });
    const prompts = [tokens(5, 1), tokens(17, 2), tokens(9, 3)];
    const n = 3;
    const seeds = Array.from({ length: prompts.length * n }, (_, s) => 1000 + 7 * s);
    // 32 end tokens: samples finish at different steps and leave the batch, their seen tokens with them.
    const sampling = { maxNewTokens: 24, temperature: 1, minP: 0.05, eosTokenIds: tokens(32, 5) };
    const penalized = { ...sampling, repetitionPenalty: 1.5 };
    const ids = (generation: Generation): number[][] => generation.samples.map((sample) => Array.from(sample.tokens));
    const together = await model64.generate(prompts, { ...penalized, n, sampleSeeds: seeds });
    const alone: number[][] = [];
    for (const [s, seed] of seeds.entries()) {
      const prompt = prompts[Math.floor(s / n)];
      alone.push(...ids(await model64.generate([prompt], { ...penalized, sampleSeeds: [seed] })));
    }
    expect(ids(together)).toEqual(alone);
    expect(new Set(alone.map((sample) => sample.length)).size).toBeGreaterThan(1);
    // The penalty changed the draws: the seen tokens reached the seeded path.
    const unpenalized = await model64.generate(prompts, { ...sampling, n, sampleSeeds: seeds });
    expect(ids(unpenalized)).not.toEqual(alone);
  });

  it('stops at eos, at stop-mask tokens and at stop sequences, and says why', async () => {
    const free = await model.generate(prompt, { maxNewTokens: 20, temperature: 0, eosTokenIds: [] });
    const greedy = Array.from(free.samples[0].tokens);
    const eos = await model.generate(prompt, { maxNewTokens: 20, temperature: 0, eosTokenIds: [greedy[4]] });
    expect(eos.samples[0].finishReason).toBe('eos');
    expect(Array.from(eos.samples[0].tokens)).toEqual(greedy.slice(0, greedy.indexOf(greedy[4]) + 1));

    const mask = new Uint8Array(256);
    mask[greedy[6]] = 1;
    const masked = await model.generate(prompt, {
      maxNewTokens: 20,
      temperature: 0,
      eosTokenIds: [],
      stopTokenMask: mask,
    });
    expect(masked.samples[0].finishReason).toBe('stop');
    expect(Array.from(masked.samples[0].tokens)).toEqual(greedy.slice(0, greedy.indexOf(greedy[6]) + 1));

    const sequence = greedy.slice(8, 10);
    const stopped = await model.generate(prompt, {
      maxNewTokens: 20,
      temperature: 0,
      eosTokenIds: [],
      stopSequences: [sequence],
    });
    expect(stopped.samples[0].finishReason).toBe('stop');
    expect(Array.from(stopped.samples[0].tokens).slice(-2)).toEqual(sequence);
  });

  it('prefills each prompt once for its n samples', async () => {
    const result = await model.generate([tokens(30, 1)], { n: 8, maxNewTokens: 4, eosTokenIds: [], seed: 1 });
    // 30 prompt tokens once, then at most 8 rows x 3 fed tokens (the 4th is never fed).
    expect(result.computedTokens).toBeLessThanOrEqual(30 + 8 * 3);
  });
});

/**
 * Runs `generate` with an onTokens listener and without one: listening must not change the result, and the steps
 * it saw must hold exactly the result's tokens, log-probs and finish reasons, in order.
 */
async function expectStreamed(
  generate: (onTokens?: (step: StepTokens) => void) => Promise<Generation>,
): Promise<Generation> {
  const steps: StepTokens[] = [];
  const result = await generate((step) => steps.push(step));
  expect((await generate()).samples).toEqual(result.samples);
  const tokens = result.samples.map((): number[] => []);
  const logprobs = result.samples.map((): number[] => []);
  const finished: (string | undefined)[] = result.samples.map(() => undefined);
  steps.forEach((step, index) => {
    expect(step.step).toBe(index);
    expect(Array.from(step.samples)).toEqual(Array.from(step.samples).sort((a, b) => a - b));
    step.samples.forEach((sample, i) => {
      expect(finished[sample]).toBeUndefined();
      expect(tokens[sample]).toHaveLength(step.step);
      tokens[sample].push(step.tokens[i]);
      logprobs[sample].push(step.logprobs[i]);
    });
    for (const end of step.finished) {
      expect(tokens[end.sample]).toHaveLength(step.step + 1);
      finished[end.sample] = end.finishReason;
    }
  });
  result.samples.forEach((sample, i) => {
    expect(tokens[i]).toEqual(Array.from(sample.tokens));
    expect(Float32Array.from(logprobs[i])).toEqual(sample.logprobs);
    expect(finished[i]).toBe(sample.finishReason);
  });
  return result;
}

/** How many different lengths the samples have: more than one when rows finish at different steps. */
const lengths = (generation: Generation): number => new Set(generation.samples.map((s) => s.tokens.length)).size;

describe('streaming: onTokens', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(models.llama);
  });
  afterAll(() => model.dispose());
  const prompts = [tokens(6, 7), tokens(11, 8)];

  it('sees each greedy step as it is drawn, rows ending at different steps', async () => {
    const free = await model.generate(prompts, { maxNewTokens: 16, temperature: 0, eosTokenIds: [] });
    // The first prompt's fourth token ends its samples; the other prompt runs on unless it draws that token.
    const eosTokenIds = [free.samples[0].tokens[3]];
    const result = await expectStreamed((onTokens) =>
      model.generate(prompts, { n: 2, maxNewTokens: 16, temperature: 0, eosTokenIds, onTokens }),
    );
    expect(lengths(result)).toBeGreaterThan(1);
  });

  it('sees each sampled step, n > 1, when finished rows leave the batch and when a kept cache continues', async () => {
    // Forty of the 256 tokens end a sample: rows finish at scattered steps, and the batch is compacted.
    const eosTokenIds = Array.from({ length: 40 }, (_, i) => 1 + i * 6);
    const result = await expectStreamed((onTokens) =>
      model.generate(prompts, { n: 8, maxNewTokens: 24, seed: 3, eosTokenIds, onTokens }),
    );
    expect(lengths(result)).toBeGreaterThan(2);

    const kept = await model.generate(prompts, { maxNewTokens: 4, seed: 4, eosTokenIds: [], keepCache: true });
    await expectStreamed((onTokens) =>
      model.continue(kept.cache!, [1, 0], { n: 3, maxNewTokens: 12, seed: 5, eosTokenIds, onTokens }),
    );
    kept.cache!.dispose();
  });
});

describe('bad input', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(models.qwen2);
  });
  afterAll(() => model.dispose());
  const invalid = { code: ErrorCode.InvalidArgument };

  it.each([
    ['a token id >= vocab', [[1, 256]], { maxNewTokens: 1 }],
    ['a negative token id', [[-1]], { maxNewTokens: 1 }],
    ['an empty prompt', [[]], { maxNewTokens: 1 }],
    ['no prompts', [], { maxNewTokens: 1 }],
    ['max tokens 0', [[1]], { maxNewTokens: 0 }],
    ['absurd max tokens', [[1]], { maxNewTokens: 1e9 }],
    ['a prompt as long as the model positions', [Array.from({ length: 512 }, () => 1)], { maxNewTokens: 1 }],
    ['negative temperature', [[1]], { maxNewTokens: 1, temperature: -1 }],
    ['top-p 0', [[1]], { maxNewTokens: 1, topP: 0 }],
    ['min-p above 1', [[1]], { maxNewTokens: 1, minP: 1.5 }],
    ['a repetition penalty of 0', [[1]], { maxNewTokens: 1, repetitionPenalty: 0 }],
    ['NaN top-k', [[1]], { maxNewTokens: 1, topK: Number.NaN }],
    ['a stop mask too long', [[1]], { maxNewTokens: 1, stopTokenMask: new Uint8Array(300) }],
    ['n = 0', [[1]], { maxNewTokens: 1, n: 0 }],
    ['an onTokens that is no function', [[1]], { maxNewTokens: 1, onTokens: 'print' as unknown as () => void }],
  ])('%s', async (_name, prompts, options) => {
    await expect(model.generate(prompts as number[][], options)).rejects.toMatchObject(invalid);
  });

  it('rejects a missing directory and a missing weights file with the path', async () => {
    await expect(Model.load(path.join(dir, 'nope'))).rejects.toMatchObject({ code: ErrorCode.BadFile });
    const empty = fs.mkdtempSync(path.join(dir, 'only-config-'));
    fs.copyFileSync(path.join(models.qwen2, 'config.json'), path.join(empty, 'config.json'));
    await expect(Model.load(empty)).rejects.toMatchObject({ code: ErrorCode.BadFile });
  });

  it('stops at the model positions, like a context window', async () => {
    const result = await model.generate([Array.from({ length: 500 }, (_, i) => 1 + (i % 200))], {
      maxNewTokens: 100,
      eosTokenIds: [],
    });
    expect(result.samples[0].tokens).toHaveLength(12);
    expect(result.samples[0].finishReason).toBe('length');
  });

  it('continues a sample that filled the positions into an empty one, ended by length', async () => {
    const prompt = Array.from({ length: 500 }, (_, i) => 1 + (i % 200));
    const full = await model.generate([prompt], { maxNewTokens: 100, eosTokenIds: [], keepCache: true });
    const next = await model.continue(full.cache!, [0], { maxNewTokens: 5, n: 2, eosTokenIds: [] });
    full.cache!.dispose();
    expect(next.samples.map((sample) => [sample.tokens.length, sample.finishReason])).toEqual([
      [0, 'length'],
      [0, 'length'],
    ]);
  });

  it('refuses rows outside a kept cache and a disposed model', async () => {
    const first = await model.generate([[1, 2]], { maxNewTokens: 2, keepCache: true });
    await expect(model.continue(first.cache!, [1], { maxNewTokens: 1 })).rejects.toMatchObject(invalid);
    first.cache!.dispose();
    await expect(model.continue(first.cache!, [0], { maxNewTokens: 1 })).rejects.toMatchObject({
      code: ErrorCode.Disposed,
    });
    const other = await Model.load(models.qwen2);
    other.dispose();
    await expect(other.generate([[1]], { maxNewTokens: 1 })).rejects.toMatchObject({ code: ErrorCode.Disposed });
  });

  it('refuses to decode from non-finite logits, greedy or sampled', async () => {
    // A copy of a model whose final norm weight is NaN: every logit is NaN.
    const broken = path.join(dir, 'nan-norm');
    fs.cpSync(models.qwen2, broken, { recursive: true });
    const file = path.join(broken, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    const [begin, end] = header['model.norm.weight'].data_offsets as [number, number];
    for (let at = 8 + headerLength + begin; at < 8 + headerLength + end; at += 4) bytes.writeFloatLE(Number.NaN, at);
    fs.writeFileSync(file, bytes);
    const nan = await Model.load(broken);
    try {
      for (const temperature of [0, 1]) {
        await expect(nan.generate([[1, 2]], { maxNewTokens: 2, temperature })).rejects.toMatchObject({
          code: ErrorCode.NonFinite,
          message: expect.stringContaining('logits are NaN or infinite'),
        });
      }
    } finally {
      nan.dispose();
    }
  });

  it('continues a kept cache only on the model that made it', async () => {
    const first = await model.generate([[1, 2]], { maxNewTokens: 2, keepCache: true });
    // A model of another depth read past the cache's layers (a crash); one of the same shape, other weights.
    for (const dir of [EMBEDDED_MODEL_DIR, models.llama]) {
      const other = await Model.load(dir);
      try {
        await expect(other.continue(first.cache!, [0], { maxNewTokens: 1 })).rejects.toMatchObject({
          ...invalid,
          message: expect.stringContaining("'request.cache' was made by another model"),
        });
      } finally {
        other.dispose();
      }
    }
    await expect(model.continue(first.cache!, [0], { maxNewTokens: 1 })).resolves.toBeDefined();
    first.cache!.dispose();
  });
});
