/**
 * The whole Genius method as one resumable run directory: evaluate the starting policy, then per iteration explore
 * the unlabeled queries, make the preference pairs and optimise the policy in place (geniusIteration, the loop
 * `Genius.run` runs in memory), evaluating after each; the next iteration explores with the updated policy. The
 * reference model is the starting policy, frozen, unless `updateReference`. This is what `genius-native train`
 * runs; a Node service gets the same run by calling runPipeline.
 *
 * The directory holds train.json (every setting, resolved, once), per iteration iteration-<i>/ (explore.json,
 * records.jsonl, pairs.jsonl, model/: the checkpoint), eval-<i>.json, metrics.jsonl (one line per optimiser step),
 * TensorBoard event files and report.md with report.svg (docs/formats.md). Every stage writes atomically (records
 * one by one), so a killed run resumes (`resume`) at the stage and query or step it reached, and ends with the same
 * weights as an uninterrupted one.
 *
 * Ground truth is read by the evaluation stages only: exploration reads the queries through readQueries, which
 * drops it.
 *
 * Exploration and evaluation render every query with the run's chat-template arguments, whose time (strftime_now's)
 * the run pins when it starts: train.json records it, and a resumed run keeps it.
 *
 * With a process group (`group`) the run is one run over its ranks: they explore and evaluate shares of the queries
 * and train data-parallel (lib/dist/), while rank 0 alone decides from the directory (what a resumed run finished,
 * the pinned time) and writes it; the other ranks' events are those of the work, without the evaluation reports.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { writeFileAtomic } from '../data/atomic-file';
import { completeLines, JsonLinesAppender, readJsonLines, writeJsonLines } from '../data/jsonl';
import { TensorBoardWriter, type Scalar } from '../data/tensorboard';
import type { PreferencePair } from '../data/pairs';
import {
  readLabeledQueries,
  readQueries,
  resolveQueryFields,
  type LabeledQuery,
  type Query,
  type QueryFields,
  type QueryId,
} from '../data/queries';
import { checkOutputDirectory, makeDirectory } from '../data/output-directory';
import { fromRankZero, type ProcessGroup } from '../dist/process-group';
import { EMBEDDED_MODEL_DIR, EMBEDDED_QUERIES, EMBEDDED_TEST } from '../embedded';
import { ErrorCode, GeniusError, invalidArgument } from '../errors';
import { pairedBootstrap, type GainInterval } from '../eval/bootstrap';
import {
  evaluate,
  evaluationReport,
  resolveEvaluateOptions,
  type EvaluateOptions,
  type EvaluateSettings,
  type EvaluationReport,
  type QueryResult,
} from '../eval/evaluate';
import { REPORT_FILE, writeReport, type RunEvaluation, type RunStep } from '../eval/report';
import { readModelConfig } from '../model/config';
import { isAdapterDirectory, resolveLora } from '../model/lora';
import { Model, type LoadOptions } from '../model/model';
import {
  pinChatTemplateClock,
  resolveChatTemplateArgs,
  type ChatTemplateArgs,
  type ResolvedChatTemplateArgs,
} from '../text/chat-template-args';
import { Tokenizer } from '../text/tokenizer';
import { readTrainingState } from '../train/checkpoint';
import { resolveMaxLength, resolveTrainOptions, type TrainSettings } from '../train/options';
import { PRESETS, presetFor, type PresetName } from '../train/presets';
import { Genius, type ExploreProgress } from './genius';
import { geniusIteration, ReferencePolicy, type IterationEvent } from './iteration';
import { resolveExploreOptions, type ExploreOptions } from './options';
import { fittingQueries, type FittingQueries } from './query-lengths';
import { openExploreRun, type ExploreRun } from './run-directory';

export interface PipelineOptions {
  /** The starting policy, a model directory. Default: the embedded model (models/default). */
  model?: string;
  /** Unlabeled queries (lib/data/queries.ts). Default: the embedded queries (data/changes/queries.jsonl). */
  queries?: string;
  /** The field of `queries` that holds the query. Default: DEFAULT_QUERY_FIELDS.queryField. */
  queryField?: string;
  /**
   * Labeled held-out problems, evaluated before the first iteration and after each. Default: the embedded test
   * split with the embedded model, none with another; null: no evaluation.
   */
  eval?: string | null;
  /** The fields of `eval` that hold the query and the ground truth. Default: DEFAULT_QUERY_FIELDS. */
  evalFields?: Partial<QueryFields>;
  /** The run directory. Default: runs/<timestamp>. A new run needs it new or empty. */
  out?: string;
  /** Continue the run in `out` (which must then be given). */
  resume?: boolean;
  /** The settings that depend on the model (lib/train/presets.ts). Default: presetFor(model). */
  preset?: PresetName;
  /** Explore → optimise rounds. Default: the preset's. */
  iterations?: number;
  /** The run's seed: exploration's, the data order's, the evaluation's and the bootstrap's. Default 0. */
  seed?: number;
  /**
   * What the chat template renders each query with, in exploration and evaluation: kwargs (Qwen3's enable_thinking,
   * say) and the time of strftime_now(). Default: no kwargs, and the time the run starts at (a resumed run's is the
   * one its train.json holds; its kwargs must be the same).
   */
  chatTemplate?: ChatTemplateArgs;
  explore?: Partial<Omit<ExploreOptions, 'seed' | 'chatTemplate'>>;
  /** The optimiser's settings over the preset's, over lib/train/options.ts. */
  train?: Partial<Omit<TrainSettings, 'seed'>>;
  evaluation?: Omit<EvaluateOptions, 'signal' | 'seed' | 'chatTemplate'>;
  /** Longest training sequence (prompt + response) in tokens; the model's positions cap it. Default 1300. */
  maxLength?: number;
  /**
   * Leave out (and count) the queries and held-out problems too long for the model's positions. Default false:
   * such a query is refused, naming it, before any work.
   */
  skipLong?: boolean;
  /** Re-base the reference on each iteration's starting policy. Default false (the starting policy, frozen). */
  updateReference?: boolean;
  load?: Omit<LoadOptions, 'signal'>;
  signal?: AbortSignal;
  /** The ranks of a distributed run, every one of which runs runPipeline with the same options. */
  group?: ProcessGroup;
  /** With a group, share the optimizer's moments out between the ranks (ZeRO-1; the same weights). Default false. */
  shardOptimizer?: boolean;
}

/** The settings a run reads, each resolved, as train.json holds them. */
export interface RunSettings {
  model: string;
  queries: string;
  queryField: string;
  eval: string | null;
  evalFields: QueryFields;
  out: string;
  preset: PresetName;
  iterations: number;
  seed: number;
  /** Its time unset until the run starts (runPipeline pins it). */
  chatTemplate: ResolvedChatTemplateArgs;
  explore: ExploreOptions;
  train: TrainSettings;
  evaluation: EvaluateSettings;
  maxLength: number;
  skipLong: boolean;
  updateReference: boolean;
  load: Omit<LoadOptions, 'signal'>;
}

export type PipelineEvent =
  /**
   * The run directory is claimed (a new run's train.json written): the first event of every run. `skipped` holds
   * the ids of the queries and held-out problems left out as too long (skipLong).
   */
  | { type: 'start'; dir: string; settings: RunSettings; skipped: { queries: QueryId[]; eval: QueryId[] } }
  | { type: 'stage'; stage: 'evaluate'; iteration: number }
  | (IterationEvent & { iteration: number })
  | { type: 'checkpoint'; iteration: number; dir: string }
  /**
   * Iteration 0 is the starting policy; each later one the policy after that iteration's optimisation, with its
   * gain over the start (paired bootstrap over the problems).
   */
  | {
      type: 'evaluation';
      iteration: number;
      report: EvaluationReport;
      results: QueryResult[];
      gain?: GainInterval;
      file: string;
    }
  | { type: 'done'; model: string; dir: string; report: string };

export const SETTINGS_FILE = 'train.json';
export const METRICS_FILE = 'metrics.jsonl';
const iterationDir = (out: string, iteration: number): string => path.join(out, `iteration-${iteration}`);
const checkpointDir = (out: string, iteration: number): string => path.join(iterationDir(out, iteration), 'model');

/** The evaluation of the policy after `iteration` iterations (0: the starting policy). */
export function evaluationFile(out: string, iteration: number): string {
  if (typeof out !== 'string') invalidArgument('out', 'a run directory path');
  if (!Number.isInteger(iteration) || iteration < 0) invalidArgument('iteration', 'an integer >= 0');
  return path.join(out, `eval-${iteration}.json`);
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** `options` resolved over the preset and the defaults, each checked. */
export function resolveRunSettings(options: PipelineOptions = {}): RunSettings {
  if (typeof options !== 'object' || options === null) invalidArgument('options', 'an object');
  for (const name of ['model', 'queries', 'out'] as const) {
    if (options[name] !== undefined && (typeof options[name] !== 'string' || options[name] === '')) {
      invalidArgument(name, 'a path');
    }
  }
  if (options.eval !== undefined && options.eval !== null && typeof options.eval !== 'string') {
    invalidArgument('eval', 'a path, or null for no evaluation');
  }
  if (options.evalFields !== undefined && (typeof options.evalFields !== 'object' || options.evalFields === null)) {
    invalidArgument('evalFields', 'an object: { queryField, answerField }');
  }
  if (options.resume && options.out === undefined) invalidArgument('out', 'the run directory to resume');
  const model = path.resolve(options.model ?? EMBEDDED_MODEL_DIR);
  const preset = options.preset ?? presetFor(model);
  if (!(preset in PRESETS)) invalidArgument('preset', `one of ${Object.keys(PRESETS).join(', ')}`);
  const { iterations: presetIterations, ...presetTrain } = PRESETS[preset];
  const iterations = options.iterations ?? presetIterations;
  if (!Number.isInteger(iterations) || iterations < 1) invalidArgument('iterations', 'a positive integer');
  const seed = options.seed ?? 0;
  if (options.skipLong !== undefined && typeof options.skipLong !== 'boolean') invalidArgument('skipLong', 'a boolean');
  const evalFile = options.eval === undefined ? (model === EMBEDDED_MODEL_DIR ? EMBEDDED_TEST : null) : options.eval;
  const chatTemplate = resolveChatTemplateArgs(options.chatTemplate);
  return {
    model,
    queries: path.resolve(options.queries ?? EMBEDDED_QUERIES),
    queryField: resolveQueryFields(definedOf({ queryField: options.queryField })).queryField,
    eval: evalFile === null ? null : path.resolve(evalFile),
    evalFields: resolveQueryFields(definedOf(options.evalFields ?? {})),
    out: options.out ?? path.join('runs', new Date().toISOString().replace(/[:.]/g, '-')),
    preset,
    iterations,
    seed,
    chatTemplate,
    explore: resolveExploreOptions({ ...options.explore, seed, chatTemplate }),
    train: resolveTrainOptions({ ...presetTrain, ...definedOf(options.train ?? {}), seed }),
    evaluation: resolveEvaluateOptions({ ...definedOf(options.evaluation ?? {}), seed, chatTemplate }),
    maxLength: resolveMaxLength(options.maxLength),
    skipLong: options.skipLong ?? false,
    updateReference: options.updateReference ?? false,
    load: resolveLoad(options.load ?? {}),
  };
}

/** How the run loads its model, a new LoRA adapter's settings resolved (so that train.json holds them all). */
function resolveLoad(load: Omit<LoadOptions, 'signal'>): Omit<LoadOptions, 'signal'> {
  const defined = definedOf(load);
  return defined.lora === undefined ? defined : { ...defined, lora: resolveLora(defined.lora, 'load.lora') };
}

/** The entries of `options` that are defined: an undefined option (an unset flag) leaves the default in place. */
function definedOf<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * Checks the run directory before any work: a directory that can be written, which for a new run must be new or
 * empty (a run, or anything else, is never written over).
 */
async function checkRunDirectory(settings: RunSettings, resume: boolean): Promise<void> {
  const entries = await checkOutputDirectory(settings.out, 'out');
  if (!resume && entries.length > 0) {
    const holds = entries.includes(SETTINGS_FILE) ? 'a run already (resume it with --resume, or' : 'other files (';
    invalidArgument('out', `a new or empty directory: ${settings.out} holds ${holds} choose another)`);
  }
}

/**
 * `settings` with the chat template's time pinned: a new run's to the present (unless given), a resumed run's to
 * the one its train.json holds. A resumed run renders as it did, so other chat-template arguments are refused.
 * The ranks of a group all render at rank 0's time.
 */
async function pinRunClock(
  settings: RunSettings,
  resume: boolean,
  group: ProcessGroup | undefined,
): Promise<RunSettings> {
  const chatTemplate = await fromRankZero(group, async () => {
    const file = path.join(settings.out, SETTINGS_FILE);
    const recorded = resume && (await exists(file)) ? await recordedChatTemplate(file) : undefined;
    const pinned = pinChatTemplateClock(settings.chatTemplate, recorded);
    if (recorded !== undefined && !isDeepStrictEqual(pinned, recorded)) {
      throw new GeniusError(
        ErrorCode.InvalidArgument,
        `cannot resume ${settings.out} with other chat-template arguments than its own: ` +
          `${JSON.stringify(recorded)} → ${JSON.stringify(pinned)}`,
      );
    }
    return pinned;
  });
  return {
    ...settings,
    chatTemplate,
    explore: { ...settings.explore, chatTemplate },
    evaluation: { ...settings.evaluation, chatTemplate },
  };
}

/** The chat-template arguments a run's train.json records. */
async function recordedChatTemplate(file: string): Promise<ResolvedChatTemplateArgs> {
  let recorded: Partial<RunSettings>;
  try {
    recorded = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<RunSettings>;
  } catch (error) {
    throw new GeniusError(ErrorCode.BadFile, `${file}: cannot be read (${(error as Error).message})`, { cause: error });
  }
  try {
    return resolveChatTemplateArgs(recorded.chatTemplate);
  } catch (error) {
    throw new GeniusError(ErrorCode.BadFile, `${file}: field 'chatTemplate' ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A new run's directory, made and given its train.json; a resumed run's is used as it is. */
async function claimRunDirectory(settings: RunSettings, resume: boolean): Promise<void> {
  await makeDirectory(settings.out);
  if (!resume) await writeFileAtomic(path.join(settings.out, SETTINGS_FILE), `${JSON.stringify(settings, null, 2)}\n`);
}

/**
 * What a run reads besides the model's weights, each checked against the model's files (vocabulary, positions):
 * read before the weights are loaded, so that a mistake in them is found before any work.
 */
interface RunInputs {
  tokenizer: Tokenizer;
  queries: Query[];
  evalQueries: LabeledQuery[] | null;
  skipped: { queries: QueryId[]; eval: QueryId[] };
}

async function readRunInputs(settings: RunSettings): Promise<RunInputs> {
  const tokenizer = await Tokenizer.fromDir(settings.model);
  const config = readModelConfig(settings.model);
  tokenizer.checkFits({ dir: settings.model, config });
  const fitting = <T extends Query>(file: string, queries: T[]): FittingQueries<T> =>
    fittingQueries(file, queries, tokenizer, config.maxPositions, settings.skipLong, settings.chatTemplate);
  const queries = fitting(settings.queries, await readQueries(settings.queries, { queryField: settings.queryField }));
  const evalQueries =
    settings.eval === null
      ? null
      : fitting(settings.eval, await readLabeledQueries(settings.eval, settings.evalFields));
  return {
    tokenizer,
    queries: queries.queries,
    evalQueries: evalQueries?.queries ?? null,
    skipped: { queries: queries.skipped, eval: evalQueries?.skipped ?? [] },
  };
}

export async function* runPipeline(options: PipelineOptions = {}): AsyncGenerator<PipelineEvent> {
  const { signal, group } = options;
  const lead = (group?.rank ?? 0) === 0;
  // Rank 0's decision for every rank (its timestamped default directory, what the directory holds).
  const decide = <T>(work: () => Promise<T>): Promise<T> => fromRankZero(group, work);
  const resume = options.resume ?? false;
  const given = resolveRunSettings(options);
  const resolved = { ...given, out: await decide(async () => given.out) };
  // Everything the run reads is read and checked before its directory is claimed: a mistake found after the
  // claim would leave a directory that refuses the corrected command.
  await decide(() => checkRunDirectory(resolved, resume));
  const settings = await pinRunClock(resolved, resume, group);
  const { out, load } = settings;
  const started = performance.now();
  const inputs = await readRunInputs(settings);
  const { tokenizer, queries } = inputs;
  // The policy: the starting model, or the last finished iteration's checkpoint when resuming.
  const finished = await decide(async () => {
    let count = 0;
    while (count < settings.iterations && (await finishedCheckpoint(checkpointDir(out, count + 1)))) count++;
    return count;
  });
  // The policy saved in `checkpoint` (a LoRA run's checkpoints are adapters over the starting model), or the
  // starting policy.
  const { adapter, lora, ...placement } = load;
  const loadPolicy = (checkpoint?: string): Promise<Model> =>
    checkpoint === undefined
      ? Model.load(settings.model, { ...load, signal })
      : isAdapterDirectory(checkpoint)
        ? Model.load(settings.model, { ...placement, adapter: checkpoint, signal })
        : Model.load(checkpoint, { ...placement, signal });
  let policyDir = finished === 0 ? settings.model : checkpointDir(out, finished);
  let policy = await loadPolicy(finished === 0 ? undefined : policyDir);

  try {
    await decide(() => claimRunDirectory(settings, resume));
    yield { type: 'start', dir: out, settings, skipped: inputs.skipped };
    const metricsFile = path.join(out, METRICS_FILE);
    const steps = lead ? ((await completeLines(metricsFile)) as RunStep[]) : [];
    await using metrics = lead ? await JsonLinesAppender.open(metricsFile) : undefined;
    await using board = lead ? await TensorBoardWriter.open(out) : undefined;
    const evaluations: RunEvaluation[] = [];
    let first: QueryResult[] | undefined;
    let gain: GainInterval | undefined;

    const evaluateInto = async function* (model: Model, iteration: number): AsyncGenerator<PipelineEvent> {
      if (settings.eval === null) return;
      const file = evaluationFile(out, iteration);
      const fresh = !(await decide(() => exists(file)));
      if (fresh) {
        yield { type: 'stage', stage: 'evaluate', iteration };
        const results: QueryResult[] = [];
        for await (const event of evaluate(model, tokenizer, inputs.evalQueries ?? [], {
          ...settings.evaluation,
          signal,
          group,
        })) {
          if (event.type === 'result') results.push(event.result);
        }
        if (lead) await writeFileAtomic(file, JSON.stringify({ report: evaluationReport(results), results }, null, 2));
      }
      // The report is rank 0's to write and give.
      if (!lead) return;
      const { report, results } = JSON.parse(await fs.readFile(file, 'utf8')) as {
        report: EvaluationReport;
        results: QueryResult[];
      };
      first ??= results;
      if (iteration > 0) {
        const correct = (of: QueryResult[]): boolean[] => of.map((result) => result.greedy.correct);
        gain = pairedBootstrap(correct(first), correct(results), { seed: settings.seed });
      }
      evaluations.push({ iteration, report });
      // An evaluation a resumed run reads back was logged when it was made.
      if (fresh) await board?.scalars(iteration, evaluationScalars(report, iteration > 0 ? gain : undefined));
      yield { type: 'evaluation', iteration, report, results, gain: iteration > 0 ? gain : undefined, file };
    };
    // A LoRA run's frozen reference is the base model, its adapter off: no second copy to load. (With --adapter, the
    // base is not the starting policy: the reference is the base, as TRL's with a PEFT model.)
    const loraRun = adapter !== undefined || lora !== undefined;
    using reference = new ReferencePolicy(
      settings.updateReference
        ? undefined
        : loraRun
          ? 'base'
          : () => Model.load(settings.model, { ...placement, signal }),
    );
    // Each evaluation follows its iteration's optimisation; a run killed in between evaluates on resuming. A resumed
    // run yields the evaluations of the iterations it finished before, so that every run reports them all.
    for (let iteration = 0; iteration < finished; iteration++) {
      if (await decide(() => exists(evaluationFile(out, iteration)))) yield* evaluateInto(policy, iteration);
    }
    yield* evaluateInto(policy, finished);
    for (let iteration = finished + 1; iteration <= settings.iterations; iteration++) {
      const dir = iterationDir(out, iteration);
      const checkpoint = checkpointDir(out, iteration);
      const pairsFile = path.join(dir, 'pairs.jsonl');
      // Killed mid-optimisation: the pairs are made, and the policy continues from the saved step.
      const optimizing = await decide(() => exists(path.join(checkpoint, 'training_state')));
      if (optimizing) {
        policy.dispose();
        policy = await loadPolicy(checkpoint);
      }
      const genius = new Genius(policy, tokenizer, settings.explore);
      const explored = {
        model: path.resolve(policyDir),
        queries: settings.queries,
        queryField: settings.queryField,
        options: genius.options,
      };
      // Rank 0 keeps the iteration's records; every rank starts from the records and pairs it kept.
      let opened: ExploreRun | undefined;
      const kept = await decide(async () => {
        opened = await openExploreRun(dir, explored, await exists(dir));
        const pairs = optimizing ? ((await readJsonLines(pairsFile)) as PreferencePair[]) : undefined;
        return { records: opened.records, pairs };
      });
      await using run = opened;
      const events = geniusIteration(genius, {
        queries,
        train: { ...settings.train, shardOptimizer: options.shardOptimizer },
        maxLength: settings.maxLength,
        referenceModel: await reference.of(iteration),
        signal,
        group,
        store: {
          records: kept.records,
          pairs: kept.pairs,
          appendRecord: async (record) => await run?.append(record),
          savePairs: async (pairs) => {
            if (lead) await writeJsonLines(pairsFile, pairs);
            return pairsFile;
          },
          checkpoint: { dir: checkpoint, sourceDir: settings.model, resume: optimizing },
        },
      });
      let trained = false;
      // TensorBoard's step axis runs through the iterations: iteration i's steps follow those before it.
      const stepsBefore = stepsOfIterations(steps, iteration);
      let exploration: ExploreProgress | undefined;
      for await (const event of events) {
        if (event.type === 'progress') exploration = event;
        if (event.type === 'stage' && event.stage === 'pairs' && exploration && exploration.elapsedSeconds > 0) {
          const tokensPerSecond = exploration.generatedTokens / exploration.elapsedSeconds;
          await board?.scalars(iteration, [{ tag: 'explore/tokens_per_second', value: tokensPerSecond }]);
        }
        if (event.type === 'step') {
          trained = true;
          const { metrics: m } = event;
          const step: RunStep = { iteration, step: m.step, loss: m.loss, margin: m.margin, accuracy: m.accuracy };
          steps.push(step);
          await metrics?.append({ ...step, lr: m.lr, gradNorm: m.gradNorm, tokensPerSecond: m.tokensPerSecond });
          await board?.scalars(stepsBefore + m.step, [
            { tag: 'train/loss', value: m.loss },
            { tag: 'train/reward_margin', value: m.margin },
            { tag: 'train/reward_accuracy', value: m.accuracy },
            { tag: 'train/lr', value: m.lr },
            { tag: 'train/grad_norm', value: m.gradNorm },
            { tag: 'train/tokens_per_second', value: m.tokensPerSecond },
          ]);
        }
        yield { ...event, iteration };
      }
      // With no pairs to train on, the policy stays as it was and is evaluated as this iteration's.
      if (trained || optimizing) {
        policyDir = checkpoint;
        yield { type: 'checkpoint', iteration, dir: checkpoint };
      }
      yield* evaluateInto(policy, iteration);
    }
    const summary = {
      evaluations,
      gain,
      steps,
      settings: settings as unknown as Record<string, unknown>,
      seconds: (performance.now() - started) / 1000,
    };
    const report = lead ? await writeReport(out, summary) : path.join(out, REPORT_FILE);
    yield { type: 'done', model: policyDir, dir: out, report };
  } finally {
    policy.dispose();
  }
}

/** The optimiser steps of the iterations before `iteration`, from the metrics (each iteration's last step). */
function stepsOfIterations(steps: readonly RunStep[], iteration: number): number {
  const last = new Map<number, number>();
  for (const step of steps) {
    if (step.iteration < iteration) last.set(step.iteration, Math.max(last.get(step.iteration) ?? 0, step.step));
  }
  return [...last.values()].reduce((sum, count) => sum + count, 0);
}

/** An evaluation's accuracies (those it measured) and its gain over the start, as TensorBoard scalars. */
function evaluationScalars(report: EvaluationReport, gain: GainInterval | undefined): Scalar[] {
  const accuracies: [string, number | undefined][] = [
    ['eval/greedy_accuracy', report.greedyAccuracy],
    ['eval/sample_accuracy', report.sampleAccuracy],
    ['eval/pass_at_k', report.passAtK],
    ['eval/majority_accuracy', report.majorityAccuracy],
    ['eval/most_confident_accuracy', report.confidentAccuracy],
    ['eval/gain', gain?.gain],
  ];
  return accuracies.flatMap(([tag, value]) => (value === undefined ? [] : [{ tag, value }]));
}

/** Whether `dir` holds the checkpoint of a finished optimisation (its training state says completed). */
async function finishedCheckpoint(dir: string): Promise<boolean> {
  return (await readTrainingState(dir))?.completed === true;
}
