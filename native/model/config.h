// ModelConfig: the shape of a decoder-only transformer of the Llama, Qwen2, Qwen3, Mistral or Gemma 3 (text) family,
// read from a Hugging Face model directory (config.json, and generation_config.json when present) in either the
// transformers 4 form (rope_theta, rope_scaling) or the transformers 5 form (rope_parameters). Anything our transformer
// would compute differently from transformers (another model type, activation, RoPE variant, per-layer sliding windows)
// is refused rather than approximated.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace genius::model {

// RoPE frequency scaling. "linear" divides positions by `factor`; "llama3" (Llama 3.1) scales low
// frequencies by `factor` and blends between `lowFreqFactor` and `highFreqFactor` wavelengths of
// `originalMaxPositions`; "yarn" (Qwen2.5 / Qwen3 long context) interpolates the frequencies whose
// wavelength passes `originalMaxPositions` by `factor`, ramping between the dimensions that turn `betaFast`
// and `betaSlow` times over it, and scales cos and sin by `attentionFactor`.
struct RopeScaling {
  std::string type;
  double factor = 1.0;
  double lowFreqFactor = 0.0;        // llama3
  double highFreqFactor = 0.0;       // llama3
  int64_t originalMaxPositions = 0;  // llama3, yarn
  double betaFast = 32.0;            // yarn
  double betaSlow = 1.0;             // yarn
  bool truncate = true;              // yarn: the ramp's ends rounded outwards to whole dimensions
  double attentionFactor =
      1.0;  // yarn: as given, or from factor (and mscale, mscale_all_dim) as transformers infers it
};

struct ModelConfig {
  std::string modelType;  // "llama" | "qwen2" | "qwen3" | "mistral" | "gemma3_text"
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  int64_t intermediateSize = 0;
  int64_t vocabSize = 0;
  int64_t maxPositions = 0;
  double rmsNormEps = 0.0;
  double ropeTheta = 0.0;
  bool attentionBias = false;  // q, k and v projections have a bias
  // o_proj has a bias too: Llama's attention_bias covers all four projections, Qwen2's bias is q/k/v only.
  bool attentionOutputBias = false;
  bool mlpBias = false;
  bool qkNorm = false;  // Qwen3, Gemma 3: an RMSNorm over each head of q and of k (q_norm, k_norm) before RoPE
  // Gemma 3's differences from Llama's layer: every RMSNorm scales by (1 + weight) in float32 before the cast;
  // the attention and MLP outputs are normed too (post_attention_layernorm, post_feedforward_layernorm; the MLP's
  // input by pre_feedforward_layernorm); embeddings are multiplied by embedScale; the MLP's gate is GELU (tanh).
  bool normPlusOne = false;
  bool sandwichNorms = false;
  double embedScale = 1.0;
  std::string activation = "silu";  // "silu" | "gelu_pytorch_tanh"
  double attentionScale = 0.0;      // of q·k: 1/sqrt(head_dim), or Gemma's 1/sqrt(query_pre_attn_scalar)
  // Gemma 3: the sliding layers' own RoPE base (without scaling); ropeTheta and ropeScaling are the full layers'.
  std::optional<double> slidingRopeTheta;
  bool tieWordEmbeddings = false;  // lm_head shares model.embed_tokens.weight
  std::optional<RopeScaling> ropeScaling;
  std::vector<int64_t> eosTokenIds;  // generation_config.json's first, then config.json's
  std::optional<int64_t> bosTokenId;
  std::optional<int64_t> padTokenId;
  std::optional<int64_t> slidingWindow;  // attention span of the layers that slide; none when no layer does
  std::vector<bool> slidingLayers;       // per layer: whether slidingWindow limits its attention
  std::string torchDtype;                // dtype the weights were saved in: float32, float16, bfloat16, float64
  nlohmann::json raw;                    // config.json as read, kept so that a saved checkpoint loses nothing
};

// Reads `dir`/config.json and `dir`/generation_config.json; ERR_GENIUS_BAD_FILE names the file and field.
ModelConfig ReadModelConfig(const std::string& dir);

// Every weight a checkpoint of `config` holds, with Hugging Face names and shapes, in layer order.
// A tied model has no lm_head.weight.
std::vector<std::pair<std::string, std::vector<int64_t>>> ExpectedWeights(const ModelConfig& config);

// config.json for `config`: `raw` with our fields written over it, in the RoPE form `raw` used.
nlohmann::json ConfigToJson(const ModelConfig& config);

}  // namespace genius::model
