import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, Model, Tensor } from '../lib';
import { loadModelWeights, readSafetensors } from '../lib/testing';
import type { TrainingPair, TrainingSequence } from '../lib/train/sequences';
import { optimize } from '../lib/train/optimize';
import { Trainer, type StepResult, type TrainerOptions } from '../lib/train/trainer';
import { expectFloat32Close } from './helpers/float32';
import { runReference } from './helpers/python';

// Tiny random checkpoints written by transformers: Llama, and Qwen2 (tied embeddings, q/k/v biases).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-trainer-'));
const models = runReference<Record<string, string>>('make_tiny_models.py', { out: dir });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A deterministic stream of numbers in [0, 1). */
function stream(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function sequence(random: () => number, prompt: number[], responseLength: number): TrainingSequence {
  const response = Array.from({ length: responseLength }, () => 1 + Math.floor(random() * 255));
  return { tokens: Int32Array.from([...prompt, ...response]), promptLength: prompt.length };
}

/** Pairs of random token sequences sharing each pair's prompt, of varied lengths (so padding matters). */
function randomPairs(count: number, seed: number): TrainingPair[] {
  const random = stream(seed);
  return Array.from({ length: count }, () => {
    const prompt = Array.from({ length: 2 + Math.floor(random() * 6) }, () => 1 + Math.floor(random() * 255));
    return {
      chosen: sequence(random, prompt, 2 + Math.floor(random() * 8)),
      rejected: sequence(random, prompt, 2 + Math.floor(random() * 8)),
      chosenAdvantage: random() * 2 - 1,
      rejectedAdvantage: random() * 2 - 1,
    };
  });
}

const toJson = (s: TrainingSequence) => ({ tokens: Array.from(s.tokens), promptLength: s.promptLength });

interface ReferenceStep {
  loss: number;
  chosenReward: number;
  rejectedReward: number;
  accuracy: number;
  margin: number;
  gradNorm: number;
}

/** The largest |ours − theirs| over every weight of two saved checkpoints (same names and shapes). */
async function largestWeightDifference(ours: string, theirs: string): Promise<number> {
  const a = await readSafetensors(path.join(ours, 'model.safetensors'));
  const b = await readSafetensors(path.join(theirs, 'model.safetensors'));
  try {
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    let worst = 0;
    for (const name of Object.keys(a)) {
      expect(a[name].shape).toEqual(b[name].shape);
      const x = a[name].toArray() as Float32Array;
      const y = b[name].toArray() as Float32Array;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
    }
    return worst;
  } finally {
    [...Object.values(a), ...Object.values(b)].forEach((tensor: Tensor) => tensor.dispose());
  }
}

const adam = { adamBeta1: 0.9, adamBeta2: 0.999, adamEps: 1e-8 };
const referenceSettings = (options: TrainerOptions) => ({
  microBatch: options.microBatch ?? 1,
  loss: options.loss ?? 'aco',
  beta: options.beta ?? 0.1,
  alpha: options.alpha ?? 1,
  acoWeight: options.acoWeight ?? 'paper',
  referenceFree: options.referenceFree ?? false,
  beta1: adam.adamBeta1,
  beta2: adam.adamBeta2,
  eps: adam.adamEps,
  weightDecay: options.weightDecay ?? 0,
  maxGradNorm: options.maxGradNorm ?? 0,
});

interface ParityCase {
  label: string;
  objective: 'preference' | 'sft';
  options: TrainerOptions;
  /** Pairs whose prompt is long next to their responses: each runs once, in one row with both responses. */
  longPrompts?: boolean;
}

const PARITY_CASES: ParityCase[] = [
  {
    label: 'ACO, 2 micro-batches, weight decay',
    objective: 'preference',
    options: { loss: 'aco', microBatch: 2, weightDecay: 0.1 },
  },
  {
    label: 'DPO, clipped to a global norm of 0.01',
    objective: 'preference',
    options: { loss: 'dpo', microBatch: 4, maxGradNorm: 0.01 },
  },
  {
    label: 'SimPO, reference-free',
    objective: 'preference',
    options: { loss: 'simpo', microBatch: 3, referenceFree: true },
  },
  {
    label: 'SFT: token-mean cross-entropy over the step, 2 micro-batches',
    objective: 'sft',
    options: { microBatch: 2 },
  },
  {
    label: 'ACO on pairs with long prompts, each run once for both responses',
    objective: 'preference',
    options: { loss: 'aco', microBatch: 2 },
    longPrompts: true,
  },
];

/** Pairs of 40-token prompts and responses of 2 to 5 tokens. */
function longPromptPairs(seed: number): TrainingPair[] {
  const random = stream(seed);
  return Array.from({ length: 4 }, () => {
    const prompt = Array.from({ length: 40 }, () => 1 + Math.floor(random() * 255));
    return {
      chosen: sequence(random, prompt, 2 + Math.floor(random() * 4)),
      rejected: sequence(random, prompt, 2 + Math.floor(random() * 4)),
      chosenAdvantage: random() * 2 - 1,
      rejectedAdvantage: random() * 2 - 1,
    };
  });
}

describe.each(['llama', 'qwen2', 'qwen3', 'gemma3'])(
  '%s: a training step equals transformers + the reference loss + torch AdamW',
  (name) => {
    const lr = 1e-3;
    const shortPrompts = randomPairs(4, name.length);
    const longPrompts = longPromptPairs(name.length);
    const pairsOf = (parity: ParityCase) => (parity.longPrompts ? longPrompts : shortPrompts);
    const random = stream(7);
    const sequences = Array.from({ length: 4 }, (_, i) => sequence(random, [3 + i, 9, 27 + i], 3 + 2 * i));
    const ours: { metrics: StepResult; saved: string }[] = [];
    let theirs: ReferenceStep[];

    // Every case runs here, then the reference runs them all in one Python process (transformers loads slowly).
    // Both sides step in float64, the most precise dtype either runs: a pair's shared prompt runs once here and twice
    // in transformers, so the gradients its two sides send through it add up in another order, and where they cancel
    // to a gradient near Adam's ε, its g / (|g| + ε) would turn float32's rounding into a share of a whole step
    // (in float32: up to 4e-5 at lr 1e-3, on single weights of Qwen3 and Gemma 3).
    beforeAll(async () => {
      for (const [index, parity] of PARITY_CASES.entries()) {
        const { objective, options } = parity;
        const pairs = pairsOf(parity);
        using model = await Model.load(models[name], { dtype: 'float64' });
        using trainer = await Trainer.create(model, { ...options, ...adam });
        let metrics: StepResult;
        if (objective === 'sft') {
          metrics = await trainer.sftStep(sequences, lr);
        } else {
          const reference = options.referenceFree ? undefined : await trainer.referenceLogprobs(pairs);
          metrics = await trainer.preferenceStep(pairs, reference, lr);
        }
        const saved = path.join(dir, `${name}-${index}-ours`);
        await model.save(saved, { dtype: 'float64' });
        ours.push({ metrics, saved });
      }
      const runs = PARITY_CASES.map((parity, index) => ({
        dir: models[name],
        dtype: 'float64',
        out: path.join(dir, `${name}-${index}-theirs`),
        objective: parity.objective,
        ...referenceSettings(parity.options),
        steps: [
          parity.objective === 'sft'
            ? { lr, sequences: sequences.map(toJson) }
            : {
                lr,
                pairs: pairsOf(parity).map((pair) => ({
                  ...pair,
                  chosen: toJson(pair.chosen),
                  rejected: toJson(pair.rejected),
                })),
              },
        ],
      }));
      theirs = runReference<{ runs: { steps: ReferenceStep[] }[] }>('train_reference.py', { runs }).runs.map(
        (run) => run.steps[0],
      );
    });

    it.each(PARITY_CASES.map((parity, index) => [parity.label, index] as const))('%s', async (_label, index) => {
      const { metrics } = ours[index];
      const reference = theirs[index];
      const { objective, options, longPrompts } = PARITY_CASES[index];
      expect(metrics.examples).toBe(4);
      if (longPrompts) {
        // Each prompt went through the model once: the tokens of the forward count it once per pair.
        const once = pairsOf(PARITY_CASES[index]).map((p) => p.chosen.tokens.length + p.rejected.tokens.length - 40);
        expect(metrics.tokens).toBe(once.reduce((a, b) => a + b, 0));
      }
      expectFloat32Close(metrics.loss, reference.loss);
      if (objective === 'preference') {
        expectFloat32Close(metrics.chosenReward, reference.chosenReward);
        expectFloat32Close(metrics.rejectedReward, reference.rejectedReward);
        expect(metrics.accuracy).toBe(reference.accuracy);
      }
      expect(Math.abs(metrics.gradNorm - reference.gradNorm)).toBeLessThanOrEqual(1e-5 * reference.gradNorm);
      if (options.maxGradNorm) expect(reference.gradNorm).toBeGreaterThan(options.maxGradNorm);
      expect(
        await largestWeightDifference(ours[index].saved, path.join(dir, `${name}-${index}-theirs`)),
      ).toBeLessThanOrEqual(1e-5);
    });
  },
);

describe('training the model that generates', () => {
  it('several ACO steps lower the loss and raise the reward accuracy on their pairs', async () => {
    const pairs = randomPairs(8, 11);
    using model = await Model.load(models.llama);
    const steps = [];
    for await (const step of optimize(model, pairs, {
      lr: 1e-3,
      warmupRatio: 0,
      microBatch: 4,
      gradAccum: 2,
      steps: 8,
    })) {
      steps.push(step);
    }
    expect(steps.map((step) => step.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Step 1 sees the reference itself: every reward is 0, the loss log 2.
    expectFloat32Close(steps[0].loss, Math.log(2));
    expect(steps[0].accuracy).toBe(0);
    expect(steps[7].loss).toBeLessThan(steps[0].loss - 0.05);
    expect(steps[7].accuracy).toBeGreaterThanOrEqual(0.75);
    expect(steps[7].margin).toBeGreaterThan(0);
    for (const step of steps) {
      expect(step.lr).toBeCloseTo(1e-3 * (1 - (step.step - 1) / 8), 12);
      expect(step.tokens).toBeGreaterThan(0);
      expect(step.tokensPerSecond).toBeGreaterThan(0);
    }
  });

  it('generates from the new weights after a step, and the saved model gives transformers the same logits', async () => {
    using model = await Model.load(models.qwen2);
    const tokens = [5, 17, 99, 3, 250, 41, 8];
    const before = (await model.logits(tokens)).toArray() as Float32Array;
    using trainer = await Trainer.create(model, { loss: 'dpo' });
    const pairs = randomPairs(2, 5);
    await trainer.preferenceStep(pairs, await trainer.referenceLogprobs(pairs), 1e-2);
    const after = (await model.logits(tokens)).toArray() as Float32Array;
    expect(Math.max(...after.map((value, i) => Math.abs(value - before[i])))).toBeGreaterThan(1e-3);
    const saved = path.join(dir, 'qwen2-trained');
    await model.save(saved);
    const hf = runReference<{ logits: number[][] }>('hf_rollout.py', { dir: saved, logits_tokens: tokens });
    const worst = Math.max(...hf.logits.flat().map((value, i) => Math.abs(value - after[i])));
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it('runs a step and a generate on one model one after the other, never together', async () => {
    using model = await Model.load(models.llama);
    using trainer = await Trainer.create(model, { loss: 'dpo' });
    const pairs = randomPairs(4, 3);
    const reference = await trainer.referenceLogprobs(pairs);
    const order: string[] = [];
    await Promise.all([
      trainer.preferenceStep(pairs, reference, 1e-3).then(() => order.push('step')),
      model.generate([[1, 2, 3]], { maxNewTokens: 4, temperature: 0 }).then(() => order.push('generate')),
    ]);
    expect(order.sort()).toEqual(['generate', 'step']);
  });

  it('activation checkpointing gives the same step as keeping the activations', async () => {
    const pairs = randomPairs(4, 21);
    const results = [];
    for (const checkpointLayers of [false, true]) {
      using model = await Model.load(models.llama);
      using trainer = await Trainer.create(model, { loss: 'aco', microBatch: 2, checkpointLayers });
      const metrics = await trainer.preferenceStep(pairs, await trainer.referenceLogprobs(pairs), 1e-3);
      const saved = path.join(dir, `checkpointing-${checkpointLayers}`);
      await model.save(saved);
      results.push({ metrics, saved });
    }
    expect(results[1].metrics.loss).toBe(results[0].metrics.loss);
    expect(results[1].metrics.gradNorm).toBeCloseTo(results[0].metrics.gradNorm, 10);
    expect(await largestWeightDifference(results[0].saved, results[1].saved)).toBeLessThanOrEqual(1e-7);
  });

  it('a bfloat16 model trains through float32 masters: updates below its resolution add up', async () => {
    using model = await Model.load(models.llama, { dtype: 'bfloat16' });
    using trainer = await Trainer.create(model, { loss: 'dpo' });
    const pairs = randomPairs(2, 8);
    const reference = await trainer.referenceLogprobs(pairs);
    // Adam moves each weight by about lr a step: 1e-5, far below bfloat16's spacing (~1e-4 for weights ~0.02).
    for (let i = 0; i < 3; i++) await trainer.preferenceStep(pairs, reference, 1e-5);
    const state = path.join(dir, 'bf16-state.safetensors');
    await trainer.saveState(state);
    const tensors = await readSafetensors(state);
    const initial = await loadModelWeights(models.llama, { dtype: 'bfloat16' });
    try {
      const master = tensors['master/model.layers.0.mlp.up_proj.weight'];
      expect(master.dtype).toBe('float32');
      const moved = master.toArray() as Float32Array;
      const start = initial['model.layers.0.mlp.up_proj.weight'].toArray() as Float32Array;
      const meanStep = moved.reduce((total, value, i) => total + Math.abs(value - start[i]), 0) / moved.length;
      expect(meanStep).toBeGreaterThan(1e-5);
      expect(meanStep).toBeLessThan(3.5e-5);
      expect((tensors['step/model.norm.weight'].toArray() as BigInt64Array)[0]).toBe(3n);
    } finally {
      [...Object.values(tensors), ...Object.values(initial)].forEach((tensor) => tensor.dispose());
    }
  });

  it('computes and saves in the dtype the weights are stored in, whatever config.json says, unless told', async () => {
    // float32 weights under a config that says bfloat16: a 1e-3 step on a norm weight of 1 (bfloat16's
    // spacing there is 2^-7) must survive into the checkpoint.
    const mislabelled = path.join(dir, 'float32-labelled-bfloat16');
    fs.cpSync(models.llama, mislabelled, { recursive: true });
    const configFile = path.join(mislabelled, 'config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    expect(config.dtype).toBe('float32');
    fs.writeFileSync(configFile, JSON.stringify({ ...config, dtype: 'bfloat16' }));
    const pairs = randomPairs(2, 4);
    const saved: Record<string, string> = {};
    for (const dtype of [undefined, 'bfloat16'] as const) {
      using model = await Model.load(mislabelled);
      saved[dtype ?? 'default'] = path.join(dir, `mislabelled-${dtype ?? 'default'}`);
      const checkpoint = { dir: saved[dtype ?? 'default'], dtype };
      for await (const step of optimize(model, pairs, { lr: 1e-3, warmupRatio: 0, steps: 1, checkpoint })) {
        expect(step.step).toBe(1);
      }
    }
    const dtypeOf = (checkpoint: string) => JSON.parse(fs.readFileSync(path.join(checkpoint, 'config.json'), 'utf8'));
    const before = await loadModelWeights(mislabelled);
    const after = await loadModelWeights(saved.default);
    const narrowed = await readSafetensors(path.join(saved.bfloat16, 'model.safetensors'));
    try {
      expect(after['model.norm.weight'].dtype).toBe('float32');
      expect(dtypeOf(saved.default)).toMatchObject({ dtype: 'float32' });
      const start = before['model.norm.weight'].toArray() as Float32Array;
      const moved = (after['model.norm.weight'].toArray() as Float32Array).map((value, i) =>
        Math.abs(value - start[i]),
      );
      expect(Math.max(...moved)).toBeGreaterThan(5e-4);
      expect(Math.max(...moved)).toBeLessThan(2e-3);
      expect(narrowed['model.norm.weight'].dtype).toBe('bfloat16');
      expect(dtypeOf(saved.bfloat16)).toMatchObject({ dtype: 'bfloat16' });
    } finally {
      [...Object.values(before), ...Object.values(after), ...Object.values(narrowed)].forEach((t) => t.dispose());
    }
  });

  it('a float32 model computing in bfloat16 is saved from its float32 masters: no update is rounded away', async () => {
    // Norm weights of 1: bfloat16's spacing there is 2^-7, so a step of about 1e-4 leaves the bfloat16 weight at 1.
    const pairs = randomPairs(2, 6);
    const out = path.join(dir, 'bf16-compute-float32-saved');
    {
      using model = await Model.load(models.llama, { dtype: 'bfloat16' });
      for await (const step of optimize(model, pairs, {
        lr: 1e-4,
        warmupRatio: 0,
        steps: 1,
        checkpoint: { dir: out },
      })) {
        expect(step.step).toBe(1);
      }
      // The model's own (bfloat16) weights, written in float32: the update is not in them.
      await model.save(path.join(dir, 'bf16-compute-model-save'));
    }
    const saved = await loadModelWeights(out);
    const rounded = await loadModelWeights(path.join(dir, 'bf16-compute-model-save'));
    try {
      expect(Array.from(rounded['model.norm.weight'].toArray() as Float32Array).every((value) => value === 1)).toBe(
        true,
      );
      expect(saved['model.norm.weight'].dtype).toBe('float32');
      const moved = Array.from(saved['model.norm.weight'].toArray() as Float32Array).map((value) =>
        Math.abs(value - 1),
      );
      expect(Math.max(...moved)).toBeGreaterThan(5e-5);
      expect(Math.max(...moved)).toBeLessThan(2e-3);
    } finally {
      [...Object.values(saved), ...Object.values(rounded)].forEach((tensor) => tensor.dispose());
    }
  });

  it('restores a saved optimizer state exactly, and refuses one of another model', async () => {
    const pairs = randomPairs(4, 13);
    const runs: string[] = [];
    for (const interrupted of [false, true]) {
      let model = await Model.load(models.llama);
      let trainer = await Trainer.create(model, { loss: 'aco', microBatch: 2 });
      const reference = await trainer.referenceLogprobs(pairs);
      for (let step = 0; step < 3; step++) {
        if (interrupted && step === 2) {
          const checkpoint = path.join(dir, 'interrupted');
          await model.save(checkpoint);
          await trainer.saveState(path.join(dir, 'interrupted.safetensors'));
          trainer.dispose();
          model.dispose();
          model = await Model.load(checkpoint);
          trainer = await Trainer.create(model, { loss: 'aco', microBatch: 2 });
          await trainer.loadState(path.join(dir, 'interrupted.safetensors'));
        }
        await trainer.preferenceStep(pairs, reference, 1e-3);
      }
      const saved = path.join(dir, `resumed-${interrupted}`);
      await model.save(saved);
      runs.push(saved);
      trainer.dispose();
      model.dispose();
    }
    expect(await largestWeightDifference(runs[0], runs[1])).toBe(0);

    using other = await Model.load(models.qwen2);
    using trainer = await Trainer.create(other);
    await expect(trainer.loadState(path.join(dir, 'interrupted.safetensors'))).rejects.toMatchObject({
      code: ErrorCode.BadFile,
    });
  });

  it('refuses bad batches with coded errors naming the argument', async () => {
    using model = await Model.load(models.llama);
    using trainer = await Trainer.create(model, { loss: 'aco' });
    const pairs = randomPairs(2, 1);
    const reference = await trainer.referenceLogprobs(pairs);
    const nanAdvantage = [{ ...pairs[0], chosenAdvantage: Number.NaN }, pairs[1]];
    await expect(trainer.preferenceStep(nanAdvantage, reference, 1e-3)).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('batch.chosenAdvantage[0]'),
    });
    await expect(trainer.preferenceStep(pairs, undefined, 1e-3)).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('batch.referenceChosen'),
    });
    const outOfVocab = { tokens: Int32Array.from([1, 2, 999]), promptLength: 2 };
    await expect(trainer.preferenceStep([{ ...pairs[0], chosen: outOfVocab }], reference, 1e-3)).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('batch.chosen.tokens[2]'),
    });
    const noResponse = { tokens: Int32Array.from([1, 2, 3]), promptLength: 3 };
    await expect(trainer.sftStep([noResponse], 1e-3)).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('sequences.promptLengths[0]'),
    });
    trainer.dispose();
    await expect(trainer.sftStep([pairs[0].chosen], 1e-3)).rejects.toMatchObject({ code: ErrorCode.Disposed });
  });

  it('stops when its model is disposed: no step trains a model nobody holds', async () => {
    const pairs = randomPairs(4, 2);
    const model = await Model.load(models.llama);
    using trainer = await Trainer.create(model, { loss: 'aco' });
    const reference = await trainer.referenceLogprobs(pairs);
    model.dispose();
    await expect(trainer.preferenceStep(pairs, reference, 1e-3)).rejects.toMatchObject({
      code: ErrorCode.Disposed,
      message: expect.stringContaining("trainer's model was disposed"),
    });
    const steps: number[] = [];
    const other = await Model.load(models.llama);
    await expect(
      (async () => {
        for await (const step of optimize(other, pairs, { lr: 1e-3, microBatch: 1, gradAccum: 1, steps: 4 })) {
          steps.push(step.step);
          other.dispose();
        }
      })(),
    ).rejects.toMatchObject({ code: ErrorCode.Disposed });
    expect(steps).toEqual([1]);
  });
});
