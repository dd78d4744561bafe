// One decode step's draw over [rows, vocab] logits: temperature, top-k, top-p and a seeded draw (the
// ATen path by one uniform draw per row against the cumulative distribution; the CUDA kernel by
// argmax(p / Exponential(1)), exact and free of host syncs).
// The log-prob reported for the drawn token is under the untempered, unfiltered distribution, as
// Genius scores rollouts by the model's own probabilities.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace genius::rollout {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy
  double topP = 1.0;         // (0, 1]
  int64_t topK = 0;          // 0: off
};

struct Draw {
  at::Tensor tokens;    // [rows] int64
  at::Tensor logprobs;  // [rows] float32
};

// The ATen path: the CPU implementation and the reference for the CUDA kernel.
Draw SampleTokens(const at::Tensor& logits, const SamplingOptions& options, at::Generator& generator);

#ifdef GENIUS_WITH_CUDA
// The CUDA kernel's draw (kernels/sampling.cu) over CUDA logits, for decode step `step` of a stream
// seeded with `seed`: deterministic for (seed, step), with no host synchronisation.
Draw SampleTokensKernel(const at::Tensor& logits, const SamplingOptions& options, uint64_t seed, uint64_t step);
#endif

// The draws of one generate call, step after step: the fused kernel (kernels/sampling.cu) on CUDA
// when it was compiled in, the ATen path otherwise. Both are deterministic for a seed, but they
// use different random streams, so CPU and GPU draw different (equally distributed) tokens.
class TokenSampler {
 public:
  TokenSampler(const at::Device& device, SamplingOptions options, uint64_t seed);
  Draw Next(const at::Tensor& logits);

 private:
  SamplingOptions options_;
  uint64_t seed_;
  uint64_t step_ = 0;
  bool useKernel_;
  at::Generator generator_;
};

}  // namespace genius::rollout
