/**
 * The benchmark's worker protocol, spoken by both sides: our worker (lib/bench/worker.ts) and the Python reference's
 * (bench/python/worker.py). Each is a child process that runs one workload, so that its peak RSS is its own. Its
 * stdin carries JSON lines: first {workload, setup}, then one line of parameters per measurement; its stdout answers
 * {event: 'ready'} once set up, then one {event: 'measurement'} (or {event: 'error'}) per request. Both sides get
 * the very same setup object; each workload's setup and result are declared in its file (rollout.ts, ...).
 *
 * A comparison starts both sides' workers side by side, then they take turns, one measurement at a time (ours,
 * reference, ours, reference, ...) after one warm-up measurement each, so that a machine that slows down or speeds
 * up during the run weighs on both sides alike.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Model } from '../model/model';
import { packageRoot } from '../package-root';
import type { Tokenizer } from '../text/tokenizer';
import type { BenchModel } from './bench-model';
import type { ForesightResult, ForesightSetup } from './foresight';
import type { LogprobResult, LogprobSetup } from './logprob-memory';
import type { LoraSetup } from './lora';
import { withLoadWatch, type LoadReport } from './machine';
import type { ParityResult, ParitySetup } from './parity';
import type { BenchInputs, BenchPlan } from './plan';
import type { SideMeasurements, Tolerances } from './results';
import type { RolloutResult, RolloutSetup } from './rollout';
import type { TrainResult, TrainSetup } from './train';

export const WORKLOADS = ['rollout', 'foresight', 'train', 'lora', 'parity'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** Every process that a workload runs in: the timed workloads, and the log-prob stage's memory (part of train). */
export type WorkerWorkload = WorkloadName | 'logprobs';

export interface CommonSetup {
  /** The model directory; absent for workloads that need none (logprobs). */
  model?: string;
  /**
   * A LoRA adapter directory (PEFT's format) that each side loads over the model as its users do, trainable:
   * Model.load's `adapter`; peft's PeftModel.from_pretrained.
   */
  adapter?: string;
  device: string;
  dtype: 'float32' | 'bfloat16' | 'float16';
  /** Intra-op threads of libtorch; absent: each side's default. */
  threads?: number;
}

export interface SetupOf {
  rollout: RolloutSetup;
  foresight: ForesightSetup;
  train: TrainSetup;
  lora: LoraSetup;
  logprobs: LogprobSetup;
  parity: ParitySetup;
}

export interface ResultOf {
  rollout: RolloutResult;
  foresight: ForesightResult;
  train: TrainResult;
  lora: TrainResult;
  logprobs: LogprobResult;
  parity: ParityResult;
}

/** The parameters of one measurement: `repeat` varies the seed; `length` picks a logprobs length. */
export interface MeasureParams {
  repeat?: number;
  length?: number;
}

export interface ReadyEvent {
  event: 'ready';
  setupSeconds: number;
  /** libtorch's intra-op threads. */
  threads: number;
  device: string;
  /** The GPU's name on CUDA (reported by the Python side); null otherwise. */
  deviceName: string | null;
  /** What the side runs on: torch and transformers; libtorch and genius-native. */
  versions: Record<string, string>;
}

/** What every measurement records, on both sides (worker.ts; bench/python/measure.py). */
export interface MeasurementRecord {
  seconds: number;
  peakRssBytes: number;
  /** RSS when the measurement began: peak − baseline is what the measured work added. */
  baselineRssBytes: number;
  /** false where the kernel refused the reset: the peak is then the process's peak so far. */
  peakResettable: boolean;
  /** Peak CUDA memory of the allocator; null where it is not known (on our side: not exposed by the addon). */
  cudaPeakBytes: number | null;
}

export type Measurement<W extends WorkerWorkload> = MeasurementRecord & ResultOf[W] & { event: 'measurement' };

export interface ErrorEvent {
  event: 'error';
  message: string;
}

/** What our worker has loaded before a workload is prepared (the Python side's worker does the same). */
export interface Loaded {
  /** Absent for workloads that need no model. */
  model?: Model;
  tokenizer?: Tokenizer;
  device: string;
}

/** One measurement's work, prepared: everything not to be timed is done before it is returned. */
export type Run<W extends WorkerWorkload> = (params: MeasureParams) => Promise<ResultOf[W]>;

export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`this workload needs ${what}`);
  return value;
}

/** How a side's worker process is started. */
interface WorkerCommand {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** The interpreter of the reference stack: $GENIUS_PYTHON, else the project's .venv, else python3. */
export function referencePython(): string {
  const venv = path.join(packageRoot, '.venv', 'bin', 'python');
  return process.env.GENIUS_PYTHON ?? (fs.existsSync(venv) ? venv : 'python3');
}

/** The Python side's scripts. */
export const PYTHON_DIR = path.join(packageRoot, 'bench', 'python');

/** Offline, and no tokenizer threads competing with the measured ones. */
export const PYTHON_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  HF_HUB_OFFLINE: '1',
  TRANSFORMERS_OFFLINE: '1',
  TOKENIZERS_PARALLELISM: 'false',
  PYTHONUNBUFFERED: '1',
};

/**
 * Ours is lib/bench/worker in a fresh Node process (the same file flavour as this one: compiled .js from dist/, or
 * .ts under a TypeScript loader, which the child inherits through NODE_OPTIONS).
 */
function ourWorker(): WorkerCommand {
  return { command: process.execPath, args: [path.join(__dirname, `worker${path.extname(__filename)}`)] };
}

/** The reference's is bench/python/worker.py under the Python that holds torch and transformers. */
function referenceWorker(): WorkerCommand {
  return { command: referencePython(), args: [path.join(PYTHON_DIR, 'worker.py')], env: PYTHON_ENV };
}

/** Which side of the comparison a worker runs. */
export type Side = 'ours' | 'reference';

/** A measurement as it arrives, before the workload that it belongs to gives it its type. */
type Event = ReadyEvent | { event: 'measurement' } | ErrorEvent;

/** Output kept for an error message: the last this many characters. */
const KEPT_OUTPUT = 4000;

class WorkerError extends Error {}

/**
 * The benchmark's handle on one side's worker process: it sends the protocol's JSON lines and awaits the answers
 * one at a time. Lines on stdout that are not JSON events (a library's own prints) and everything on stderr are
 * kept, to be shown if the worker fails.
 */
export class WorkerProcess<W extends WorkerWorkload> {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #events: AsyncIterator<string>;
  #output = '';
  #exited: Promise<number | null>;

  private constructor(
    readonly side: Side,
    readonly workload: W,
    spec: WorkerCommand,
  ) {
    this.#child = spawn(spec.command, spec.args, { env: spec.env, stdio: 'pipe' });
    this.#child.stderr.on('data', (chunk: Buffer) => this.#keep(chunk.toString()));
    this.#exited = new Promise((resolve) => this.#child.on('close', (code) => resolve(code)));
    this.#child.on('error', (error) => this.#keep(`${error.message}\n`));
    // Writing to a worker that died fails on its stdin; the next read reports the death with its output.
    this.#child.stdin.on('error', (error) => this.#keep(`stdin: ${error.message}\n`));
    this.#events = readline.createInterface({ input: this.#child.stdout, crlfDelay: Infinity })[Symbol.asyncIterator]();
  }

  /** Starts a worker and sets it up; resolves once it is ready. */
  static async start<W extends WorkerWorkload>(
    side: Side,
    workload: W,
    spec: WorkerCommand,
    setup: SetupOf[W],
  ): Promise<{ worker: WorkerProcess<W>; ready: ReadyEvent }> {
    const worker = new WorkerProcess(side, workload, spec);
    worker.#send({ workload, setup });
    const ready = await worker.#next();
    if (ready.event !== 'ready') throw worker.#failure(ready);
    return { worker, ready };
  }

  /** The worker's process id (its CPU time is the benchmark's own, not another process's load). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** One measurement; throws WorkerError if the worker reports a failure or dies. */
  async measure(params: MeasureParams = {}): Promise<Measurement<W>> {
    this.#send(params);
    const event = await this.#next();
    if (event.event !== 'measurement') throw this.#failure(event);
    return event as unknown as Measurement<W>;
  }

  /** Ends the worker (its stdin closes and it exits). */
  async close(): Promise<void> {
    this.#child.stdin.end();
    await this.#exited;
  }

  /** Ends the worker at once (after a failure). */
  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }

  #keep(text: string): void {
    this.#output = (this.#output + text).slice(-KEPT_OUTPUT);
  }

  #send(message: object): void {
    this.#child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  async #next(): Promise<Event> {
    for (;;) {
      const line = await this.#events.next();
      if (line.done) {
        const code = await this.#exited;
        throw new WorkerError(`${this.#name()} exited (status ${code}) before answering:\n${this.#output}`);
      }
      if (line.value.startsWith('{"event"')) return JSON.parse(line.value) as Event;
      this.#keep(`${line.value}\n`);
    }
  }

  #failure(event: Event): WorkerError {
    const message = event.event === 'error' ? event.message : `unexpected ${event.event} event`;
    return new WorkerError(`${this.#name()} failed: ${message}\n${this.#output}`);
  }

  #name(): string {
    return `the ${this.side === 'ours' ? 'genius-native' : 'Python reference'} ${this.workload} worker`;
  }
}

/** What every workload's comparison needs. */
export interface CompareContext {
  common: CommonSetup;
  model: BenchModel;
  inputs: BenchInputs;
  plan: BenchPlan;
  tolerances: Tolerances;
  /** A directory for files the workers write (parity's logits). */
  scratch: string;
  log: (message: string) => void;
  /** Each side's first ready event: versions and threads, for the report. */
  ready: Partial<Record<Side, ReadyEvent>>;
  /** FLOP/s of large float32 matmuls on this machine (machine.ts), measured at the start. */
  matmulRate: number;
  /** The machine's load while each workload's measurements ran (the last run of a workload). */
  loads: Partial<Record<WorkerWorkload, LoadReport>>;
}

type Workers<W extends WorkerWorkload> = Record<Side, WorkerProcess<W>>;

/** Starts both sides' workers for `workload`, runs `body` with them, and ends them. */
export async function withWorkers<W extends WorkerWorkload, T>(
  context: CompareContext,
  workload: W,
  setupFor: (side: Side) => SetupOf[W],
  body: (workers: Workers<W>) => Promise<T>,
): Promise<T> {
  context.log(`${workload}: setting up both sides`);
  const started = await Promise.allSettled([
    WorkerProcess.start('ours', workload, ourWorker(), setupFor('ours')),
    WorkerProcess.start('reference', workload, referenceWorker(), setupFor('reference')),
  ]);
  const [ours, reference] = started.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : undefined));
  const failed = started.find((outcome) => outcome.status === 'rejected');
  if (ours === undefined || reference === undefined) {
    ours?.worker.kill();
    reference?.worker.kill();
    throw (failed as PromiseRejectedResult).reason;
  }
  context.ready.ours ??= ours.ready;
  context.ready.reference ??= reference.ready;
  const workers = { ours: ours.worker, reference: reference.worker };
  try {
    const pids = [workers.ours.pid, workers.reference.pid].filter((pid) => pid !== undefined);
    const { result, load } = await withLoadWatch(pids, () => body(workers));
    context.loads[workload] = load;
    await Promise.all([workers.ours.close(), workers.reference.close()]);
    return result;
  } finally {
    workers.ours.kill();
    workers.reference.kill();
  }
}

/** Both sides' measurements of `workload`: one warm-up each, then the plan's repeats, taking turns. */
export async function interleaved<W extends WorkerWorkload>(
  context: CompareContext,
  workload: W,
  setup: SetupOf[W],
): Promise<SideMeasurements<Measurement<W>>> {
  const { repeats } = context.plan;
  return withWorkers(
    context,
    workload,
    () => setup,
    async (workers) => {
      const measurements: SideMeasurements<Measurement<W>> = { ours: [], reference: [] };
      context.log(`${workload}: warm-up`);
      await workers.ours.measure({ repeat: repeats });
      await workers.reference.measure({ repeat: repeats });
      for (let repeat = 0; repeat < repeats; repeat++) {
        for (const side of ['ours', 'reference'] as const) {
          const measurement = await workers[side].measure({ repeat });
          measurements[side].push(measurement);
          context.log(`${workload}: ${side} ${repeat + 1}/${repeats} took ${measurement.seconds.toFixed(2)} s`);
        }
      }
      return measurements;
    },
  );
}
