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
import { writeFileAtomic } from '../data/atomic-file';
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
import { readTrainingState } from '../train/checkpoint';
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
  /** Iteration 0 is the starting policy; each later one the policy after that iteration's optimisation. */
  | { type: 'evaluation'; iteration: number; report: EvaluationReport; results: QueryResult[]; file: string }
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

/** Whether `dir` holds the checkpoint of a finished optimisation (its training state says completed). */
async function finishedCheckpoint(dir: string): Promise<boolean> {
  return (await readTrainingState(dir))?.completed === true;
}

/** The evaluation of the policy after `iteration` iterations (0: the starting policy). */
export const evaluationFile = (out: string, iteration: number): string => path.join(out, `eval-${iteration}.json`);

export async function* runPipeline(options: PipelineOptions): AsyncGenerator<PipelineEvent> {
  const { out, signal } = options;
  await fs.mkdir(out, { recursive: true });
  const tokenizer = await Tokenizer.fromDir(options.model);

  const evaluateInto = async function* (model: Model, iteration: number): AsyncGenerator<PipelineEvent> {
    if (options.eval === undefined) return;
    const file = evaluationFile(out, iteration);
    if (!(await exists(file))) {
      yield { type: 'stage', stage: 'evaluate', iteration };
      const results: QueryResult[] = [];
      const queries = await readLabeledQueries(options.eval);
      for await (const event of evaluate(model, tokenizer, queries, { ...options.evaluation, signal })) {
        if (event.type === 'result') results.push(event.result);
      }
      const report = evaluationReport(results);
      await writeFileAtomic(file, JSON.stringify({ report, results }, null, 2));
    }
    const { report, results } = await readJson<{ report: EvaluationReport; results: QueryResult[] }>(file);
    yield { type: 'evaluation', iteration, report, results, file };
  };

  // The policy: the starting model, or the last finished iteration's checkpoint when resuming.
  let finished = 0;
  while (finished < options.iterations && (await finishedCheckpoint(checkpointDir(out, finished + 1)))) finished++;
  let policyDir = finished === 0 ? options.model : checkpointDir(out, finished);
  let policy = await Model.load(policyDir, { ...options.load, signal });
  let reference: Model | undefined;
  try {
    // Each evaluation follows its iteration's optimisation; a run killed in between evaluates on resuming. A resumed
    // run yields the evaluations of the iterations it finished before, so that every run reports them all.
    for (let iteration = 0; iteration < finished; iteration++) {
      if (await exists(evaluationFile(out, iteration))) yield* evaluateInto(policy, iteration);
    }
    yield* evaluateInto(policy, finished);
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
        pairs = (await readRecords(run.recordsFile)).flatMap((record) =>
          recordPairs(record, tokenizer, genius.options),
        );
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
      if (encoded.pairs.length === 0) {
        // Nothing to train on: the policy stays as it was, and is evaluated as this iteration's.
        yield* evaluateInto(policy, iteration);
        continue;
      }

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
      yield* evaluateInto(policy, iteration);
    }
    yield { type: 'done', model: policyDir, dir: out };
  } finally {
    policy.dispose();
    reference?.dispose();
  }
}
