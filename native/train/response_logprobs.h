// Log-probs of responses through the model: sequences that are a prompt followed by a response are
// right-padded into one batch, run through the decoder once, and only the positions that predict a
// response token go through the LM head (chunked, see logprobs.h), so neither the prompt's logits nor a
// [B, T, V] tensor ever exist. Chosen and rejected responses of preference pairs share one such batch,
// as the reference's concatenated forward does.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "model/transformer.h"
#include "train/logprobs.h"

namespace genius::train {

// One training sequence in host memory: `length` tokens, the first `promptLength` of them the prompt.
// 1 <= promptLength < length: the first response token needs a position to be predicted from.
struct SequenceView {
  const int32_t* tokens;
  int64_t length;
  int64_t promptLength;
};

// Sequences right-padded into tensors on the model's device.
struct SequenceBatch {
  at::Tensor tokens;           // [B, T] int64, padding 0
  at::Tensor valid;            // [B, T] bool
  at::Tensor scoredPositions;  // [N] int64: b·T + t for every position t that predicts a response token t + 1
  at::Tensor targets;          // [N] int64: that response token
  at::Tensor rows;             // [N] int64: b
  at::Tensor responseLengths;  // [B] int64: the number of response tokens
  int64_t tokenCount = 0;      // valid tokens, prompt included: the work a forward does
};

SequenceBatch PackSequences(const std::vector<SequenceView>& sequences, at::Device device);

// Σ and mean over each sequence's response tokens of log π(token | everything before it), in float32
// (float64 for a float64 model): [B] each, differentiable in the model's weights when grad mode is on.
// `runLayer` and `adapterUse` are passed to Transformer::Forward (activation checkpointing; a LoRA model's base
// alone). Under autocast, the LM head
// runs in the autocast dtype, forward and backward alike (logprobs.h reduces in float32).
SequenceLogprobs ResponseLogprobs(const model::Transformer& model, const SequenceBatch& batch,
                                  const model::Transformer::LayerRunner& runLayer = nullptr, LogprobChunks chunks = {},
                                  model::AdapterUse adapterUse = model::AdapterUse::kOn);

}  // namespace genius::train
