/**
 * Foresight exploration of a batch of queries in lockstep (docs/algorithm.md, "Exploration"). Each phase of a step is one
 * native call for the whole batch: the candidate steps of every live beam of every query, then the foresight
 * rollouts of every candidate. Nothing is prefilled twice: candidates keep their KV cache, rollouts continue its
 * rows, and the selected candidates' rows are where the next step's candidates (and at the end, the final parts)
 * continue from. Before the first step all M beams of a query are its prompt, so its M·N candidates are drawn
 * from one prefill.
 *
 * The native random stream is shared by a call's rows, so a query's samples depend on the batch it is in: each
 * call's seed is derived from the run's seed, the step, the phase and the batch's query ids, and a batch repeats
 * exactly when it is explored again. Re-sampling draws come from a stream of the query's own.
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

const STEP_STOPS = ['\n'];

function callStats(generation: Generation): CallStats {
  const generatedTokens = generation.samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
  return { generatedTokens, computedTokens: generation.computedTokens };
}

/**
 * Explores `queries` together; yields the stats of each native call and returns their records, in order.
 * Throws ERR_GENIUS_ABORTED when the signal aborts a call.
 */
export async function* exploreBatch(
  context: ExploreContext,
  queries: readonly Query[],
): AsyncGenerator<CallStats, ExplorationRecord[]> {
  const { sampler, tokenizer, options, eosTokenIds, signal } = context;
  const batchIds = queries.map((query) => query.id);
  const seed = (phase: string, step: number): number => deriveSeed(options.seed, phase, step, ...batchIds);
  const text = (sample: Sample): string => responseText(tokenizer, sample.tokens);
  /** A rollout or final part; none when the context window left no room for a token (nothing follows). */
  const continuation = (sample: Sample): Continuation | undefined =>
    sample.tokens.length === 0
      ? undefined
      : { text: text(sample), score: meanLogprob(sample.logprobSum, sample.tokens.length) };
  const states: QueryState[] = queries.map((query) => ({
    query,
    beams: initialBeams(options.beams),
    steps: [],
    random: seededRandom(options.seed, 'select', query.id),
  }));

  let cache: KvCache | undefined;
  /** Samples n continuations of each source: from the prompts before the first step, else from the cache. */
  const extend = async (sources: Source[], n: number, sampling: SamplingOptions): Promise<Generation> => {
    if (cache !== undefined) {
      return sampler.continue(
        cache,
        sources.map(({ state, beam }) => state.beams[beam].row),
        { ...sampling, n, eosTokenIds, signal },
      );
    }
    // Every beam is live and is just the prompt, so sources run query by query, beam by beam, as the samples do.
    const prompts = states.map(({ query }) => encodeStepPrompt(tokenizer, query.instruction));
    return sampler.generate(prompts, { ...sampling, n: options.beams * n, eosTokenIds, signal });
  };

  /** The live beams of `of`, query by query, beam by beam: the order of a call's inputs. */
  const liveBeams = (of: QueryState[]): Source[] =>
    of.flatMap((state) => state.beams.flatMap((beam, index) => (beam.ended ? [] : [{ state, beam: index }])));
  const sampledCandidate = (beam: number, sample: Sample, row: number): Candidate => ({
    beam,
    step: trimAtStop(text(sample), STEP_STOPS).text,
    stepScore: meanLogprob(sample.logprobSum, sample.tokens.length),
    ended: sample.finishReason !== 'stop',
    carried: false,
    row,
  });

  try {
    for (let step = 0; step < options.foresightSteps; step++) {
      const active = states.filter((state) => state.beams.some((beam) => !beam.ended));
      // A query whose beams have all ended explores no more: its later steps are empty.
      for (const state of states.filter((state) => !active.includes(state))) {
        state.steps.push({ candidates: [], foresight: false, selected: [] });
      }
      if (active.length === 0) continue;

      const candidates = await extend(liveBeams(active), options.rollouts, {
        maxNewTokens: options.maxTokens,
        temperature: options.stepTemperature,
        stopTokenMask: context.newlineMask,
        keepCache: true,
        seed: seed('candidates', step),
      });
      cache?.dispose();
      cache = candidates.cache;
      yield callStats(candidates);

      // Each active query's pool, in beam order: a live beam's N candidates, an ended beam carried.
      let input = 0;
      const pools = active.map((state) =>
        state.beams.flatMap((beam, index): Candidate[] => {
          if (beam.ended) return [carriedCandidate(index)];
          const first = input++ * options.rollouts;
          const samples = candidates.samples.slice(first, first + options.rollouts);
          return samples.map((sample, offset) => sampledCandidate(index, sample, first + offset));
        }),
      );

      const foresight = pools.map((pool) => !skipsForesight(pool, options.mode));
      const rolledOut = pools.flatMap((pool, query) =>
        foresight[query] ? pool.filter((candidate) => !candidate.ended) : [],
      );
      const rollouts = new Map<Candidate, Continuation>();
      if (rolledOut.length > 0) {
        const generation = await sampler.continue(
          cache!,
          rolledOut.map((candidate) => candidate.row),
          {
            n: 1,
            maxNewTokens: options.maxTokens,
            temperature: options.rolloutTemperature,
            seed: seed('rollouts', step),
            eosTokenIds,
            signal,
          },
        );
        generation.samples.forEach((sample, index) => {
          const rollout = continuation(sample);
          if (rollout) rollouts.set(rolledOut[index], rollout);
        });
        yield callStats(generation);
      }

      active.forEach((state, query) => {
        const scored = pools[query].map((candidate) =>
          scoreCandidate(candidate, state.beams[candidate.beam], rollouts.get(candidate), options.score),
        );
        const selected = selectCandidates(
          options.strategy,
          { scores: scored.map((candidate) => candidate.score), advantages: scored.map((c) => c.advantage) },
          options.beams,
          options.tau,
          state.random,
        );
        state.steps.push({ candidates: scored, foresight: foresight[query], selected });
        state.beams = selected.map((index) => nextBeam(state.beams[scored[index].beam], scored[index]));
      });
    }

    // Each beam generates its final part to the end; the answer is re-sampled from their scores.
    const finalSources = liveBeams(states);
    const parts = new Map<Beam, Continuation>();
    if (finalSources.length > 0) {
      const generation = await extend(finalSources, 1, {
        maxNewTokens: options.finalMaxTokens,
        temperature: options.rolloutTemperature,
        seed: seed('final', options.foresightSteps),
      });
      generation.samples.forEach((sample, index) => {
        const { state, beam } = finalSources[index];
        const part = continuation(sample);
        if (part) parts.set(state.beams[beam], part);
      });
      yield callStats(generation);
    }
    return states.map((state) => {
      const finals = state.beams.map((beam) => scoreFinalPart(beam, parts.get(beam)));
      const [answer] = selectCandidates(
        options.strategy,
        { scores: finals.map((part) => part.score), advantages: finals.map((part) => part.advantage) },
        1,
        options.tau,
        state.random,
      );
      return explorationRecord(state.query, state.steps, state.beams, finals, answer);
    });
  } finally {
    cache?.dispose();
  }
}
