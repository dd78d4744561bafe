// LoRA adapters in PEFT's format (https://github.com/huggingface/peft): a directory holding
// adapter_config.json and adapter_model.safetensors, whose tensors are named
// `base_model.model.<module>.lora_A.weight` [rank, in] and `...lora_B.weight` [out, rank]. An adapted
// projection computes W·x + scale·B·A·dropout(x), scale = alpha / rank (alpha / √rank with rsLoRA).
// Only what changes nothing else is read: adapters of the attention and MLP projections, one rank and one
// alpha for all; DoRA, adapter biases, per-module ranks or alphas and modules_to_save are refused by name.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/safetensors.h"

namespace genius::model {

// The projections a decoder layer has, by their module names under model.layers.<i>.
inline constexpr const char* kLoraModules[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                               "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                               "mlp.down_proj"};

struct LoraSettings {
  int64_t rank = 0;
  double alpha = 0;
  double dropout = 0;  // on the adapter's input, while training
  bool rslora = false;
  // Short module names (q_proj, …, down_proj) adapted in every layer.
  std::vector<std::string> targets;
  double Scale() const;
};

// An adapter: its settings and its weights by their PEFT names.
struct LoraAdapter {
  LoraSettings settings;
  TensorMap weights;
  std::string baseModel;  // the directory of the model it adapts (adapter_config.json's base_model_name_or_path)
};

// The PEFT names of the A and B weights of `module` (a kLoraModules entry) in `layer`.
std::string LoraWeightName(int64_t layer, const std::string& module, char which);

// A new adapter for `config`, the model in `baseModel`: A drawn as PEFT draws it (kaiming-uniform, a = √5: U(−1/√in,
// 1/√in)) in float32 on the CPU from a generator seeded with `seed`, B zero, so that the adapted model starts as the
// base one. ERR_GENIUS_INVALID_ARG names a target that is no projection.
LoraAdapter NewLoraAdapter(const ModelConfig& config, const std::string& baseModel, const LoraSettings& settings,
                           uint64_t seed, at::Device device, at::ScalarType dtype);

// Reads `dir`'s adapter for the model of `config` in `baseModel`, weights as `dtype` on `device`. ERR_GENIUS_BAD_FILE
// names the file and field or tensor of anything we would not compute as PEFT does.
LoraAdapter LoadLoraAdapter(const std::string& dir, const ModelConfig& config, const std::string& baseModel,
                            at::Device device, at::ScalarType dtype);

// Writes `adapter`'s adapter_config.json and, from `weights` (its weights or their float32 masters) in `dtype`,
// adapter_model.safetensors into `dir`, each atomically.
void SaveLoraAdapter(const std::string& dir, const LoraAdapter& adapter, const TensorMap& weights,
                     at::ScalarType dtype);

}  // namespace genius::model
