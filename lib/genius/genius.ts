/**
 * Genius: the library entry of the loop. `explore` runs foresight sampling over queries, a batch of
 * `queriesInFlight` at a time, and yields typed events: progress after every native call, each query's record as
 * soon as its batch is done, and the record's preference pairs. `run` is the whole loop in memory: per iteration
 * it explores, then trains the model in place on the pairs with the ACO trainer, and yields the step metrics and
 * checkpoints too (`genius-native train` is the same loop with a resumable run directory: lib/genius/pipeline.ts).
 * Abort the signal to stop: the call in flight is cancelled and the iterator throws ERR_GENIUS_ABORTED, having
 * disposed every cache.
 */
import path from 'node:path';
import type { PreferencePair } from '../data/pairs';
import type { Query, QueryId } from '../data/queries';
import type { ExplorationRecord } from '../data/records';
import type { Model } from '../model/model';
import { optimize, type StepMetrics, type TrainOptions } from '../train/optimize';
import { encodePairs, sequenceLimit } from '../train/sequences';
import { stopStringMask } from '../text/stop-strings';
import type { Tokenizer } from '../text/tokenizer';
import { exploreBatch, type ExploreContext } from './explorer';
import { resolveExploreOptions, type ExploreOptions } from './options';
import { recordPairs } from './pair-selection';
import { endOfResponseIds, endOfTurnId } from './responses';

export interface ExploreProgress {
  type: 'progress';
  /** Queries whose records have been given (or were skipped as finished). */
  queriesDone: number;
  queriesTotal: number;
  /** Tokens sampled so far in this call of explore. */
  generatedTokens: number;
  /** Tokens run through the model (prefills and decode steps) so far. */
  computedTokens: number;
  elapsedSeconds: number;
}

export type GeniusEvent =
  | ExploreProgress
  | { type: 'record'; record: ExplorationRecord }
  | { type: 'pair'; queryId: QueryId; pair: PreferencePair };

/** An event of `run`: exploration's events, tagged with their iteration, then the optimisation's. */
export type GeniusRunEvent =
  | (GeniusEvent & { iteration: number })
  | { type: 'step'; iteration: number; metrics: StepMetrics }
  | { type: 'checkpoint'; iteration: number; dir: string };

export interface RunOptions {
  /** Explore → optimise rounds; each explores with the policy the previous one trained. Default 1. */
  iterations?: number;
  /**
   * The optimiser's settings (ACO by default). Its `referenceModel` is the frozen reference of every iteration
   * after the first; without it, each iteration's reference is the policy it started from (iteration 1's is
   * always the starting policy).
   */
  train?: Omit<TrainOptions, 'checkpoint' | 'signal'>;
  /** Longest training sequence (prompt + response) in tokens, within the model's positions. Default 1300. */
  maxLength?: number;
  /** Save the policy after each iteration into `<checkpointDir>/iteration-<i>` (a Hugging Face directory). */
  checkpointDir?: string;
  signal?: AbortSignal;
}

export interface ExploreCallOptions {
  signal?: AbortSignal;
  /** Ids of queries already explored (a resumed run): no record is given for them. */
  skip?: Iterable<QueryId>;
}

/** A key that tells the number 1 from the string '1'. */
export const queryKey = (id: QueryId): string => JSON.stringify(id);

export class Genius {
  readonly options: ExploreOptions;
  readonly #newlineMask: Uint8Array;
  readonly #eosTokenIds: number[];

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    options: Partial<ExploreOptions> = {},
  ) {
    this.options = resolveExploreOptions(options);
    this.#newlineMask = stopStringMask(tokenizer, ['\n']);
    this.#eosTokenIds = endOfResponseIds(model, tokenizer);
  }

  /**
   * Explores `queries` in batches of options.queriesInFlight, by position. A batch that holds a skipped query but
   * not only skipped ones is explored whole, so that its other queries get exactly the samples of an uninterrupted
   * run (a batch's rows share the random stream); only the unskipped records are given.
   */
  async *explore(
    queries: readonly Query[],
    { signal, skip = [] }: ExploreCallOptions = {},
  ): AsyncGenerator<GeniusEvent> {
    const finished = new Set([...skip].map(queryKey));
    const context: ExploreContext = {
      sampler: this.model,
      tokenizer: this.tokenizer,
      newlineMask: this.#newlineMask,
      eosTokenIds: this.#eosTokenIds,
      options: this.options,
      signal,
    };
    const started = performance.now();
    const progress: ExploreProgress = {
      type: 'progress',
      queriesDone: queries.filter((query) => finished.has(queryKey(query.id))).length,
      queriesTotal: queries.length,
      generatedTokens: 0,
      computedTokens: 0,
      elapsedSeconds: 0,
    };
    const snapshot = (): ExploreProgress => ({ ...progress, elapsedSeconds: (performance.now() - started) / 1000 });
    yield snapshot();

    const { queriesInFlight } = this.options;
    for (let start = 0; start < queries.length; start += queriesInFlight) {
      const batch = queries.slice(start, start + queriesInFlight);
      if (batch.every((query) => finished.has(queryKey(query.id)))) continue;
      const run = exploreBatch(context, batch);
      let records: ExplorationRecord[];
      try {
        for (;;) {
          const call = await run.next();
          if (call.done) {
            records = call.value;
            break;
          }
          progress.generatedTokens += call.value.generatedTokens;
          progress.computedTokens += call.value.computedTokens;
          yield snapshot();
        }
      } finally {
        // A consumer that stops iterating leaves the batch suspended: returning it disposes its caches.
        await run.return([]);
      }
      for (const record of records) {
        if (finished.has(queryKey(record.id))) continue;
        progress.queriesDone++;
        yield { type: 'record', record };
        for (const pair of recordPairs(record, this.tokenizer, this.options)) {
          yield { type: 'pair', queryId: record.id, pair };
        }
      }
      yield snapshot();
    }
  }

  /** The Genius loop over `queries` in memory: explore, then optimise the model in place, per iteration. */
  async *run(queries: readonly Query[], options: RunOptions = {}): AsyncGenerator<GeniusRunEvent> {
    const { iterations = 1, train = {}, maxLength = 1300, checkpointDir, signal } = options;
    const eosTokenId = endOfTurnId(this.model, this.tokenizer);
    for (let iteration = 1; iteration <= iterations; iteration++) {
      const pairs: PreferencePair[] = [];
      for await (const event of this.explore(queries, { signal })) {
        if (event.type === 'pair') pairs.push(event.pair);
        yield { ...event, iteration };
      }
      const limit = sequenceLimit(maxLength, this.model);
      const encoded = encodePairs(this.tokenizer, pairs, { maxLength: limit, eosTokenId });
      const referenceModel = iteration > 1 ? train.referenceModel : undefined;
      // No pairs left to train on (each was dropped as too long, say): the policy stays as it is.
      const steps =
        encoded.pairs.length > 0 ? optimize(this.model, encoded.pairs, { ...train, referenceModel, signal }) : [];
      for await (const metrics of steps) yield { type: 'step', iteration, metrics };
      if (checkpointDir !== undefined) {
        const dir = path.join(checkpointDir, `iteration-${iteration}`);
        await this.model.save(dir);
        yield { type: 'checkpoint', iteration, dir };
      }
    }
  }
}
