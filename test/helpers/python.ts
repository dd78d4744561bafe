/**
 * Runs the Python reference (PyTorch, transformers, tokenizers in the project venv) from tests.
 * A reference script reads one JSON object on stdin and prints one JSON object on stdout.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/** The interpreter holding the reference stack: $GENIUS_PYTHON, else .venv, else python3. */
export const python: string =
  process.env.GENIUS_PYTHON ??
  (fs.existsSync(path.join(root, '.venv', 'bin', 'python')) ? path.join(root, '.venv', 'bin', 'python') : 'python3');

/** Runs test/reference/<script> with `input` as JSON on stdin; returns its parsed JSON stdout. */
export function runReference<T = unknown>(script: string, input: unknown = {}): T {
  const result = spawnSync(python, [path.join(root, 'test', 'reference', script)], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(`${python} test/reference/${script} failed (exit ${result.status}):\n${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}
