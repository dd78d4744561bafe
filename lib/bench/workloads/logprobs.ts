/**
 * Log-prob stage workload, ours: token log-probs and their gradients from final hidden states and the LM head,
 * chunked (lib/train/logprobs: blocks of rows × vocabulary columns, so the [N, V] logits never exist), with the
 * chunk sizes the Trainer uses. bench/python/logprob_memory.py is the reference's full log_softmax.
 *
 * The inputs are computed, not passed: element i of a tensor with salt s is u = ((i·2654435761 + s) mod 2^32) /
 * 2^32, rounded to float32; Python computes the same bits (see logprob_memory.py).
 */
import { sequenceLogprobsWithGrad } from '../../train/logprobs';
import { Tensor } from '../../tensor';
import type { LogprobSetup } from '../protocol';
import type { Loaded, Run } from './loaded';

const MULTIPLIER = 2654435761;
const HIDDEN_SALT = 1;
const WEIGHT_SALT = 2;
/** Rows of logits computed together: the Trainer's default (native/train/logprobs.h). */
const ROW_CHUNK = 1024;

/** `count` values a + b·u, u as above, in float32. */
function uniform(count: number, salt: number, a: number, b: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = (((Math.imul(i, MULTIPLIER) >>> 0) + salt) % 2 ** 32) / 2 ** 32;
    values[i] = a + b * u;
  }
  return values;
}

export async function prepareLogprobs(setup: LogprobSetup, loaded: Loaded): Promise<Run<'logprobs'>> {
  const { vocab, hidden: size } = setup;
  const device = loaded.device;
  const weight = Tensor.from(uniform(vocab * size, WEIGHT_SALT, -0.1, 0.2), [vocab, size], { device });
  // Inputs are made before measuring: a measurement holds the stage alone.
  const inputs = new Map(
    setup.lengths.map((length) => [
      length,
      {
        hidden: Tensor.from(uniform(length * size, HIDDEN_SALT, -1, 2), [length, size], { device }),
        targets: Tensor.from(
          Int32Array.from({ length }, (_, i) => (i * 7919) % vocab),
          [length],
          { dtype: 'int32', device },
        ),
      },
    ]),
  );
  return async ({ length = setup.lengths[0] }) => {
    const input = inputs.get(length);
    if (input === undefined) throw new Error(`length ${length} is not one of the setup's lengths`);
    using result = await sequenceLogprobsWithGrad(input.hidden, weight, input.targets, ROW_CHUNK);
    return { length, logprobs: Array.from(result.logprobs.toArray() as Float32Array) };
  };
}
