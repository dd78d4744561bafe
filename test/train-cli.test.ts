/**
 * `genius-native train` end to end on a tiny random Llama that speaks a test tokenizer: the run directory it
 * writes; no label leakage (queries with right or wrong answers train to the same bytes as queries without);
 * and resuming after SIGKILL mid-exploration, between stages and mid-optimisation, which must give the same
 * final weights as an uninterrupted run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli, spawnCli } from './helpers/cli';
import { geniusRunFixture } from './helpers/genius-run';

const { dir, problems, queriesFile, trainArgs, weights } = geniusRunFixture('train');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const labelledFile = path.join(dir, 'labelled.jsonl');
const mislabelledFile = path.join(dir, 'mislabelled.jsonl');
fs.writeFileSync(labelledFile, problems.map((p) => JSON.stringify(p)).join('\n'));
fs.writeFileSync(
  mislabelledFile,
  problems.map((p) => JSON.stringify({ ...p, response: 'The answer is \\boxed{-1}.' })).join('\n'),
);

/** Starts a run (its command line) and SIGKILLs it as soon as its output matches `when`; resolves once it is dead. */
async function killWhen(args: string[], when: RegExp): Promise<void> {
  const child = spawnCli(args);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const watch = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (when.test(seen)) child.kill('SIGKILL');
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`run ended (${code}) before ${when}:\n${seen}`)),
    );
  });
}

const ITERATION_2_STEP = /"message":"train: optimize \(iteration 2\)"[\s\S]*"event":"step"/;

describe('genius-native train', () => {
  const straight = path.join(dir, 'straight');
  let lines: { event: string; [key: string]: unknown }[];

  beforeAll(() => {
    const result = runCli(trainArgs(straight));
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    lines = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event: string });
  });

  it('writes the whole run directory and reports accuracy before and after, with the gain', () => {
    for (const file of ['train.json', 'eval-0.json', 'eval-1.json', 'metrics.jsonl', 'report.md', 'report.svg']) {
      expect(fs.existsSync(path.join(straight, file))).toBe(true);
    }
    for (const file of ['explore.json', 'records.jsonl', 'pairs.jsonl', 'model/config.json', 'model/tokenizer.json']) {
      expect(fs.existsSync(path.join(straight, 'iteration-1', file))).toBe(true);
    }
    const records = fs
      .readFileSync(path.join(straight, 'iteration-1', 'records.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(records).toHaveLength(problems.length);
    const evaluations = lines.filter((line) => line.event === 'evaluation');
    expect(evaluations.map((line) => line.iteration)).toEqual([0, 1]);
    const { greedyAccuracy: before } = evaluations[0] as unknown as { greedyAccuracy: number };
    const { greedyAccuracy: after, gain } = evaluations[1] as unknown as {
      greedyAccuracy: number;
      gain: { gain: number; low: number; high: number; problems: number };
    };
    expect(gain.gain).toBeCloseTo(after - before, 12);
    expect(gain.low).toBeLessThanOrEqual(gain.gain);
    expect(gain.high).toBeGreaterThanOrEqual(gain.gain);
    expect(gain.problems).toBe(3);
    // Each option once, as the pipeline reads it: no kebab-case twins of camelCase keys.
    const settings = fs.readFileSync(path.join(straight, 'train.json'), 'utf8');
    expect(settings).not.toMatch(/"[a-z]+-[a-z-]+":/);
    expect(JSON.parse(settings)).toMatchObject({ iterations: 1, train: { lr: 1e-3, gradAccum: 2 } });
    expect(lines.filter((line) => line.event === 'step').length).toBeGreaterThan(0);
    expect(lines.at(-1)?.event).toBe('done');
    expect(fs.readFileSync(path.join(straight, 'report.md'), 'utf8')).toMatch(/greedy accuracy/);
  });

  it.each([
    ['right', labelledFile],
    ['wrong', mislabelledFile],
  ])('trains to the same records, pairs and weights when the queries carry %s answers', (name, queries) => {
    const out = path.join(dir, `answers-${name}`);
    expect(runCli(trainArgs(out, queries)).status).toBe(0);
    for (const file of ['records.jsonl', 'pairs.jsonl']) {
      const read = (run: string): string => fs.readFileSync(path.join(run, 'iteration-1', file), 'utf8');
      expect(read(out)).toBe(read(straight));
    }
    expect(weights(out).equals(weights(straight))).toBe(true);
  });

  it.each([
    ['mid-exploration', /"queriesDone":[2-4],/],
    ['between stages', /"message":"train: optimize/],
    ['mid-optimisation', /"event":"step"/],
  ])('resumes after a kill %s with the same final weights', async (name, when) => {
    const out = path.join(dir, `killed-${name}`);
    await killWhen(trainArgs(out), when);
    const resumed = runCli([...trainArgs(out), '--resume']);
    expect(resumed.stderr).not.toMatch(/Error/);
    expect(resumed.status).toBe(0);
    expect(weights(out).equals(weights(straight))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'iteration-1', 'records.jsonl'), 'utf8')).toBe(
      fs.readFileSync(path.join(straight, 'iteration-1', 'records.jsonl'), 'utf8'),
    );
  });

  it('resumes a 2-iteration run killed during iteration 2 to the same weights, without redoing iteration 1', async () => {
    const twice = path.join(dir, 'twice');
    const result = runCli(trainArgs(twice, queriesFile, 2));
    expect(result.status).toBe(0);
    const out = path.join(dir, 'twice-killed');
    await killWhen(trainArgs(out, queriesFile, 2), ITERATION_2_STEP);
    const resumed = runCli([...trainArgs(out, queriesFile, 2), '--resume']);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).not.toMatch(/iteration 1\)/);
    const evaluations = resumed.stdout.split('\n').filter((line) => line.includes('"event":"evaluation"'));
    expect(evaluations.map((line) => (JSON.parse(line) as { iteration: number }).iteration)).toEqual([0, 1, 2]);
    expect(weights(out, 2).equals(weights(twice, 2))).toBe(true);
  }, 300_000); // three runs of two iterations each

  it('never writes over another run', () => {
    const result = runCli(trainArgs(straight));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/holds a run already/);
  });
});

describe('genius-native train --lora', () => {
  const loraArgs = (out: string) => [
    ...trainArgs(out, queriesFile, 2),
    ...['--lora', '--lora-rank', '4', '--lora-dropout', '0'],
  ];
  const adapter = (out: string, iteration: number) =>
    fs.readFileSync(path.join(out, `iteration-${iteration}`, 'model', 'adapter_model.safetensors'));

  it('trains an adapter over the frozen base, and resumes a run killed in iteration 2 to the same adapter', async () => {
    const straightLora = path.join(dir, 'lora');
    const result = runCli(loraArgs(straightLora));
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    for (const iteration of [1, 2]) {
      const model = path.join(straightLora, `iteration-${iteration}`, 'model');
      expect(fs.existsSync(path.join(model, 'adapter_config.json'))).toBe(true);
      expect(fs.existsSync(path.join(model, 'model.safetensors'))).toBe(false);
    }
    expect(adapter(straightLora, 2).equals(adapter(straightLora, 1))).toBe(false);
    const steps = result.stdout
      .split('\n')
      .filter((line) => line.includes('"event":"step"'))
      .map((line) => JSON.parse(line) as { iteration: number; margin: number });
    // The reference is the base: a new adapter starts as it (rewards, so margin, 0), iteration 2's does not.
    expect(Math.abs(steps[0].margin)).toBeLessThan(1e-6);
    expect(Math.abs(steps.find((step) => step.iteration === 2)!.margin)).toBeGreaterThan(1e-6);
    const out = path.join(dir, 'lora-killed');
    await killWhen(loraArgs(out), ITERATION_2_STEP);
    const resumed = runCli([...loraArgs(out), '--resume']);
    expect(resumed.stderr).not.toMatch(/Error/);
    expect(resumed.status).toBe(0);
    expect(adapter(out, 2).equals(adapter(straightLora, 2))).toBe(true);
  }, 300_000);
});
