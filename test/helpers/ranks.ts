/**
 * Runs a distributed run's ranks as Node child processes on 127.0.0.1, each with torchrun's environment (RANK,
 * WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), as `torchrun` or `genius-native launch` would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const registerTs = path.join(__dirname, 'register-ts.js');

/** A TCP port that nothing listened on a moment ago (the system picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** torchrun's variables for `rank` of `worldSize` processes on this machine. */
export function launchEnvironment(rank: number, worldSize: number, port: number): Record<string, string> {
  return {
    RANK: String(rank),
    WORLD_SIZE: String(worldSize),
    LOCAL_RANK: String(rank),
    LOCAL_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(port),
  };
}

export interface RankResult {
  rank: number;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface StartedRank {
  child: ChildProcess;
  /** Its output so far. */
  readonly stdout: string;
  /** Settles when it has exited. */
  result: Promise<RankResult>;
}

/**
 * Starts the TypeScript file `script` with `args` as `worldSize` ranks. A rank still running after `timeoutMs` is
 * killed (its signal then says so), so a hang fails a test instead of stalling it.
 */
export function startRanks(
  script: string,
  args: string[],
  worldSize: number,
  timeoutMs: number,
  port: number,
): StartedRank[] {
  return Array.from({ length: worldSize }, (_, rank) => {
    const child = spawn(process.execPath, ['--require', registerTs, script, ...args], {
      env: { ...process.env, ...launchEnvironment(rank, worldSize, port) },
    });
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const result = new Promise<RankResult>((resolve) =>
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        resolve({ rank, status, signal, ...output });
      }),
    );
    return {
      child,
      get stdout() {
        return output.stdout;
      },
      result,
    };
  });
}

/** Runs `script` as `worldSize` ranks (as startRanks) and resolves with each one's exit, in rank order. */
export async function runRanks(
  script: string,
  args: string[],
  worldSize: number,
  timeoutMs: number,
): Promise<RankResult[]> {
  const ranks = startRanks(script, args, worldSize, timeoutMs, await freePort());
  return await Promise.all(ranks.map((rank) => rank.result));
}

/** The arguments that run a command as 2 ranks under `genius-native launch` (on a free port), before the command. */
export async function launchArgs(...flags: string[]): Promise<string[]> {
  return ['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), ...flags, '--'];
}
