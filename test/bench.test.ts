/**
 * `genius-native bench --quick` end to end on a tiny random model with the smallest sizes: both sides' workers
 * run every workload, and the JSON report must be well-formed with every parity check holding. Timings are not
 * checked: they say nothing on a shared test machine.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchReport, MetricRow } from '../lib/bench/results';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-bench-test-'));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

const LOGPROB_LENGTHS = [128, 256];
// The smallest run that still does every workload: 1 measurement per side after the warm-up.
const SIZES = [
  ...['--repeats', '1', '--prompts', '2', '--samples', '2', '--max-new-tokens', '8'],
  ...['--queries', '1', '--step-tokens', '8', '--final-tokens', '8'],
  ...['--pairs', '2', '--sequence-length', '48', '--greedy-tokens', '8'],
  ...['--logprob-lengths', ...LOGPROB_LENGTHS.map(String)],
];

const finite = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);

/**
 * Runs the CLI from its TypeScript sources (helpers/run-cli.js); the loader reaches the worker processes that the
 * benchmark starts through NODE_OPTIONS.
 */
function bench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const register = path.join(__dirname, 'helpers', 'register-ts.js');
  return spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'run-cli.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${register}`.trim() },
  });
}

describe('bench --quick', () => {
  let report: BenchReport;
  let stdout: string;
  beforeAll(() => {
    const run = bench(['bench', '--quick', '--arch', 'tiny', '--out', out, ...SIZES]);
    if (run.status !== 0) throw new Error(`bench exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
    stdout = run.stdout;
    report = JSON.parse(fs.readFileSync(path.join(out, 'bench.json'), 'utf8')) as BenchReport;
  }, 300_000);

  it('writes a well-formed report naming the machine, both sides and the model', () => {
    expect(report.format).toBe('genius-native-bench');
    expect(report.mode).toBe('quick');
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.device).toBe('cpu');
    expect(report.sides.ours.versions).toHaveProperty('libtorch');
    expect(report.sides.reference.versions).toHaveProperty('transformers');
    expect(report.model).toMatchObject({ source: 'random', arch: 'tiny', vocab: 32768 });
    expect(Object.keys(report.workloads).sort()).toEqual(['foresight', 'parity', 'rollout', 'train']);
  });

  it('holds every parity check, so every workload is valid and has ratios', () => {
    for (const [name, workload] of Object.entries(report.workloads)) {
      expect({ name, failed: workload.checks.filter((check) => !check.holds) }).toEqual({ name, failed: [] });
      expect(workload.valid).toBe(true);
      workload.metrics.forEach((row: MetricRow) => {
        for (const side of [row.ours, row.reference]) {
          expect(side.values).toHaveLength(report.plan.repeats);
          expect(finite(side.median) && finite(side.spread)).toBe(true);
        }
        expect(finite(row.ratio)).toBe(true);
      });
    }
    expect(report.workloads.parity!.checks.map((check) => check.name)).toHaveLength(4);
    expect(report.workloads.rollout!.metrics.map((row) => row.metric)).toContain('new tokens/s');
  });

  it('measures the log-prob stage at every length on both sides, with the same log-probs', () => {
    const memory = report.workloads.train!.logprobMemory;
    expect(memory.vocab).toBeGreaterThanOrEqual(32768);
    expect(memory.rows.map((row) => row.length)).toEqual(LOGPROB_LENGTHS);
    for (const row of memory.rows) {
      expect(row.ours).toHaveProperty('peakDeltaBytes');
      expect(row.reference).toHaveProperty('peakDeltaBytes');
      expect(row.maxAbsDiff).toBeLessThanOrEqual(1e-3);
    }
    expect(memory.check?.holds).toBe(true);
  });

  it('measures the matmul rate, gives each workload its roofline share and the machine load it ran under', () => {
    expect(report.machine.matmulFlops).toBeGreaterThan(1e8);
    for (const name of ['rollout', 'foresight', 'train'] as const) {
      const roofline = report.workloads[name]!.metrics.find((row) => row.metric === 'share of matmul rate');
      expect(roofline?.ours.median).toBeGreaterThan(0);
      expect(roofline?.reference.median).toBeGreaterThan(0);
    }
    for (const workload of Object.values(report.workloads)) {
      expect(workload.load).toMatchObject({ noisy: expect.any(Boolean) });
      expect(finite(workload.load!.before) && finite(workload.load!.otherCores)).toBe(true);
    }
    expect(stdout).toMatch(/other processes used [\d.]+ cores: (quiet|NOISY)/);
  });

  it('prints the table and writes the markdown', () => {
    expect(stdout).toContain('ours / reference');
    const markdown = fs.readFileSync(path.join(out, 'bench.md'), 'utf8');
    expect(markdown).toMatch(/^### genius-native bench \(quick\)/);
    expect(markdown).toContain('| workload | metric | ours | reference | ours / reference |');
  });
});

describe('bench --profile', () => {
  it("names our side's phases and ops for each workload, with their share of the native time", () => {
    const run = bench(['bench', '--profile', '--arch', 'tiny', '--only', 'rollout', 'train', ...SIZES]);
    if (run.status !== 0) throw new Error(`bench exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
    expect(run.stdout).toMatch(/^rollout: [\d.]+ ms in native ops/m);
    expect(run.stdout).toMatch(/^train: [\d.]+ ms in native ops/m);
    for (const phase of ['rollout.prefill', 'rollout.decode', 'rollout.sample', 'train.forward', 'train.backward']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${phase.replace('.', '\\.')}\\s+\\d+`, 'm'));
    }
    expect(run.stdout).toMatch(/^  aten::mm\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+%/m);
  }, 300_000);
});
