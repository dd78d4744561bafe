/** Runs the genius-native CLI (from its TypeScript sources) in a child process, as a user would. */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const runner = path.join(__dirname, 'run-cli.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; with `timeoutMs` (for a command that must not hang) it is killed past that time. */
export function runCli(args: string[], timeoutMs?: number): CliResult {
  const result = spawnSync(process.execPath, [runner, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    timeout: timeoutMs,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function spawnCli(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [runner, ...args]);
}
