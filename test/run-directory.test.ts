/**
 * The library's run directory (runPipeline) is the run `genius-native train` makes: the same options give the same
 * records, pairs and weights byte for byte, and a run stopped in either iteration resumes to the same weights.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, runPipeline, type PipelineEvent, type PipelineOptions, type RunSettings } from '../lib';
import { runCli } from './helpers/cli';
import { runReference } from './helpers/python';
import { geniusRunFixture } from './helpers/genius-run';

const { dir, trainArgs, pipelineOptions, weights } = geniusRunFixture('run-directory');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cliRun = path.join(dir, 'cli');
const libraryRun = path.join(dir, 'library');

async function run(options: PipelineOptions): Promise<PipelineEvent[]> {
  const events: PipelineEvent[] = [];
  for await (const event of runPipeline(options)) events.push(event);
  return events;
}

const read = (out: string, iteration: number, file: string): Buffer =>
  fs.readFileSync(path.join(out, `iteration-${iteration}`, file));
const settings = (out: string): RunSettings =>
  JSON.parse(fs.readFileSync(path.join(out, 'train.json'), 'utf8')) as RunSettings;

beforeAll(async () => {
  const result = runCli(trainArgs(cliRun, undefined, 2));
  expect(result.stderr).not.toMatch(/Error/);
  expect(result.status).toBe(0);
  // The time a run's chat template reads is the one it started at: the library's run is given the CLI run's.
  await run({ ...pipelineOptions(libraryRun, 2), chatTemplate: { now: settings(cliRun).chatTemplate.now } });
}, 300_000); // two runs of two iterations each

test.each([1, 2])('CLI train and runPipeline give the same records, pairs and weights (iteration %i)', (iteration) => {
  for (const file of ['records.jsonl', 'pairs.jsonl']) {
    expect(read(libraryRun, iteration, file).equals(read(cliRun, iteration, file))).toBe(true);
  }
  expect(weights(libraryRun, iteration).equals(weights(cliRun, iteration))).toBe(true);
  // The run trains: iteration 2's weights are not iteration 1's.
  expect(weights(libraryRun, 2).equals(weights(libraryRun, 1))).toBe(false);
});

test('both write the same settings, each once', () => {
  expect(settings(libraryRun)).toEqual({ ...settings(cliRun), out: libraryRun });
});

test('the run directory holds TensorBoard scalars of every step and evaluation', () => {
  const { scalars } = runReference<{ scalars: { tag: string; step: number; value: number }[] }>('read_tfevents.py', {
    dir: libraryRun,
  });
  const metrics = fs
    .readFileSync(path.join(libraryRun, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { iteration: number; loss: number; lr: number });
  const of = (tag: string): { step: number; value: number }[] =>
    scalars.filter((scalar) => scalar.tag === tag).map(({ step, value }) => ({ step, value }));
  // One loss per optimiser step, on a step axis that runs on through iteration 2.
  expect(of('train/loss').map(({ value }) => value)).toEqual(metrics.map(({ loss }) => Math.fround(loss)));
  expect(of('train/lr').map(({ value }) => value)).toEqual(metrics.map(({ lr }) => Math.fround(lr)));
  expect(of('train/loss').map(({ step }) => step)).toEqual(metrics.map((_, index) => index + 1));
  expect(new Set(metrics.map(({ iteration }) => iteration))).toEqual(new Set([1, 2]));
  for (const tag of ['train/reward_margin', 'train/reward_accuracy', 'train/grad_norm', 'train/tokens_per_second']) {
    expect(of(tag)).toHaveLength(metrics.length);
  }
  const accuracy = (iteration: number): number =>
    (
      JSON.parse(fs.readFileSync(path.join(libraryRun, `eval-${iteration}.json`), 'utf8')) as {
        report: { greedyAccuracy: number };
      }
    ).report.greedyAccuracy;
  expect(of('eval/greedy_accuracy')).toEqual([0, 1, 2].map((step) => ({ step, value: Math.fround(accuracy(step)) })));
  expect(of('eval/gain').map(({ step }) => step)).toEqual([1, 2]);
  expect(of('explore/tokens_per_second').map(({ step }) => step)).toEqual([1, 2]);
});

test.each([
  ['iteration 1, mid-exploration', (event: PipelineEvent) => event.type === 'record' && event.iteration === 1],
  ['iteration 2, mid-optimisation', (event: PipelineEvent) => event.type === 'step' && event.iteration === 2],
])('a run stopped in %s resumes to the same weights', async (name, when) => {
  const out = path.join(dir, `stopped-${name.replace(/[^a-z0-9]+/g, '-')}`);
  const controller = new AbortController();
  const stopping = async (): Promise<void> => {
    for await (const event of runPipeline({ ...pipelineOptions(out, 2), signal: controller.signal })) {
      if (when(event)) controller.abort();
    }
  };
  await expect(stopping()).rejects.toMatchObject({ code: ErrorCode.Aborted });
  expect(fs.existsSync(path.join(out, 'iteration-2', 'model', 'config.json'))).toBe(false);
  await expect(run(pipelineOptions(out, 2))).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  const events = await run({ ...pipelineOptions(out, 2), resume: true });
  expect(events.at(-1)?.type).toBe('done');
  expect(weights(out, 2).equals(weights(cliRun, 2))).toBe(true);
});
