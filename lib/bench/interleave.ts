/**
 * Running one workload on both sides: the two workers are started and set up side by side, then take turns, one
 * measurement at a time (ours, reference, ours, reference, ...) after one warm-up measurement each, so that a
 * machine that slows down or speeds up during the run weighs on both sides alike.
 */
import type { BenchInputs } from './inputs';
import type { BenchModel } from './bench-model';
import type { Tolerances } from './checks';
import { withLoadWatch, type LoadReport } from './machine-load';
import type { BenchPlan } from './plan';
import type { CommonSetup, Measurement, ReadyEvent, SetupOf, WorkerWorkload } from './protocol';
import { ourWorker, referenceWorker } from './sides';
import { WorkerProcess, type Side } from './worker-process';

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
  /** FLOP/s of large float32 matmuls on this machine (roofline.ts), measured at the start. */
  matmulRate: number;
  /** The machine's load while each workload's measurements ran (the last run of a workload). */
  loads: Partial<Record<WorkerWorkload, LoadReport>>;
}

export type Workers<W extends WorkerWorkload> = Record<Side, WorkerProcess<W>>;

export interface PairedMeasurements<W extends WorkerWorkload> {
  ours: Measurement<W>[];
  reference: Measurement<W>[];
}

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

/** One warm-up measurement per side, then `repeats` interleaved ones. */
export async function interleaved<W extends WorkerWorkload>(
  context: CompareContext,
  workers: Workers<W>,
  repeats: number,
): Promise<PairedMeasurements<W>> {
  const workload = workers.ours.workload;
  const measurements: PairedMeasurements<W> = { ours: [], reference: [] };
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
}
