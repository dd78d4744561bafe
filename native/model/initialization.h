// The weights of a model built from a config.json alone, drawn the way transformers initialises the
// Llama family (PreTrainedModel._init_weights), so that training from scratch starts where it would there.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "model/config.h"
#include "model/safetensors.h"

namespace genius::model {

// ExpectedWeights(config) as float tensors of `dtype` on `device`: linear and embedding weights from
// normal(0, initializer_range) (config.json's, default 0.02), biases 0, RMSNorm weights 1, and the
// embedding row of config.json's pad_token_id zeroed as nn.Embedding's padding_idx does. Drawn in float32
// on the CPU from a generator seeded with `seed`, in ExpectedWeights order, so a seed gives the same
// weights on every device.
TensorMap InitialWeights(const ModelConfig& config, uint64_t seed, at::Device device, at::ScalarType dtype);

}  // namespace genius::model
