/**
 * `genius-native train`, the whole loop, as 2 ranks under `genius-native launch`: they explore and evaluate shares
 * of the queries and optimise data-parallel, and rank 0 writes the run directory of 1 process: the same records,
 * pairs, evaluations, steps and weights (the embedded model in float64, where the ranks' sum in another order stays
 * within rounding).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli';
import { saveEmbeddedInFloat64 } from './helpers/float64-model';
import { launchArgs } from './helpers/ranks';
import { readWeights } from './helpers/weights';

// Several processes (ranks, and 1 process to compare with) per test: minutes when the machine is busy.
jest.setTimeout(600_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-train-ranks-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const modelDir = path.join(dir, 'model-float64');
beforeAll(() => saveEmbeddedInFloat64(modelDir));

function firstLines(source: string, count: number): string {
  const lines = fs.readFileSync(path.join(__dirname, '..', 'data', 'changes', source), 'utf8').split('\n');
  const file = path.join(dir, source);
  fs.writeFileSync(file, lines.slice(0, count).join('\n') + '\n');
  return file;
}

const trainArgs = (out: string, gradAccum: number): string[] => [
  'train',
  ...[
    '--model',
    modelDir,
    '--queries',
    firstLines('queries.jsonl', 8),
    '--eval',
    firstLines('validation.jsonl', 6),
    '--out',
    out,
  ],
  ...['--beams', '2', '--rollouts', '2', '--foresight', '2', '--max-tokens', '24', '--final-max-tokens', '48'],
  ...['--queries-in-flight', '2', '--batch-size', '2', '--grad-accum', String(gradAccum), '--json'],
];

test('train on 2 ranks writes the run directory of 1 process', async () => {
  const alone = path.join(dir, 'alone');
  const single = runCli(trainArgs(alone, 4), 600_000);
  expect(single.stderr).not.toMatch(/ERR_GENIUS/);
  expect(single.status).toBe(0);
  const ranks = path.join(dir, 'ranks');
  const launched = runCli([...(await launchArgs()), ...trainArgs(ranks, 2)], 600_000);
  expect(launched.stderr).not.toMatch(/ERR_GENIUS/);
  expect(launched.status).toBe(0);
  // Rank 0 alone reports.
  expect(launched.stdout).not.toMatch(/\[rank 1\]/);
  expect(launched.stdout).toMatch(/\[rank 0\] \{"event":"done"/);

  const read = (run: string, file: string): string => fs.readFileSync(path.join(run, file), 'utf8');
  for (const file of ['iteration-1/records.jsonl', 'iteration-1/pairs.jsonl', 'eval-0.json']) {
    expect(read(ranks, file)).toBe(read(alone, file));
  }
  const report = (run: string): unknown => (JSON.parse(read(run, 'eval-1.json')) as { report: unknown }).report;
  expect(report(ranks)).toEqual(report(alone));

  // Every step's loss and gradient norm are the whole batch's: in float64 the order of the ranks' sum moves the weights
  // by no more than rounding, which Adam's ε cannot turn into a share of a step.
  const metrics = (run: string): { loss: number; gradNorm: number }[] =>
    read(run, 'metrics.jsonl')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { loss: number; gradNorm: number });
  const [stepsAlone, stepsRanks] = [metrics(alone), metrics(ranks)];
  expect(stepsRanks).toHaveLength(stepsAlone.length);
  expect(stepsAlone.length).toBeGreaterThan(1);
  stepsAlone.forEach((step, i) => {
    for (const key of ['loss', 'gradNorm'] as const) {
      expect(Math.abs(stepsRanks[i][key] - step[key])).toBeLessThanOrEqual(1e-6 * step[key]);
    }
  });
  // So are the weights: per tensor, the update of the ranks is the update of 1 process within 1e-6 of its size.
  const start = await readWeights(path.join(__dirname, '..', 'models', 'default'));
  const [mine, theirs] = [
    await readWeights(path.join(ranks, 'iteration-1', 'model')),
    await readWeights(path.join(alone, 'iteration-1', 'model')),
  ];
  for (const [name, values] of theirs) {
    let apart = 0;
    let update = 0;
    values.forEach((value, i) => {
      apart += (mine.get(name)![i] - value) ** 2;
      update += (value - start.get(name)![i]) ** 2;
    });
    expect(Math.sqrt(apart)).toBeLessThanOrEqual(1e-6 * Math.sqrt(update));
  }
});
