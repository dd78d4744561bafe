/**
 * Foresight exploration of a batch of queries in lockstep (docs/algorithm.md, "Exploration"). Each phase of a step is one
 * native call for the whole batch: the candidate steps of every live beam of every query, then the foresight
 * rollouts of every candidate. Nothing is prefilled twice: candidates keep their KV cache, rollouts continue its
 * rows, and the selected candidates' rows are where the next step's candidates (and at the end, the final parts)
 * continue from. Before the first step all M beams of a query are its prompt, so its M·N candidates are drawn
 * from one prefill.
 *
 * The phases are functions over the batch's state, in the order they run: a step is sampleCandidates, rollOut and
 * selectBeams; after the last step, sampleFinalParts and selectAnswer.
 *
 * Every sample has a random stream of its own, seeded from the run's seed, the phase, the step, the query and the
 * beam or candidate it extends (like vLLM's per-request seeds): a query's draws do not depend on the batch it is
 * in, so its record is the same whatever the queries in flight and however the queries are shared between ranks
 * (up to the rounding of batched arithmetic, which a batch of the same queries repeats exactly). Re-sampling
 * draws come from a stream of the query's own.
 */
import type { CallOptions } from '../async';
import type { Query } from '../data/queries';
import type { ExplorationRecord } from '../data/records';
import type { Generation, KvCache, Sample, SamplingOptions } from '../model/model';
import { trimAtStop } from '../text/stop-strings';
import { encodeStepPrompt } from '../text/steps';
import type { Tokenizer } from '../text/tokenizer';
import {
  carriedCandidate,
  explorationRecord,
  initialBeams,
  meanLogprob,
  nextBeam,
  scoreCandidate,
  scoreFinalPart,
  skipsForesight,
  type Beam,
  type Candidate,
  type Continuation,
  type StepLog,
} from './beams';
import type { ExploreOptions } from './options';
import { deriveSeed, seededRandom, type Random } from './random';
import { responseText } from './responses';
import { selectCandidates } from './resampling';

/** The model calls exploration makes; Model provides them. */
export interface StepSampler {
  generate(prompts: number[][], options: SamplingOptions & CallOptions): Promise<Generation>;
  continue(cache: KvCache, rows: number[], options: SamplingOptions & CallOptions): Promise<Generation>;
}

export interface ExploreContext {
  sampler: StepSampler;
  tokenizer: Tokenizer;
  /** 1 for each token whose text holds '\n' (stopStringMask). */
  newlineMask: Uint8Array;
  /** The tokens that end a response (endOfResponseIds). */
  eosTokenIds: number[];
  options: ExploreOptions;
  signal?: AbortSignal;
}

/** What one native call of a batch did. */
export interface CallStats {
  generatedTokens: number;
  computedTokens: number;
}

/** The exploration of a batch, which its phases advance. */
interface BatchState {
  context: ExploreContext;
  queries: QueryState[];
  /**
   * The last step's candidates, whose rows the next call continues; none before the first step, when the next
   * call starts from the prompts.
   */
  cache?: KvCache;
}

interface QueryState {
  query: Query;
  beams: Beam[];
  steps: StepLog[];
  /** The query's re-sampling draws. */
  random: Random;
}

/** A live beam that a call extends: its samples are the call's samples [index·n, (index+1)·n). */
interface Source {
  state: QueryState;
  beam: number;
}

/** An active query's candidates of a step, in beam order, and whether rollouts score them. */
interface Pool {
  state: QueryState;
  candidates: Candidate[];
  foresight: boolean;
}

const STEP_STOPS = ['\n'];

/**
 * Explores `queries` together; yields the stats of each native call and returns their records, in order.
 * Throws ERR_GENIUS_ABORTED when the signal aborts a call.
 */
export async function* exploreBatch(
  context: ExploreContext,
  queries: readonly Query[],
): AsyncGenerator<CallStats, ExplorationRecord[]> {
  const { options } = context;
  const batch: BatchState = {
    context,
    queries: queries.map((query) => ({
      query,
      beams: initialBeams(options.beams),
      steps: [],
      random: seededRandom(options.seed, 'select', query.id),
    })),
  };
  try {
    for (let step = 0; step < options.foresightSteps; step++) {
      const active = batch.queries.filter((state) => state.beams.some((beam) => !beam.ended));
      // A query whose beams have all ended explores no more: its later steps are empty.
      for (const state of batch.queries.filter((state) => !active.includes(state))) {
        state.steps.push({ candidates: [], foresight: false, selected: [] });
      }
      if (active.length === 0) continue;
      const pools = yield* sampleCandidates(batch, active, step);
      const rollouts = yield* rollOut(batch, pools, step);
      selectBeams(batch, pools, rollouts);
    }
    const parts = yield* sampleFinalParts(batch);
    return batch.queries.map((state) => selectAnswer(batch, state, parts));
  } finally {
    batch.cache?.dispose();
  }
}

/** Samples N candidate steps of each live beam of `active`; returns each query's pool (an ended beam carried). */
async function* sampleCandidates(
  batch: BatchState,
  active: QueryState[],
  step: number,
): AsyncGenerator<CallStats, Pool[]> {
  const { options, newlineMask } = batch.context;
  const generation = await extend(batch, liveBeams(active), options.rollouts, ['candidates', step], {
    maxNewTokens: options.maxTokens,
    temperature: options.stepTemperature,
    stopTokenMask: newlineMask,
    keepCache: true,
  });
  batch.cache?.dispose();
  batch.cache = generation.cache;
  yield callStats(generation);

  let input = 0;
  return active.map((state) => {
    const candidates = state.beams.flatMap((beam, index): Candidate[] => {
      if (beam.ended) return [carriedCandidate(index)];
      const first = input++ * options.rollouts;
      const samples = generation.samples.slice(first, first + options.rollouts);
      return samples.map((sample, offset) => sampledCandidate(batch, index, sample, first + offset));
    });
    return { state, candidates, foresight: !skipsForesight(candidates, options.mode) };
  });
}

/** Rolls out each unended candidate of the pools that foresight scores, from its row; returns the rollouts. */
async function* rollOut(
  batch: BatchState,
  pools: Pool[],
  step: number,
): AsyncGenerator<CallStats, Map<Candidate, Continuation>> {
  const { sampler, options, eosTokenIds, signal } = batch.context;
  // Each rollout's stream is its candidate's: the query's, and the candidate's place among the query's.
  const rolledOut = pools.flatMap((pool) =>
    pool.foresight
      ? pool.candidates.flatMap((candidate, index) =>
          candidate.ended ? [] : [{ candidate, seed: streamSeed(batch, ['rollouts', step], pool.state, index) }],
        )
      : [],
  );
  const rollouts = new Map<Candidate, Continuation>();
  if (rolledOut.length === 0) return rollouts;
  const generation = await sampler.continue(
    batch.cache!,
    rolledOut.map(({ candidate }) => candidate.row),
    {
      n: 1,
      maxNewTokens: options.maxTokens,
      temperature: options.rolloutTemperature,
      sampleSeeds: rolledOut.map(({ seed }) => seed),
      eosTokenIds,
      signal,
    },
  );
  generation.samples.forEach((sample, index) => {
    const rollout = continuation(batch, sample);
    if (rollout) rollouts.set(rolledOut[index].candidate, rollout);
  });
  yield callStats(generation);
  return rollouts;
}

/** Scores each pool, logs its step, and re-samples its query's next beams from the scores (query by query). */
function selectBeams(batch: BatchState, pools: Pool[], rollouts: Map<Candidate, Continuation>): void {
  const { options } = batch.context;
  for (const { state, candidates, foresight } of pools) {
    const scored = candidates.map((candidate) =>
      scoreCandidate(candidate, state.beams[candidate.beam], rollouts.get(candidate), options.score),
    );
    const selected = selectCandidates(
      options.strategy,
      { scores: scored.map((candidate) => candidate.score), advantages: scored.map((c) => c.advantage) },
      options.beams,
      options.tau,
      state.random,
    );
    state.steps.push({ candidates: scored, foresight, selected });
    state.beams = selected.map((index) => nextBeam(state.beams[scored[index].beam], scored[index]));
  }
}

/** Each live beam generates its final part to the end; returns the parts. */
async function* sampleFinalParts(batch: BatchState): AsyncGenerator<CallStats, Map<Beam, Continuation>> {
  const { options } = batch.context;
  const sources = liveBeams(batch.queries);
  const parts = new Map<Beam, Continuation>();
  if (sources.length === 0) return parts;
  const generation = await extend(batch, sources, 1, ['final', options.foresightSteps], {
    maxNewTokens: options.finalMaxTokens,
    temperature: options.rolloutTemperature,
  });
  generation.samples.forEach((sample, index) => {
    const { state, beam } = sources[index];
    const part = continuation(batch, sample);
    if (part) parts.set(state.beams[beam], part);
  });
  yield callStats(generation);
  return parts;
}

/** The query's record: its answer re-sampled from the scores of its beams' final parts. */
function selectAnswer(batch: BatchState, state: QueryState, parts: Map<Beam, Continuation>): ExplorationRecord {
  const { options } = batch.context;
  const finals = state.beams.map((beam) => scoreFinalPart(beam, parts.get(beam)));
  const [answer] = selectCandidates(
    options.strategy,
    { scores: finals.map((part) => part.score), advantages: finals.map((part) => part.advantage) },
    1,
    options.tau,
    state.random,
  );
  return explorationRecord(state.query, state.steps, state.beams, finals, answer);
}

/**
 * Samples n continuations of each source: from the prompts before the first step, else from the cache. Sample j of
 * a source draws from the stream of (call, query, beam, j).
 */
async function extend(
  batch: BatchState,
  sources: Source[],
  n: number,
  call: CallName,
  sampling: SamplingOptions,
): Promise<Generation> {
  const { sampler, tokenizer, options, eosTokenIds, signal } = batch.context;
  const sampleSeeds = sources.flatMap(({ state, beam }) =>
    Array.from({ length: n }, (_, j) => streamSeed(batch, call, state, beam, j)),
  );
  if (batch.cache !== undefined) {
    return sampler.continue(
      batch.cache,
      sources.map(({ state, beam }) => state.beams[beam].row),
      { ...sampling, n, sampleSeeds, eosTokenIds, signal },
    );
  }
  // Every beam is live and is just the prompt, so sources run query by query, beam by beam, as the samples do.
  const prompts = batch.queries.map(({ query }) =>
    encodeStepPrompt(tokenizer, query.instruction, options.chatTemplate),
  );
  return sampler.generate(prompts, { ...sampling, n: options.beams * n, sampleSeeds, eosTokenIds, signal });
}

/** The live beams of `of`, query by query, beam by beam: the order of a call's inputs. */
function liveBeams(of: QueryState[]): Source[] {
  return of.flatMap((state) => state.beams.flatMap((beam, index) => (beam.ended ? [] : [{ state, beam: index }])));
}

/** A native call of the exploration: its phase and step. */
type CallName = [phase: string, step: number];

/** The seed of one sample's stream: the run's, the call's, its query's and where in the query it is. */
function streamSeed(batch: BatchState, call: CallName, state: QueryState, ...place: number[]): number {
  return deriveSeed(batch.context.options.seed, ...call, state.query.id, ...place);
}

function sampledCandidate(batch: BatchState, beam: number, sample: Sample, row: number): Candidate {
  return {
    beam,
    step: trimAtStop(responseText(batch.context.tokenizer, sample.tokens), STEP_STOPS).text,
    stepScore: meanLogprob(sample.logprobSum, sample.tokens.length),
    ended: sample.finishReason !== 'stop',
    carried: false,
    row,
  };
}

/** A rollout or final part; none when the context window left no room for a token (nothing follows). */
function continuation(batch: BatchState, sample: Sample): Continuation | undefined {
  if (sample.tokens.length === 0) return undefined;
  const text = responseText(batch.context.tokenizer, sample.tokens);
  return { text, score: meanLogprob(sample.logprobSum, sample.tokens.length) };
}

function callStats(generation: Generation): CallStats {
  const generatedTokens = generation.samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
  return { generatedTokens, computedTokens: generation.computedTokens };
}
