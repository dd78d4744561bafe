import { Tensor, runtimeInfo } from '../../lib';
import { matmulChain } from '../../lib/testing';

const { cudaAvailable } = runtimeInfo();
const describeGpu = cudaAvailable ? describe : describe.skip;
if (!cudaAvailable) console.warn('test/gpu skipped: no CUDA device (see `genius-native info`)');

describeGpu('CUDA tensors', () => {
  it('round-trips every dtype through the GPU', () => {
    for (const dtype of ['float32', 'float16', 'bfloat16', 'int64', 'int32'] as const) {
      using cpu = Tensor.from([1, 2, 3, 4], [2, 2], { dtype });
      using gpu = cpu.to('cuda');
      expect(gpu.device).toBe('cuda:0');
      expect(Array.from(gpu.toArray() as ArrayLike<number | bigint>, Number)).toEqual([1, 2, 3, 4]);
    }
  });

  it('runs a long call on the GPU and matches the CPU result', async () => {
    const values = Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i));
    using cpu = Tensor.from(values, [64, 64], { dtype: 'float64' });
    using gpu = cpu.to('cuda');
    using onCpu = await matmulChain(cpu, 3);
    using onGpu = await matmulChain(gpu, 3);
    const a = onCpu.toArray() as Float64Array;
    const b = onGpu.toArray() as Float64Array;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-10);
  });
});
