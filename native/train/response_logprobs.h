// Log-probs of responses through the model: sequences that are a prompt followed by a response are
// right-padded into one batch, run through the decoder once, and only the positions that predict a
// response token go through the LM head (chunked, see logprobs.h), so neither the prompt's logits nor a
// [B, T, V] tensor ever exist. Chosen and rejected responses of preference pairs share one such batch, as the
// reference's concatenated forward does, and where that is less work a pair's shared prompt runs once (PackPairs),
// where the reference runs it for each side.
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

// S sequences right-padded into B rows of tensors on the model's device: a row each, or (PackPairs) the two
// sequences of a preference pair behind one copy of their shared prompt.
struct SequenceBatch {
  at::Tensor tokens;           // [B, T] int64, padding 0
  at::Tensor valid;            // [B, T] bool
  model::RowLayout layout;     // PackPairs': positions and attention of rows that hold two responses; else undefined
  at::Tensor scoredPositions;  // [N] int64: b·T + t for every column t of row b that predicts a response token
  at::Tensor targets;          // [N] int64: that response token
  at::Tensor sequences;        // [N] int64: the sequence (0 … S−1) whose token it is
  at::Tensor responseLengths;  // [S] int64: the number of response tokens
  int64_t tokenCount = 0;      // valid tokens, each shared prompt once: the work a forward does
};

SequenceBatch PackSequences(const std::vector<SequenceView>& sequences, at::Device device);

// Sequence i is chosen[i], sequence n + i rejected[i] (n pairs). Where it is less work for a model of `config` (a
// decision of each pair's own), a pair whose sides share their prompt takes one row, prompt then both responses, each
// response attending to the prompt and to itself: the prompt runs through the model once instead of twice, and every
// log-prob is what a row of its own gives (up to rounding). Otherwise each sequence takes a row of its own.
SequenceBatch PackPairs(const std::vector<SequenceView>& chosen, const std::vector<SequenceView>& rejected,
                        const model::ModelConfig& config, at::Device device);

// Σ and mean over each sequence's response tokens of log π(token | everything before it), in float32
// (float64 for a float64 model): [S] each, differentiable in the model's weights when grad mode is on.
// `runLayer` and `adapterUse` are passed to Transformer::Forward (activation checkpointing; a LoRA model's base
// alone). Under autocast, the LM head
// runs in the autocast dtype, forward and backward alike (logprobs.h reduces in float32).
SequenceLogprobs ResponseLogprobs(const model::Transformer& model, const SequenceBatch& batch,
                                  const model::Transformer::LayerRunner& runLayer = nullptr, LogprobChunks chunks = {},
                                  model::AdapterUse adapterUse = model::AdapterUse::kOn);

}  // namespace genius::train
