// The fused CUDA decode-step draw (kernels/sampling.cu); rollout/sampling.cc is its ATen twin and
// the reference it is tested against.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace genius::kernels {

// Draws one token per row of float32 `logits` [rows, vocab] in one kernel launch: temperature
// (0 = greedy), top-k and top-p by bisection on the logit threshold (no sort), min-p by its own
// threshold, and a Philox-seeded Exponential race keyed by (seed, step, row, token), so no host
// synchronisation is needed. Writes each drawn token's untempered log-prob, and sets `finished[row]`
// when the token is in `eosIds` or `stopMask`. With `rowSeeds` ([rows] int64) row r races with the key
// (rowSeeds[r], step, token) instead, a stream of its own. `rowSeeds`, `stopMask` ([vocab] bool) and `eosIds`
// ([count] int64) may be undefined.
void SampleTokensCuda(const at::Tensor& logits, double temperature, double topP, int64_t topK, double minP,
                      uint64_t seed, uint64_t step, const at::Tensor& rowSeeds, const at::Tensor& stopMask,
                      const at::Tensor& eosIds, at::Tensor& tokens, at::Tensor& logprobs, at::Tensor& finished);

}  // namespace genius::kernels
