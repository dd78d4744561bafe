/**
 * Genius: the library entry of the loop's exploration half. `explore` runs foresight sampling over queries, a batch
 * of `queriesInFlight` at a time, and yields typed events: progress after every native call, each query's record
 * as soon as its batch is done, and the record's preference pairs. Abort the signal to stop: the call in flight is
 * cancelled and the iterator throws ERR_GENIUS_ABORTED, having disposed every cache.
 */
import type { PreferencePair } from '../data/pairs';
import type { Query, QueryId } from '../data/queries';
import type { ExplorationRecord } from '../data/records';
import type { Model } from '../model/model';
import { stopStringMask } from '../text/stop-strings';
import type { Tokenizer } from '../text/tokenizer';
import { exploreBatch, type ExploreContext } from './explorer';
import { resolveExploreOptions, type ExploreOptions } from './options';
import { recordPairs } from './pair-selection';
import { endOfResponseIds } from './responses';

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
        for (const pair of recordPairs(record, this.tokenizer, {
          rejected: this.options.rejected,
          seed: this.options.seed,
        })) {
          yield { type: 'pair', queryId: record.id, pair };
        }
      }
      yield snapshot();
    }
  }
}
