#include "model/config.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "coded_error.h"
#include "model/file_io.h"

namespace genius::model {

namespace {

// What transformers assumes for a key that config.json leaves out, per family.
struct Family {
  const char* modelType;
  const char* architecture;
  int64_t maxPositions;
  std::optional<int64_t> bosTokenId;
  std::optional<int64_t> eosTokenId;
  std::optional<int64_t> numKvHeads;     // empty: as many as attention heads
  std::optional<int64_t> slidingWindow;  // for a model type that has the key at all
  std::optional<int64_t> headDim;        // without head_dim in config.json; empty: hidden_size / heads
  double ropeTheta = 10000.0;
  bool tieWordEmbeddings = false;
};

const Family kFamilies[] = {
    {"llama", "LlamaForCausalLM", 2048, 1, 2, std::nullopt, std::nullopt, std::nullopt},
    {"qwen2", "Qwen2ForCausalLM", 32768, std::nullopt, std::nullopt, std::nullopt, 4096, std::nullopt},
    {"qwen3", "Qwen3ForCausalLM", 32768, std::nullopt, std::nullopt, std::nullopt, 4096, 128},
    {"mistral", "MistralForCausalLM", 131072, 1, 2, 8, 4096, std::nullopt},
    {"gemma3_text", "Gemma3ForCausalLM", 131072, 2, 1, 4, 4096, 256, 1000000.0, true},
};

const Family* FindFamily(const std::string& modelType) {
  for (const auto& family : kFamilies) {
    if (modelType == family.modelType) return &family;
  }
  return nullptr;
}

bool IsCausalLmArchitecture(const std::string& name) {
  return std::any_of(std::begin(kFamilies), std::end(kFamilies),
                     [&](const Family& family) { return name == family.architecture; });
}

// Typed access to the fields of one JSON object; every error names the file and the field.
class FieldReader {
 public:
  FieldReader(const nlohmann::json& object, std::string file, std::string prefix = "")
      : object_(object), file_(std::move(file)), prefix_(std::move(prefix)) {}

  [[noreturn]] void Bad(const std::string& key, const std::string& problem) const {
    Fail(code::kBadFile, file_ + ": '" + prefix_ + key + "' " + problem);
  }

  // Present and not null.
  bool Has(const std::string& key) const {
    const auto found = object_.find(key);
    return found != object_.end() && !found->is_null();
  }

  const nlohmann::json& Get(const std::string& key) const {
    if (!Has(key)) Bad(key, "is missing");
    return object_.at(key);
  }

  int64_t Integer(const std::string& key, int64_t min) const {
    const nlohmann::json& value = Get(key);
    // Sizes are bounded so that products of them (weight shapes) cannot overflow.
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    if (!value.is_number_integer() || (value.is_number_unsigned() && value.get<uint64_t>() > kMax) ||
        value.get<int64_t>() < min || value.get<int64_t>() > kMax) {
      Bad(key,
          "must be an integer in [" + std::to_string(min) + ", " + std::to_string(kMax) + "], got " + Shown(value));
    }
    return value.get<int64_t>();
  }
  int64_t Integer(const std::string& key, int64_t min, int64_t fallback) const {
    return Has(key) ? Integer(key, min) : fallback;
  }

  double PositiveNumber(const std::string& key) const {
    const nlohmann::json& value = Get(key);
    if (!value.is_number() || !(value.get<double>() > 0)) Bad(key, "must be a positive number, got " + Shown(value));
    return value.get<double>();
  }
  double PositiveNumber(const std::string& key, double fallback) const {
    return Has(key) ? PositiveNumber(key) : fallback;
  }

  bool Bool(const std::string& key, bool fallback) const {
    if (!Has(key)) return fallback;
    const nlohmann::json& value = object_.at(key);
    if (!value.is_boolean()) Bad(key, "must be true or false, got " + Shown(value));
    return value.get<bool>();
  }

  std::string String(const std::string& key, const std::string& fallback) const {
    if (!Has(key)) return fallback;
    const nlohmann::json& value = object_.at(key);
    if (!value.is_string()) Bad(key, "must be a string, got " + Shown(value));
    return value.get<std::string>();
  }

  // A token id or a list of them (eos_token_id may be either); absent or null gives none.
  std::vector<int64_t> TokenIds(const std::string& key, int64_t vocabSize) const {
    if (!Has(key)) return {};
    const nlohmann::json& value = object_.at(key);
    std::vector<int64_t> ids;
    for (const nlohmann::json& id : value.is_array() ? value : nlohmann::json::array({value})) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocabSize ||
          (id.is_number_unsigned() && id.get<uint64_t>() >= static_cast<uint64_t>(vocabSize))) {
        Bad(key,
            "must be a token id or list of token ids in [0, " + std::to_string(vocabSize) + "), got " + Shown(value));
      }
      ids.push_back(id.get<int64_t>());
    }
    return ids;
  }

  std::optional<int64_t> TokenId(const std::string& key, int64_t vocabSize) const {
    const std::vector<int64_t> ids = TokenIds(key, vocabSize);
    if (ids.size() > 1) Bad(key, "must be one token id, got " + Shown(object_.at(key)));
    return ids.empty() ? std::nullopt : std::optional<int64_t>(ids.front());
  }

  bool Contains(const std::string& key) const { return object_.contains(key); }

 private:
  // A value for a message, cut short: config files are untrusted too.
  static std::string Shown(const nlohmann::json& value) {
    const std::string text = value.dump();
    return text.size() > 80 ? text.substr(0, 80) + "..." : text;
  }

  const nlohmann::json& object_;
  std::string file_;
  std::string prefix_;
};

// YaRN's fields as transformers' _compute_yarn_parameters reads them.
void ReadYarn(const FieldReader& config, const FieldReader& rope, int64_t maxPositions, RopeScaling& scaling) {
  scaling.originalMaxPositions = config.Has("original_max_position_embeddings")
                                     ? config.Integer("original_max_position_embeddings", 1)
                                     : rope.Integer("original_max_position_embeddings", 1);
  // Without a factor, the ratio of the context to the original one (DeepSeek-V3's form).
  scaling.factor = rope.Has("factor") ? rope.PositiveNumber("factor")
                                      : static_cast<double>(maxPositions) / scaling.originalMaxPositions;
  // transformers reads 0 (like null) as absent here, as Python's `or` does.
  const auto optional = [&](const char* key, double fallback) {
    return rope.Has(key) && rope.Get(key) == 0 ? fallback : rope.PositiveNumber(key, fallback);
  };
  scaling.betaFast = optional("beta_fast", 32.0);
  scaling.betaSlow = optional("beta_slow", 1.0);
  scaling.truncate = rope.Bool("truncate", true);
  const auto mscale = [](double scale, double weight) {
    return scale <= 1 ? 1.0 : 0.1 * weight * std::log(scale) + 1.0;
  };
  const double weight = optional("mscale", 0.0), allDimWeight = optional("mscale_all_dim", 0.0);
  if (rope.Has("attention_factor")) {
    scaling.attentionFactor = rope.PositiveNumber("attention_factor");
  } else if (weight != 0 && allDimWeight != 0) {
    scaling.attentionFactor = mscale(scaling.factor, weight) / mscale(scaling.factor, allDimWeight);
  } else {
    scaling.attentionFactor = mscale(scaling.factor, 1.0);
  }
}

// One RoPE dict (rope_type, rope_theta and the type's fields) into out.ropeTheta and out.ropeScaling.
void ReadRopeParameters(const FieldReader& config, const FieldReader& rope, double defaultTheta, ModelConfig& out) {
  out.ropeTheta =
      rope.Has("rope_theta") ? rope.PositiveNumber("rope_theta") : config.PositiveNumber("rope_theta", defaultTheta);
  const double partialRotary = rope.Has("partial_rotary_factor") ? rope.PositiveNumber("partial_rotary_factor")
                                                                 : config.PositiveNumber("partial_rotary_factor", 1.0);
  if (partialRotary != 1.0) config.Bad("partial_rotary_factor", "other than 1 is not supported");

  const char* typeKey = rope.Has("rope_type") ? "rope_type" : "type";
  const std::string type = rope.String(typeKey, "default");
  if (type == "default") return;
  if (type != "linear" && type != "llama3" && type != "yarn") {
    rope.Bad(typeKey, "'" + type + "' is not supported (default, linear, llama3, yarn)");
  }
  RopeScaling scaling;
  scaling.type = type;
  if (type == "yarn") {
    ReadYarn(config, rope, out.maxPositions, scaling);
    out.ropeScaling = scaling;
    return;
  }
  scaling.factor = rope.PositiveNumber("factor");
  if (type == "llama3") {
    scaling.lowFreqFactor = rope.PositiveNumber("low_freq_factor");
    scaling.highFreqFactor = rope.PositiveNumber("high_freq_factor");
    if (scaling.highFreqFactor <= scaling.lowFreqFactor) rope.Bad("high_freq_factor", "must exceed low_freq_factor");
    // transformers gives a top-level original_max_position_embeddings priority over the dict's.
    scaling.originalMaxPositions = config.Has("original_max_position_embeddings")
                                       ? config.Integer("original_max_position_embeddings", 1)
                                       : rope.Integer("original_max_position_embeddings", 1, out.maxPositions);
  }
  out.ropeScaling = scaling;
}

// Gemma 3's RoPE per layer type: rope_parameters {full_attention: {...}, sliding_attention: {...}} (transformers
// 5), or rope_theta, rope_local_base_freq and a rope_scaling that scales the full layers (transformers 4). The
// sliding layers' RoPE has no scaling.
void ReadGemmaRope(const FieldReader& config, const nlohmann::json& json, const std::string& file, const Family& family,
                   ModelConfig& out) {
  const nlohmann::json empty = nlohmann::json::object();
  if (config.Has("rope_parameters") && !config.Has("rope_scaling")) {
    const nlohmann::json& perType = json.at("rope_parameters");
    if (!perType.is_object()) config.Bad("rope_parameters", "must be an object");
    const FieldReader types(perType, file, "rope_parameters.");
    const nlohmann::json& full = types.Has("full_attention") ? perType.at("full_attention") : empty;
    const nlohmann::json& sliding = types.Has("sliding_attention") ? perType.at("sliding_attention") : empty;
    if (!full.is_object()) types.Bad("full_attention", "must be an object");
    if (!sliding.is_object()) types.Bad("sliding_attention", "must be an object");
    ReadRopeParameters(config, FieldReader(full, file, "rope_parameters.full_attention."), family.ropeTheta, out);
    const FieldReader local(sliding, file, "rope_parameters.sliding_attention.");
    if (local.String("rope_type", "default") != "default")
      local.Bad("rope_type", "other than default is not supported");
    out.slidingRopeTheta = local.PositiveNumber("rope_theta", 10000.0);
    return;
  }
  const nlohmann::json& scaling = config.Has("rope_scaling") ? json.at("rope_scaling") : empty;
  if (!scaling.is_object()) config.Bad("rope_scaling", "must be an object");
  ReadRopeParameters(config, FieldReader(scaling, file, "rope_scaling."), family.ropeTheta, out);
  out.slidingRopeTheta = config.PositiveNumber("rope_local_base_freq", 10000.0);
}

// RoPE as transformers reads it: the legacy `rope_scaling` wins over `rope_parameters`; rope_theta
// lives in that dict (transformers 5) or at the top level (transformers 4).
void ReadRope(const FieldReader& config, const nlohmann::json& json, const std::string& file, const Family& family,
              ModelConfig& out) {
  if (out.modelType == "gemma3_text") return ReadGemmaRope(config, json, file, family, out);
  const char* ropeKey = config.Has("rope_scaling") ? "rope_scaling" : "rope_parameters";
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& ropeJson = config.Has(ropeKey) ? json.at(ropeKey) : empty;
  if (!ropeJson.is_object()) config.Bad(ropeKey, "must be an object");
  const FieldReader rope(ropeJson, file, std::string(ropeKey) + ".");
  for (const auto& [key, value] : ropeJson.items()) {
    if (value.is_object()) rope.Bad(key, "is a per-layer RoPE setting, which is not supported");
  }
  ReadRopeParameters(config, rope, family.ropeTheta, out);
}

// Qwen2 and Qwen3 slide their window over the layers from max_window_layers on (or as layer_types says),
// and only with use_sliding_window; Mistral over every layer. Sets out.slidingWindow (none when no layer
// slides) and out.slidingLayers.
void ReadSlidingWindow(const FieldReader& config, const nlohmann::json& json, const Family& family, ModelConfig& out) {
  out.slidingLayers.assign(out.numLayers, false);
  if (!family.slidingWindow) return;  // the family has no sliding window at all
  std::optional<int64_t> window = family.slidingWindow;
  if (config.Contains("sliding_window")) {
    window = config.Has("sliding_window") ? std::optional<int64_t>(config.Integer("sliding_window", 1)) : std::nullopt;
  }
  if (!window) return;
  const bool isGemma = family.modelType == std::string("gemma3_text");
  if (family.modelType == std::string("mistral")) {
    out.slidingLayers.assign(out.numLayers, true);
  } else if (isGemma && !config.Has("layer_types")) {
    // Gemma 3's older form: every pattern-th layer is a full one, the others slide.
    const int64_t pattern = config.Integer("sliding_window_pattern", 1, 6);
    for (int64_t layer = 0; layer < out.numLayers; ++layer) out.slidingLayers[layer] = (layer + 1) % pattern != 0;
  } else if (!isGemma && !config.Bool("use_sliding_window", false)) {
    return;
  } else if (config.Has("layer_types")) {
    const nlohmann::json& types = json.at("layer_types");
    if (!types.is_array() || static_cast<int64_t>(types.size()) != out.numLayers) {
      config.Bad("layer_types", "must list one attention type per layer");
    }
    for (int64_t layer = 0; layer < out.numLayers; ++layer) {
      if (types[layer] != "sliding_attention" && types[layer] != "full_attention") {
        config.Bad("layer_types", "holds an attention type other than full_attention and sliding_attention");
      }
      out.slidingLayers[layer] = types[layer] == "sliding_attention";
    }
  } else {
    const int64_t firstSliding = config.Integer("max_window_layers", 0, 28);
    for (int64_t layer = firstSliding; layer < out.numLayers; ++layer) out.slidingLayers[layer] = true;
  }
  if (std::find(out.slidingLayers.begin(), out.slidingLayers.end(), true) != out.slidingLayers.end()) {
    out.slidingWindow = window;
  }
}

void AppendUnique(std::vector<int64_t>& ids, const std::vector<int64_t>& more) {
  for (int64_t id : more) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
}

nlohmann::json OptionalToJson(const std::optional<int64_t>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

ModelConfig ReadModelConfig(const std::string& dir) {
  const std::string file = JoinPath(dir, "config.json");
  ModelConfig out;
  out.raw = ReadJsonFile(file);
  const nlohmann::json& json = out.raw;
  if (!json.is_object()) Fail(code::kBadFile, file + ": is not a JSON object");
  const FieldReader config(json, file);

  out.modelType = config.String("model_type", "");
  const Family* family = FindFamily(out.modelType);
  if (family == nullptr) {
    config.Bad("model_type",
               out.modelType.empty()
                   ? "is missing"
                   : "'" + out.modelType + "' is not supported (llama, qwen2, qwen3, mistral, gemma3_text)");
  }
  if (config.Has("architectures")) {
    const nlohmann::json& architectures = json.at("architectures");
    const bool known =
        architectures.is_array() && std::all_of(architectures.begin(), architectures.end(), [](const auto& name) {
          return name.is_string() && IsCausalLmArchitecture(name.template get<std::string>());
        });
    if (!known) {
      config.Bad("architectures",
                 "must name LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM or "
                 "Gemma3ForCausalLM, got " +
                     architectures.dump().substr(0, 120));
    }
  }
  const bool isGemma = out.modelType == "gemma3_text";
  // Gemma names its activation hidden_activation; the others hidden_act.
  const char* activationKey = isGemma ? "hidden_activation" : "hidden_act";
  const std::string supported = isGemma ? "gelu_pytorch_tanh" : "silu";  // the family's only one, and its default
  out.activation = config.String(activationKey, supported);
  if (out.activation != supported) {
    config.Bad(activationKey, "'" + out.activation + "' is not supported (" + supported + ")");
  }
  if (isGemma) {
    for (const char* key : {"final_logit_softcapping", "attn_logit_softcapping"}) {
      if (config.Has(key)) config.Bad(key, "is not supported (Gemma 3 has none)");
    }
    if (config.Bool("use_bidirectional_attention", false))
      config.Bad("use_bidirectional_attention", "is not supported");
  }

  out.hiddenSize = config.Integer("hidden_size", 1);
  out.numLayers = config.Integer("num_hidden_layers", 1);
  out.numHeads = config.Integer("num_attention_heads", 1);
  out.numKvHeads = config.Integer("num_key_value_heads", 1, family->numKvHeads.value_or(out.numHeads));
  if (out.numHeads % out.numKvHeads != 0) {
    config.Bad("num_key_value_heads", "(" + std::to_string(out.numKvHeads) + ") must divide num_attention_heads (" +
                                          std::to_string(out.numHeads) + ")");
  }
  if (config.Has("head_dim")) {
    out.headDim = config.Integer("head_dim", 1);
  } else if (family->headDim) {
    out.headDim = *family->headDim;
  } else {
    if (out.hiddenSize % out.numHeads != 0) {
      config.Bad("num_attention_heads", "(" + std::to_string(out.numHeads) + ") must divide hidden_size (" +
                                            std::to_string(out.hiddenSize) + ") when head_dim is not given");
    }
    out.headDim = out.hiddenSize / out.numHeads;
  }
  if (out.headDim % 2 != 0) config.Bad("head_dim", "must be even for rotary embeddings");
  out.intermediateSize = config.Integer("intermediate_size", 1);
  out.vocabSize = config.Integer("vocab_size", 1);
  out.maxPositions = config.Integer("max_position_embeddings", 1, family->maxPositions);
  out.rmsNormEps = config.PositiveNumber("rms_norm_eps", 1e-6);
  ReadRope(config, json, file, *family, out);

  const bool isLlama = out.modelType == "llama";
  const bool isQwen2 = out.modelType == "qwen2";
  const bool isQwen3 = out.modelType == "qwen3";
  // Qwen2's q/k/v always have a bias and o_proj none; Llama's and Qwen3's attention_bias covers all four.
  out.attentionBias = isQwen2 || ((isLlama || isQwen3 || isGemma) && config.Bool("attention_bias", false));
  out.attentionOutputBias = (isLlama || isQwen3 || isGemma) && out.attentionBias;
  out.mlpBias = isLlama && config.Bool("mlp_bias", false);
  out.qkNorm = isQwen3 || isGemma;
  out.normPlusOne = isGemma;
  out.sandwichNorms = isGemma;
  out.embedScale = isGemma ? std::sqrt(static_cast<double>(out.hiddenSize)) : 1.0;
  // x ** -0.5, as transformers writes it (1 / sqrt(x) can differ in the last bit).
  out.attentionScale = std::pow(
      isGemma ? config.PositiveNumber("query_pre_attn_scalar", 256.0) : static_cast<double>(out.headDim), -0.5);
  out.tieWordEmbeddings = config.Bool("tie_word_embeddings", family->tieWordEmbeddings);
  ReadSlidingWindow(config, json, *family, out);

  // A key left out takes the family default; a null says there is none.
  const auto familyToken = [&](const char* key, const std::optional<int64_t>& fallback) {
    return config.Contains(key) ? config.TokenIds(key, out.vocabSize)
                                : (fallback ? std::vector<int64_t>{*fallback} : std::vector<int64_t>{});
  };
  const std::vector<int64_t> configEos = familyToken("eos_token_id", family->eosTokenId);
  const std::vector<int64_t> configBos = familyToken("bos_token_id", family->bosTokenId);
  if (configBos.size() > 1) config.Bad("bos_token_id", "must be one token id");
  out.bosTokenId = configBos.empty() ? std::nullopt : std::optional<int64_t>(configBos.front());
  out.padTokenId = config.TokenId("pad_token_id", out.vocabSize);

  // generation_config.json decides how generation stops; config.json's ids are kept as well.
  const std::string generationFile = JoinPath(dir, "generation_config.json");
  if (FileExists(generationFile)) {
    const nlohmann::json generationJson = ReadJsonFile(generationFile);
    if (!generationJson.is_object()) Fail(code::kBadFile, generationFile + ": is not a JSON object");
    const FieldReader generation(generationJson, generationFile);
    out.eosTokenIds = generation.TokenIds("eos_token_id", out.vocabSize);
    if (!out.bosTokenId) out.bosTokenId = generation.TokenId("bos_token_id", out.vocabSize);
    if (!out.padTokenId) out.padTokenId = generation.TokenId("pad_token_id", out.vocabSize);
  }
  AppendUnique(out.eosTokenIds, configEos);

  // transformers 5 writes "dtype", transformers 4 "torch_dtype"; absent means float32.
  out.torchDtype = config.String("dtype", config.String("torch_dtype", "float32"));
  if (out.torchDtype != "float32" && out.torchDtype != "float16" && out.torchDtype != "bfloat16" &&
      out.torchDtype != "float64") {
    config.Bad(config.Has("dtype") ? "dtype" : "torch_dtype",
               "'" + out.torchDtype + "' is not a weight dtype (float32, float16, bfloat16, float64)");
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> ExpectedWeights(const ModelConfig& config) {
  const int64_t hidden = config.hiddenSize;
  const int64_t queryWidth = config.numHeads * config.headDim;
  const int64_t kvWidth = config.numKvHeads * config.headDim;
  const int64_t inner = config.intermediateSize;
  std::vector<std::pair<std::string, std::vector<int64_t>>> weights;
  weights.push_back({"model.embed_tokens.weight", {config.vocabSize, hidden}});
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    const std::string prefix = "model.layers." + std::to_string(layer) + ".";
    const std::string attention = prefix + "self_attn.";
    weights.push_back({attention + "q_proj.weight", {queryWidth, hidden}});
    weights.push_back({attention + "k_proj.weight", {kvWidth, hidden}});
    weights.push_back({attention + "v_proj.weight", {kvWidth, hidden}});
    weights.push_back({attention + "o_proj.weight", {hidden, queryWidth}});
    if (config.attentionBias) {
      weights.push_back({attention + "q_proj.bias", {queryWidth}});
      weights.push_back({attention + "k_proj.bias", {kvWidth}});
      weights.push_back({attention + "v_proj.bias", {kvWidth}});
    }
    if (config.attentionOutputBias) weights.push_back({attention + "o_proj.bias", {hidden}});
    if (config.qkNorm) {
      weights.push_back({attention + "q_norm.weight", {config.headDim}});
      weights.push_back({attention + "k_norm.weight", {config.headDim}});
    }
    const std::string mlp = prefix + "mlp.";
    weights.push_back({mlp + "gate_proj.weight", {inner, hidden}});
    weights.push_back({mlp + "up_proj.weight", {inner, hidden}});
    weights.push_back({mlp + "down_proj.weight", {hidden, inner}});
    if (config.mlpBias) {
      weights.push_back({mlp + "gate_proj.bias", {inner}});
      weights.push_back({mlp + "up_proj.bias", {inner}});
      weights.push_back({mlp + "down_proj.bias", {hidden}});
    }
    weights.push_back({prefix + "input_layernorm.weight", {hidden}});
    weights.push_back({prefix + "post_attention_layernorm.weight", {hidden}});
    if (config.sandwichNorms) {
      weights.push_back({prefix + "pre_feedforward_layernorm.weight", {hidden}});
      weights.push_back({prefix + "post_feedforward_layernorm.weight", {hidden}});
    }
  }
  weights.push_back({"model.norm.weight", {hidden}});
  if (!config.tieWordEmbeddings) weights.push_back({"lm_head.weight", {config.vocabSize, hidden}});
  return weights;
}

nlohmann::json ConfigToJson(const ModelConfig& config) {
  nlohmann::json out = config.raw.is_object() ? config.raw : nlohmann::json::object();
  const Family* family = FindFamily(config.modelType);
  out["model_type"] = config.modelType;
  if (family != nullptr) out["architectures"] = nlohmann::json::array({family->architecture});
  out["hidden_size"] = config.hiddenSize;
  out["num_hidden_layers"] = config.numLayers;
  out["num_attention_heads"] = config.numHeads;
  out["num_key_value_heads"] = config.numKvHeads;
  out["head_dim"] = config.headDim;
  out["intermediate_size"] = config.intermediateSize;
  out["vocab_size"] = config.vocabSize;
  out["max_position_embeddings"] = config.maxPositions;
  out["rms_norm_eps"] = config.rmsNormEps;
  out["tie_word_embeddings"] = config.tieWordEmbeddings;
  if (config.modelType != "qwen2" && config.modelType != "mistral") out["attention_bias"] = config.attentionBias;
  if (config.modelType == "llama") out["mlp_bias"] = config.mlpBias;

  // RoPE goes back where it came from: rope_parameters (transformers 5) or rope_theta + rope_scaling.
  nlohmann::json scaling = nlohmann::json::object();
  if (config.ropeScaling) {
    scaling["rope_type"] = config.ropeScaling->type;
    scaling["factor"] = config.ropeScaling->factor;
    if (config.ropeScaling->type == "llama3") {
      scaling["low_freq_factor"] = config.ropeScaling->lowFreqFactor;
      scaling["high_freq_factor"] = config.ropeScaling->highFreqFactor;
      scaling["original_max_position_embeddings"] = config.ropeScaling->originalMaxPositions;
    }
    if (config.ropeScaling->type == "yarn") {
      // The inferred attention factor is written out: the same numbers, whatever mscale form was read.
      scaling["original_max_position_embeddings"] = config.ropeScaling->originalMaxPositions;
      scaling["beta_fast"] = config.ropeScaling->betaFast;
      scaling["beta_slow"] = config.ropeScaling->betaSlow;
      scaling["truncate"] = config.ropeScaling->truncate;
      scaling["attention_factor"] = config.ropeScaling->attentionFactor;
    }
  }
  const bool legacyRope =
      out.contains("rope_scaling") || out.contains("rope_theta") || !out.contains("rope_parameters");
  if (config.slidingRopeTheta && !legacyRope) {  // Gemma 3, per layer type
    scaling["rope_type"] = config.ropeScaling ? config.ropeScaling->type : "default";
    scaling["rope_theta"] = config.ropeTheta;
    out["rope_parameters"] = {
        {"full_attention", scaling},
        {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", *config.slidingRopeTheta}}}};
  } else if (legacyRope) {
    if (config.slidingRopeTheta) out["rope_local_base_freq"] = *config.slidingRopeTheta;
    out["rope_theta"] = config.ropeTheta;
    out["rope_scaling"] = config.ropeScaling ? scaling : nlohmann::json(nullptr);
    out.erase("rope_parameters");
  } else {
    scaling["rope_type"] = config.ropeScaling ? config.ropeScaling->type : "default";
    scaling["rope_theta"] = config.ropeTheta;
    out["rope_parameters"] = scaling;
  }
  if (out.contains("original_max_position_embeddings") && config.ropeScaling) {
    out["original_max_position_embeddings"] = config.ropeScaling->originalMaxPositions;
  }

  if (config.modelType == "gemma3_text" && config.slidingWindow) {
    nlohmann::json types = nlohmann::json::array();
    for (const bool slides : config.slidingLayers) types.push_back(slides ? "sliding_attention" : "full_attention");
    out["layer_types"] = types;
  }
  if (config.modelType == "qwen2" || config.modelType == "qwen3") {
    out["use_sliding_window"] = config.slidingWindow.has_value();
    if (config.slidingWindow) {
      // layer_types is what transformers 5 reads; max_window_layers says the same where the sliding layers
      // are the last ones (its meaning in transformers 4).
      nlohmann::json types = nlohmann::json::array();
      for (const bool slides : config.slidingLayers) types.push_back(slides ? "sliding_attention" : "full_attention");
      out["layer_types"] = types;
      const auto firstSliding = std::find(config.slidingLayers.begin(), config.slidingLayers.end(), true);
      out["max_window_layers"] = firstSliding - config.slidingLayers.begin();
    }
  }
  if (config.modelType != "llama") out["sliding_window"] = OptionalToJson(config.slidingWindow);

  out["eos_token_id"] = config.eosTokenIds.size() == 1 ? nlohmann::json(config.eosTokenIds.front())
                        : config.eosTokenIds.empty()   ? nlohmann::json(nullptr)
                                                       : nlohmann::json(config.eosTokenIds);
  out["bos_token_id"] = OptionalToJson(config.bosTokenId);
  out["pad_token_id"] = OptionalToJson(config.padTokenId);
  out[out.contains("torch_dtype") && !out.contains("dtype") ? "torch_dtype" : "dtype"] = config.torchDtype;
  return out;
}

}  // namespace genius::model
