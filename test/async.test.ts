import { ErrorCode, Tensor } from '../lib';
import { matmulChain } from '../lib/testing';
import { runReference } from './helpers/python';

/** A deterministic n×n matrix with entries in [-1, 1). */
function matrix(n: number): number[] {
  return Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 500 - 1);
}

describe('long native calls run off the JS thread', () => {
  it('equals the same computation done by PyTorch', async () => {
    const n = 48;
    const values = matrix(n);
    using a = Tensor.from(values, [n, n], { dtype: 'float64' });
    using result = await matmulChain(a, 5);
    const reference = runReference<{ values: number[] }>('matmul_chain.py', { values, n, steps: 5 });
    const ours = result.toArray() as Float64Array;
    const worst = Math.max(...reference.values.map((v, i) => Math.abs(v - ours[i])));
    expect(worst).toBeLessThan(1e-12);
  });

  it('keeps timers firing while it runs', async () => {
    using a = Tensor.from(matrix(384), [384, 384]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = Date.now();
    using result = await matmulChain(a, 300);
    const elapsed = Date.now() - started;
    clearInterval(timer);
    expect(result.shape).toEqual([384, 384]);
    // A blocked event loop would give 0 ticks; a free one about elapsed/5.
    expect(elapsed).toBeGreaterThan(50);
    expect(ticks).toBeGreaterThan(elapsed / 5 / 4);
  });

  it('reports progress before it resolves', async () => {
    using a = Tensor.from(matrix(16), [16, 16]);
    const seen: [number, number][] = [];
    using result = await matmulChain(a, 4, { onProgress: (done, total) => seen.push([done, total]) });
    expect(result.shape).toEqual([16, 16]);
    expect(seen).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
  });

  it('stops at the next step when aborted', async () => {
    using a = Tensor.from(matrix(256), [256, 256]);
    const controller = new AbortController();
    let steps = 0;
    const run = matmulChain(a, 1_000_000, { signal: controller.signal, onProgress: (done) => (steps = done) });
    setTimeout(() => controller.abort(), 50);
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(steps).toBeLessThan(1_000_000);
  });

  it('rejects at once with an already aborted signal', async () => {
    using a = Tensor.from(matrix(4), [4, 4]);
    await expect(matmulChain(a, 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: ErrorCode.Aborted,
    });
  });

  it('rejects bad arguments with coded errors', async () => {
    using a = Tensor.from(matrix(4), [4, 4]);
    using notSquare = Tensor.from([1, 2], [1, 2]);
    using ints = Tensor.from([1, 2, 3, 4], [2, 2], { dtype: 'int64' });
    const invalid = { code: ErrorCode.InvalidArgument };
    await expect(matmulChain(a, -1)).rejects.toMatchObject(invalid);
    await expect(matmulChain(a, Number.NaN)).rejects.toMatchObject(invalid);
    await expect(matmulChain(a, 2 ** 40)).rejects.toMatchObject(invalid);
    await expect(matmulChain(a, '3' as never)).rejects.toMatchObject(invalid);
    await expect(matmulChain(notSquare, 1)).rejects.toMatchObject(invalid);
    await expect(matmulChain(ints, 1)).rejects.toMatchObject(invalid);
    await expect(matmulChain(a, 1, { onProgress: 3 as never })).rejects.toMatchObject(invalid);
    await expect(matmulChain({} as Tensor, 1)).rejects.toMatchObject({ code: ErrorCode.InvalidHandle });
  });
});
