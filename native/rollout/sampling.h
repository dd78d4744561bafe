// One decode step's draw over [rows, vocab] logits: temperature, top-k, top-p and a seeded draw (the
// ATen path by one uniform draw per row against the cumulative distribution; the CUDA kernel by
// argmax(p / Exponential(1)), exact and free of host syncs).
// The log-prob reported for the drawn token is under the untempered, unfiltered distribution, as
// Genius scores rollouts by the model's own probabilities.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

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

// The ATen path: the CPU implementation and the reference for the CUDA kernel. `uniforms` [rows, 1] holds each
// row's draw in [0, 1), like logits' dtype and device (unused, and may be undefined, when greedy).
Draw SampleTokens(const at::Tensor& logits, const SamplingOptions& options, const at::Tensor& uniforms);

#ifdef GENIUS_WITH_CUDA
// The CUDA kernel's draw (kernels/sampling.cu) over CUDA logits, for decode step `step` of a stream
// seeded with `seed`: deterministic for (seed, step), with no host synchronisation. With `rowSeeds` ([rows]
// int64 on the logits' device), row r draws from a stream of its own, (rowSeeds[r], step).
Draw SampleTokensKernel(const at::Tensor& logits, const SamplingOptions& options, uint64_t seed, uint64_t step,
                        const at::Tensor& rowSeeds = at::Tensor());
#endif

// A sample's own uniform draw in [0, 1) at decode step `step`: a pure function of (seed, step), so that the
// sample draws the same whatever else shares its call.
double SampleUniform(uint64_t seed, uint64_t step);

// The draws of one generate call, step after step: the fused kernel (kernels/sampling.cu) on CUDA
// when it was compiled in, the ATen path otherwise. Both are deterministic for a seed, but they
// use different random streams, so CPU and GPU draw different (equally distributed) tokens. Without
// sample seeds the call's rows share one stream; with them (one per sample) each sample has its own.
class TokenSampler {
 public:
  TokenSampler(const at::Device& device, SamplingOptions options, uint64_t seed, std::vector<uint64_t> sampleSeeds);
  // The next step's draws over `logits` [rows, vocab], whose row r is sample rowSamples[r].
  Draw Next(const at::Tensor& logits, const std::vector<int64_t>& rowSamples);

 private:
  SamplingOptions options_;
  uint64_t seed_;
  std::vector<uint64_t> sampleSeeds_;  // empty: one stream for the call
  uint64_t step_ = 0;
  bool useKernel_;
  at::Generator generator_;
};

}  // namespace genius::rollout
