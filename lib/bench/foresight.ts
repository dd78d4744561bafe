/**
 * Foresight: one full Genius exploration of Q queries (M beams, N candidates per beam, K steps) per measurement.
 * Ours is lib/genius, where the candidates and rollouts of a batch of queries share each native call and rows
 * continue from kept KV caches instead of being prefilled again; bench/python/foresight.py is the reference's, one
 * query at a time as its code does. The sides draw different samples, so their steps and responses end at
 * different places: wall time is reported with the tokens each side generated and the tokens it ran through the
 * model (prefills, re-encoded prefixes, padding and finished rows included), which is where KV reuse shows.
 */
import { Genius } from '../genius/genius';
import { interleaved, required, type CommonSetup, type CompareContext, type Loaded, type Run } from './protocol';
import { metricRow, MIB, parityHolds, rooflineRow, workloadReport, type WorkloadReport } from './results';

export interface ForesightSetup extends CommonSetup {
  queries: string[];
  beams: number;
  rollouts: number;
  foresightSteps: number;
  maxTokens: number;
  finalMaxTokens: number;
  stepTemperature: number;
  rolloutTemperature: number;
  tau: number;
  seed: number;
}

export interface ForesightResult {
  queries: number;
  pairs: number;
  generatedTokens: number;
  computedTokens: number;
}

/** What both sides (and `bench --profile`) run: Genius's defaults. */
export function foresightSetup(context: CompareContext): ForesightSetup {
  const { queries, ...shape } = context.plan.foresight;
  return {
    ...context.common,
    ...shape,
    queries: context.inputs.queries.slice(0, queries),
    stepTemperature: 0.6,
    rolloutTemperature: 1,
    tau: 0.1,
    seed: 0,
  };
}

/** Our side's measurement. */
export async function prepareForesight(setup: ForesightSetup, loaded: Loaded): Promise<Run<'foresight'>> {
  const model = required(loaded.model, 'a model');
  const tokenizer = required(loaded.tokenizer, 'a tokenizer');
  const queries = setup.queries.map((instruction, id) => ({ id, instruction }));
  const genius = (repeat: number): Genius =>
    new Genius(model, tokenizer, {
      beams: setup.beams,
      rollouts: setup.rollouts,
      foresightSteps: setup.foresightSteps,
      maxTokens: setup.maxTokens,
      finalMaxTokens: setup.finalMaxTokens,
      stepTemperature: setup.stepTemperature,
      rolloutTemperature: setup.rolloutTemperature,
      tau: setup.tau,
      seed: setup.seed + repeat,
    });
  // A Genius finds the tokens holding '\n' through the tokenizer, which caches every token's text: a first one
  // here leaves that work in the setup, where the reference finds its newline token ids too.
  genius(0);
  return async ({ repeat = 0 }) => {
    const result: ForesightResult = { queries: queries.length, pairs: 0, generatedTokens: 0, computedTokens: 0 };
    for await (const event of genius(repeat).explore(queries)) {
      if (event.type === 'pair') result.pairs++;
      if (event.type === 'progress') {
        result.generatedTokens = event.generatedTokens;
        result.computedTokens = event.computedTokens;
      }
    }
    return result;
  };
}

export async function compareForesight(context: CompareContext, parity?: WorkloadReport): Promise<WorkloadReport> {
  const run = await interleaved(context, 'foresight', foresightSetup(context));
  const { queries, ...shape } = context.plan.foresight;
  return workloadReport(
    parityHolds(parity),
    [
      metricRow('wall time', 's', 'lower', run, (m) => m.seconds),
      rooflineRow(context, run, (m) => m.computedTokens),
      metricRow('generated tokens/s', 'tok/s', 'higher', run, (m) => m.generatedTokens / m.seconds),
      metricRow('generated tokens', 'tokens', 'neither', run, (m) => m.generatedTokens),
      metricRow('computed tokens', 'tokens', 'neither', run, (m) => m.computedTokens),
      metricRow('computed per generated token', '×', 'lower', run, (m) => m.computedTokens / m.generatedTokens),
      metricRow('pairs', 'pairs', 'neither', run, (m) => m.pairs),
      metricRow('peak RSS', 'MiB', 'lower', run, (m) => m.peakRssBytes / MIB),
    ],
    [
      `queries ${queries}, M = ${shape.beams}, N = ${shape.rollouts}, K = ${shape.foresightSteps}; ` +
        `${shape.maxTokens} tokens at most per step and rollout, ${shape.finalMaxTokens} per final part; ` +
        'ours explores the queries together; the reference, one query at a time as its code does',
    ],
  );
}
