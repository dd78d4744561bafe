/**
 * `genius-native bench --quick` end to end on a tiny random model with the smallest sizes: both sides' workers
 * run every workload, and the JSON report must be well-formed with every parity check holding. Timings are not
 * checked: they say nothing on a shared test machine. The adapter the lora workload starts both sides from is
 * checked against peft (test/reference/lora_reference.py).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EMBEDDED_MODEL_DIR, Model } from '../lib';
import { LORA_GOALS, writeBenchAdapter } from '../lib/bench/lora';
import type { BenchReport, MetricRow } from '../lib/bench/results';
import { ADAPTER_CONFIG_FILE, LORA_TARGETS } from '../lib/model/lora';
import { runReference } from './helpers/python';

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
    expect(Object.keys(report.workloads).sort()).toEqual(['foresight', 'lora', 'parity', 'rollout', 'train']);
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
    const memory = report.workloads.train!.logprobMemory!;
    expect(memory.vocab).toBeGreaterThanOrEqual(32768);
    expect(memory.rows.map((row) => row.length)).toEqual(LOGPROB_LENGTHS);
    for (const row of memory.rows) {
      expect(row.ours).toHaveProperty('peakDeltaBytes');
      expect(row.reference).toHaveProperty('peakDeltaBytes');
      expect(row.maxAbsDiff).toBeLessThanOrEqual(1e-3);
    }
    expect(memory.check?.holds).toBe(true);
  });

  it('sets LoRA against peft and against our full fine-tune of the train workload, with the targets', () => {
    const lora = report.workloads.lora!;
    const row = (metric: string): MetricRow => lora.metrics.find((candidate) => candidate.metric === metric)!;
    const train = (metric: string): MetricRow =>
      report.workloads.train!.metrics.find((candidate) => candidate.metric === metric)!;
    expect(lora.checks.map((check) => check.name)).toEqual([
      'parity valid (1 = yes)',
      'max |step loss diff| / max(1, |loss|)',
      'max step grad-norm relative diff',
    ]);
    // Against the full fine-tune, LoRA's own figures stand beside the train workload's ours side.
    for (const metric of ['time per step', 'peak RSS']) {
      const against = row(`${metric} vs our full fine-tune`);
      expect(against.ours).toEqual(row(metric).ours);
      expect(against.reference).toEqual(train(metric).ours);
      expect(against.ratio).toBeCloseTo(against.ours.median / against.reference.median, 12);
    }
    expect(lora.targets).toEqual([
      {
        name: "peak RSS / our full fine-tune's",
        value: row('peak RSS vs our full fine-tune').ratio,
        limit: LORA_GOALS.peakRssOfFullFineTune,
        met: row('peak RSS vs our full fine-tune').ratio! <= LORA_GOALS.peakRssOfFullFineTune,
      },
      {
        name: "time per step / peft's",
        value: row('time per step').ratio,
        limit: LORA_GOALS.stepTimeOfPeft,
        met: row('time per step').ratio! <= LORA_GOALS.stepTimeOfPeft,
      },
    ]);
    expect(stdout).toMatch(/^  target peak RSS \/ our full fine-tune's ≤ 0\.5×: [\d.]+×: (met|missed)$/m);
  });

  it('measures the matmul rate, gives each workload its roofline share and the machine load it ran under', () => {
    expect(report.machine.matmulFlops).toBeGreaterThan(1e8);
    for (const name of ['rollout', 'foresight', 'train', 'lora'] as const) {
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
    const run = bench(['bench', '--profile', '--arch', 'tiny', '--only', 'rollout', 'train', 'lora', ...SIZES]);
    if (run.status !== 0) throw new Error(`bench exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
    expect(run.stdout).toMatch(/^rollout: [\d.]+ ms in native ops/m);
    expect(run.stdout).toMatch(/^train: [\d.]+ ms in native ops/m);
    expect(run.stdout).toMatch(/^lora: [\d.]+ ms in native ops/m);
    for (const phase of ['rollout.prefill', 'rollout.decode', 'rollout.sample', 'train.forward', 'train.backward']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${phase.replace('.', '\\.')}\\s+\\d+`, 'm'));
    }
    expect(run.stdout).toMatch(/^  aten::mm\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+%/m);
  }, 300_000);
});

describe("the lora workload's adapter", () => {
  const dir = path.join(out, 'adapter');
  const rank = 8;
  const tokens = [5, 17, 200, 3, 88, 41, 9, 130];
  let weights: number;
  beforeAll(async () => {
    weights = await writeBenchAdapter(EMBEDDED_MODEL_DIR, dir, { rank, alpha: 16 });
  });

  it('adapts every projection, rank r, dropout 0', () => {
    const config = JSON.parse(fs.readFileSync(path.join(dir, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ r: rank, lora_alpha: 16, lora_dropout: 0 });
    expect([...(config.target_modules as string[])].sort()).toEqual([...LORA_TARGETS].sort());
    // The embedded model: hidden 256, 4 heads and 2 KV heads of 64, MLP 688, 4 layers; r·(in + out) per projection.
    const [hidden, kv, mlp] = [256, 128, 688];
    const layer = 2 * (hidden + hidden) + 2 * (hidden + kv) + 3 * (hidden + mlp);
    expect(weights).toBe(4 * rank * layer);
  });

  it('is loaded by peft with our logits, and changes the model from the first step (B is not zero)', async () => {
    const [theirs] = runReference<{ results: number[][][] }>('lora_reference.py', {
      base: EMBEDDED_MODEL_DIR,
      ops: [{ op: 'logits', adapter: dir, tokens }],
    }).results;
    using adapted = await Model.load(EMBEDDED_MODEL_DIR, { adapter: dir });
    using base = await Model.load(EMBEDDED_MODEL_DIR);
    using ours = await adapted.logits(tokens);
    using baseLogits = await base.logits(tokens);
    const values = ours.toArray() as Float32Array;
    const baseValues = baseLogits.toArray() as Float32Array;
    let fromPeft = 0;
    let fromBase = 0;
    theirs.flat().forEach((logit, i) => {
      fromPeft = Math.max(fromPeft, Math.abs(values[i] - logit));
      fromBase = Math.max(fromBase, Math.abs(values[i] - baseValues[i]));
    });
    expect(values).toHaveLength(theirs.flat().length);
    expect(fromPeft).toBeLessThanOrEqual(1e-5);
    expect(fromBase).toBeGreaterThan(1e-2);
  });
});
