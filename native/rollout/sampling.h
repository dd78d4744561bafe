// One decode step's draw over [rows, vocab] logits, processed in the order of transformers' generate():
// the repetition penalty, then temperature, top-k, top-p and min-p, and a seeded draw (the ATen path by one
// uniform draw per row against the cumulative distribution; the CUDA kernel by argmax(p / Exponential(1)),
// exact and free of host syncs).
// The log-prob reported for the drawn token is under the model's own distribution (no penalty, temperature or
// filter), as Genius scores rollouts by the model's own probabilities.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace genius::rollout {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy
  double topP = 1.0;         // (0, 1]
  int64_t topK = 0;          // 0: off
  double minP = 0.0;         // [0, 1]: a token less likely than minP × the most likely one is left out; 0: off
  // > 0: the logit of each token its row has seen (prompt and drawn tokens) is divided by it, or multiplied by it
  // when negative, as transformers' RepetitionPenaltyLogitsProcessor does; 1: off
  double repetitionPenalty = 1.0;
};

struct Draw {
  at::Tensor tokens;    // [rows] int64
  at::Tensor logprobs;  // [rows] float32
};

// The tokens each row has seen, [rows, vocab] bool: those of `tokens` [rows, T] int64 where `valid` [rows, T] holds.
at::Tensor SeenTokens(const at::Tensor& tokens, const at::Tensor& valid, int64_t vocab);

// The logits after the repetition penalty on the tokens `seen` marks ([rows, vocab] bool).
at::Tensor PenalizeRepetition(const at::Tensor& logits, const at::Tensor& seen, double penalty);

// The ATen path: the CPU implementation and the reference for the CUDA kernel. `seen` (SeenTokens) is undefined
// when repetition goes unpenalised. `uniforms` [rows, 1] holds each row's draw in [0, 1), like logits' dtype and
// device (unused, and may be undefined, when greedy).
Draw SampleTokens(const at::Tensor& logits, const at::Tensor& seen, const SamplingOptions& options,
                  const at::Tensor& uniforms);

#ifdef GENIUS_WITH_CUDA
// The CUDA kernel's draw (kernels/sampling.cu) over CUDA logits, for decode step `step` of a stream
// seeded with `seed`: deterministic for (seed, step), with no host synchronisation. With `rowSeeds` ([rows]
// int64 on the logits' device), row r draws from a stream of its own, (rowSeeds[r], step). The repetition
// penalty is the ATen path's, applied before the kernel.
Draw SampleTokensKernel(const at::Tensor& logits, const at::Tensor& seen, const SamplingOptions& options, uint64_t seed,
                        uint64_t step, const at::Tensor& rowSeeds = at::Tensor());
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
  // `seen`: what each row has seen before the first draw (SeenTokens), when the options penalise repetition.
  TokenSampler(const at::Device& device, SamplingOptions options, uint64_t seed, std::vector<uint64_t> sampleSeeds,
               at::Tensor seen);
  // The next step's draws over `logits` [rows, vocab], whose row r is sample rowSamples[r]; the drawn tokens count
  // as seen from the next draw on.
  Draw Next(const at::Tensor& logits, const std::vector<int64_t>& rowSamples);
  // Goes on with these rows only, in this order (finished rows leaving the batch).
  void KeepRows(const at::Tensor& rows);

 private:
  SamplingOptions options_;
  uint64_t seed_;
  std::vector<uint64_t> sampleSeeds_;  // empty: one stream for the call
  uint64_t step_ = 0;
  bool useKernel_;
  at::Generator generator_;
  at::Tensor seen_;  // [rows, vocab] bool on the logits' device; undefined when repetition goes unpenalised
};

}  // namespace genius::rollout
