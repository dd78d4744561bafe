import { Tensor, runtimeInfo } from '../../lib';
import { native } from '../../lib/native';
import { countDraws, expectDrawnFrom, randomLogits } from '../helpers/sampling';

const info = runtimeInfo();
const ready = info.cudaAvailable && info.cudaKernels;
const describeGpu = ready ? describe : describe.skip;
if (!ready)
  console.warn(`test/gpu/sampling skipped: ${info.cudaAvailable ? 'CUDA kernels not compiled' : 'no CUDA device'}`);

interface Draw {
  tokens: BigInt64Array;
  logprobs: Float32Array;
}
const sample = (logits: Tensor, options: object, path: 'aten' | 'kernel'): Draw => {
  const draw = native().testing.sampleTokens(
    Tensor.handleOf(logits, 'logits'),
    { temperature: 1, topP: 1, topK: 0, seed: 1, step: 0, ...options },
    path,
  );
  using tokens = Tensor.fromNative(draw.tokens);
  using logprobs = Tensor.fromNative(draw.logprobs);
  return { tokens: tokens.toArray() as BigInt64Array, logprobs: logprobs.toArray() as Float32Array };
};

/** log_softmax(row)[token] in float64. */
function logprob(values: Float32Array, row: number, vocab: number, token: number): number {
  const slice = values.subarray(row * vocab, (row + 1) * vocab);
  const max = Math.max(...slice);
  const lse = max + Math.log(slice.reduce((sum, v) => sum + Math.exp(v - max), 0));
  return slice[token] - lse;
}

/** The index of each row's largest logit. */
function argmaxes(values: Float32Array, rows: number, vocab: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let i = 1; i < vocab; i++) if (values[r * vocab + i] > values[r * vocab + best]) best = i;
    return best;
  });
}

/**
 * Asserts that two equally many draws come from one distribution: the chi-square test of homogeneity, sum of
 * (a - b)^2 / (a + b) over the tokens drawn 10 times or more, below its 99.9th percentile.
 */
function expectSameDistribution(a: number[], b: number[]): void {
  let chi = 0;
  let bins = 0;
  a.forEach((count, token) => {
    const both = count + b[token];
    if (both < 10) return;
    chi += (count - b[token]) ** 2 / both;
    bins++;
  });
  expect(bins).toBeGreaterThan(1);
  expect(chi).toBeLessThan(bins - 1 + 3.1 * Math.sqrt(2 * (bins - 1)) + 10);
}

describeGpu('fused sampling kernel vs its ATen twin', () => {
  it.each([
    [1, 151936],
    [67, 151936],
    [1, 128256],
    [67, 128256],
  ])('greedy tokens and log-probs agree (rows %i, vocab %i)', (rows, vocab) => {
    const values = randomLogits(rows, vocab, rows + vocab);
    using cpu = Tensor.from(values, [rows, vocab]);
    using gpu = cpu.to('cuda');
    const reference = sample(cpu, { temperature: 0 }, 'aten');
    const fused = sample(gpu, { temperature: 0 }, 'kernel');
    expect(Array.from(fused.tokens)).toEqual(Array.from(reference.tokens));
    const ours = fused.logprobs;
    const tokens = fused.tokens;
    for (let row = 0; row < rows; row++) {
      expect(Math.abs(ours[row] - logprob(values, row, vocab, Number(tokens[row])))).toBeLessThan(1e-4);
    }
  });

  it('draws with the exact distribution (chi-square, 20k draws)', () => {
    const vocab = 50;
    const row = randomLogits(1, vocab, 7).map((v) => v / 4);
    const rows = 20000;
    const values = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) values.set(row, r * vocab);
    using gpu = Tensor.from(values, [rows, vocab]).to('cuda');
    const tokens = sample(gpu, { temperature: 1, seed: 5 }, 'kernel').tokens;
    const max = Math.max(...row);
    const weights = Array.from(row, (v) => Math.exp(v - max));
    const total = weights.reduce((a, b) => a + b, 0);
    expectDrawnFrom(
      countDraws(tokens, vocab),
      weights.map((w) => w / total),
    );
  });

  it('with a repetition penalty and min-p among the filters, draws as the ATen path does (20k draws each)', () => {
    const vocab = 50;
    const row = randomLogits(1, vocab, 13).map((v) => v / 3);
    const top = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
    const rows = 20000;
    const values = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) values.set(row, r * vocab);
    const previous = Array.from({ length: rows }, () => [top[0], top[3], top[3], top[10]]);
    const options = { temperature: 0.8, topK: 30, topP: 0.95, minP: 0.05, repetitionPenalty: 1.4, previous, seed: 5 };
    using cpu = Tensor.from(values, [rows, vocab]);
    using gpu = cpu.to('cuda');
    const reference = countDraws(sample(cpu, options, 'aten').tokens, vocab);
    const fused = countDraws(sample(gpu, options, 'kernel').tokens, vocab);
    // Every token min-p keeps is likely enough to be drawn by both: the same set is drawn, the one min-p keeps.
    const drawn = (counts: number[]) => counts.flatMap((count, token) => (count > 0 ? [token] : []));
    expect(drawn(fused)).toEqual(drawn(reference));
    expectSameDistribution(fused, reference);
  });

  it('greedy with a repetition penalty: the ATen path’s tokens, log-probs under the model’s own logits', () => {
    const vocab = 151936;
    const rows = 67;
    const values = randomLogits(rows, vocab, 21);
    const best = argmaxes(values, rows, vocab);
    // Each row has seen its own top token (and a few others), so the penalty decides its draw.
    const previous = best.map((token, r) => [token, r, 1000 + r, token]);
    const options = { temperature: 0, repetitionPenalty: 3, previous };
    using cpu = Tensor.from(values, [rows, vocab]);
    using gpu = cpu.to('cuda');
    const reference = sample(cpu, options, 'aten');
    const fused = sample(gpu, options, 'kernel');
    expect(Array.from(fused.tokens)).toEqual(Array.from(reference.tokens));
    expect(Array.from(fused.tokens, Number).filter((token, r) => token !== best[r]).length).toBeGreaterThan(0);
    for (let r = 0; r < rows; r++) {
      expect(Math.abs(fused.logprobs[r] - logprob(values, r, vocab, Number(fused.tokens[r])))).toBeLessThan(1e-4);
    }
  });

  it('never emits tokens below min-p × the top probability, after temperature', () => {
    const vocab = 151936;
    const rows = 67;
    const values = randomLogits(rows, vocab, 17);
    const best = argmaxes(values, rows, vocab);
    using gpu = Tensor.from(values, [rows, vocab]).to('cuda');
    const tokens = sample(gpu, { temperature: 0.7, minP: 0.1, seed: 6 }, 'kernel').tokens;
    for (let r = 0; r < rows; r++) {
      const ratio = Math.exp((values[r * vocab + Number(tokens[r])] - values[r * vocab + best[r]]) / 0.7);
      expect(ratio).toBeGreaterThanOrEqual(0.1 * (1 - 1e-5));
    }
  });

  it('never emits tokens outside top-k or top-p, and repeats for a seed', () => {
    const vocab = 151936;
    const rows = 67;
    const values = randomLogits(rows, vocab, 3);
    using gpu = Tensor.from(values, [rows, vocab]).to('cuda');
    const topK = sample(gpu, { topK: 5, seed: 9 }, 'kernel').tokens;
    const again = sample(gpu, { topK: 5, seed: 9 }, 'kernel').tokens;
    expect(Array.from(topK)).toEqual(Array.from(again));
    for (let r = 0; r < rows; r++) {
      const slice = Array.from(values.subarray(r * vocab, (r + 1) * vocab));
      const fifth = [...slice].sort((a, b) => b - a)[4];
      expect(slice[Number(topK[r])]).toBeGreaterThanOrEqual(fifth);
    }
    const topP = sample(gpu, { topP: 0.3, seed: 4 }, 'kernel').tokens;
    for (let r = 0; r < rows; r++) {
      const slice = Array.from(values.subarray(r * vocab, (r + 1) * vocab));
      const max = Math.max(...slice);
      const probs = slice.map((v) => Math.exp(v - max));
      const total = probs.reduce((a, b) => a + b, 0);
      const chosen = probs[Number(topP[r])];
      // The mass of strictly more likely tokens must be below topP, or the token was excluded.
      const before = probs.filter((p) => p > chosen).reduce((a, b) => a + b, 0);
      expect(before / total).toBeLessThan(0.3 + 1e-5);
    }
  });
});
