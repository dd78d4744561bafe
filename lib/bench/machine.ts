/**
 * The machine a benchmark runs on, and how far to trust it while it runs. Its description heads the report, with
 * its float32 matmul rate, measured once at the start as a chain of large square matmuls through libtorch with
 * the threads the sides use: the roofline rows give a workload's model FLOPs per second as a share of it (2 per
 * matmul parameter per token through a forward, 6 with the backward; attention scores left out, so the share is a
 * floor, comparable between the sides).
 *
 * Was the machine quiet while a workload ran? The 1-minute load average before and after is printed, but it
 * counts the benchmark's own workers (and the workload before), so the verdict comes from CPU time instead: the
 * machine's busy time (/proc/stat) minus the CPU time of this process and of the workers, over the wall time, is
 * what other processes took. More than a fifth of a core marks the workload noisy.
 */
import fs from 'node:fs';
import os from 'node:os';
import { matmulChain } from '../runtime';
import { Tensor } from '../tensor';
import type { BenchReport } from './results';

export function describeMachine(
  device: string,
  deviceName: string | null,
  matmulFlops: number,
): BenchReport['machine'] {
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

const MATMUL_SIZE = 1024;
const WARM_UP_STEPS = 4;
const STEPS = 16;

/** FLOP/s of float32 matmuls of MATMUL_SIZE² on the CPU (the chain's tanh is a rounding error next to them). */
export async function measureMatmulRate(): Promise<number> {
  // Entries of order 1 keep the chain's values of order 1 (x·a/√n, then tanh): small ones would decay
  // into denormals, which multiply a hundred times slower.
  const values = Float32Array.from({ length: MATMUL_SIZE * MATMUL_SIZE }, (_, i) => Math.sin(i));
  using a = Tensor.from(values, [MATMUL_SIZE, MATMUL_SIZE]);
  (await matmulChain(a, WARM_UP_STEPS)).dispose();
  const started = performance.now();
  (await matmulChain(a, STEPS)).dispose();
  const seconds = (performance.now() - started) / 1000;
  return (2 * MATMUL_SIZE ** 3 * STEPS) / seconds;
}

/** Other processes' CPU use above which a workload's numbers are marked noisy, in cores. */
const NOISY_CORES = 0.2;

export interface LoadReport {
  /** 1-minute load average before the measurements and after them. */
  before: number;
  after: number;
  /** Cores' worth of CPU time that other processes used during the measurements. */
  otherCores: number;
  noisy: boolean;
}

interface Snapshot {
  at: number;
  load: number;
  busySeconds: number;
  ownSeconds: number;
}

const CLOCK_TICKS = 100; // USER_HZ: the unit of /proc/stat and /proc/<pid>/stat on Linux

function busySeconds(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return (user + nice + system + irq + softirq + (steal ?? 0)) / CLOCK_TICKS;
}

function processSeconds(pid: number): number {
  try {
    // Fields after the command (which may hold spaces) start at ')'; utime and stime are fields 14 and 15.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(/\s+/);
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0; // the worker has exited
  }
}

function snapshot(pids: readonly number[]): Snapshot {
  const own = process.cpuUsage();
  return {
    at: performance.now(),
    load: os.loadavg()[0],
    busySeconds: busySeconds(),
    ownSeconds: (own.user + own.system) / 1e6 + pids.reduce((sum, pid) => sum + processSeconds(pid), 0),
  };
}

/** Runs `body` and reports the machine's load around it; `pids` are the benchmark's worker processes. */
export async function withLoadWatch<T>(
  pids: readonly number[],
  body: () => Promise<T>,
): Promise<{ result: T; load: LoadReport }> {
  const start = snapshot(pids);
  const result = await body();
  const end = snapshot(pids);
  const seconds = (end.at - start.at) / 1000;
  const other = end.busySeconds - start.busySeconds - (end.ownSeconds - start.ownSeconds);
  const otherCores = seconds > 0 ? Math.max(0, other / seconds) : 0;
  return { result, load: { before: start.load, after: end.load, otherCores, noisy: otherCores > NOISY_CORES } };
}

export function describeLoad(load: LoadReport): string {
  return (
    `load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after; other processes used ` +
    `${load.otherCores.toFixed(2)} cores: ${load.noisy ? 'NOISY' : 'quiet'}`
  );
}
