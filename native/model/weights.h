// The weights of a model directory, checked against its ModelConfig: loading refuses a checkpoint
// whose tensor names or shapes differ from what the config describes (naming every difference at
// once), saving refuses to write one that we could not load back.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/safetensors.h"

namespace genius::model {

// The dtype config.json says the weights were saved in (torchDtype).
at::ScalarType SavedDtype(const ModelConfig& config);

// Sets config.torchDtype to the dtype `dir`'s weights are stored in (their embedding's), where config.json
// may say another: a loaded model computes in, and saves back to, the dtype of the numbers it was given.
void RecordStoredDtype(const std::string& dir, ModelConfig& config);

// Reads `dir`/model.safetensors or the shards of its index onto `device`, floating-point tensors as
// `dtype`. Holds exactly ExpectedWeights(config): a tied model's lm_head.weight and rotary_emb.inv_freq
// buffers in the file are skipped. ERR_GENIUS_BAD_FILE lists missing, unexpected and mis-shaped tensors.
TensorMap LoadWeights(const std::string& dir, const ModelConfig& config, at::Device device, at::ScalarType dtype,
                      const TensorProgress& progress = {});

// Writes `weights` (ExpectedWeights(config); a tied lm_head.weight is left out) in `dtype` as
// model.safetensors, or as shards of at most `shardBytes` (0: one file) plus the index, and config.json
// with torchDtype set to `dtype`. Each file is written atomically; making the directory appear at once
// (temporary directory, then rename) is the caller's part.
void SaveWeights(const std::string& dir, const TensorMap& weights, const ModelConfig& config, at::ScalarType dtype,
                 uint64_t shardBytes, const TensorProgress& progress = {});

}  // namespace genius::model
