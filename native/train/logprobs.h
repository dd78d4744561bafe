// Log-probs of target tokens straight from the final hidden states and the LM head, chunk by chunk, so
// that the [tokens, vocab] logits (and their softmax) never exist in full, in forward or in backward.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace genius::train {

// Vocabulary columns per block when the caller does not choose: a row chunk holds at most
// rows × kDefaultVocabChunk logits at once (Llama 3 and Qwen 2 vocabularies take 4–5 blocks).
inline constexpr int64_t kDefaultVocabChunk = 32768;

// Logits (positions × vocabulary) up to which a differentiable call keeps its softmax from the forward for
// the backward, as the trainer does by default: recomputing the logits in backward is a quarter of the LM
// head's work, the largest part of a training step at a 152k vocabulary, and 2^28 float32 probabilities
// (1 GiB; a micro-batch of 1700 response tokens at that vocabulary) are well within what the unchunked
// log_softmax of a reference trainer holds at once (logits, log-probs and their gradients over every position).
inline constexpr int64_t kDefaultKeptLogits = int64_t{1} << 28;

struct LogprobChunks {
  int64_t rows = 1024;                 // positions whose logits are computed together
  int64_t vocab = kDefaultVocabChunk;  // vocabulary columns per block (online logsumexp across blocks)
  // At or below this many logits the forward takes them all in one product (and keeps their softmax for
  // a backward); above it, they are taken chunk by chunk, and recomputed so in backward. 0: always chunked.
  int64_t keptLogits = kDefaultKeptLogits;
};

// logp[i] = (h_i·Wᵀ)[t_i] − logsumexp_j (h_i·Wᵀ)[j] for hidden h [N, H] (the final-norm output at the
// positions that predict each target), LM-head weight W [V, H] and targets t [N] (int64, in [0, V)).
// h and W share a dtype; logits are taken in it and reduced in float32 (float64 for float64 inputs),
// which is the dtype of the result. Differentiable in h and W: the backward recomputes each block's logits
// rather than keeping them, so extra memory is O(rows × vocab + N), plus dW's float32 accumulator; unless
// N × V ≤ chunks.keptLogits, when the logits are one product and their softmax [N, V] is kept for the backward.
at::Tensor TargetLogprobs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                          LogprobChunks chunks);

struct SequenceLogprobs {
  at::Tensor sum;   // [B] Σ of the token log-probs where the mask is set
  at::Tensor mean;  // [B] that sum over the number of such tokens (0 for a sequence with none)
};

// Reduces token log-probs [B, T] to per-sequence sums and means over the positions mask [B, T] keeps
// (the response tokens; prompt and padding masked out). Differentiable in tokenLogprobs.
SequenceLogprobs ReduceTokenLogprobs(const at::Tensor& tokenLogprobs, const at::Tensor& mask);

}  // namespace genius::train
