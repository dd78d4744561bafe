/**
 * `genius-native bench`: the same workloads run by genius-native and by the Python reference (transformers,
 * PyTorch), each side in its own worker process, interleaved, on the same model and inputs. Parity runs first and
 * always: a comparison whose sides disagree is reported as INVALID, never as a speed-up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, GeniusError } from '../errors';
import { runtimeInfo, setThreads } from '../runtime';
import { Tokenizer } from '../text/tokenizer';
import { benchModel, type BenchModel, type RandomArchitecture } from './bench-model';
import { tolerancesFor } from './checks';
import { compareForesight } from './compare/foresight';
import { compareParity } from './compare/parity';
import { compareRollout } from './compare/rollout';
import { compareTrain } from './compare/train';
import { benchInputs, benchPrompts } from './inputs';
import type { CompareContext } from './interleave';
import { fitPlan, resolvePlan, type BenchPlan, type PlanOverrides } from './plan';
import { profileWorkloads, type WorkloadProfile } from './profile';
import { WORKLOADS, type CommonSetup, type WorkerWorkload, type WorkloadName } from './protocol';
import type { BenchReport, WorkloadReport } from './results';
import { measureMatmulRate } from './roofline';
import { runSweep, sweepSizes } from './sweep';

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
  /** Workloads to run (parity always runs); default all. */
  only?: WorkloadName[];
  /** Intra-op threads of both sides; default each side's own default. */
  threads?: number;
  /** Also compare rollout over batches of 8 … 128 rows and training over pairs per step (sweep.ts). */
  sweep?: boolean;
  overrides?: PlanOverrides;
  /** Progress lines, for a terminal. */
  log?: (message: string) => void;
}

function machine(device: string, deviceName: string | null, matmulFlops: number): BenchReport['machine'] {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    device,
    deviceName,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    matmulFlops,
  };
}

/** The model, inputs and plan of a run: what a comparison or a profile needs. */
async function benchContext(
  options: BenchOptions,
  scratch: string,
): Promise<{
  context: CompareContext;
  model: BenchModel;
  notes: string[];
  selected: Set<WorkloadName>;
  dispose: () => void;
}> {
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
  return { context, model, notes, selected, dispose: () => model[Symbol.dispose]() };
}

/** `bench --profile`: our side's phases and ops per workload (profile.ts), without the comparison. */
export async function runProfile(options: BenchOptions = {}): Promise<WorkloadProfile[]> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-bench-'));
  try {
    const { context, selected, dispose } = await benchContext(options, scratch);
    try {
      return await profileWorkloads(context, selected);
    } finally {
      dispose();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-bench-'));
  try {
    const { context, model, notes, selected, dispose } = await benchContext(options, scratch);
    try {
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
        machine: machine(context.common.device, reference.deviceName, context.matmulRate),
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
    } finally {
      dispose();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
