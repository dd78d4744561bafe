/**
 * Data-parallel training: one optimizer step on 2 ranks, each with half of the batch, gives the metrics and the weights
 * of one step on 1 process over the whole batch (every weight tensor within 1e-6 of its scale), started by
 * `genius-native launch` and by torchrun alike. A run stopped after its first step on 2 ranks and resumed on 1 (the
 * same batch: twice the accumulation) ends with the weights of an uninterrupted run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli';
import { saveEmbeddedInFloat64 } from './helpers/float64-model';
import { freePort, launchArgs, runRanks } from './helpers/ranks';
import { readWeights } from './helpers/weights';

// Several processes (ranks, and 1 process to compare with) per test: minutes when the machine is busy.
jest.setTimeout(600_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-data-parallel-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const modelDir = path.join(dir, 'model-float64');
beforeAll(() => saveEmbeddedInFloat64(modelDir));
const torchrun = path.join(__dirname, '..', '.venv', 'bin', 'torchrun');
const runner = path.join(__dirname, 'helpers', 'run-cli.js');

/** Preference pairs in the reference's format, of varied lengths. */
const pairsFile = path.join(dir, 'pairs.jsonl');
fs.writeFileSync(
  pairsFile,
  Array.from({ length: 8 }, (_, i) =>
    JSON.stringify({
      prompt: `Tom had some marbles. Tom bought ${i + 2}, then lost ${i}, and now has ${2 * i + 5}. How many at first?`,
      chosen: [
        { role: 'assistant', content: `${2 * i + 5} - ${i + 2} + ${i} = ${i + 3}.\nThe answer is \\boxed{${i + 3}}.` },
      ],
      rejected: [{ role: 'assistant', content: `I work it out in my head.\nThe answer is \\boxed{${i}}.` }],
      chosen_weights: 0.3 + 0.1 * i,
      rejected_weights: -0.2 - 0.05 * i,
    }),
  )
    .map((line) => `${line}\n`)
    .join(''),
);

const optimizeArgs = (out: string, gradAccum: number): string[] => [
  'optimize',
  ...['--model', modelDir, '--pairs', pairsFile, '--out', out],
  ...['--lr', '1e-4', '--warmup-ratio', '0', '--batch-size', '1', '--grad-accum', String(gradAccum)],
  ...['--steps', '1', '--seed', '5', '--json'],
];

/**
 * The largest difference between two checkpoints' weights, relative to the weight's scale: max |a − b| / max |a| over
 * the elements of each weight tensor. (Element by element, a weight that one step brings near 0 would turn the last
 * bit of its update into a large relative error, and so would a gradient that is a sum of terms that cancel, where
 * the order of the sum, one process's or the ranks', decides the last bits.)
 */
async function largestRelativeDifference(a: string, b: string): Promise<number> {
  const [left, right] = [await readWeights(a), await readWeights(b)];
  expect([...right.keys()].sort()).toEqual([...left.keys()].sort());
  let largest = 0;
  for (const [name, values] of left) {
    const other = right.get(name)!;
    let difference = 0;
    let scale = 0;
    for (let i = 0; i < values.length; i++) {
      difference = Math.max(difference, Math.abs(values[i] - other[i]));
      scale = Math.max(scale, Math.abs(values[i]));
    }
    largest = Math.max(largest, difference / scale);
  }
  return largest;
}

/** The step's metrics, printed with --json (by rank 0 alone, under a launcher, after its prefix). */
function stepMetrics(stdout: string): Record<string, number> {
  const lines = stdout.split('\n').filter((line) => line.includes('"event":"step"'));
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0].slice(lines[0].indexOf('{'))) as Record<string, number>;
}

/**
 * Adam's first update hardly depends on the gradient's scale, so the weights alone would not tell a mean over the
 * batch from a sum: the loss, rewards and gradient norm of the step must be the whole batch's too.
 */
function expectSameMetrics(ranks: Record<string, number>, alone: Record<string, number>): void {
  for (const key of ['loss', 'chosenReward', 'rejectedReward', 'accuracy', 'gradNorm', 'pairs', 'tokens']) {
    expect(Math.abs(ranks[key] - alone[key])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(alone[key])));
  }
}

describe('one step over 4 pairs', () => {
  const alone = path.join(dir, 'alone');
  let metrics: Record<string, number>;
  beforeAll(() => {
    const result = runCli(optimizeArgs(alone, 4), 300_000);
    expect(result.stderr).not.toMatch(/ERR_GENIUS/);
    expect(result.status).toBe(0);
    metrics = stepMetrics(result.stdout);
  });

  it('on 2 ranks started by launch, 2 pairs each, gives the weights of 1 process', async () => {
    const out = path.join(dir, 'launch');
    const result = runCli([...(await launchArgs()), ...optimizeArgs(out, 2)], 300_000);
    expect(result.stderr).not.toMatch(/ERR_GENIUS/);
    expect(result.status).toBe(0);
    // Rank 0 alone reports the step, and its metrics are the whole batch's.
    expect(result.stdout).not.toMatch(/\[rank 1\]/);
    expectSameMetrics(stepMetrics(result.stdout), metrics);
    expect(await largestRelativeDifference(alone, out)).toBeLessThanOrEqual(1e-6);
    // It trained: the step moved the weights far more than that.
    expect(await largestRelativeDifference(alone, modelDir)).toBeGreaterThan(1e-5);
  });

  it('on 2 ranks started by torchrun --no-python gives them too', async () => {
    const out = path.join(dir, 'torchrun');
    const port = String(await freePort());
    const result = spawnSync(
      torchrun,
      [
        '--nproc-per-node',
        '2',
        '--master-port',
        port,
        '--no-python',
        process.execPath,
        runner,
        ...optimizeArgs(out, 2),
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(result.stderr).not.toMatch(/ERR_GENIUS/);
    expect(result.status).toBe(0);
    expectSameMetrics(stepMetrics(result.stdout), metrics);
    expect(await largestRelativeDifference(alone, out)).toBeLessThanOrEqual(1e-6);
  });
});

test('a run stopped after step 1 on 2 ranks and resumed on 1 ends as the uninterrupted run', async () => {
  const script = path.join(__dirname, 'helpers', 'train-rank.ts');
  const settings = { model: modelDir, pairs: pairsFile };
  const whole = path.join(dir, 'whole');
  const [uninterrupted] = await runRanks(
    script,
    [JSON.stringify({ ...settings, out: whole, gradAccum: 4 })],
    1,
    300_000,
  );
  expect(uninterrupted.stdout).toBe('');

  const resumed = path.join(dir, 'resumed');
  const ranks = await runRanks(
    script,
    [JSON.stringify({ ...settings, out: resumed, gradAccum: 2, stopAfter: 1 })],
    2,
    300_000,
  );
  for (const rank of ranks) expect(rank.stdout).toBe('');
  const state = JSON.parse(fs.readFileSync(path.join(resumed, 'training_state', 'trainer_state.json'), 'utf8'));
  expect(state).toMatchObject({ step: 1, totalSteps: 2, completed: false });
  const [alone] = await runRanks(script, [JSON.stringify({ ...settings, out: resumed, gradAccum: 4 })], 1, 300_000);
  expect(alone.stdout).toBe('');
  // Two steps: the second starts from weights one step apart by the first's last bits, and sums its gradients in
  // another order; they stay within 1e-5, the bound of the trainer's parity with PyTorch.
  expect(await largestRelativeDifference(whole, resumed)).toBeLessThanOrEqual(1e-5);
});

test('--shard-optimizer (ZeRO-1) keeps the weights and the optimizer state of an unsharded run', async () => {
  const script = path.join(__dirname, 'helpers', 'train-rank.ts');
  const run = async (out: string, shardOptimizer: boolean, stopAfter?: number): Promise<void> => {
    const settings = { model: modelDir, pairs: pairsFile, out, gradAccum: 2, shardOptimizer, stopAfter };
    const ranks = await runRanks(script, [JSON.stringify(settings)], 2, 300_000);
    for (const rank of ranks) expect(rank.stdout).toBe('');
  };
  const [plain, sharded] = [path.join(dir, 'unsharded'), path.join(dir, 'sharded')];
  await run(plain, false, 1);
  await run(sharded, true, 1);
  // After step 1: the same weights, and the moments each rank kept, gathered by rank 0, are the whole state.
  const file = (run: string, name: string): Buffer => fs.readFileSync(path.join(run, name));
  for (const name of ['model.safetensors', 'training_state/optimizer.safetensors']) {
    expect(file(sharded, name).equals(file(plain, name))).toBe(true);
  }
  // Resumed from that state, sharded again, to the end: the weights of the unsharded run, bit for bit.
  await run(plain, false);
  await run(sharded, true);
  expect(file(sharded, 'model.safetensors').equals(file(plain, 'model.safetensors'))).toBe(true);
});

test("a step with fewer examples than ranks leaves a rank without any, and still gives 1 process's weights", async () => {
  // 3 pairs in steps of 2: the second step's one pair goes to rank 0, and rank 1 sums zeros.
  const three = path.join(dir, 'three.jsonl');
  fs.writeFileSync(three, fs.readFileSync(pairsFile, 'utf8').split('\n').slice(0, 3).join('\n') + '\n');
  const script = path.join(__dirname, 'helpers', 'train-rank.ts');
  const run = async (out: string, ranks: number, gradAccum: number): Promise<void> => {
    const settings = { model: modelDir, pairs: three, out, gradAccum };
    for (const rank of await runRanks(script, [JSON.stringify(settings)], ranks, 300_000)) {
      expect(rank.stdout).toBe('');
    }
  };
  const [alone, ranks] = [path.join(dir, 'three-alone'), path.join(dir, 'three-ranks')];
  await run(alone, 1, 2);
  await run(ranks, 2, 1);
  const state = JSON.parse(fs.readFileSync(path.join(ranks, 'training_state', 'trainer_state.json'), 'utf8'));
  expect(state).toMatchObject({ step: 2, totalSteps: 2, completed: true });
  expect(await largestRelativeDifference(alone, ranks)).toBeLessThanOrEqual(1e-5);
});
