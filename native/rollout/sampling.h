// One decode step's draw over [rows, vocab] logits: temperature, top-k, top-p, and a seeded draw by
// argmax(p / Exponential(1)) (the Gumbel-max trick in exponential form: exact, and no host sync).
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

Draw SampleTokens(const at::Tensor& logits, const SamplingOptions& options, at::Generator& generator);

// A generator on `device` seeded with `seed`.
at::Generator MakeGenerator(const at::Device& device, uint64_t seed);

}  // namespace genius::rollout
