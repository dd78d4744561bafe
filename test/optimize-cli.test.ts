import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, Tokenizer } from '../lib';
import { readSafetensors } from '../lib/testing';
import { runCli, spawnCli } from './helpers/cli';
import { runReference } from './helpers/python';

// A tiny Llama written by transformers, with the byte-level test tokenizer beside it.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-optimize-cli-'));
const tokenizers = runReference<{ byteLevel: string }>('make_tokenizers.py', { out: path.join(dir, 'tokenizers') });
const modelDir = path.join(dir, 'model');
let eos: number;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const CONFIG = {
  model_type: 'llama',
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 64,
  vocab_size: 1024,
  max_position_embeddings: 256,
};

const STEPS = ['Step 1: add 2 and 3.', 'Step 2: 2 + 3 = 5.', 'Step 1: guess 7.', 'The answer is 5.', 'So it is 6.'];

/** Preference pairs in the reference format; prompts and responses varied so that lengths differ. */
function pairLines(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      prompt: `Question ${i}: what is ${i} + 3?\nThe reasoning steps are:\n\n`,
      chosen: [{ role: 'assistant', content: `${STEPS[i % 2]}\nThe answer is ${i + 3}.` }],
      rejected: [{ role: 'assistant', content: STEPS[2 + (i % 3)] }],
      chosen_weights: 0.1 * i,
      rejected_weights: -0.05 * i,
      chosen_average_weights: 0.02 * i,
    }),
  );
}

function writeFile(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.map((line) => line + '\n').join(''));
  return file;
}

const pairsFile = (): string => writeFile('pairs.jsonl', pairLines(6));
/** The command line of `optimize` on the tiny model: `pairs` into `out`, then any other flags. */
const optimizeArgs = (pairs: string, out: string, ...flags: string[]): string[] => [
  'optimize',
  ...['--model', modelDir, '--pairs', pairs, '--out', out],
  ...flags,
];
const training = (lr = '1e-3'): string[] => [
  '--lr',
  lr,
  '--warmup-ratio',
  '0',
  '--batch-size',
  '2',
  '--grad-accum',
  '1',
  '--steps',
  '6',
  '--seed',
  '3',
];
const TRAIN = training();

beforeAll(async () => {
  const tokenizer = await Tokenizer.fromDir(tokenizers.byteLevel);
  expect(tokenizer.vocabSize).toBeLessThanOrEqual(CONFIG.vocab_size);
  eos = tokenizer.eosTokenIds[0];
  runReference('model_reference.py', { op: 'save', config: { ...CONFIG, eos_token_id: eos }, out: modelDir });
  for (const file of fs.readdirSync(tokenizers.byteLevel)) {
    fs.copyFileSync(path.join(tokenizers.byteLevel, file), path.join(modelDir, file));
  }
});

async function weights(checkpoint: string): Promise<Map<string, Float32Array>> {
  const tensors = await readSafetensors(path.join(checkpoint, 'model.safetensors'));
  const values = new Map(Object.entries(tensors).map(([name, tensor]) => [name, tensor.toArray() as Float32Array]));
  Object.values(tensors).forEach((tensor) => tensor.dispose());
  return values;
}

const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, number>);

/** Runs a --json training command, kills it (SIGKILL) once it has printed `step`; the steps it printed. */
async function killAfterStep(args: string[], step: number): Promise<number> {
  const child = spawnCli(args);
  let seen = '';
  const printed = () => jsonLines(seen.slice(0, seen.lastIndexOf('\n') + 1));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (printed().some((line) => line.step === step)) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  return printed().length;
}

describe('genius-native optimize', () => {
  const whole = path.join(dir, 'whole');
  let wholeSteps: Record<string, number>[];

  beforeAll(() => {
    const result = runCli(optimizeArgs(pairsFile(), whole, ...TRAIN, '--json'));
    expect(result.stderr).not.toMatch(/ERR_GENIUS/);
    expect(result.status).toBe(0);
    wholeSteps = jsonLines(result.stdout);
  });

  it('prints one JSON object of metrics per step', () => {
    expect(wholeSteps.map((step) => step.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const step of wholeSteps) {
      for (const key of [
        'loss',
        'chosenReward',
        'rejectedReward',
        'accuracy',
        'margin',
        'lr',
        'gradNorm',
        'tokensPerSecond',
      ]) {
        expect(Number.isFinite(step[key])).toBe(true);
      }
      expect(step.pairs).toBe(2);
      expect(step.totalSteps).toBe(6);
    }
    expect(wholeSteps[0].lr).toBeCloseTo(1e-3, 12);
    expect(wholeSteps[5].lr).toBeCloseTo(1e-3 / 6, 12);
  });

  it('writes a Hugging Face directory that transformers loads and that gives our logits', async () => {
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(fs.existsSync(path.join(whole, file))).toBe(true);
    }
    const state = JSON.parse(fs.readFileSync(path.join(whole, 'training_state', 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({ step: 6, totalSteps: 6, completed: true });
    expect(fs.existsSync(path.join(whole, 'training_state', 'optimizer.safetensors'))).toBe(false);
    const tokens = [eos, 17, 99, 3, 250, 41, 8, 600];
    using model = await Model.load(whole);
    const ours = (await model.logits(tokens)).toArray() as Float32Array;
    const hf = runReference<{ logits: number[][] }>('hf_rollout.py', { dir: whole, logits_tokens: tokens });
    expect(Math.max(...hf.logits.flat().map((value, i) => Math.abs(value - ours[i])))).toBeLessThanOrEqual(1e-4);
    // It trained: the weights moved away from the starting model's.
    const before = await weights(modelDir);
    const after = await weights(whole);
    expect(after.get('model.layers.0.mlp.up_proj.weight')).not.toEqual(before.get('model.layers.0.mlp.up_proj.weight'));
  });

  it('--resume after a kill mid-run ends with the same weights as the uninterrupted run', async () => {
    const out = path.join(dir, 'killed');
    const args = optimizeArgs(pairsFile(), out, ...TRAIN, '--json', '--save-steps', '1');
    const killedAt = await killAfterStep(args, 3);
    expect(killedAt).toBeGreaterThanOrEqual(3);
    expect(killedAt).toBeLessThan(6);
    const resumed = runCli([...args, '--resume']);
    expect(resumed.stderr).not.toMatch(/ERR_GENIUS/);
    expect(resumed.status).toBe(0);
    const steps = jsonLines(resumed.stdout);
    expect(steps[steps.length - 1].step).toBe(6);
    expect(steps[0].step).toBeGreaterThanOrEqual(4);
    expect(steps.map((step) => step.loss)).toEqual(wholeSteps.slice(steps[0].step - 1).map((step) => step.loss));
    expect(await weights(out)).toEqual(await weights(whole));
  });

  it('refuses to resume with other settings, and to overwrite a run without --resume', () => {
    const changed = runCli(optimizeArgs(pairsFile(), whole, ...TRAIN, '--beta', '0.2', '--resume'));
    expect(changed.status).toBe(1);
    expect(changed.stderr).toMatch(/ERR_GENIUS_INVALID_ARG/);
    expect(changed.stderr).toMatch(/beta 0\.1 → 0\.2/);
    const again = runCli(['optimize', '--model', modelDir, '--pairs', pairsFile(), '--out', whole, ...TRAIN]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/holds a training run at step 6; resume it/);
  });

  it('stops at a non-finite loss with a coded error and keeps the last good checkpoint', () => {
    const out = path.join(dir, 'diverged');
    const result = runCli(optimizeArgs(pairsFile(), out, ...training('1e30'), '--save-steps', '1'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/ERR_GENIUS_NON_FINITE/);
    const stoppedAt = Number(/training stopped at step (\d+)/.exec(result.stderr)?.[1]);
    expect(result.stderr).toContain(`the last good checkpoint (step ${stoppedAt - 1}) is in ${out}`);
    const state = JSON.parse(fs.readFileSync(path.join(out, 'training_state', 'trainer_state.json'), 'utf8'));
    expect(state.step).toBe(stoppedAt - 1);
  });

  describe('bad input', () => {
    const run = (file: string, ...extra: string[]) =>
      runCli(optimizeArgs(file, path.join(dir, `bad-${path.basename(file)}`), ...TRAIN, ...extra));

    it('names every malformed line, and --skip-bad trains on the rest', () => {
      const lines = pairLines(6);
      lines[1] = '{"prompt": "x", "chosen": [';
      lines[3] = JSON.stringify({ prompt: 'x', chosen: 'not a list', rejected: [] });
      const file = writeFile('malformed.jsonl', lines);
      const result = run(file);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/ERR_GENIUS_BAD_FILE/);
      expect(result.stderr).toMatch(/2 malformed lines \(line 2: malformed JSON.*; line 4: 'chosen' must be a list/);
      const skipped = run(file, '--skip-bad', '--steps', '1');
      expect(skipped.status).toBe(0);
      expect(skipped.stderr).toMatch(/4 examples, 2 malformed line\(s\) skipped \(2, 4\)/);
    });

    it('refuses an empty file', () => {
      const result = run(writeFile('empty.jsonl', ['']));
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/empty\.jsonl: holds no record \[ERR_GENIUS_BAD_FILE\]/);
    });

    it('refuses NaN advantages (as Python writes them) and missing ones for ACO', () => {
      const lines = pairLines(3);
      lines[2] = lines[2].replace(/"chosen_weights":[^,]+/, '"chosen_weights": NaN');
      const nan = run(writeFile('nan.jsonl', lines));
      expect(nan.status).toBe(1);
      expect(nan.stderr).toMatch(/line 3: 'chosen_weights' is NaN: advantages must be finite numbers/);
      const missing = pairLines(2).map((line) => line.replace(/,"rejected_weights":[^,]+/, ''));
      const result = run(writeFile('missing.jsonl', missing));
      expect(result.stderr).toMatch(/line 1: 'rejected_weights' is missing: the ACO loss needs/);
      // DPO reads no advantages.
      expect(run(writeFile('missing-dpo.jsonl', missing), '--loss', 'dpo', '--steps', '1').status).toBe(0);
    });
  });
});

describe('LoRA on the command line: optimize --lora, resume, generate --adapter, merge', () => {
  const loraOut = path.join(dir, 'lora');
  const LORA = ['--lora-rank', '4', '--lora-alpha', '8', '--lora-dropout', '0'];
  let loraSteps: Record<string, number>[];
  const adapterWeights = async (checkpoint: string) => {
    const tensors = await readSafetensors(path.join(checkpoint, 'adapter_model.safetensors'));
    const values = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.toArray() as Float32Array]));
    Object.values(tensors).forEach((tensor) => tensor.dispose());
    return values;
  };
  const loraArgs = (out: string, ...flags: string[]) =>
    optimizeArgs(pairsFile(), out, ...training('1e-2'), ...LORA, '--json', ...flags);

  beforeAll(() => {
    const result = runCli(loraArgs(loraOut));
    expect(result.stderr).not.toMatch(/ERR_GENIUS/);
    expect(result.status).toBe(0);
    loraSteps = jsonLines(result.stdout);
  });

  it('writes an adapter directory (PEFT format) beside the tokenizer, not a model, that peft loads', async () => {
    expect(loraSteps.map((step) => step.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const file of ['adapter_config.json', 'adapter_model.safetensors', 'tokenizer.json']) {
      expect(fs.existsSync(path.join(loraOut, file))).toBe(true);
    }
    expect(fs.existsSync(path.join(loraOut, 'model.safetensors'))).toBe(false);
    const config = JSON.parse(fs.readFileSync(path.join(loraOut, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, lora_dropout: 0 });
    expect(config.target_modules.sort()).toEqual(
      ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'].sort(),
    );
    // The adapter was trained (B starts at zero), and its first step's reference was the base: rewards start at 0.
    const b = Object.entries(await adapterWeights(loraOut)).filter(([name]) => name.includes('lora_B'));
    expect(b.some(([, values]) => values.some((value) => value !== 0))).toBe(true);
    expect(Math.abs(loraSteps[0].chosenReward)).toBeLessThan(1e-6);
    expect(Math.abs(loraSteps[0].rejectedReward)).toBeLessThan(1e-6);
    // peft loads the trained adapter over the same base and computes our logits.
    const tokens = [eos, 17, 99, 3, 250, 41, 8, 600];
    using model = await Model.load(modelDir, { adapter: loraOut });
    const ours = (await model.logits(tokens)).toArray() as Float32Array;
    const [theirs] = runReference<{ results: number[][][] }>('lora_reference.py', {
      base: modelDir,
      ops: [{ op: 'logits', adapter: loraOut, tokens }],
    }).results;
    expect(Math.max(...theirs.flat().map((value, i) => Math.abs(value - ours[i])))).toBeLessThanOrEqual(1e-5);
  });

  it('--resume after a kill mid-run ends with the adapter of the uninterrupted run', async () => {
    const out = path.join(dir, 'lora-killed');
    const args = loraArgs(out, '--save-steps', '1');
    expect(await killAfterStep(args, 3)).toBeLessThan(6);
    const resumed = runCli([...args, '--resume']);
    expect(resumed.stderr).not.toMatch(/ERR_GENIUS/);
    expect(resumed.status).toBe(0);
    expect(await adapterWeights(out)).toEqual(await adapterWeights(loraOut));
    // A resume with another rank is another run: refused, naming the change.
    const changed = runCli(optimizeArgs(pairsFile(), out, ...training('1e-2'), '--lora-rank', '8', '--resume'));
    expect(changed.status).toBe(1);
    expect(changed.stderr).toMatch(
      /--lora-rank differs from the run in .*lora-killed, which trains an adapter of rank 4/,
    );
  });

  it('generate --adapter samples from the adapted model; merge writes a model that generates the same', () => {
    const merged = path.join(dir, 'lora-merged');
    const merge = runCli(['merge', '--model', modelDir, '--adapter', loraOut, '--out', merged]);
    expect(merge.stderr).not.toMatch(/ERR_GENIUS/);
    expect(merge.status).toBe(0);
    expect(fs.existsSync(path.join(merged, 'tokenizer.json'))).toBe(true);
    const generate = (...flags: string[]) => {
      const result = runCli([
        'generate',
        '--prompt',
        'Question 1: what is',
        '--max-tokens',
        '12',
        '--temperature',
        '0',
        ...flags,
      ]);
      expect(result.stderr).not.toMatch(/ERR_GENIUS/);
      return result.stdout;
    };
    const adapted = generate('--model', modelDir, '--adapter', loraOut);
    expect(generate('--model', merged)).toBe(adapted);
    expect(generate('--model', modelDir)).not.toBe(adapted);
  });

  it('refuses --adapter with the flags of a new adapter, and a merge into a used directory', () => {
    const both = runCli(
      optimizeArgs(pairsFile(), path.join(dir, 'lora-both'), '--adapter', loraOut, '--lora-rank', '2'),
    );
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/--adapter trains the adapter it names: no --lora or --lora-rank/);
    const used = runCli(['merge', '--model', modelDir, '--adapter', loraOut, '--out', loraOut]);
    expect(used.status).toBe(1);
    expect(used.stderr).toMatch(/argument 'out' must be a new or empty directory.*ERR_GENIUS_INVALID_ARG/);
  });
});

describe('genius-native sft', () => {
  it('trains a model from random weights (--init) and saves a loadable directory', async () => {
    const config = path.join(dir, 'new-config.json');
    fs.writeFileSync(config, JSON.stringify({ ...CONFIG, eos_token_id: eos, initializer_range: 0.02 }));
    const data = writeFile('sft.jsonl', [
      JSON.stringify({ prompt: 'Question: 2 + 2?\n', response: 'It is 4.' }),
      ...pairLines(3),
    ]);
    const out = path.join(dir, 'sft');
    const result = runCli([
      'sft',
      '--init',
      config,
      '--tokenizer',
      tokenizers.byteLevel,
      '--data',
      data,
      '--out',
      out,
      '--lr',
      '1e-3',
      '--warmup-ratio',
      '0',
      '--batch-size',
      '2',
      '--grad-accum',
      '2',
      '--epochs',
      '3',
      '--json',
    ]);
    expect(result.stderr).not.toMatch(/ERR_GENIUS/);
    expect(result.status).toBe(0);
    const steps = jsonLines(result.stdout);
    expect(steps.map((step) => step.step)).toEqual([1, 2, 3]);
    // Random init: the first loss is about log(vocab); three steps on the same four examples lower it.
    expect(steps[0].loss).toBeGreaterThan(Math.log(CONFIG.vocab_size) - 0.5);
    expect(steps[2].loss).toBeLessThan(steps[0].loss);
    expect(steps[0].sequences).toBe(4);
    using model = await Model.load(out);
    expect(model.describe().vocabSize).toBe(CONFIG.vocab_size);
    expect(fs.existsSync(path.join(out, 'tokenizer.json'))).toBe(true);
  });
});
