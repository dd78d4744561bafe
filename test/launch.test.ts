/**
 * `genius-native launch` and torchrun start the same ranks: the collectives of test/helpers/collectives-rank.ts run
 * under both. The launcher prefixes each line with its rank, stops the other ranks when one fails and exits with its
 * code, restarts all of them with --max-restarts, and passes a signal on to every rank.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli';
import { freePort } from './helpers/ranks';

const registerTs = path.join(__dirname, 'helpers', 'register-ts.js');
const rankScript = (name: string): string[] => ['node', '--require', registerTs, path.join(__dirname, 'helpers', name)];
const torchrun = path.join(__dirname, '..', '.venv', 'bin', 'torchrun');

/** The JSON line each rank printed (after its prefix, if any), by rank. */
function rankLines(stdout: string, prefixed: boolean): unknown[] {
  const lines = stdout.split('\n').filter((line) => line.includes('{'));
  const results: unknown[] = [];
  for (const line of lines) {
    const match = prefixed ? /^\[rank (\d+)\] (.*)$/.exec(line) : [line, '', line];
    expect(match).not.toBeNull();
    const result = JSON.parse(match![2]) as { rank: number };
    if (prefixed) expect(result.rank).toBe(Number(match![1]));
    results[result.rank] = result;
  }
  return results;
}

test('launch and torchrun --no-python run the same two ranks', async () => {
  const launched = runCli(
    [
      'launch',
      '--nproc-per-node',
      '2',
      '--master-port',
      String(await freePort()),
      '--',
      ...rankScript('collectives-rank.ts'),
    ],
    120_000,
  );
  expect(launched.stderr).not.toMatch(/launch:/);
  expect(launched.status).toBe(0);
  const viaLaunch = rankLines(launched.stdout, true);

  // torchrun's agent hosts the store the ranks meet at (TORCHELASTIC_USE_AGENT_STORE).
  const run = spawnSync(
    torchrun,
    [
      '--nproc-per-node',
      '2',
      '--master-port',
      String(await freePort()),
      '--no-python',
      ...rankScript('collectives-rank.ts'),
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(run.status).toBe(0);
  const viaTorchrun = rankLines(run.stdout, false);
  expect(viaLaunch).toHaveLength(2);
  expect(viaTorchrun).toEqual(viaLaunch);
  expect(viaLaunch[1]).toEqual(expect.objectContaining({ rank: 1, size: 2, sum: [3, 30] }));
});

test('a failed rank stops the others; the launcher exits with its code', () => {
  const failing = "if (process.env.RANK === '1') process.exit(3); setTimeout(() => {}, 600000)";
  const result = runCli(['launch', '--nproc-per-node', '2', '--', 'node', '-e', failing], 60_000);
  expect(result.status).toBe(3);
  expect(result.stderr).toMatch(/launch: rank 1 exited with code 3; stopping the other ranks/);
});

test('--max-restarts starts every rank again, told which restart it is', () => {
  // On the first start rank 1 fails once rank 0 has said it started (a file says so), then rank 0 waits to be
  // stopped; on the restart both succeed.
  const started = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-launch-'));
  const once = [
    "const fs = require('node:fs');",
    'const { RANK, TORCHELASTIC_RESTART_COUNT: restart } = process.env;',
    'console.log(`rank ${RANK} start ${restart}`);',
    `const mark = ${JSON.stringify(path.join(started, 'rank-0'))} + restart;`,
    "if (RANK === '0') fs.writeFileSync(mark, '');",
    'const fail = () => (fs.existsSync(mark) ? process.exit(4) : setTimeout(fail, 10));',
    "if (RANK === '1' && restart === '0') fail();",
    "if (RANK === '0' && restart === '0') setTimeout(() => {}, 600000);",
  ].join('\n');
  const result = runCli(['launch', '--nproc-per-node', '2', '--max-restarts', '1', '--', 'node', '-e', once], 60_000);
  expect(result.status).toBe(0);
  expect(result.stderr).toMatch(/rank 1 exited with code 4[^]*restarting all ranks \(restart 1 of 1\)/);
  for (const rank of [0, 1]) {
    for (const restart of [0, 1]) expect(result.stdout).toContain(`[rank ${rank}] rank ${rank} start ${restart}`);
  }

  const always = runCli(
    ['launch', '--nproc-per-node', '2', '--max-restarts', '1', '--', 'node', '-e', 'process.exit(5)'],
    60_000,
  );
  expect(always.status).toBe(5);
  expect(always.stderr).toMatch(/no restart left \(--max-restarts 1\)/);
  fs.rmSync(started, { recursive: true, force: true });
});

test('a signal to the launcher reaches every rank', async () => {
  const launcher = spawn(process.execPath, [
    path.join(__dirname, 'helpers', 'run-cli.js'),
    'launch',
    '--nproc-per-node',
    '2',
    '--',
    ...rankScript('signal-rank.ts'),
  ]);
  let stdout = '';
  const ready = new Promise<void>((resolve) =>
    launcher.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if ((stdout.match(/ready/g) ?? []).length === 2) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => launcher.on('close', (code) => resolve(code)));
  await ready;
  launcher.kill('SIGTERM');
  expect(await exited).toBe(128 + 15);
  expect(stdout).toContain('[rank 0] stopped by SIGTERM');
  expect(stdout).toContain('[rank 1] stopped by SIGTERM');
});
