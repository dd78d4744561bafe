/**
 * `genius-native bench`: the same workloads run by genius-native and by the Python reference (transformers,
 * PyTorch), each side in its own worker process, interleaved, on the same model and inputs. Parity runs first and
 * always: a comparison whose sides disagree is reported as INVALID, never as a speed-up.
 *
 * `--sweep` adds how each side scales with the size of the work: rollout at every batch of SWEEP_BATCHES rows and
 * training at every SWEEP_PAIRS pairs per step, each point a full interleaved comparison of its own, with its
 * roofline share and its machine load.
 *
 * `--profile` compares nothing: it shows where our side's time goes. Each selected workload is prepared as the
 * comparison runs it (the same setup), run once to warm up, then once more under libtorch's profiler
 * (native/profile), in this process. The report gives the named phases (rollout.prefill, rollout.decode,
 * rollout.sample, rollout.compact, train.forward, train.backward, train.optimizer, ...) and the ops with the most
 * self time. The profiler adds its own cost to every op, so the shares are what to read, not the absolute times;
 * they are shares of the time spent in native ops and phases, as the wall time also holds the profiler's
 * collection of its events.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, GeniusError } from '../errors';
import { Model } from '../model/model';
import { native } from '../native';
import type { ProfileRow } from '../native-types';
import { runtimeInfo, setThreads } from '../runtime';
import { Tokenizer } from '../text/tokenizer';
import { benchModel, type BenchModel, type RandomArchitecture } from './bench-model';
import { compareForesight, foresightSetup, prepareForesight } from './foresight';
import { compareLora, loraSetup } from './lora';
import { describeMachine, measureMatmulRate, type LoadReport } from './machine';
import { compareParity } from './parity';
import {
  benchInputs,
  benchPrompts,
  fitPlan,
  resolvePlan,
  sweepSizes,
  SWEEP_BATCHES,
  SWEEP_PAIRS,
  type BenchPlan,
  type PlanOverrides,
} from './plan';
import {
  WORKLOADS,
  type CommonSetup,
  type CompareContext,
  type Run,
  type WorkerWorkload,
  type WorkloadName,
} from './protocol';
import {
  tolerancesFor,
  type BenchReport,
  type MetricRow,
  type SweepPoint,
  type SweepReport,
  type WorkloadProfile,
  type WorkloadReport,
} from './results';
import { compareRollout, prepareRollout, rolloutSetup } from './rollout';
import { compareTrain, compareTrainSteps, prepareTrain, trainSetup } from './train';

export interface BenchOptions {
  quick?: boolean;
  /** A model directory (with its tokenizer); default: models/default, else a random model of `arch`. */
  model?: string;
  /** Benchmark a random model of this architecture's shape. */
  arch?: RandomArchitecture;
  /** Decoder layers of a random model; default: the plan's (2 in quick mode, else the architecture's). */
  layers?: number;
  /** Default 'cpu'. */
  device?: string;
  /** Weights of the inference workloads; default float32 on the CPU, bfloat16 on CUDA. Training is float32. */
  dtype?: CommonSetup['dtype'];
  /** Workloads to run (parity always runs; lora brings train's steps, its comparison); default all. */
  only?: WorkloadName[];
  /** Intra-op threads of both sides; default each side's own default. */
  threads?: number;
  /** Also compare rollout over batches of 8 … 128 rows and training over pairs per step. */
  sweep?: boolean;
  overrides?: PlanOverrides;
  /** Progress lines, for a terminal. */
  log?: (message: string) => void;
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  return withBenchContext(options, async ({ context, model, notes, selected }) => {
    const loaded = <R extends WorkloadReport>(report: R, workload: WorkerWorkload): R => ({
      ...report,
      load: context.loads[workload],
    });
    const workloads: BenchReport['workloads'] = {};
    workloads.parity = loaded(await compareParity(context), 'parity');
    const parity = workloads.parity;
    if (selected.has('rollout')) workloads.rollout = loaded(await compareRollout(context, parity), 'rollout');
    if (selected.has('foresight')) workloads.foresight = loaded(await compareForesight(context, parity), 'foresight');
    if (selected.has('train')) workloads.train = loaded(await compareTrain(context, parity), 'train');
    if (selected.has('lora')) {
      // LoRA is set against our full fine-tune of the same pairs: train's steps, run here if --only left them out.
      workloads.train ??= loaded(await compareTrainSteps(context, parity), 'train');
      workloads.lora = loaded(await compareLora(context, workloads.train, parity), 'lora');
    }
    const sweep = options.sweep
      ? await runSweep(context, parity, { rollout: selected.has('rollout'), train: selected.has('train') })
      : undefined;
    // Parity ran: both sides have been ready at least once.
    const ours = context.ready.ours!;
    const reference = context.ready.reference!;
    return {
      format: 'genius-native-bench',
      date: new Date().toISOString(),
      mode: options.quick ? 'quick' : 'full',
      machine: describeMachine(context.common.device, reference.deviceName, context.matmulRate),
      sides: {
        ours: { threads: ours.threads, versions: ours.versions },
        reference: { threads: reference.threads, versions: reference.versions },
      },
      model: {
        dir: model.dir,
        source: model.source,
        arch: model.arch ?? null,
        modelType: model.modelType,
        layers: model.layers,
        hidden: model.hidden,
        vocab: model.vocab,
        dtype: context.common.dtype,
      },
      plan: context.plan,
      notes,
      workloads,
      sweep,
    };
  });
}

async function runSweep(
  context: CompareContext,
  parity: WorkloadReport,
  parts: { rollout: boolean; train: boolean },
): Promise<SweepReport> {
  const sweep: SweepReport = { rollout: [], train: [] };
  const { plan } = context;
  for (const batch of parts.rollout ? SWEEP_BATCHES : []) {
    context.log(`sweep: rollout at batch ${batch}`);
    const prompts = Math.max(1, Math.round(batch / plan.rollout.n));
    const at = { ...context, plan: { ...plan, rollout: { ...plan.rollout, prompts } } };
    const report = await compareRollout(at, parity);
    sweep.rollout.push(point(prompts * plan.rollout.n, report, 'new tokens/s', context.loads.rollout));
  }
  for (const pairs of parts.train ? SWEEP_PAIRS : []) {
    context.log(`sweep: train at ${pairs} pairs per step`);
    const at = {
      ...context,
      inputs: { ...context.inputs, pairs: context.inputs.pairs.slice(0, pairs) },
      plan: { ...plan, train: { ...plan.train, pairs, microBatch: Math.min(plan.train.microBatch, pairs) } },
    };
    sweep.train.push(point(pairs, await compareTrainSteps(at, parity), 'time per step', context.loads.train));
  }
  return sweep;
}

function point(size: number, report: WorkloadReport, speed: string, load: LoadReport | undefined): SweepPoint {
  const row = (metric: string): MetricRow => report.metrics.find((candidate) => candidate.metric === metric)!;
  return { size, valid: report.valid, speed: row(speed), roofline: row('share of matmul rate'), load };
}

/** `bench --profile`: our side's phases and ops per workload, without the comparison. */
export async function runProfile(options: BenchOptions = {}): Promise<WorkloadProfile[]> {
  return withBenchContext(options, ({ context, selected }) => profileWorkloads(context, selected));
}

async function profileWorkloads(
  context: CompareContext,
  selected: ReadonlySet<WorkloadName>,
): Promise<WorkloadProfile[]> {
  const load = async (setup: CommonSetup): Promise<{ model: Model; tokenizer: Tokenizer; device: string }> => ({
    model: await Model.load(context.model.dir, { device: setup.device, dtype: setup.dtype, adapter: setup.adapter }),
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
  if (selected.has('lora')) {
    context.log('profile: lora');
    const { setup } = await loraSetup(context);
    profiles.push(await profiled('lora', await prepareTrain(setup, await load(setup))));
  }
  return profiles;
}

/** Ops listed per workload, by self time. */
const TOP_OPS = 15;

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

/** The model, inputs and plan of a run: what a comparison or a profile needs. */
interface BenchContext {
  context: CompareContext;
  model: BenchModel;
  /** The plan's cuts to fit the model. */
  notes: string[];
  selected: Set<WorkloadName>;
}

/** Runs `body` with the run's context, in a scratch directory; then frees the model and removes the directory. */
async function withBenchContext<T>(options: BenchOptions, body: (run: BenchContext) => Promise<T>): Promise<T> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-bench-'));
  try {
    const run = await benchContext(options, scratch);
    try {
      return await body(run);
    } finally {
      run.model[Symbol.dispose]();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function benchContext(options: BenchOptions, scratch: string): Promise<BenchContext> {
  const asked = resolvePlan(options.quick ?? false, options.overrides);
  const device = options.device ?? 'cpu';
  if (device.startsWith('cuda') && !runtimeInfo().cudaAvailable) {
    throw new GeniusError(ErrorCode.InvalidArgument, `device '${device}' asked for, but CUDA is not available here`);
  }
  const dtype = options.dtype ?? (device.startsWith('cuda') ? 'bfloat16' : 'float32');
  const log = options.log ?? (() => {});

  log('preparing the model');
  const model = await benchModel({
    model: options.model,
    arch: options.arch,
    layers: options.layers ?? asked.randomLayers,
  });
  log(`model: ${model.dir} (${model.modelType}, ${model.layers} layers, hidden ${model.hidden}, vocab ${model.vocab})`);
  const tokenizer = await Tokenizer.fromDir(model.dir);
  // A sweep's largest points need more prompts and pairs than the plan's own sizes.
  const sized: BenchPlan = options.sweep
    ? (({ prompts, pairs }) => ({
        ...asked,
        rollout: { ...asked.rollout, prompts: Math.max(asked.rollout.prompts, prompts) },
        train: { ...asked.train, pairs: Math.max(asked.train.pairs, pairs) },
      }))(sweepSizes(asked.rollout.n))
    : asked;
  const prompted = await benchPrompts(tokenizer, sized);
  const longestPrompt = Math.max(...prompted.prompts.map((prompt) => prompt.length));
  const { plan, notes } = fitPlan(asked, model.maxPositions, longestPrompt);
  notes.forEach(log);
  if (options.threads !== undefined) setThreads(options.threads);
  log('measuring the matmul rate');
  const context: CompareContext = {
    common: { model: model.dir, device, dtype, threads: options.threads },
    model,
    inputs: benchInputs(tokenizer, { ...plan, train: { ...plan.train, pairs: sized.train.pairs } }, prompted),
    plan,
    tolerances: tolerancesFor(dtype),
    scratch,
    log,
    ready: {},
    matmulRate: await measureMatmulRate(),
    loads: {},
  };
  const selected = new Set<WorkloadName>(options.only ?? WORKLOADS);
  return { context, model, notes, selected };
}
