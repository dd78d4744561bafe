// The batched rollout engine: one call generates every sample of a batch. Prompts are prefilled
// once and their cache forked for the n samples of each; a call may instead continue rows of an
// earlier call's cache (a foresight rollout continues from the candidate step it extends). Finished
// rows leave the batch unless the caller keeps the cache for later continuation.
//
// Determinism: for a given seed, model, dtype, device and batch the output is the same on every
// run. The same prompt in a different batch (other prompts, other n) may draw other tokens, because
// the random stream is shared by the rows of a step, unless each sample has a seed of its own.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/transformer.h"
#include "rollout/kv_cache.h"
#include "rollout/sampling.h"

namespace genius::rollout {

struct StopConditions {
  std::vector<int64_t> eosTokenIds;
  at::Tensor stopTokenMask;                         // [vocab] bool, or undefined: tokens whose text holds a stop string
  std::vector<std::vector<int64_t>> stopSequences;  // token sequences that end a sample
};

struct GenerateRequest {
  std::vector<std::vector<int64_t>> prompts;  // used when `from` is null
  std::shared_ptr<const KvCache> from;        // else: continue these rows of an earlier call
  std::vector<int64_t> fromRows;
  int64_t samplesPerInput = 1;
  int64_t maxNewTokens = 0;
  SamplingOptions sampling;
  uint64_t seed = 0;
  // One per sample (input-major), or none: sample s then draws from its own stream, (sampleSeeds[s], step), and
  // samples the same tokens in any batch (given the same logits); without them the call's rows share `seed`'s.
  std::vector<uint64_t> sampleSeeds;
  StopConditions stop;
  bool keepCache = false;  // return the final cache, one row per sample, for continuation
};

enum class FinishReason { kEos, kStop, kLength };
const char* FinishReasonName(FinishReason reason);

struct Sample {
  int64_t input = 0;  // index of the prompt or continued row
  std::vector<int64_t> tokens;
  std::vector<float> logprobs;
  double logprobSum = 0.0;
  FinishReason finishReason = FinishReason::kLength;
};

struct GenerateResult {
  std::vector<Sample> samples;           // input-major: input i's samples are [i*n, (i+1)*n)
  std::shared_ptr<const KvCache> cache;  // when keepCache: row r is samples[r]'s state
  int64_t computedTokens = 0;            // tokens run through the model (prefill + decode)
};

// The tokens one decode step drew, reported as they are drawn (for streaming): draw i appended tokens[i], of
// log-prob logprobs[i], to samples[i]; draws come in increasing sample order. Every sample of a call starts at the
// same step, so each drawn token is token `step` of its sample. `finished` names the samples this step ended.
struct StepDraws {
  int64_t step = 0;
  std::vector<int64_t> samples;
  std::vector<int64_t> tokens;
  std::vector<float> logprobs;
  std::vector<std::pair<int64_t, FinishReason>> finished;
};

// `checkpoint` runs between decode steps (cancellation); it may throw. `onDraws`, when set, sees each step's draws
// before the next step runs (the same object, refilled); when empty, nothing is gathered for it.
GenerateResult Generate(const model::Transformer& model, const GenerateRequest& request,
                        const std::function<void(int64_t step)>& checkpoint,
                        const std::function<void(const StepDraws&)>& onDraws = {});

}  // namespace genius::rollout
