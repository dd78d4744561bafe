/**
 * Exploration end to end on a tiny random Llama that speaks a test tokenizer (test/reference/make_genius_model.py):
 * the explore, pairs and eval commands, determinism under a seed, no leakage of ground truth into exploration,
 * and resuming an interrupted run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../bin/cli';
import {
  ErrorCode,
  Genius,
  Model,
  stepPrompt,
  Tokenizer,
  openExploreRun,
  readQueries,
  readRecords,
  resolveExploreOptions,
  type ExplorationRecord,
  type GeniusRunEvent,
} from '../lib';
import { STEP_PREAMBLE } from '../lib/testing';
import { readPairs } from '../lib/data/pairs';
import { spawnCli } from './helpers/cli';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-explore-'));
const tokenizers = runReference<{ byteLevel: string }>('make_tokenizers.py', { out: path.join(dir, 'tokenizers') });
const modelDir = runReference<{ dir: string }>('make_genius_model.py', {
  tokenizer: tokenizers.byteLevel,
  out: path.join(dir, 'model'),
}).dir;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const QUESTIONS = [
  {
    instruction: 'Tom has 3 apples and buys 4 more. How many apples does he have?',
    response: 'The answer is \\boxed{7}.',
  },
  { instruction: 'What is 6 times 7?', response: '6 * 7 = 42.\nThe answer is \\boxed{42}.' },
  { instruction: 'A box holds 12 eggs. How many eggs are in 3 boxes?', response: '#### 36' },
];

function writeQueries(name: string, items: object[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, items.map((item) => `${JSON.stringify(item)}\n`).join(''));
  return file;
}

const labelled = writeQueries('labelled.jsonl', QUESTIONS);
const unlabelled = writeQueries(
  'unlabelled.jsonl',
  QUESTIONS.map(({ instruction }) => ({ instruction })),
);
const mislabelled = writeQueries(
  'mislabelled.jsonl',
  QUESTIONS.map(({ instruction }) => ({ instruction, response: 'The answer is \\boxed{-1}.' })),
);

// Small sizes keep the CPU run short; two queries in flight make the last batch a partial one.
const SIZES = ['--beams', '2', '--rollouts', '2', '--foresight', '2', '--max-tokens', '12', '--final-max-tokens', '16'];
const SIZE_OPTIONS = {
  beams: 2,
  rollouts: 2,
  foresightSteps: 2,
  maxTokens: 12,
  finalMaxTokens: 16,
  queriesInFlight: 2,
};

/** Runs the CLI in-process; returns its stdout lines and fails on a non-zero exit. */
async function cli(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
  const error = jest.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await main(args);
    if (process.exitCode !== undefined && process.exitCode !== 0) {
      throw new Error(`genius-native ${args.join(' ')} failed: ${error.mock.calls.flat().join('\n')}`);
    }
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = undefined;
  }
  return lines;
}

async function explore(name: string, queries: string, extra: string[] = [], seed = 5): Promise<string> {
  const out = path.join(dir, name);
  const args = ['explore', '--model', modelDir, '--queries', queries, '--out', out, ...SIZES];
  await cli([...args, '--queries-in-flight', '2', '--seed', String(seed), '--json', ...extra]);
  return out;
}

const recordsText = (run: string): string => fs.readFileSync(path.join(run, 'records.jsonl'), 'utf8');

describe('explore + pairs on a tiny model', () => {
  let run: string;
  let records: ExplorationRecord[];
  beforeAll(async () => {
    run = await explore('run', labelled);
    records = await readRecords(path.join(run, 'records.jsonl'));
  });

  it('writes one record per query in the reference format, and reads it back byte for byte', () => {
    expect(records.map((record) => record.id)).toEqual([0, 1, 2]);
    const text = recordsText(run);
    expect(records.map((record) => `${JSON.stringify(record)}\n`).join('')).toBe(text);
    for (const [index, record] of records.entries()) {
      expect(Object.keys(record)).toEqual([
        'id',
        'question',
        'ground_truth',
        'response',
        'response_all_beams',
        'foresight_steps',
        'traj_pool',
        'step_pool',
        'prob_pool',
        'adv_pool',
        'step_prob',
        'sample_id_pool',
      ]);
      expect(record.question).toBe(QUESTIONS[index].instruction);
      expect(record.ground_truth).toBeNull();
      expect(record.foresight_steps).toBe(2);
      expect(record.traj_pool).toHaveLength(3);
      expect(record.traj_pool[2]).toEqual([]);
      expect(record.prob_pool[2]).toHaveLength(2);
      expect(record.sample_id_pool).toHaveLength(3);
      expect(record.response_all_beams).toHaveLength(2);
      expect(record.response_all_beams).toContain(record.response);
      for (const response of record.response_all_beams) expect(response.startsWith(STEP_PREAMBLE)).toBe(true);
      record.prob_pool.flat().forEach((score) => expect(score).toBeLessThanOrEqual(0));
      record.traj_pool.slice(0, 2).forEach((pool, step) => {
        expect(record.step_prob[step]).toHaveLength(pool.length);
        pool.forEach((trajectory, j) => {
          expect(trajectory.startsWith(STEP_PREAMBLE)).toBe(true);
          expect(trajectory.endsWith(record.step_pool[step][j])).toBe(true);
        });
      });
    }
    // The model stops its steps at '\n' (a candidate pool of 4 per step), so every step was explored.
    expect(records.flatMap((record) => record.traj_pool.slice(0, 2).map((pool) => pool.length >= 2))).not.toContain(
      false,
    );
  });

  it('turns records into one pair per step, prompts rendered by the chat template', async () => {
    await cli(['pairs', '--records', run]);
    const { records: pairs } = await readPairs(path.join(run, 'pairs.jsonl'));
    expect(pairs).toHaveLength(records.length * 2);
    const tokenizer = await Tokenizer.fromDir(modelDir);
    pairs.forEach((pair, index) => {
      const record = records[Math.floor(index / 2)];
      const step = index % 2;
      const pool = record.traj_pool[step];
      const chosen = pool.indexOf(pair.chosen[0].content);
      const rejected = pool.indexOf(pair.rejected[0].content);
      expect(pair.prompt).toBe(
        tokenizer.applyChatTemplate([{ role: 'user', content: record.question }], { addGenerationPrompt: true }),
      );
      expect(record.prob_pool[step][chosen]).toBe(Math.max(...record.prob_pool[step]));
      expect(rejected).toBeGreaterThanOrEqual(0);
      expect(pair.chosen_weights).toBe(record.adv_pool[step][chosen]);
      expect(pair.rejected_weights).toBe(record.adv_pool[step][rejected]);
      const advantages = record.adv_pool[step];
      expect(pair.chosen_average_weights).toBeCloseTo(advantages.reduce((a, b) => a + b, 0) / advantages.length, 12);
    });
    // The pairs file reads back byte for byte (JSON leaves out the line number the reader adds, once undefined).
    const text = fs.readFileSync(path.join(run, 'pairs.jsonl'), 'utf8');
    expect(pairs.map((pair) => `${JSON.stringify({ ...pair, line: undefined })}\n`).join('')).toBe(text);

    const uniform = path.join(dir, 'pairs-uniform.jsonl');
    await cli([
      'pairs',
      '--records',
      path.join(run, 'records.jsonl'),
      '--model',
      modelDir,
      '--rejected',
      'uniform',
      '--out',
      uniform,
    ]);
    expect((await readPairs(uniform)).records).toHaveLength(pairs.length);
  });

  it('repeats byte for byte with the same seed, and differs with another', async () => {
    expect(recordsText(await explore('same-seed', labelled))).toBe(recordsText(run));
    expect(recordsText(await explore('other-seed', labelled, [], 6))).not.toBe(recordsText(run));
  });

  it('never reads ground truth: records and pairs are the same without it or with wrong answers', async () => {
    const pairsText = fs.readFileSync(path.join(run, 'pairs.jsonl'), 'utf8');
    for (const queries of [unlabelled, mislabelled]) {
      const other = await explore(`leak-${path.basename(queries)}`, queries);
      expect(recordsText(other)).toBe(recordsText(run));
      await cli(['pairs', '--records', other]);
      expect(fs.readFileSync(path.join(other, 'pairs.jsonl'), 'utf8')).toBe(pairsText);
    }
    // The reader explore uses drops `response` itself.
    for (const query of await readQueries(labelled)) expect(Object.keys(query)).toEqual(['id', 'instruction']);
  });

  it('resumes a run cut short mid-write to the same records', async () => {
    const cut = path.join(dir, 'cut');
    fs.mkdirSync(cut);
    fs.copyFileSync(path.join(run, 'explore.json'), path.join(cut, 'explore.json'));
    const [first, second] = recordsText(run).split('\n');
    fs.writeFileSync(path.join(cut, 'records.jsonl'), `${first}\n${second.slice(0, second.length >> 1)}`);
    await expect(explore('cut', labelled)).rejects.toThrow(/holds a run already/);
    await explore('cut', labelled, ['--resume']);
    expect(recordsText(cut)).toBe(recordsText(run));
    await expect(explore('cut', labelled, ['--resume', '--tau', '0.2'])).rejects.toThrow(/tau: 0.1 → 0.2/);
  });

  it('stops on abort with the finished records on disk, and resumes to the same records', async () => {
    const out = path.join(dir, 'aborted');
    const options = resolveExploreOptions({ ...SIZE_OPTIONS, seed: 5 });
    const settings = {
      model: path.resolve(modelDir),
      queries: path.resolve(labelled),
      queryField: 'instruction',
      options,
    };
    const queries = await readQueries(labelled);
    const controller = new AbortController();
    {
      using model = await Model.load(modelDir);
      const genius = new Genius(model, await Tokenizer.fromDir(modelDir), options);
      await using explored = await openExploreRun(out, settings, false);
      const events = genius.explore(queries, { signal: controller.signal });
      const consume = async (): Promise<void> => {
        for await (const event of events) {
          if (event.type !== 'record') continue;
          await explored.append(event.record);
          controller.abort();
        }
      };
      await expect(consume()).rejects.toMatchObject({ code: ErrorCode.Aborted });
    }
    // The first batch's two records were given before the next native call saw the abort.
    expect(recordsText(out).split('\n')).toHaveLength(3);
    await explore('aborted', labelled, ['--resume']);
    expect(recordsText(out)).toBe(recordsText(run));
  });
});

describe('Genius.run: the loop in memory', () => {
  it('explores, trains in place and checkpoints per iteration, tagging every event with its iteration', async () => {
    const queries = await readQueries(unlabelled);
    const checkpoints = path.join(dir, 'run-checkpoints');
    using model = await Model.load(modelDir);
    using before = await model.logits([5, 6, 7]);
    const genius = new Genius(model, await Tokenizer.fromDir(modelDir), SIZE_OPTIONS);
    const events: GeniusRunEvent[] = [];
    const train = { lr: 1e-2, microBatch: 2, gradAccum: 1 };
    for await (const event of genius.run(queries, { iterations: 2, train, checkpointDir: checkpoints })) {
      events.push(event);
    }

    for (const iteration of [1, 2]) {
      const mine = events.filter((event) => event.iteration === iteration);
      const kinds = mine.map((event) => event.type);
      // Exploration first, then the optimizer's steps, then the checkpoint.
      expect(kinds.lastIndexOf('pair')).toBeLessThan(kinds.indexOf('step'));
      expect(kinds.at(-1)).toBe('checkpoint');
      const pairs = kinds.filter((kind) => kind === 'pair').length;
      expect(kinds.filter((kind) => kind === 'step')).toHaveLength(Math.ceil(pairs / train.microBatch));
    }
    // Iteration 1 explores with the starting policy: the same records as the explore command with this seed.
    const firstRecords = events.flatMap((event) =>
      event.type === 'record' && event.iteration === 1 ? [event.record] : [],
    );
    const explored = await explore('run-api', unlabelled, [], 0);
    expect(firstRecords).toEqual(await readRecords(path.join(explored, 'records.jsonl')));
    // The policy was trained in place, and each checkpoint is a loadable model directory holding it.
    using after = await model.logits([5, 6, 7]);
    expect(after.toArray()).not.toEqual(before.toArray());
    using saved = await Model.load(path.join(checkpoints, 'iteration-2'));
    using savedLogits = await saved.logits([5, 6, 7]);
    expect(savedLogits.toArray()).toEqual(after.toArray());
  });

  it("trains on sequences cut to the model's positions when pairs are longer", async () => {
    // A copy of the model with just enough positions for the prompts: whole pairs no longer fit.
    const short = path.join(dir, 'short-positions');
    fs.cpSync(modelDir, short, { recursive: true });
    const tokenizer = await Tokenizer.fromDir(short);
    const queries = await readQueries(unlabelled);
    const prompts = queries.map((query) => tokenizer.encode(stepPrompt(tokenizer, query.instruction, [])).length);
    const configFile = path.join(short, 'config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(configFile, JSON.stringify({ ...config, max_position_embeddings: Math.max(...prompts) + 4 }));

    using model = await Model.load(short);
    const genius = new Genius(model, tokenizer, SIZE_OPTIONS);
    const steps = [];
    for await (const event of genius.run(queries, { train: { lr: 1e-3, microBatch: 2 } })) {
      if (event.type === 'step') steps.push(event.metrics);
    }
    expect(steps.length).toBeGreaterThan(0);
  });

  it('stops on abort during optimisation', async () => {
    using model = await Model.load(modelDir);
    const genius = new Genius(model, await Tokenizer.fromDir(modelDir), SIZE_OPTIONS);
    const controller = new AbortController();
    const consume = async (): Promise<void> => {
      // One pair per step, so that steps remain after the first.
      const options = { train: { lr: 1e-3, microBatch: 1, gradAccum: 1 }, signal: controller.signal };
      for await (const event of genius.run(await readQueries(unlabelled), options)) {
        if (event.type === 'step') controller.abort();
      }
    };
    await expect(consume()).rejects.toMatchObject({ code: ErrorCode.Aborted });
  });
});

describe('Ctrl-C', () => {
  it('stops explore at the next safe point with exit code 130; --resume completes the same records', async () => {
    // One query per batch, so that plenty of work is left when the first record is in.
    const queries = writeQueries(
      'many.jsonl',
      Array.from({ length: 6 }, (_, index) => ({ instruction: `What is ${index} + ${index}?` })),
    );
    const args = (out: string): string[] => [
      'explore',
      ...['--model', modelDir, '--queries', queries, '--out', path.join(dir, out), ...SIZES],
      ...['--queries-in-flight', '1', '--json'],
    ];
    await cli(args('uninterrupted'));
    const child = spawnCli(args('interrupted'));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/"queriesDone":1,/.test(stdout) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (code) => resolve(code));
    });
    expect(stderr).toMatch(/Stopping at the next safe point/);
    expect(stdout).toMatch(/"event":"note","message":"explore: stopped; .* holds every finished query/);
    expect(status).toBe(130);
    const interrupted = recordsText(path.join(dir, 'interrupted'));
    expect(recordsText(path.join(dir, 'uninterrupted')).startsWith(interrupted)).toBe(true);
    expect(interrupted.split('\n').length - 1).toBeLessThan(6);
    await cli([...args('interrupted'), '--resume']);
    expect(recordsText(path.join(dir, 'interrupted'))).toBe(recordsText(path.join(dir, 'uninterrupted')));
  });
});

describe('eval on a tiny model', () => {
  it('reports greedy and sampled accuracy and writes each answer', async () => {
    const out = path.join(dir, 'eval.jsonl');
    const lines = await cli([
      'eval',
      '--model',
      modelDir,
      '--data',
      labelled,
      '--n-samples',
      '2',
      '--max-tokens',
      '12',
      '--out',
      out,
      '--json',
    ]);
    const report = JSON.parse(lines.at(-1)!) as Record<string, number>;
    expect(report).toMatchObject({ event: 'report', queries: 3, samples: 2 });
    for (const key of ['greedyAccuracy', 'sampleAccuracy', 'passAtK', 'majorityAccuracy', 'confidentAccuracy']) {
      expect(report[key]).toBeGreaterThanOrEqual(0);
      expect(report[key]).toBeLessThanOrEqual(1);
    }
    const results = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { truth: string; samples: unknown[] });
    expect(results.map((result) => result.truth)).toEqual(['7', '42', '36']);
    for (const result of results) expect(result.samples).toHaveLength(2);
    await expect(cli(['eval', '--model', modelDir, '--data', unlabelled])).rejects.toThrow(
      /has no field 'response' to read the ground truth from; its fields: instruction/,
    );
  });
});
