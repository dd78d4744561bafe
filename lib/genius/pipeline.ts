/**
 * The whole Genius method as one resumable run: evaluate the starting policy, then per iteration explore the
 * unlabeled queries (foresight sampling), turn the records into preference pairs, and optimise the policy in
 * place with the ACO trainer; the next iteration explores with the updated policy. The reference model stays the
 * starting policy unless `updateReference`. Finally evaluate again. Every stage writes its output into the run
 * directory atomically (records per query), so a killed run resumes at the stage and query or step it reached.
 *
 * Ground truth is read by the evaluation stages only: exploration reads the queries through readQueries, which
 * drops `response`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { readJsonLines, writeJsonLines } from '../data/jsonl';
import type { PreferencePair } from '../data/pairs';
import { readLabeledQueries, readQueries } from '../data/queries';
import { readRecords } from '../data/records';
import {
  evaluate,
  evaluationReport,
  type EvaluateOptions,
  type EvaluationReport,
  type QueryResult,
} from '../eval/evaluate';
import { Model, type LoadOptions } from '../model/model';
import { Tokenizer } from '../text/tokenizer';
import { optimize, type StepMetrics, type TrainOptions } from '../train/optimize';
import { encodePairs, sequenceLimit } from '../train/sequences';
import { Genius, type GeniusEvent } from './genius';
import type { ExploreOptions } from './options';
import { recordPairs } from './pair-selection';
import { endOfTurnId } from './responses';
import { openExploreRun } from './run-directory';

export interface PipelineOptions {
  model: string;
  queries: string;
  /** Labeled held-out problems; without them the run does not evaluate. */
  eval?: string;
  out: string;
  iterations: number;
  explore: Partial<ExploreOptions>;
  train: Omit<TrainOptions, 'checkpoint' | 'signal'>;
  evaluation: Omit<EvaluateOptions, 'signal'>;
  /** Longest training sequence (prompt + response) in tokens; the model's positions cap it. */
  maxLength: number;
  updateReference: boolean;
  load: Omit<LoadOptions, 'signal'>;
  signal?: AbortSignal;
}

export type PipelineEvent =
  | { type: 'stage'; stage: string; iteration?: number }
  | { type: 'explore'; iteration: number; event: GeniusEvent }
  | { type: 'pairs'; iteration: number; pairs: number; truncated: number; dropped: number; file: string }
  | { type: 'step'; iteration: number; metrics: StepMetrics }
  | { type: 'evaluation'; when: 'before' | 'after'; report: EvaluationReport; file: string }
  | { type: 'done'; model: string; dir: string };

const iterationDir = (out: string, iteration: number): string => path.join(out, `iteration-${iteration}`);
const checkpointDir = (out: string, iteration: number): string => path.join(iterationDir(out, iteration), 'model');

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as T;
}

/** The checkpoint of a finished optimisation (its training state says completed), else undefined. */
async function finishedCheckpoint(dir: string): Promise<string | undefined> {
  const state = path.join(dir, 'training_state', 'state.json');
  if (!(await exists(state))) return undefined;
  return (await readJson<{ completed?: boolean }>(state)).completed ? dir : undefined;
}

export async function* runPipeline(options: PipelineOptions): AsyncGenerator<PipelineEvent> {
  const { out, signal } = options;
  await fs.mkdir(out, { recursive: true });
  const tokenizer = await Tokenizer.fromDir(options.model);

  const evaluateInto = async function* (model: Model, when: 'before' | 'after'): AsyncGenerator<PipelineEvent> {
    if (options.eval === undefined) return;
    const file = path.join(out, `eval-${when}.json`);
    if (!(await exists(file))) {
      yield { type: 'stage', stage: `evaluate ${when}` };
      const results: QueryResult[] = [];
      const queries = await readLabeledQueries(options.eval);
      for await (const event of evaluate(model, tokenizer, queries, { ...options.evaluation, signal })) {
        if (event.type === 'result') results.push(event.result);
      }
      const report = evaluationReport(results);
      const temporary = `${file}.tmp-${process.pid}`;
      await fs.writeFile(temporary, JSON.stringify({ report, results }, null, 2));
      await fs.rename(temporary, file);
    }
    yield { type: 'evaluation', when, report: (await readJson<{ report: EvaluationReport }>(file)).report, file };
  };

  // The policy: the starting model, or the last finished iteration's checkpoint when resuming.
  let finished = 0;
  while (finished < options.iterations && (await finishedCheckpoint(checkpointDir(out, finished + 1)))) finished++;
  let policyDir = finished === 0 ? options.model : checkpointDir(out, finished);
  let policy = await Model.load(policyDir, { ...options.load, signal });
  let reference: Model | undefined;
  try {
    if (finished === 0) yield* evaluateInto(policy, 'before');
    const queries = await readQueries(options.queries);
    for (let iteration = finished + 1; iteration <= options.iterations; iteration++) {
      const dir = iterationDir(out, iteration);
      const checkpoint = checkpointDir(out, iteration);
      const optimizing = await exists(path.join(checkpoint, 'training_state'));
      const pairsFile = path.join(dir, 'pairs.jsonl');
      let pairs: PreferencePair[];
      if (!optimizing) {
        yield { type: 'stage', stage: 'explore', iteration };
        const genius = new Genius(policy, tokenizer, options.explore);
        const settings = {
          model: path.resolve(policyDir),
          queries: path.resolve(options.queries),
          options: genius.options,
        };
        await using run = await openExploreRun(dir, settings, await exists(dir));
        for await (const event of genius.explore(queries, { signal, skip: run.finished })) {
          if (event.type === 'record') await run.append(event.record);
          yield { type: 'explore', iteration, event };
        }
        yield { type: 'stage', stage: 'pairs', iteration };
        const { rejected, tau, seed, shuffleSides } = genius.options;
        const pairOptions = { rejected, tau, seed, shuffleSides };
        pairs = (await readRecords(run.recordsFile)).flatMap((record) => recordPairs(record, tokenizer, pairOptions));
        await writeJsonLines(pairsFile, pairs);
      } else {
        // Killed mid-optimisation: the policy continues from the saved step.
        pairs = (await readJsonLines(pairsFile)) as PreferencePair[];
        policy.dispose();
        policy = await Model.load(checkpoint, { ...options.load, signal });
      }
      const eosTokenId = endOfTurnId(policy, tokenizer);
      const maxLength = sequenceLimit(options.maxLength, policy);
      const encoded = encodePairs(tokenizer, pairs, { maxLength, eosTokenId });
      yield { type: 'pairs', iteration, pairs: encoded.pairs.length, ...encoded.report, file: pairsFile };
      if (encoded.pairs.length === 0) continue;

      yield { type: 'stage', stage: 'optimize', iteration };
      if (iteration > 1 && !options.updateReference) reference ??= await Model.load(options.model, options.load);
      const steps = optimize(policy, encoded.pairs, {
        ...options.train,
        referenceModel: iteration > 1 ? reference : undefined,
        checkpoint: { dir: checkpoint, sourceDir: options.model, resume: optimizing },
        signal,
      });
      for await (const metrics of steps) yield { type: 'step', iteration, metrics };
      policyDir = checkpoint;
    }
    yield* evaluateInto(policy, 'after');
    yield { type: 'done', model: policyDir, dir: out };
  } finally {
    policy.dispose();
    reference?.dispose();
  }
}
