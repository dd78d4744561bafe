/**
 * Exploration and evaluation shared out between ranks. Each sample draws from a random stream of its own (the run's
 * seed, the call, the query and its place in the query), so a query's record does not depend on the batch it lands
 * in: in float64, the most precise dtype the engine runs, the records of one query at a time and of 4 at a time
 * agree up to the rounding of batched arithmetic. The ranks explore whole batches, as one process would, so 2 ranks
 * (through `genius-native launch` or torchrun) write the very records.jsonl that 1 process writes, and a run killed
 * after some records resumes on 2 ranks to the same file; 2 ranks evaluate to the same answers as 1 process.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Genius, Model, Tokenizer, readQueries, type ExplorationRecord } from '../lib';
import { runCli, type CliResult } from './helpers/cli';
import { freePort, launchArgs } from './helpers/ranks';

// Several processes (ranks, and 1 process to compare with) per test: minutes when the machine is busy.
jest.setTimeout(600_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-sharded-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const modelDir = path.join(__dirname, '..', 'models', 'default');
const torchrun = path.join(__dirname, '..', '.venv', 'bin', 'torchrun');
const runner = path.join(__dirname, 'helpers', 'run-cli.js');

/** The first `count` lines of a file of the embedded data, as a file of their own. */
function firstLines(source: string, count: number, name: string): string {
  const lines = fs.readFileSync(path.join(__dirname, '..', 'data', 'changes', source), 'utf8').split('\n');
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.slice(0, count).join('\n') + '\n');
  return file;
}
const queries = firstLines('queries.jsonl', 7, 'queries.jsonl');
const labelled = firstLines('validation.jsonl', 7, 'validation.jsonl');

const EXPLORE = [
  '--beams',
  '2',
  '--rollouts',
  '2',
  '--foresight',
  '2',
  '--max-tokens',
  '24',
  '--final-max-tokens',
  '48',
];
const exploreArgs = (out: string, ...flags: string[]): string[] => [
  'explore',
  ...['--model', modelDir, '--queries', queries, '--out', out, '--queries-in-flight', '2', ...EXPLORE, ...flags],
];
const records = (run: string): string => fs.readFileSync(path.join(run, 'records.jsonl'), 'utf8');

/** `args` as 2 ranks under `genius-native launch`. */
async function launched(args: string[]): Promise<CliResult> {
  return runCli([...(await launchArgs()), ...args], 300_000);
}

/** Expects `actual` to be `expected`, but for numbers, which may differ by the rounding of batched arithmetic. */
function expectAlike(actual: unknown, expected: unknown): void {
  if (typeof expected === 'number') {
    expect(typeof actual).toBe('number');
    expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
  } else if (expected !== null && typeof expected === 'object') {
    expect(Object.keys(actual as object)).toEqual(Object.keys(expected));
    for (const [key, value] of Object.entries(expected)) expectAlike((actual as Record<string, unknown>)[key], value);
  } else {
    expect(actual).toBe(expected);
  }
}

test("a query's record does not depend on the queries explored beside it (float64)", async () => {
  using model = await Model.load(modelDir, { dtype: 'float64' });
  const tokenizer = await Tokenizer.fromDir(modelDir);
  const all = await readQueries(queries);
  const explore = async (queriesInFlight: number): Promise<ExplorationRecord[]> => {
    const genius = new Genius(model, tokenizer, {
      beams: 2,
      rollouts: 2,
      foresightSteps: 2,
      maxTokens: 24,
      finalMaxTokens: 48,
      queriesInFlight,
    });
    const found: ExplorationRecord[] = [];
    for await (const event of genius.explore(all)) if (event.type === 'record') found.push(event.record);
    return found;
  };
  const alone = await explore(1);
  const together = await explore(4);
  expect(together).toHaveLength(all.length);
  // The same texts and choices; scores equal up to the rounding of batched float64 arithmetic.
  expectAlike(together, alone);
  // Exploration did sample: the queries' candidate steps are not all alike.
  expect(new Set(alone.map((record) => JSON.stringify(record))).size).toBe(all.length);
});

describe('explore on 2 ranks', () => {
  const alone = path.join(dir, 'alone');
  beforeAll(() => {
    const result = runCli(exploreArgs(alone), 300_000);
    expect(result.status).toBe(0);
  });

  it('through launch writes the records of 1 process, and rank 0 alone writes them', async () => {
    const out = path.join(dir, 'launch');
    const result = await launched(exploreArgs(out));
    expect(result.stderr).not.toMatch(/ERR_GENIUS/);
    expect(result.status).toBe(0);
    expect(records(out)).toBe(records(alone));
    expect(result.stderr).toMatch(/\[rank 0\] explore: 7 records/);
    expect(result.stderr).not.toMatch(/\[rank 1\] explore: \d+ records/);
  });

  it('through torchrun --no-python writes them too', async () => {
    const out = path.join(dir, 'torchrun');
    const run = spawnSync(
      torchrun,
      [
        ...['--nproc-per-node', '2', '--master-port', String(await freePort()), '--no-python'],
        ...[process.execPath, runner, ...exploreArgs(out)],
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(run.stderr).not.toMatch(/ERR_GENIUS/);
    expect(run.status).toBe(0);
    expect(records(out)).toBe(records(alone));
  });

  it('resumes a run killed after 3 records (mid-batch) to the same records', async () => {
    const out = path.join(dir, 'resumed');
    fs.mkdirSync(out);
    fs.copyFileSync(path.join(alone, 'explore.json'), path.join(out, 'explore.json'));
    // Records are appended one by one, in query order: a killed run leaves the first ones.
    fs.writeFileSync(path.join(out, 'records.jsonl'), records(alone).split('\n').slice(0, 3).join('\n') + '\n');
    const result = await launched(exploreArgs(out, '--resume'));
    expect(result.status).toBe(0);
    expect(records(out)).toBe(records(alone));
    expect(result.stderr).toMatch(/7 records in .* \(4 new\)/);
  });
});

test('evaluation on 2 ranks gives the answers of 1 process', async () => {
  const evalArgs = (out: string): string[] => [
    'eval',
    ...['--model', modelDir, '--data', labelled, '--batch-size', '2', '--n-samples', '2', '--max-tokens', '48'],
    ...['--out', out, '--json'],
  ];
  const alone = runCli(evalArgs(path.join(dir, 'eval-alone.jsonl')), 300_000);
  expect(alone.status).toBe(0);
  const ranks = await launched(evalArgs(path.join(dir, 'eval-ranks.jsonl')));
  expect(ranks.stderr).not.toMatch(/ERR_GENIUS/);
  expect(ranks.status).toBe(0);
  const answers = (file: string): string => fs.readFileSync(path.join(dir, file), 'utf8');
  expect(answers('eval-ranks.jsonl')).toBe(answers('eval-alone.jsonl'));
  expect(answers('eval-alone.jsonl').trim().split('\n')).toHaveLength(7);
  // Rank 0 alone reports, with the numbers of 1 process.
  const report = (stdout: string): string[] => stdout.split('\n').filter((line) => line.includes('"event":"report"'));
  expect(report(ranks.stdout).map((line) => line.replace(/^\[rank 0\] /, ''))).toEqual(report(alone.stdout));
});
