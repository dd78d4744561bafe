/**
 * `bench --profile`: where our side's time goes. Each selected workload is prepared as the comparison runs it
 * (the same setup), run once to warm up, then once more under libtorch's profiler (native/profile), in this
 * process. The report gives the named phases (rollout.prefill, rollout.decode, rollout.sample, rollout.compact,
 * train.forward, train.backward, train.optimizer, ...) and the ops with the most self time. The profiler adds
 * its own cost to every op, so the shares are what to read, not the absolute times; they are shares of the time
 * spent in native ops and phases, as the wall time also holds the profiler's collection of its events.
 */
import { Model } from '../model/model';
import { native } from '../native';
import type { ProfileRow } from '../native-types';
import { Tokenizer } from '../text/tokenizer';
import { foresightSetup } from './compare/foresight';
import { rolloutSetup } from './compare/rollout';
import { trainSetup } from './compare/train';
import type { CompareContext } from './interleave';
import type { CommonSetup, WorkloadName } from './protocol';
import { prepareForesight } from './workloads/foresight';
import type { Run } from './workloads/loaded';
import { prepareRollout } from './workloads/rollout';
import { prepareTrain } from './workloads/train';

/** Ops listed per workload, by self time. */
const TOP_OPS = 15;

export interface WorkloadProfile {
  workload: WorkloadName;
  /** Wall time of the profiled run, the profiler's own collection included. */
  seconds: number;
  /** Time inside native ops and phases: the sum of every row's self time, what the shares are of. */
  nativeMs: number;
  phases: ProfileRow[];
  ops: ProfileRow[];
}

const isPhase = (row: ProfileRow): boolean => /^(rollout|train)\./.test(row.name);

async function profiled(workload: WorkloadName, run: Run<WorkloadName>): Promise<WorkloadProfile> {
  await run({});
  native().takeProfile(); // drops anything recorded before
  native().setProfiling(true);
  const started = performance.now();
  try {
    await run({});
  } finally {
    native().setProfiling(false);
  }
  const seconds = (performance.now() - started) / 1000;
  const rows = native().takeProfile();
  return {
    workload,
    seconds,
    nativeMs: rows.reduce((sum, row) => sum + row.selfMs, 0),
    phases: rows.filter(isPhase).sort((a, b) => b.totalMs - a.totalMs),
    ops: rows.filter((row) => !isPhase(row)).slice(0, TOP_OPS),
  };
}

export async function profileWorkloads(
  context: CompareContext,
  selected: ReadonlySet<WorkloadName>,
): Promise<WorkloadProfile[]> {
  const load = async (setup: CommonSetup): Promise<{ model: Model; tokenizer: Tokenizer; device: string }> => ({
    model: await Model.load(context.model.dir, { device: setup.device, dtype: setup.dtype }),
    tokenizer: await Tokenizer.fromDir(context.model.dir),
    device: setup.device,
  });
  const profiles: WorkloadProfile[] = [];
  if (selected.has('rollout')) {
    context.log('profile: rollout');
    const setup = rolloutSetup(context);
    profiles.push(await profiled('rollout', await prepareRollout(setup, await load(setup))));
  }
  if (selected.has('foresight')) {
    context.log('profile: foresight');
    const setup = foresightSetup(context);
    profiles.push(await profiled('foresight', await prepareForesight(setup, await load(setup))));
  }
  if (selected.has('train')) {
    context.log('profile: train');
    const setup = trainSetup(context);
    profiles.push(await profiled('train', await prepareTrain(setup, await load(setup))));
  }
  return profiles;
}
