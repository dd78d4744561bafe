/**
 * Garbage into every root export of lib/index.ts (test/helpers/fuzz-exports.ts, in a child process): no crash, no
 * signal, and every error thrown carries an ERR_GENIUS_* code. Seeded and bounded: the same few hundred calls each
 * run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const register = path.join(__dirname, 'helpers', 'register-ts.js');
const script = path.join(__dirname, 'helpers', 'fuzz-exports.ts');

test.each([1, 2])(
  'seed %i: 300 calls, each refused with a code or done',
  (seed) => {
    // A call given no options may start a run in runs/ of its working directory: a temporary one.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-fuzz-'));
    try {
      const child = spawnSync(process.execPath, ['--require', register, script, String(seed), '300'], {
        cwd,
        encoding: 'utf8',
        timeout: 240_000,
      });
      expect({ signal: child.signal, status: child.status, stderr: child.stderr }).toEqual({
        signal: null,
        status: 0,
        stderr: '',
      });
      const report = JSON.parse(child.stdout) as { targets: string[]; calls: number; uncoded: unknown[] };
      expect(report.targets.length).toBeGreaterThan(40);
      expect(report.calls).toBeGreaterThanOrEqual(report.targets.length);
      expect(report.uncoded).toEqual([]);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  },
  300_000,
);
