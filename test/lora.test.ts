/**
 * LoRA adapters against Python's peft over transformers (test/reference/lora_reference.py): an adapter made by peft
 * computes the same logits here, one optimizer step of ours equals peft's, an adapter trained here loads in peft
 * with our logits, and merging equals peft's merge_and_unload.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, Model, Tensor } from '../lib';
import type { TrainingPair } from '../lib/train/sequences';
import { Trainer } from '../lib/train/trainer';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-lora-'));
const models = runReference<Record<string, string>>('make_tiny_models.py', { out: dir });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const TOKENS = [5, 17, 200, 3, 88, 41, 9, 130];

type Op = Record<string, unknown> & { op: string };
function peft<T = unknown>(base: string, ops: Op[]): T[] {
  return runReference<{ results: T[] }>('lora_reference.py', { base, ops }).results;
}

function largestDifference(ours: Tensor, theirs: number[][]): number {
  const values = ours.toArray() as Float32Array;
  const width = theirs[0].length;
  expect(values.length).toBe(theirs.length * width);
  let worst = 0;
  theirs.forEach((row, t) => row.forEach((x, v) => (worst = Math.max(worst, Math.abs(values[t * width + v] - x)))));
  return worst;
}

async function logitsOf(model: Model): Promise<Tensor> {
  return await model.logits(TOKENS);
}

/** Pairs over a shared prompt, of varied lengths, with advantages. */
function pairs(): TrainingPair[] {
  const sequence = (prompt: number[], response: number[]) => ({
    tokens: Int32Array.from([...prompt, ...response]),
    promptLength: prompt.length,
  });
  return [
    { prompt: [4, 8, 15], chosen: [16, 23, 42], rejected: [99, 7], a: 0.8, b: -0.3 },
    { prompt: [1, 2], chosen: [3, 4, 5, 6], rejected: [60, 61, 62], a: 0.1, b: 0.4 },
    { prompt: [77, 78, 79, 80], chosen: [81], rejected: [90, 91, 92, 93, 94], a: -0.5, b: -0.9 },
  ].map(({ prompt, chosen, rejected, a, b }) => ({
    chosen: sequence(prompt, chosen),
    rejected: sequence(prompt, rejected),
    chosenAdvantage: a,
    rejectedAdvantage: b,
  }));
}
const toJson = (s: { tokens: Int32Array; promptLength: number }) => ({
  tokens: Array.from(s.tokens),
  promptLength: s.promptLength,
});

describe.each(['llama', 'qwen2', 'gemma3'])('%s with a LoRA adapter, against peft', (name) => {
  const base = () => models[name];
  const work = (leaf: string) => path.join(dir, `${name}-${leaf}`);
  // The full-model parity test's rate. Adam's first step is lr·g/(|g| + ε), ±lr wherever |g| ≫ ε: rounding in the
  // gradient moves a weight only where |g| is near ε, by a share of lr (at lr 1e-2, up to 5.6e-5 on Llama).
  const lr = 1e-3;

  beforeAll(() => {
    peft(base(), [
      { op: 'make', out: work('peft'), r: 4, alpha: 8, targets: ALL, rslora: false, seed: 1 },
      { op: 'make', out: work('peft-rs'), r: 2, alpha: 3, targets: ['q_proj', 'v_proj'], rslora: true, seed: 2 },
    ]);
  });

  it.each(['peft', 'peft-rs'])('an adapter made by peft (%s) computes peft’s logits', async (leaf) => {
    using model = await Model.load(base(), { adapter: work(leaf) });
    const [theirs] = peft<number[][]>(base(), [{ op: 'logits', adapter: work(leaf), tokens: TOKENS }]);
    using ours = await logitsOf(model);
    expect(largestDifference(ours, theirs)).toBeLessThanOrEqual(1e-5);
    // The adapter changes the model: the same test on the base would fail.
    using plain = await Model.load(base());
    using baseLogits = await logitsOf(plain);
    expect(largestDifference(baseLogits, theirs)).toBeGreaterThan(1e-3);
  });

  it('one ACO step of the adapter equals peft + transformers + the reference loss, and peft loads the result', async () => {
    const training = pairs();
    using model = await Model.load(base(), { adapter: work('peft') });
    using trainer = await Trainer.create(model, { loss: 'aco', microBatch: 2 });
    const reference = await trainer.referenceLogprobs(training, { adapter: false });
    await trainer.preferenceStep(training, reference, lr);
    await trainer.saveModel(work('ours-step'));
    const [, difference, theirsAfter] = peft<number | number[][]>(base(), [
      {
        op: 'step',
        adapter: work('peft'),
        out: work('peft-step'),
        lr,
        microBatch: 2,
        beta: 0.1,
        alpha: 1,
        pairs: training.map((pair) => ({ ...pair, chosen: toJson(pair.chosen), rejected: toJson(pair.rejected) })),
      },
      {
        op: 'difference',
        a: path.join(work('ours-step'), 'adapter_model.safetensors'),
        b: path.join(work('peft-step'), 'adapter_model.safetensors'),
      },
      { op: 'logits', adapter: work('ours-step'), tokens: TOKENS },
    ]);
    expect(difference).not.toBeNull();
    expect(difference as number).toBeLessThanOrEqual(1e-5);
    // The step moved the adapter (a step of zero would pass the comparison too).
    const [moved] = peft<number>(base(), [
      {
        op: 'difference',
        a: path.join(work('ours-step'), 'adapter_model.safetensors'),
        b: path.join(work('peft'), 'adapter_model.safetensors'),
      },
    ]);
    expect(moved).toBeGreaterThan(1e-4);
    using ours = await logitsOf(model);
    expect(largestDifference(ours, theirsAfter as number[][])).toBeLessThanOrEqual(1e-5);
  });

  it('the base with the adapter off is the reference: the adapter changes the scores', async () => {
    const training = pairs();
    using adapted = await Model.load(base(), { adapter: work('peft') });
    using plain = await Model.load(base());
    using adaptedTrainer = await Trainer.create(adapted);
    using plainTrainer = await Trainer.create(plain);
    const off = await adaptedTrainer.referenceLogprobs(training, { adapter: false });
    const on = await adaptedTrainer.referenceLogprobs(training);
    const basic = await plainTrainer.referenceLogprobs(training);
    expect(Array.from(off.chosen)).toEqual(Array.from(basic.chosen));
    expect(Array.from(off.rejected)).toEqual(Array.from(basic.rejected));
    expect(Math.abs(on.chosen[0] - off.chosen[0])).toBeGreaterThan(1e-4);
  });

  it('merging writes the adapted model, as peft’s merge_and_unload', async () => {
    using model = await Model.load(base(), { adapter: work('peft') });
    await model.save(work('ours-merged'));
    const [, difference] = peft<number | null>(base(), [
      { op: 'merge', adapter: work('peft'), out: work('peft-merged') },
      {
        op: 'difference',
        a: path.join(work('ours-merged'), 'model.safetensors'),
        b: path.join(work('peft-merged'), 'model.safetensors'),
      },
    ]);
    expect(difference).not.toBeNull();
    expect(difference as number).toBeLessThanOrEqual(1e-6);
    using merged = await Model.load(work('ours-merged'));
    expect(merged.adapter).toBeUndefined();
    using adaptedLogits = await logitsOf(model);
    using mergedLogits = await logitsOf(merged);
    const a = adaptedLogits.toArray() as Float32Array;
    const b = mergedLogits.toArray() as Float32Array;
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeLessThanOrEqual(1e-5);
  });

  it('a new adapter starts as the base model and is saved in a form peft loads', async () => {
    using model = await Model.load(base(), { lora: { rank: 8, alpha: 16, targets: ['q_proj', 'down_proj'] } });
    expect(model.adapter).toMatchObject({ rank: 8, alpha: 16, dropout: 0.1, rslora: false });
    expect(model.adapter?.targets.sort()).toEqual(['down_proj', 'q_proj']);
    using plain = await Model.load(base());
    using ours = await logitsOf(model);
    using baseLogits = await logitsOf(plain);
    expect(Array.from(ours.toArray() as Float32Array)).toEqual(Array.from(baseLogits.toArray() as Float32Array));
    await model.saveAdapter(work('new'));
    const config = JSON.parse(fs.readFileSync(path.join(work('new'), 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, base_model_name_or_path: base() });
    const [theirs] = peft<number[][]>(base(), [{ op: 'logits', adapter: work('new'), tokens: TOKENS }]);
    expect(largestDifference(baseLogits, theirs)).toBeLessThanOrEqual(1e-5);
  });
});

describe('LoRA input errors', () => {
  it('refuses adapter and lora together, bad settings and a model without an adapter, naming them', async () => {
    await expect(Model.load(models.llama, { adapter: dir, lora: {} })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('options.adapter'),
    });
    await expect(Model.load(models.llama, { lora: { rank: 0 } })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('options.lora.rank'),
    });
    await expect(Model.load(models.llama, { lora: { rnak: 4 } as never })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining("'options.lora.rnak' must be absent"),
    });
    await expect(Model.load(models.llama, { lora: { targets: ['lm_head' as never] } })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('options.lora.targets'),
    });
    using model = await Model.load(models.llama);
    await expect(model.saveAdapter(path.join(dir, 'none'))).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it('refuses adapters we would not compute as peft does, naming the file and field or tensor', async () => {
    const adapter = path.join(dir, 'bad-adapter');
    peft(models.llama, [{ op: 'make', out: adapter, r: 2, alpha: 4, targets: ['q_proj'], rslora: false, seed: 3 }]);
    const configFile = path.join(adapter, 'adapter_config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    fs.writeFileSync(configFile, JSON.stringify({ ...config, use_dora: true }));
    await expect(Model.load(models.llama, { adapter })).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringMatching(/adapter_config\.json.*use_dora/),
    });
    fs.writeFileSync(configFile, JSON.stringify({ ...config, r: 3 }));
    await expect(Model.load(models.llama, { adapter })).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringMatching(/adapter_model\.safetensors.*lora_[AB]\.weight.*rank 3/),
    });
    // An adapter of another model (Llama's q_proj is 64 × 64, Qwen3's 128 × 64): its shapes do not fit.
    fs.writeFileSync(configFile, JSON.stringify(config));
    await expect(Model.load(models.qwen3, { adapter })).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining('q_proj.lora_B.weight'),
    });
  });
});
