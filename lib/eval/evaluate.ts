/**
 * Accuracy of a model on labelled queries, prompted the Genius way (the query as the chat's user turn, then the
 * step preamble): one greedy answer per query and, when asked, k sampled ones. This is the only reader of ground
 * truth in genius-native.
 */
import type { LabeledQuery, QueryId } from '../data/queries';
import { gatherRound, rounds } from '../dist/rounds';
import { fromRankZero, type ProcessGroup } from '../dist/process-group';
import { deriveSeed } from '../genius/random';
import { endOfResponseIds, responseText } from '../genius/responses';
import { Model } from '../model/model';
import {
  pinChatTemplateClock,
  resolveChatTemplateArgs,
  type ChatTemplateArgs,
  type ResolvedChatTemplateArgs,
} from '../text/chat-template-args';
import { encodeStepPrompt } from '../text/steps';
import { Tokenizer } from '../text/tokenizer';
import { answersMatch, extractAnswer, normalizeAnswer, truthAnswer } from './answer';
import { invalidArgument } from '../errors';
import { meanLogprob as meanTokenLogprob } from '../genius/beams';

export interface EvaluateOptions {
  /** k sampled answers per query besides the greedy one. Default 0. */
  samples?: number;
  /** Temperature of the sampled answers. Default 0.6, the step temperature of exploration. */
  temperature?: number;
  /** Token limit of an answer. Default 1024. */
  maxTokens?: number;
  /** Queries per native call. Default 16. */
  batchSize?: number;
  seed?: number;
  /**
   * What the chat template renders each query with besides it (kwargs, the time of strftime_now()). Default: no
   * kwargs, and the time the evaluation starts at.
   */
  chatTemplate?: ChatTemplateArgs;
  signal?: AbortSignal;
  /**
   * The ranks of a distributed run share the queries, batch by batch (lib/dist/rounds.ts), and every rank gets every
   * result, in query order. Every rank must call evaluate with the same queries and options.
   */
  group?: ProcessGroup;
}

export interface Answer {
  response: string;
  answer: string | undefined;
  correct: boolean;
  /** The mean token log-prob of the response under the untempered model: its foresight score as a whole. */
  meanLogprob: number;
}

export interface QueryResult {
  id: QueryId;
  question: string;
  /** The answer extracted from the ground truth. */
  truth: string | undefined;
  greedy: Answer;
  samples: Answer[];
}

export type EvaluationEvent =
  | { type: 'progress'; done: number; total: number; generatedTokens: number; elapsedSeconds: number }
  | { type: 'result'; result: QueryResult };

export interface EvaluationReport {
  queries: number;
  greedyAccuracy: number;
  /**
   * k, and with k > 0: the share of correct samples, of queries with a correct sample, of majority votes, and of
   * the most confident sample (highest mean log-prob: best-of-k by the model's own likelihood).
   */
  samples: number;
  sampleAccuracy?: number;
  passAtK?: number;
  majorityAccuracy?: number;
  confidentAccuracy?: number;
}

/** Evaluation options resolved: every one set, the chat template's checked. */
export type EvaluateSettings = Required<Omit<EvaluateOptions, 'signal' | 'group' | 'chatTemplate'>> & {
  chatTemplate: ResolvedChatTemplateArgs;
};

/** `options` over the defaults, each checked (the signal and the group are left out). */
export function resolveEvaluateOptions(options: EvaluateOptions = {}): EvaluateSettings {
  if (typeof options !== 'object' || options === null) invalidArgument('options', 'an object');
  const { samples = 0, temperature = 0.6, maxTokens = 1024, batchSize = 16, seed = 0 } = options;
  if (!Number.isInteger(samples) || samples < 0) invalidArgument('samples', 'an integer >= 0');
  if (!Number.isFinite(temperature) || temperature < 0) invalidArgument('temperature', 'a number >= 0');
  if (!Number.isInteger(maxTokens) || maxTokens < 1) invalidArgument('maxTokens', 'a positive integer');
  if (!Number.isInteger(batchSize) || batchSize < 1) invalidArgument('batchSize', 'a positive integer');
  if (!Number.isSafeInteger(seed) || seed < 0) invalidArgument('seed', 'an integer >= 0');
  const chatTemplate = resolveChatTemplateArgs(options.chatTemplate);
  return { samples, temperature, maxTokens, batchSize, seed, chatTemplate };
}

/** Evaluates `queries`, yielding each query's result and progress after each native call. */
export async function* evaluate(
  model: Model,
  tokenizer: Tokenizer,
  queries: readonly LabeledQuery[],
  options: EvaluateOptions = {},
): AsyncGenerator<EvaluationEvent> {
  const { samples, temperature, maxTokens, batchSize, seed, ...resolved } = resolveEvaluateOptions(options);
  const { signal, group } = options;
  Model.handleOf(model, 'model');
  Tokenizer.check(tokenizer);
  tokenizer.checkFits(model);
  if (!Array.isArray(queries)) invalidArgument('queries', 'an array of labeled queries');
  queries.forEach((query: unknown, index) => {
    const { instruction, response } = (query ?? {}) as Partial<LabeledQuery>;
    if (typeof instruction !== 'string' || typeof response !== 'string') {
      invalidArgument(`queries[${index}]`, 'a labeled query: { id, instruction, response } (readLabeledQueries)');
    }
  });
  // Every query is rendered at one time, the evaluation's start (rank 0's) unless one is given.
  const chatTemplate = await fromRankZero(group, async () => pinChatTemplateClock(resolved.chatTemplate));
  const eosTokenIds = endOfResponseIds(model, tokenizer);
  const started = performance.now();
  let generatedTokens = 0;
  let done = 0;
  const progress = (): EvaluationEvent => ({
    type: 'progress',
    done,
    total: queries.length,
    generatedTokens,
    elapsedSeconds: (performance.now() - started) / 1000,
  });
  yield progress();

  for (const { mine: batch = [] } of rounds(queries, batchSize, group)) {
    const results: QueryResult[] = [];
    if (batch.length > 0) {
      const prompts = batch.map((query) => encodeStepPrompt(tokenizer, query.instruction, chatTemplate));
      const truths = batch.map((query) => truthAnswer(query.response));
      const answers = async (n: number, sampling: { temperature: number; sampleSeeds?: number[] }) => {
        const generation = await model.generate(prompts, {
          n,
          maxNewTokens: maxTokens,
          eosTokenIds,
          signal,
          ...sampling,
        });
        generatedTokens += generation.samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
        return generation.samples.map((sample): Answer => {
          const response = responseText(tokenizer, sample.tokens);
          const answer = extractAnswer(response);
          const meanLogprob = meanTokenLogprob(sample.logprobSum, sample.tokens.length);
          return { response, answer, correct: answersMatch(answer, truths[sample.input]), meanLogprob };
        });
      };
      const greedy = await answers(1, { temperature: 0 });
      yield progress();
      // Each sample's stream is its query's: the same answers in any batch, on any rank.
      const sampleSeeds = batch.flatMap((query) =>
        Array.from({ length: samples }, (_, j) => deriveSeed(seed, 'eval', query.id, j)),
      );
      const sampled = samples > 0 ? await answers(samples, { temperature, sampleSeeds }) : [];
      for (const [index, query] of batch.entries()) {
        results.push({
          id: query.id,
          question: query.instruction,
          truth: truths[index],
          greedy: greedy[index],
          samples: sampled.slice(index * samples, (index + 1) * samples),
        });
      }
    }
    for (const result of await gatherRound(group, results)) {
      done++;
      yield { type: 'result', result };
    }
    yield progress();
  }
}

/** The most frequent normalised answer among `answers` (the first to reach the top count on ties). */
export function majorityAnswer<T extends Pick<Answer, 'answer'>>(answers: readonly T[]): T | undefined {
  if (!Array.isArray(answers as unknown)) invalidArgument('answers', 'an array of answers');
  const counts = new Map<string, { count: number; answer: T }>();
  let best: { count: number; answer: T } | undefined;
  for (const answer of answers) {
    if (answer.answer === undefined) continue;
    const key = normalizeAnswer(answer.answer);
    const entry = counts.get(key) ?? { count: 0, answer };
    entry.count++;
    counts.set(key, entry);
    if (best === undefined || entry.count > best.count) best = entry;
  }
  return best?.answer;
}

export function evaluationReport(results: readonly QueryResult[]): EvaluationReport {
  if (!Array.isArray(results as unknown)) invalidArgument('results', 'an array of query results');
  results.forEach((result: unknown, index) => {
    const { greedy, samples } = (result ?? {}) as Partial<QueryResult>;
    if (typeof greedy?.correct !== 'boolean' || !Array.isArray(samples)) {
      invalidArgument(`results[${index}]`, "a query result (evaluate's): { greedy, samples, ... }");
    }
  });
  const share = (count: number, total: number): number => (total === 0 ? 0 : count / total);
  const samples = results[0]?.samples.length ?? 0;
  const report: EvaluationReport = {
    queries: results.length,
    greedyAccuracy: share(results.filter((result) => result.greedy.correct).length, results.length),
    samples,
  };
  if (samples === 0) return report;
  const allSamples = results.flatMap((result) => result.samples);
  report.sampleAccuracy = share(allSamples.filter((answer) => answer.correct).length, allSamples.length);
  report.passAtK = share(
    results.filter((result) => result.samples.some((answer) => answer.correct)).length,
    results.length,
  );
  report.majorityAccuracy = share(
    results.filter((result) => majorityAnswer(result.samples)?.correct === true).length,
    results.length,
  );
  const mostConfident = (answers: readonly Answer[]): Answer =>
    answers.reduce((best, answer) => (answer.meanLogprob > best.meanLogprob ? answer : best));
  report.confidentAccuracy = share(
    results.filter((result) => mostConfident(result.samples).correct).length,
    results.length,
  );
  return report;
}
