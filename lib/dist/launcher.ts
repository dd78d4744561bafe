/**
 * The launcher of `genius-native launch`: starts this machine's ranks of a distributed run as child processes with
 * torchrun's environment, supervises them as torchrun's agent does, and needs no Python. Each rank's output lines
 * come out prefixed with its rank; SIGINT, SIGTERM and SIGHUP are passed on to every rank; when one rank fails the
 * others are stopped and, while restarts remain, all are started again (TORCHELASTIC_RESTART_COUNT tells them
 * which attempt they are), else the launcher fails with the failed rank's exit code. As under torchrun, ranks sharing
 * a machine get one OpenMP thread each unless OMP_NUM_THREADS says otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import { invalidArgument } from '../errors';

export interface LaunchOptions {
  /** Ranks on this machine. */
  nprocPerNode: number;
  /** Machines in the run (default 1), and this one's index among them (default 0). */
  nnodes?: number;
  nodeRank?: number;
  /** Where rank 0 hosts the store (defaults 127.0.0.1 and 29500, as torchrun's). */
  masterAddr?: string;
  masterPort?: number;
  /** Times all ranks are started again after one fails (default 0). */
  maxRestarts?: number;
  /** The program each rank runs and its arguments, for restart `restart` (0: the first start). */
  command: (restart: number) => string[];
  /** How long a rank asked to stop may take before it is killed (default 10 s). */
  stopGraceSeconds?: number;
  /** Where the ranks' prefixed lines go (default this process's stdout and stderr). */
  stdout?: Writable;
  stderr?: Writable;
}

export const DEFAULT_MASTER_ADDR = '127.0.0.1';
export const DEFAULT_MASTER_PORT = 29500;
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

interface Rank {
  rank: number;
  child: ChildProcess;
  exit: Promise<number>;
}

/** A child's exit as a shell reports it: its code, or 128 + the signal that ended it. */
function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? constants.signals[signal] : 0);
}

/** Writes `stream`'s lines to `out`, each after `prefix`; a last line without a newline is written at the end. */
function prefixLines(stream: NodeJS.ReadableStream, out: Writable, prefix: string): Promise<void> {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) out.write(`${prefix}${line}\n`);
  });
  return new Promise((resolve) =>
    stream.on('end', () => {
      if (pending !== '') out.write(`${prefix}${pending}\n`);
      resolve();
    }),
  );
}

function checkOptions(options: LaunchOptions): Required<Omit<LaunchOptions, 'stdout' | 'stderr'>> {
  const {
    nprocPerNode,
    nnodes = 1,
    nodeRank = 0,
    masterAddr = DEFAULT_MASTER_ADDR,
    masterPort = DEFAULT_MASTER_PORT,
    maxRestarts = 0,
    stopGraceSeconds = 10,
    command,
  } = options;
  const count = (name: string, value: number, min: number, max = 1 << 20): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      invalidArgument(name, `an integer in [${min}, ${max}] (got ${String(value)})`);
    }
  };
  count('nprocPerNode', nprocPerNode, 1);
  count('nnodes', nnodes, 1);
  count('nodeRank', nodeRank, 0, nnodes - 1);
  count('masterPort', masterPort, 1, 65535);
  count('maxRestarts', maxRestarts, 0);
  if (typeof masterAddr !== 'string' || masterAddr === '') invalidArgument('masterAddr', 'a host name or address');
  if (!(stopGraceSeconds >= 0)) invalidArgument('stopGraceSeconds', 'a number of seconds >= 0');
  if (typeof command !== 'function') invalidArgument('command', 'a function of the restart count');
  return { nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, maxRestarts, stopGraceSeconds, command };
}

/**
 * Runs the ranks to their end and resolves with the launcher's exit code: 0 when every rank succeeded (after
 * restarts, if any), else the exit code of the rank that failed first (128 + signal for a signal), or 128 + the
 * signal that stopped the launcher.
 */
export async function launch(options: LaunchOptions): Promise<number> {
  const settings = checkOptions(options);
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const note = (line: string): boolean => stderr.write(`launch: ${line}\n`);
  // As torchrun: ranks sharing a machine would oversubscribe its cores, each with a thread per core.
  const threads = process.env.OMP_NUM_THREADS ?? (settings.nprocPerNode > 1 ? '1' : undefined);
  let running: Rank[] = [];
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal kills the ranks that have not stopped yet.
    const kill = stoppedBy !== undefined;
    stoppedBy = signal;
    if (!kill) note(`${signal}: passing it on to every rank`);
    for (const { child } of running) if (child.exitCode === null) child.kill(kill ? 'SIGKILL' : signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  try {
    for (let restart = 0; ; restart++) {
      running = startRanks(settings, restart, threads, stdout, stderr);
      const failed = await firstFailure(running);
      if (failed !== undefined && stoppedBy === undefined) {
        note(`rank ${failed.rank} exited with code ${failed.code}; stopping the other ranks`);
        await stopAll(running, settings.stopGraceSeconds);
      }
      await Promise.all(running.map((rank) => rank.exit));
      if (stoppedBy !== undefined) return 128 + constants.signals[stoppedBy];
      if (failed === undefined) return 0;
      if (restart >= settings.maxRestarts) {
        if (settings.maxRestarts > 0) note(`no restart left (--max-restarts ${settings.maxRestarts})`);
        return failed.code;
      }
      note(`restarting all ranks (restart ${restart + 1} of ${settings.maxRestarts})`);
    }
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}

function startRanks(
  settings: ReturnType<typeof checkOptions>,
  restart: number,
  threads: string | undefined,
  stdout: Writable,
  stderr: Writable,
): Rank[] {
  const [file, ...args] = settings.command(restart);
  const worldSize = settings.nnodes * settings.nprocPerNode;
  return Array.from({ length: settings.nprocPerNode }, (_, localRank): Rank => {
    const rank = settings.nodeRank * settings.nprocPerNode + localRank;
    // Its own process group: a terminal's Ctrl-C reaches the ranks once, through the launcher, not twice.
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(localRank),
        LOCAL_WORLD_SIZE: String(settings.nprocPerNode),
        GROUP_RANK: String(settings.nodeRank),
        MASTER_ADDR: settings.masterAddr,
        MASTER_PORT: String(settings.masterPort),
        TORCHELASTIC_RESTART_COUNT: String(restart),
        TORCHELASTIC_MAX_RESTARTS: String(settings.maxRestarts),
        ...(threads === undefined ? {} : { OMP_NUM_THREADS: threads }),
      },
    });
    const prefix = `[rank ${rank}] `;
    const output = Promise.all([prefixLines(child.stdout!, stdout, prefix), prefixLines(child.stderr!, stderr, prefix)]);
    const exit = new Promise<number>((resolve) => {
      child.on('error', (error) => {
        stderr.write(`${prefix}cannot start ${file}: ${error.message}\n`);
        resolve(127);
      });
      child.on('exit', (code, signal) => resolve(exitCode(code, signal)));
    });
    // Settles once the output is written too, so that no line of a rank comes after the launcher's verdict.
    return { rank, child, exit: Promise.all([exit, output]).then(([code]) => code) };
  });
}

/** The first rank to exit with a non-zero code, or undefined once all have succeeded. */
async function firstFailure(ranks: Rank[]): Promise<{ rank: number; code: number } | undefined> {
  return await new Promise((resolve) => {
    let succeeded = 0;
    for (const { rank, exit } of ranks) {
      void exit.then((code) => {
        if (code !== 0) resolve({ rank, code });
        else if (++succeeded === ranks.length) resolve(undefined);
      });
    }
  });
}

/** Asks every running rank to stop (SIGTERM) and kills those still running after the grace period. */
async function stopAll(ranks: Rank[], graceSeconds: number): Promise<void> {
  const alive = ranks.filter(({ child }) => child.exitCode === null && child.signalCode === null);
  for (const { child } of alive) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { child } of alive) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, graceSeconds * 1000);
  await Promise.all(alive.map((rank) => rank.exit));
  clearTimeout(timer);
}
