// Log-probs of target tokens straight from the final hidden states and the LM head, chunk by chunk, so
// that the [tokens, vocab] logits (and their softmax) never exist in full, in forward or in backward.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace genius::train {

// Vocabulary columns per block when the caller does not choose: a row chunk holds at most
// rows × kDefaultVocabChunk logits at once (Llama 3 and Qwen 2 vocabularies take 4–5 blocks).
inline constexpr int64_t kDefaultVocabChunk = 32768;

struct LogprobChunks {
  int64_t rows = 1024;                 // positions whose logits are computed together
  int64_t vocab = kDefaultVocabChunk;  // vocabulary columns per block (online logsumexp across blocks)
};

// logp[i] = (h_i·Wᵀ)[t_i] − logsumexp_j (h_i·Wᵀ)[j] for hidden h [N, H] (the final-norm output at the
// positions that predict each target), LM-head weight W [V, H] and targets t [N] (int64, in [0, V)).
// h and W share a dtype; logits are taken in it and reduced in float32 (float64 for float64 inputs),
// which is the dtype of the result. Differentiable in h and W: the backward recomputes each block's logits
// rather than keeping them, so extra memory is O(rows × vocab + N), plus dW's float32 accumulator.
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
