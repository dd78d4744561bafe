/**
 * Rollout: one batched call per side of P prompts × n samples × T new tokens (Model.generate here,
 * bench/python/rollout.py there), EOS ignored, so that both sides must have sampled exactly P·n·T tokens for
 * tokens/s to compare equal work. Time to first token is when the engine reports its first sampled step.
 */
import { interleaved, required, type CommonSetup, type CompareContext, type Loaded, type Run } from './protocol';
import { atMost, metricRow, MIB, parityHolds, rooflineRow, workloadReport, type WorkloadReport } from './results';

export interface RolloutSetup extends CommonSetup {
  prompts: number[][];
  n: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

export interface RolloutResult {
  newTokens: number;
  firstTokenSeconds: number;
  computedTokens: number;
}

/** What both sides (and `bench --profile`) run. */
export function rolloutSetup(context: CompareContext): RolloutSetup {
  const { prompts, n, maxNewTokens, temperature, topP } = context.plan.rollout;
  return {
    ...context.common,
    prompts: context.inputs.prompts.slice(0, prompts),
    n,
    maxNewTokens,
    temperature,
    topP,
    seed: 0,
  };
}

/** Our side's measurement. */
export async function prepareRollout(setup: RolloutSetup, loaded: Loaded): Promise<Run<'rollout'>> {
  const model = required(loaded.model, 'a model');
  return async ({ repeat = 0 }) => {
    const started = performance.now();
    let firstTokenAt: number | undefined;
    const generation = await model.generate(setup.prompts, {
      n: setup.n,
      maxNewTokens: setup.maxNewTokens,
      temperature: setup.temperature,
      topP: setup.topP,
      seed: setup.seed + repeat,
      eosTokenIds: [],
      // Progress (step, total) comes before each step's draw: step 1 means the first token has been sampled.
      onProgress: (step) => {
        if (step >= 1) firstTokenAt ??= performance.now();
      },
    });
    const newTokens = generation.samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
    return {
      newTokens,
      firstTokenSeconds: ((firstTokenAt ?? performance.now()) - started) / 1000,
      computedTokens: generation.computedTokens,
    };
  };
}

export async function compareRollout(context: CompareContext, parity?: WorkloadReport): Promise<WorkloadReport> {
  const { plan } = context;
  const { prompts, n, maxNewTokens, temperature, topP } = plan.rollout;
  const run = await interleaved(context, 'rollout', rolloutSetup(context));
  const expected = prompts * n * maxNewTokens;
  const all = [...run.ours, ...run.reference];
  const checks = [
    ...parityHolds(parity),
    atMost('samples short of P·n·T tokens', all.filter((m) => m.newTokens !== expected).length, 0),
  ];
  return workloadReport(
    checks,
    [
      metricRow('new tokens/s', 'tok/s', 'higher', run, (m) => m.newTokens / m.seconds),
      rooflineRow(context, run, (m) => m.computedTokens),
      metricRow('time to first token', 's', 'lower', run, (m) => m.firstTokenSeconds),
      metricRow('wall time', 's', 'lower', run, (m) => m.seconds),
      metricRow('peak RSS', 'MiB', 'lower', run, (m) => m.peakRssBytes / MIB),
    ],
    [`${prompts} prompts × ${n} samples × ${maxNewTokens} tokens, temperature ${temperature}, top-p ${topP}`],
  );
}
