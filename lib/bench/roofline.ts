/**
 * The roofline column: how much of this machine's matmul rate a workload turns into model arithmetic. The rate is
 * measured once at the start, as a chain of large square float32 matmuls through libtorch with the threads the
 * sides use; a workload's model FLOPs are 2 per matmul parameter per token through a forward (6 with the backward),
 * attention scores left out, so the share is a floor, comparable between the sides.
 */
import { matmulChain } from '../runtime';
import { Tensor } from '../tensor';

const SIZE = 1024;
const WARM_UP_STEPS = 4;
const STEPS = 16;

/** FLOP/s of float32 matmuls of SIZE × SIZE on the CPU (the chain's tanh is a rounding error next to them). */
export async function measureMatmulRate(): Promise<number> {
  // Entries of order 1 keep the chain's values of order 1 (x·a/√n, then tanh): small ones would decay
  // into denormals, which multiply a hundred times slower.
  const values = Float32Array.from({ length: SIZE * SIZE }, (_, i) => Math.sin(i));
  using a = Tensor.from(values, [SIZE, SIZE]);
  (await matmulChain(a, WARM_UP_STEPS)).dispose();
  const started = performance.now();
  (await matmulChain(a, STEPS)).dispose();
  const seconds = (performance.now() - started) / 1000;
  return (2 * SIZE ** 3 * STEPS) / seconds;
}

/** The weights a token meets as matmuls in one forward: the decoder layers' projections and the LM head. */
export function matmulParameters(config: {
  layers: number;
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
}): number {
  const { layers, hidden, intermediate, heads, kvHeads, headDim, vocab } = config;
  const attention = 2 * hidden * heads * headDim + 2 * hidden * kvHeads * headDim;
  return layers * (attention + 3 * hidden * intermediate) + vocab * hidden;
}

/** Model FLOPs per second as a share of the matmul rate; `passes` is 1 for a forward, 3 with its backward. */
export function rooflineShare(tokens: number, seconds: number, parameters: number, rate: number, passes = 1): number {
  return (2 * passes * parameters * tokens) / seconds / rate;
}
