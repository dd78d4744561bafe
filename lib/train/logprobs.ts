/**
 * Log-probs of target tokens computed from final hidden states and the LM head in chunks, so that the
 * [tokens, vocab] logits never exist in full (native/train/logprobs.cc), and their reduction to per-sequence
 * sums and means.
 */
import { cancellable, type CallOptions } from '../async';
import { native } from '../native';
import { Tensor } from '../tensor';

export interface SequenceLogprobOptions extends CallOptions {
  /** Vocabulary columns per block (online logsumexp across blocks). Default 32768. */
  vocabChunk?: number;
  /**
   * Up to this many logits (N × V) are taken in one product, their softmax kept for a backward, instead of
   * chunk by chunk and recomputed in backward, as the trainer does up to 2^28. Default 0: always chunked.
   */
  keptLogits?: number;
}

export interface SequenceLogprobGradOptions extends SequenceLogprobOptions {
  /** dL/dlogp [N]; default all ones (the gradients of Σ logp). */
  gradOutput?: Tensor;
}

export interface SequenceLogprobsWithGrad extends Disposable {
  /** [N] log-probs (float32, or float64 for float64 inputs). */
  logprobs: Tensor;
  /** [N, H] in hidden's dtype. */
  gradHidden: Tensor;
  /** [V, H] in weight's dtype. */
  gradWeight: Tensor;
}

/**
 * logp[i] = (h_i·Wᵀ)[t_i] − logsumexp_j (h_i·Wᵀ)[j] for hidden [N, H] (the final-norm output at the positions
 * that predict each target), the LM-head weight [V, H] and targets [N] (int64 or int32), `chunk` rows at a time.
 */
export async function sequenceLogprobs(
  hidden: Tensor,
  weight: Tensor,
  targets: Tensor,
  chunk: number,
  options: SequenceLogprobOptions = {},
): Promise<Tensor> {
  const hiddenHandle = Tensor.handleOf(hidden, 'hidden');
  const weightHandle = Tensor.handleOf(weight, 'weight');
  const targetHandle = Tensor.handleOf(targets, 'targets');
  return await cancellable(options, async (cancel) =>
    Tensor.fromNative(
      await native().sequenceLogprobs(hiddenHandle, weightHandle, targetHandle, chunk, {
        cancel,
        onProgress: options.onProgress,
        vocabChunk: options.vocabChunk,
        keptLogits: options.keptLogits,
      }),
    ),
  );
}

/** The same, plus the gradients of Σ_i gradOutput_i·logp_i w.r.t. hidden and weight through the chunked backward. */
export async function sequenceLogprobsWithGrad(
  hidden: Tensor,
  weight: Tensor,
  targets: Tensor,
  chunk: number,
  options: SequenceLogprobGradOptions = {},
): Promise<SequenceLogprobsWithGrad> {
  const hiddenHandle = Tensor.handleOf(hidden, 'hidden');
  const weightHandle = Tensor.handleOf(weight, 'weight');
  const targetHandle = Tensor.handleOf(targets, 'targets');
  const gradOutput =
    options.gradOutput === undefined ? undefined : Tensor.handleOf(options.gradOutput, 'options.gradOutput');
  return await cancellable(options, async (cancel) => {
    const result = await native().sequenceLogprobsWithGrad(hiddenHandle, weightHandle, targetHandle, chunk, {
      cancel,
      onProgress: options.onProgress,
      vocabChunk: options.vocabChunk,
      keptLogits: options.keptLogits,
      gradOutput,
    });
    const logprobs = Tensor.fromNative(result.logprobs);
    const gradHidden = Tensor.fromNative(result.gradHidden);
    const gradWeight = Tensor.fromNative(result.gradWeight);
    return {
      logprobs,
      gradHidden,
      gradWeight,
      [Symbol.dispose]: () => [logprobs, gradHidden, gradWeight].forEach((tensor) => tensor.dispose()),
    };
  });
}

/** Per-sequence sum and per-token mean of token log-probs [B, T] over the positions `mask` [B, T] keeps. */
export function reduceTokenLogprobs(tokenLogprobs: Tensor, mask: Tensor): { sum: Tensor; mean: Tensor } {
  const result = native().reduceTokenLogprobs(
    Tensor.handleOf(tokenLogprobs, 'tokenLogprobs'),
    Tensor.handleOf(mask, 'mask'),
  );
  return { sum: Tensor.fromNative(result.sum), mean: Tensor.fromNative(result.mean) };
}
