// The decoder of the Llama / Qwen2 / Mistral families, computed as transformers computes it:
// embeddings, RMSNorm (in float32), RoPE (default, linear or llama3 scaling), grouped-query attention
// through scaled_dot_product_attention, SwiGLU MLP, final norm and LM head.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <optional>
#include <vector>

#include "model/config.h"
#include "model/lora.h"
#include "model/safetensors.h"
#include "rollout/kv_cache.h"

namespace genius::model {

// A projection's LoRA weights (model/lora.h); undefined when the projection is not adapted.
struct LoraWeights {
  at::Tensor a, b;  // [rank, in], [out, rank]
};

struct LayerWeights {
  at::Tensor inputNorm, postAttentionNorm;
  at::Tensor q, k, v, o;                  // [out, in] as in nn.Linear
  at::Tensor qBias, kBias, vBias, oBias;  // undefined when the model has none
  at::Tensor gate, up, down;
  at::Tensor gateBias, upBias, downBias;
  at::Tensor qNorm, kNorm;  // [headDim]: Qwen3's and Gemma 3's per-head RMSNorm of q and k; else undefined
  at::Tensor preFeedforwardNorm, postFeedforwardNorm;  // Gemma 3's (config.sandwichNorms); else undefined
  // q, k, v (and gate, up) are views into one tensor, so that inference projects the input once; they
  // stay the parameters, by their Hugging Face names, that training updates in place and saving writes.
  at::Tensor qkv, qkvBias, gateUp, gateUpBias;
  LoraWeights qLora, kLora, vLora, oLora, gateLora, upLora, downLora;
};

// A batch whose rows each hold a prompt followed by several responses to it, side by side (a tree of depth one):
// each token's position (its response's tokens continue from the prompt's end) and the tokens each one attends to
// (the prompt's up to it and its own response's up to it). Training runs a preference pair's chosen and rejected
// responses behind one copy of their shared prompt this way (train/response_logprobs.h).
struct RowLayout {
  at::Tensor positions;  // [rows, T] int64
  at::Tensor mask;       // [rows, 1, T, T] bool; every token attends to itself, padding too (no empty softmax row)
};

// Whether a forward adds the model's LoRA adapter: off gives the base model, the reference policy of a LoRA run.
enum class AdapterUse { kOn, kOff };

class Transformer {
 public:
  // Takes the tensors of LoadWeights (shapes already checked against `config`) and, when given, an adapter for
  // them (LoadLoraAdapter or NewLoraAdapter of the same config).
  Transformer(ModelConfig config, const TensorMap& weights, std::optional<LoraAdapter> adapter = std::nullopt);

  const ModelConfig& config() const { return config_; }
  // Unique in the process (never reused, unlike an address): what a KV cache records of its model.
  uint64_t id() const { return id_; }
  at::Device device() const { return embed_.device(); }
  at::ScalarType dtype() const { return embed_.scalar_type(); }
  const at::Tensor& lmHead() const { return lmHead_; }
  // Every parameter by its Hugging Face name (tied: no lm_head.weight).
  TensorMap Parameters() const;
  // The LoRA adapter, whose weights are what training updates when there is one; nullptr when none.
  const LoraAdapter* adapter() const { return adapter_ ? &*adapter_ : nullptr; }
  // Parameters() with the adapter merged into the weights it adapts (W + scale·B·A, in float32, then in the
  // weight's dtype), as PEFT's merge_and_unload: a model that computes as the adapted one without an adapter.
  TensorMap MergedParameters() const;

  // How Forward runs a decoder layer: given the layer as a function of its input and that input, the
  // output. Training passes one that recomputes the layer in backward instead of keeping its activations.
  using Layer = std::function<at::Tensor(const at::Tensor&)>;
  using LayerRunner = std::function<at::Tensor(const Layer& layer, const at::Tensor& input)>;

  // Final-norm hidden states [rows, T, hidden] of `tokens` [rows, T]. With a cache, the tokens are
  // appended to it (tokenValid [rows, T] marks real tokens) and attend to all its valid columns;
  // without one, the batch attends causally within itself under tokenValid. Layers run through
  // `runLayer` when one is given.
  at::Tensor Forward(const at::Tensor& tokens, const at::Tensor& tokenValid, rollout::KvCache* cache,
                     const LayerRunner& runLayer = nullptr, AdapterUse adapterUse = AdapterUse::kOn) const;
  // Final-norm hidden states [rows, T, hidden] of `tokens` [rows, T] laid out as `layout` says, without a cache.
  at::Tensor Forward(const at::Tensor& tokens, const RowLayout& layout, const LayerRunner& runLayer = nullptr,
                     AdapterUse adapterUse = AdapterUse::kOn) const;
  // Logits in float32 of hidden states [..., hidden].
  at::Tensor Logits(const at::Tensor& hidden) const;

  rollout::KvCache NewCache(int64_t rows, int64_t capacity) const;

 private:
  // Both Forwards: the layers over `tokens` at `positions` under `mask` [rows, 1, T, keys]; a sliding layer's mask
  // also leaves out keys a window or more before their query, by the places (columns, or positions in a RowLayout)
  // of queries [.., T] and keys [.., keys].
  at::Tensor Run(const at::Tensor& tokens, const at::Tensor& positions, const at::Tensor& mask,
                 const at::Tensor& queryPlaces, const at::Tensor& keyPlaces, rollout::KvCache* cache, int64_t start,
                 const LayerRunner& runLayer, AdapterUse adapterUse) const;
  at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight) const;
  // cos, sin [rows, 1, T, headDim] of `positions` [rows, T] at the frequencies `inverse`, times `scale` (YaRN's
  // attention factor, else 1).
  std::pair<at::Tensor, at::Tensor> Rotary(const at::Tensor& positions, const at::Tensor& inverse, double scale) const;
  at::Tensor Attention(int64_t layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                       const at::Tensor& mask, rollout::KvCache* cache, int64_t start, bool adapted) const;
  at::Tensor Mlp(const LayerWeights& weights, const at::Tensor& x, bool adapted) const;
  // x's projections by the parts of a fused weight, each with its LoRA term when `adapted`.
  std::vector<at::Tensor> Project(const at::Tensor& x, const at::Tensor& fused, const at::Tensor& fusedBias,
                                  const std::vector<const at::Tensor*>& weights,
                                  const std::vector<const at::Tensor*>& biases,
                                  const std::vector<const LoraWeights*>& loras, bool adapted) const;
  // x projected by `weight` (and `bias`), plus `lora`'s term when `adapted`.
  at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const LoraWeights& lora,
                    bool adapted) const;
  // scale·B·A·dropout(x) of an adapted projection; undefined when `lora` is.
  at::Tensor LoraTerm(const at::Tensor& x, const LoraWeights& lora) const;

  const uint64_t id_;
  ModelConfig config_;
  at::Tensor embed_, finalNorm_, lmHead_;
  std::vector<LayerWeights> layers_;
  std::optional<LoraAdapter> adapter_;
  at::Tensor inverseFrequencies_;         // [headDim / 2] float32, with rope scaling applied
  at::Tensor slidingInverseFrequencies_;  // Gemma 3's sliding layers' (config.slidingRopeTheta); else undefined
};

}  // namespace genius::model
