/**
 * Faults of a distributed run. A rank that dies or hangs makes the others fail within the timeout with
 * ERR_GENIUS_DIST_PEER naming it (the store's host, rank 0, by the store it hosted); nothing waits forever. A
 * data-parallel run whose rank 1 is killed mid-run makes `launch` fail, and `--resume`, or `--max-restarts 1` by
 * itself, ends with the weights of an uninterrupted run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli';
import { freePort, launchArgs, startRanks, type StartedRank } from './helpers/ranks';
import { readWeights } from './helpers/weights';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-faults-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const script = path.join(__dirname, 'helpers', 'fault-rank.ts');
const TIMEOUT_SECONDS = 5;

/** Resolves once every rank has said it is ready (they then sum over and over). */
async function ready(ranks: StartedRank[]): Promise<void> {
  while (!ranks.every((rank) => rank.stdout.includes('"ready"'))) await new Promise((go) => setTimeout(go, 50));
}

const failure = (stdout: string): { error: string; message: string } =>
  JSON.parse(stdout.trim().split('\n').pop()!) as { error: string; message: string };

test.each([
  ['dies', 'SIGKILL', 1, 0, /^rank 1 stopped answering \(died or hangs\); all-reduce/],
  ['hangs', 'SIGSTOP', 1, 0, /^rank 1 stopped answering \(died or hangs\); all-reduce .*timed out/i],
  ['hosting the store dies', 'SIGKILL', 0, 1, /^the store at .* stopped answering: its host \(rank 0/],
] as const)('a rank that %s makes the other fail, naming it', async (_, signal, victim, survivor, message) => {
  const ranks = startRanks(script, [String(TIMEOUT_SECONDS)], 2, 60_000, await freePort());
  await ready(ranks);
  ranks[victim].child.kill(signal);
  const result = await ranks[survivor].result;
  ranks[victim].child.kill('SIGKILL');
  expect(result.status).toBe(1);
  expect(failure(result.stdout)).toEqual({ error: 'ERR_GENIUS_DIST_PEER', message: expect.stringMatching(message) });
});

describe('a data-parallel run whose rank 1 is killed mid-run', () => {
  const pairsFile = path.join(dir, 'pairs.jsonl');
  const modelDir = path.join(__dirname, '..', 'models', 'default');
  fs.writeFileSync(
    pairsFile,
    Array.from({ length: 8 }, (_, i) =>
      JSON.stringify({
        prompt: `Eli has ${i + 30} cards. Eli gets ${i + 1}. How many cards does Eli have now?`,
        chosen: [
          {
            role: 'assistant',
            content: `${i + 30} + ${i + 1} = ${2 * i + 31}.\nThe answer is \\boxed{${2 * i + 31}}.`,
          },
        ],
        rejected: [{ role: 'assistant', content: `I work it out in my head.\nThe answer is \\boxed{${i}}.` }],
        chosen_weights: 0.2 + 0.1 * i,
        rejected_weights: -0.1 * i,
      }),
    )
      .map((line) => `${line}\n`)
      .join(''),
  );
  const optimizeArgs = (out: string): string[] => [
    'optimize',
    ...['--model', modelDir, '--pairs', pairsFile, '--out', out, '--dist-timeout', String(TIMEOUT_SECONDS)],
    ...['--lr', '1e-4', '--batch-size', '1', '--grad-accum', '1', '--steps', '24', '--save-steps', '1'],
  ];
  const uninterrupted = path.join(dir, 'uninterrupted');

  beforeAll(async () => {
    const result = runCli([...(await launchArgs()), ...optimizeArgs(uninterrupted)], 300_000);
    expect(result.status).toBe(0);
  });

  /** Runs `args` under the launcher, kills rank 1 once rank 0 has reported step 3, and resolves with the outcome. */
  async function killRankOne(args: string[]): Promise<{ status: number | null; stderr: string }> {
    const launcher = spawn(process.execPath, [path.join(__dirname, 'helpers', 'run-cli.js'), ...args]);
    let stderr = '';
    let killed = false;
    launcher.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (killed || !/\[rank 0\] step 3\//.test(stderr)) return;
      killed = true;
      // The launcher's children are the ranks; rank 1 is the one whose environment says so.
      for (const pid of fs.readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8').split(' ')) {
        if (pid.trim() === '') continue;
        const environment = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        if (environment.includes('RANK=1')) process.kill(Number(pid), 'SIGKILL');
      }
    });
    const status = await new Promise<number | null>((resolve) => launcher.on('close', resolve));
    expect(killed).toBe(true);
    return { status, stderr };
  }

  async function expectUninterruptedWeights(out: string): Promise<void> {
    const read = async (checkpoint: string): Promise<Record<string, number[]>> =>
      Object.fromEntries([...(await readWeights(checkpoint))].map(([name, values]) => [name, Array.from(values)]));
    // The same steps from the same checkpointed state: the same weights, bit for bit.
    expect(await read(out)).toEqual(await read(uninterrupted));
  }

  it('fails, naming the rank, and --resume ends with the weights of an uninterrupted run', async () => {
    const out = path.join(dir, 'resumed');
    const killed = await killRankOne([...(await launchArgs()), ...optimizeArgs(out)]);
    expect(killed.status).not.toBe(0);
    // The launcher names the rank and stops the others (the test above checks what a rank left alone says).
    expect(killed.stderr).toMatch(/launch: rank 1 exited with code 137; stopping the other ranks/);
    const resumed = runCli([...(await launchArgs()), ...optimizeArgs(out), '--resume'], 300_000);
    expect(resumed.status).toBe(0);
    await expectUninterruptedWeights(out);
  });

  it('with --max-restarts 1 restarts the ranks, resuming, to the same weights', async () => {
    const out = path.join(dir, 'restarted');
    const restarted = await killRankOne([...(await launchArgs('--max-restarts', '1')), ...optimizeArgs(out)]);
    expect(restarted.stderr).toMatch(/restarting all ranks \(restart 1 of 1\)/);
    expect(restarted.status).toBe(0);
    await expectUninterruptedWeights(out);
  });
});
