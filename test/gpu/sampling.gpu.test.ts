import { Tensor, runtimeInfo } from '../../lib';
import { native } from '../../lib/native';

const info = runtimeInfo();
const ready = info.cudaAvailable && info.cudaKernels;
const describeGpu = ready ? describe : describe.skip;
if (!ready)
  console.warn(`test/gpu/sampling skipped: ${info.cudaAvailable ? 'CUDA kernels not compiled' : 'no CUDA device'}`);

interface Draw {
  tokens: { toArray(): BigInt64Array; dispose(): void };
  logprobs: { toArray(): Float32Array; dispose(): void };
}
const sample = (logits: Tensor, options: object, path: 'aten' | 'kernel'): Draw =>
  (native() as unknown as { testing: { sampleTokens: (...args: unknown[]) => Draw } }).testing.sampleTokens(
    Tensor.handleOf(logits, 'logits'),
    { temperature: 1, topP: 1, topK: 0, seed: 1, step: 0, ...options },
    path,
  );

/** Seeded logits with a realistic spread: a few large entries over a long tail. */
function randomLogits(rows: number, vocab: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from({ length: rows * vocab }, () => 4 * Math.log(next() + 1e-9) + 8 * next());
}

/** log_softmax(row)[token] in float64. */
function logprob(values: Float32Array, row: number, vocab: number, token: number): number {
  const slice = values.subarray(row * vocab, (row + 1) * vocab);
  const max = Math.max(...slice);
  const lse = max + Math.log(slice.reduce((sum, v) => sum + Math.exp(v - max), 0));
  return slice[token] - lse;
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
    expect(Array.from(fused.tokens.toArray())).toEqual(Array.from(reference.tokens.toArray()));
    const ours = fused.logprobs.toArray();
    const tokens = fused.tokens.toArray();
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
    const tokens = sample(gpu, { temperature: 1, seed: 5 }, 'kernel').tokens.toArray();
    const counts = new Array<number>(vocab).fill(0);
    for (const token of tokens) counts[Number(token)]++;
    const max = Math.max(...row);
    const weights = Array.from(row, (v) => Math.exp(v - max));
    const total = weights.reduce((a, b) => a + b, 0);
    let chi = 0;
    let bins = 0;
    weights.forEach((w, token) => {
      const expected = (w / total) * rows;
      if (expected < 5) return;
      chi += (counts[token] - expected) ** 2 / expected;
      bins++;
    });
    expect(chi).toBeLessThan(bins - 1 + 3.1 * Math.sqrt(2 * (bins - 1)) + 10);
  });

  it('never emits tokens outside top-k or top-p, and repeats for a seed', () => {
    const vocab = 151936;
    const rows = 67;
    const values = randomLogits(rows, vocab, 3);
    using gpu = Tensor.from(values, [rows, vocab]).to('cuda');
    const topK = sample(gpu, { topK: 5, seed: 9 }, 'kernel').tokens.toArray();
    const again = sample(gpu, { topK: 5, seed: 9 }, 'kernel').tokens.toArray();
    expect(Array.from(topK)).toEqual(Array.from(again));
    for (let r = 0; r < rows; r++) {
      const slice = Array.from(values.subarray(r * vocab, (r + 1) * vocab));
      const fifth = [...slice].sort((a, b) => b - a)[4];
      expect(slice[Number(topK[r])]).toBeGreaterThanOrEqual(fifth);
    }
    const topP = sample(gpu, { topP: 0.3, seed: 4 }, 'kernel').tokens.toArray();
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
