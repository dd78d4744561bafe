/**
 * How each side's worker process is started: ours is lib/bench/worker in a fresh Node process (the same file
 * flavour as this one: compiled .js from dist/, or .ts under a TypeScript loader, which the child inherits through
 * NODE_OPTIONS), the reference's is bench/python/worker.py under the Python that holds torch and transformers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../package-root';
import type { WorkerCommand } from './worker-process';

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

export function ourWorker(): WorkerCommand {
  return { command: process.execPath, args: [path.join(__dirname, `worker${path.extname(__filename)}`)] };
}

export function referenceWorker(): WorkerCommand {
  return { command: referencePython(), args: [path.join(PYTHON_DIR, 'worker.py')], env: PYTHON_ENV };
}
