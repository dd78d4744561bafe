/**
 * Genius: the library entry of the loop. `explore` runs foresight sampling over queries, a batch of
 * `queriesInFlight` at a time, and yields typed events: progress after every native call, each query's record as
 * soon as its batch is done, and the record's preference pairs. `run` is the whole loop in memory: per iteration
 * it explores, then trains the model in place on the pairs with the ACO trainer, and yields the step metrics and
 * checkpoints too. The same iteration (lib/genius/iteration.ts) runs in the resumable run directory of runPipeline
 * (lib/genius/pipeline.ts), which `genius-native train` drives.
 * Abort the signal to stop: the call in flight is cancelled and the iterator throws ERR_GENIUS_ABORTED, having
 * disposed every cache.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PreferencePair } from '../data/pairs';
import { gatherRound, rounds } from '../dist/rounds';
import type { ProcessGroup } from '../dist/process-group';
import type { Query, QueryId } from '../data/queries';
import type { ExplorationRecord } from '../data/records';
import { Model } from '../model/model';
import { resolveMaxLength, resolveTrainOptions } from '../train/options';
import { pinChatTemplateClock } from '../text/chat-template-args';
import { stopStringMask } from '../text/stop-strings';
import { Tokenizer } from '../text/tokenizer';
import { exploreBatch, type ExploreContext } from './explorer';
import { geniusIteration, ReferencePolicy, type IterationEvent, type IterationTrainOptions } from './iteration';
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

/** An event of `run`: the iteration's (exploration's, the pairs', the optimiser's), tagged with it, and checkpoints. */
export type GeniusRunEvent =
  (IterationEvent & { iteration: number }) | { type: 'checkpoint'; iteration: number; dir: string };

export interface RunOptions {
  /** Explore → optimise rounds; each explores with the policy the previous one trained. Default 1. */
  iterations?: number;
  /**
   * The optimiser's options (ACO by default; defaults: lib/train/options.ts). A `referenceModel` given here is the
   * frozen reference of every iteration after the first.
   */
  train?: IterationTrainOptions & { referenceModel?: Model };
  /**
   * Re-base the reference on each iteration's starting policy. Default false, the paper's: every iteration's
   * reference is the starting policy, frozen (with more than one iteration, its weights are kept in a temporary
   * directory until the run ends).
   */
  updateReference?: boolean;
  /** Longest training sequence (prompt + response) in tokens, within the model's positions. Default 1300. */
  maxLength?: number;
  /**
   * Save the policy after each iteration into `<checkpointDir>/iteration-<i>` (a Hugging Face directory; a LoRA
   * policy's adapter, in PEFT's format).
   */
  checkpointDir?: string;
  signal?: AbortSignal;
}

export interface ExploreCallOptions {
  signal?: AbortSignal;
  /** Ids of queries already explored (a resumed run): no record is given for them. */
  skip?: Iterable<QueryId>;
  /**
   * The ranks of a distributed run share the queries, batch by batch (lib/dist/rounds.ts), and every rank gets every
   * record, in query order, once each round of batches is done. Every rank must call explore with the same queries,
   * options and skip.
   */
  group?: ProcessGroup;
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
    Model.handleOf(model, 'model');
    Tokenizer.check(tokenizer);
    tokenizer.checkFits(model);
    const resolved = resolveExploreOptions(options);
    // Exploration and its pairs render every prompt at one time: the run's, else this object's making.
    this.options = { ...resolved, chatTemplate: pinChatTemplateClock(resolved.chatTemplate) };
    this.#newlineMask = stopStringMask(tokenizer, ['\n']);
    this.#eosTokenIds = endOfResponseIds(model, tokenizer);
  }

  /**
   * Explores `queries` in batches of options.queriesInFlight, by position. A batch that holds a skipped query but
   * not only skipped ones is explored whole, so that its other queries get exactly the records of an uninterrupted
   * run (the same batched arithmetic); only the unskipped records are given.
   */
  async *explore(
    queries: readonly Query[],
    { signal, skip = [], group }: ExploreCallOptions = {},
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

    const explored = (batch: Query[] | undefined): boolean =>
      batch === undefined || batch.every((query) => finished.has(queryKey(query.id)));
    for (const { batches, mine } of rounds(queries, this.options.queriesInFlight, group)) {
      if (batches.every(explored)) continue;
      let records: ExplorationRecord[] = [];
      if (!explored(mine)) {
        const run = exploreBatch(context, mine!);
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
      }
      for (const record of await gatherRound(group, records)) {
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

  /**
   * The Genius loop over `queries` in memory: per iteration, explore, make the pairs and optimise the model in place
   * (geniusIteration, as the run directory does).
   */
  async *run(queries: readonly Query[], options: RunOptions = {}): AsyncGenerator<GeniusRunEvent> {
    const { iterations = 1, train = {}, checkpointDir, signal } = options;
    const maxLength = resolveMaxLength(options.maxLength);
    const { referenceModel, ...optimizer } = train;
    resolveTrainOptions(optimizer); // refuses bad options before any exploration
    const frozen = !options.updateReference && referenceModel === undefined;
    // A LoRA policy's frozen reference is its base, the adapter off: nothing to set aside.
    const lora = this.model.adapter !== undefined;
    const snapshot = frozen && !lora && iterations > 1 ? await this.#snapshot(signal) : undefined;
    try {
      using reference = new ReferencePolicy(
        referenceModel ? async () => referenceModel : frozen && lora ? 'base' : snapshot?.load,
        referenceModel === undefined,
      );
      for (let iteration = 1; iteration <= iterations; iteration++) {
        const events = geniusIteration(this, {
          queries,
          train: optimizer,
          maxLength,
          referenceModel: await reference.of(iteration),
          signal,
        });
        for await (const event of events) yield { ...event, iteration };
        if (checkpointDir !== undefined) {
          const dir = path.join(checkpointDir, `iteration-${iteration}`);
          await (lora ? this.model.saveAdapter(dir) : this.model.save(dir));
          yield { type: 'checkpoint', iteration, dir };
        }
      }
    } finally {
      await snapshot?.remove();
    }
  }

  /** The starting policy's weights saved aside, to be loaded as the frozen reference of later iterations. */
  async #snapshot(signal?: AbortSignal): Promise<{ load: () => Promise<Model>; remove: () => Promise<void> }> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'genius-reference-'));
    const remove = (): Promise<void> => fs.rm(dir, { recursive: true, force: true });
    try {
      await this.model.save(dir, { signal });
    } catch (error) {
      await remove();
      throw error;
    }
    const { device, dtype } = this.model.describe();
    return { load: () => Model.load(dir, { device, dtype, signal }), remove };
  }
}
