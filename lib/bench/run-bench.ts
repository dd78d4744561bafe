/**
 * `genius-native bench`: the same workloads run by genius-native and by the Python reference (transformers,
 * PyTorch), each side in its own worker process, interleaved, on the same model and inputs. Parity runs first and
 * always: a comparison whose sides disagree is reported as INVALID, never as a speed-up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, GeniusError } from '../errors';
import { runtimeInfo } from '../runtime';
import { Tokenizer } from '../text/tokenizer';
import { benchModel, type RandomArchitecture } from './bench-model';
import { tolerancesFor } from './checks';
import { compareForesight } from './compare/foresight';
import { compareParity } from './compare/parity';
import { compareRollout } from './compare/rollout';
import { compareTrain } from './compare/train';
import { benchInputs, benchPrompts } from './inputs';
import type { CompareContext } from './interleave';
import { fitPlan, resolvePlan, type PlanOverrides } from './plan';
import { WORKLOADS, type CommonSetup, type WorkloadName } from './protocol';
import type { BenchReport } from './results';

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
  overrides?: PlanOverrides;
  /** Progress lines, for a terminal. */
  log?: (message: string) => void;
}

function machine(device: string, deviceName: string | null): BenchReport['machine'] {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    device,
    deviceName,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const mode = options.quick ? 'quick' : 'full';
  const asked = resolvePlan(options.quick ?? false, options.overrides);
  const device = options.device ?? 'cpu';
  if (device.startsWith('cuda') && !runtimeInfo().cudaAvailable) {
    throw new GeniusError(ErrorCode.InvalidArgument, `device '${device}' asked for, but CUDA is not available here`);
  }
  const dtype = options.dtype ?? (device.startsWith('cuda') ? 'bfloat16' : 'float32');
  const selected = new Set<WorkloadName>(options.only ?? WORKLOADS);
  const log = options.log ?? (() => {});

  log('preparing the model');
  using model = await benchModel({
    model: options.model,
    arch: options.arch,
    layers: options.layers ?? asked.randomLayers,
  });
  log(`model: ${model.dir} (${model.modelType}, ${model.layers} layers, hidden ${model.hidden}, vocab ${model.vocab})`);
  const tokenizer = await Tokenizer.fromDir(model.dir);
  const prompted = await benchPrompts(tokenizer, asked);
  const longestPrompt = Math.max(...prompted.prompts.map((prompt) => prompt.length));
  const { plan, notes } = fitPlan(asked, model.maxPositions, longestPrompt);
  notes.forEach(log);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-bench-'));
  try {
    const context: CompareContext = {
      common: { model: model.dir, device, dtype, threads: options.threads },
      model,
      inputs: benchInputs(tokenizer, plan, prompted),
      plan,
      tolerances: tolerancesFor(dtype),
      scratch,
      log,
      ready: {},
    };
    const workloads: BenchReport['workloads'] = {};
    workloads.parity = await compareParity(context);
    if (selected.has('rollout')) workloads.rollout = await compareRollout(context, workloads.parity);
    if (selected.has('foresight')) workloads.foresight = await compareForesight(context, workloads.parity);
    if (selected.has('train')) workloads.train = await compareTrain(context, workloads.parity);
    // Parity ran: both sides have been ready at least once.
    const ours = context.ready.ours!;
    const reference = context.ready.reference!;
    return {
      format: 'genius-native-bench',
      date: new Date().toISOString(),
      mode,
      machine: machine(device, reference.deviceName),
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
        dtype,
      },
      plan,
      notes,
      workloads,
    };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
