/**
 * One Genius iteration: explore the queries with the current policy (foresight sampling), turn the records into
 * preference pairs, and optimise the policy in place on them (ACO by default). Both forms of the loop run it: the
 * in-memory `Genius.run` and the resumable run directory (`runPipeline`, which `genius-native train` drives). The
 * run directory passes a store, which keeps each record as it is made, the pairs and the optimiser's checkpoints,
 * and which tells a resumed iteration where the killed one stopped.
 */
import type { PreferencePair } from '../data/pairs';
import type { ProcessGroup } from '../dist/process-group';
import type { Query, QueryId } from '../data/queries';
import type { ExplorationRecord } from '../data/records';
import type { Model } from '../model/model';
import { optimize, type CheckpointOptions, type StepMetrics, type TrainOptions } from '../train/optimize';
import { encodePairs, sequenceLimit } from '../train/sequences';
import type { Genius, GeniusEvent } from './genius';
import { recordPairs } from './pair-selection';
import { endOfTurnId } from './responses';

export type IterationStage = 'explore' | 'pairs' | 'optimize';

export type IterationEvent =
  | { type: 'stage'; stage: IterationStage }
  | GeniusEvent
  /** The pairs the optimiser trains on, after sequences longer than maxLength were cut or dropped. */
  | { type: 'pairs'; pairs: number; truncated: number; dropped: number; file?: string }
  | { type: 'step'; metrics: StepMetrics };

/** Where an iteration keeps its work so that a killed one can resume (a run directory's iteration-<i>/). */
export interface IterationStore {
  /** The records a killed attempt left: their queries are not explored again. */
  readonly records: readonly ExplorationRecord[];
  /** The pairs a killed attempt left once its exploration was done: the iteration resumes its optimisation. */
  readonly pairs?: readonly PreferencePair[];
  /** Keeps a record durably before the iteration goes on. */
  appendRecord(record: ExplorationRecord): Promise<void>;
  /** Keeps the iteration's pairs; returns the file that holds them. */
  savePairs(pairs: readonly PreferencePair[]): Promise<string>;
  /** Where the optimiser checkpoints, and whether it resumes the checkpoint there. */
  readonly checkpoint: CheckpointOptions;
}

/** The optimiser's options of an iteration (defaults: lib/train/options.ts); the iteration decides the rest. */
export type IterationTrainOptions = Omit<TrainOptions, 'checkpoint' | 'signal' | 'referenceModel'>;

export interface IterationOptions {
  queries: readonly Query[];
  train: IterationTrainOptions;
  /** Longest training sequence (prompt + response) in tokens; the model's positions cap it. */
  maxLength: number;
  /**
   * The frozen reference policy ('base': a LoRA policy's base, its adapter off); undefined: the policy itself as the
   * iteration starts.
   */
  referenceModel?: Model | 'base';
  /** Absent: the iteration runs in memory. */
  store?: IterationStore;
  signal?: AbortSignal;
  /** The ranks of a distributed run: they explore shares of the queries and optimise data-parallel. */
  group?: ProcessGroup;
}

/** Explores with `genius` (its model is the policy, trained in place), makes the pairs and optimises. */
export async function* geniusIteration(genius: Genius, options: IterationOptions): AsyncGenerator<IterationEvent> {
  const { model, tokenizer } = genius;
  const { store, signal, group } = options;
  let pairs: PreferencePair[];
  let file: string | undefined;
  if (store?.pairs !== undefined) {
    pairs = [...store.pairs];
  } else {
    yield { type: 'stage', stage: 'explore' };
    // The records a killed attempt kept come first, as they stand first in the store: the pairs are in record order.
    const kept = store?.records ?? [];
    pairs = kept.flatMap((record) => recordPairs(record, tokenizer, genius.options));
    const skip: QueryId[] = kept.map((record) => record.id);
    for await (const event of genius.explore(options.queries, { signal, skip, group })) {
      if (event.type === 'record') await store?.appendRecord(event.record);
      if (event.type === 'pair') pairs.push(event.pair);
      yield event;
    }
    yield { type: 'stage', stage: 'pairs' };
    file = await store?.savePairs(pairs);
  }
  const eosTokenId = endOfTurnId(model, tokenizer);
  const encoded = encodePairs(tokenizer, pairs, { maxLength: sequenceLimit(options.maxLength, model), eosTokenId });
  yield { type: 'pairs', pairs: encoded.pairs.length, ...encoded.report, file };
  // No pairs left to train on (each was dropped as too long, say): the policy stays as it is.
  if (encoded.pairs.length === 0) return;

  yield { type: 'stage', stage: 'optimize' };
  const steps = optimize(model, encoded.pairs, {
    ...options.train,
    referenceModel: options.referenceModel,
    checkpoint: store?.checkpoint,
    signal,
    group,
  });
  for await (const metrics of steps) yield { type: 'step', metrics };
}

/**
 * The reference policy of each iteration. The paper's: the starting policy, frozen, for every iteration (`frozen`
 * gives it, loaded only when iteration 2 needs it). A LoRA policy's frozen reference is its base ('base': the adapter
 * off, nothing to load) in every iteration, as TRL's with a PEFT model; a new adapter starts as the base, so this
 * is the starting policy. Without `frozen` (re-basing, when asked), each iteration's reference is the policy it
 * starts from. Iteration 1 starts from the starting policy, so it needs no copy.
 */
export class ReferencePolicy implements Disposable {
  #model: Model | undefined;

  constructor(
    private readonly frozen: (() => Promise<Model>) | 'base' | undefined,
    /** Whether this object disposes the model `frozen` gives. */
    private readonly owned = true,
  ) {}

  /** The reference model of `iteration`; undefined: the policy as the iteration starts. */
  async of(iteration: number): Promise<Model | 'base' | undefined> {
    if (this.frozen === 'base') return 'base';
    if (iteration === 1 || this.frozen === undefined) return undefined;
    this.#model ??= await this.frozen();
    return this.#model;
  }

  [Symbol.dispose](): void {
    if (this.owned) this.#model?.dispose();
  }
}
