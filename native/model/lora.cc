#include "model/lora.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "coded_error.h"
#include "model/file_io.h"

namespace genius::model {

namespace {

constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";
// PEFT's prefix of a causal LM's adapter tensors: PeftModel.base_model (LoraModel) .model (the LM).
constexpr const char* kPrefix = "base_model.model.";

std::string ShortName(const std::string& module) { return module.substr(module.find('.') + 1); }

// [out, in] of every projection of `config`'s layer 0 (all layers have the same shapes), by module.
std::map<std::string, std::vector<int64_t>> ProjectionShapes(const ModelConfig& config) {
  std::map<std::string, std::vector<int64_t>> shapes;
  const std::string layer0 = "model.layers.0.";
  for (const auto& [name, shape] : ExpectedWeights(config)) {
    for (const char* module : kLoraModules) {
      if (name == layer0 + module + ".weight") shapes.emplace(module, shape);
    }
  }
  return shapes;
}

void CheckTargets(const std::vector<std::string>& targets, const std::string& field,
                  const std::function<void(const std::string&)>& refuse) {
  if (targets.empty()) refuse(field + " names no module");
  for (const std::string& target : targets) {
    const bool known = std::any_of(std::begin(kLoraModules), std::end(kLoraModules),
                                   [&](const char* module) { return ShortName(module) == target; });
    if (!known) {
      refuse(field + " names '" + target +
             "', which is no projection of a decoder layer (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, "
             "down_proj)");
    }
  }
}

// The (layer, module, A or B) a PEFT tensor name stands for; nullopt when it is not an adapter weight of ours.
struct WeightKey {
  int64_t layer;
  std::string module;
  char which;
};
std::optional<WeightKey> ParseWeightName(const std::string& name) {
  static const std::regex pattern(
      R"(base_model\.model\.model\.layers\.(\d{1,9})\.((?:self_attn|mlp)\.[a-z_]+)\.lora_([AB])\.weight)");
  std::smatch match;
  if (!std::regex_match(name, match, pattern)) return std::nullopt;
  const std::string module = match[2];
  const bool known = std::any_of(std::begin(kLoraModules), std::end(kLoraModules),
                                 [&](const char* candidate) { return module == candidate; });
  if (!known) return std::nullopt;
  return WeightKey{std::stoll(match[1]), module, match[3].str()[0]};
}

// adapter_config.json's settings, refusing what we would compute differently from PEFT.
LoraSettings ReadSettings(const std::string& file) {
  const nlohmann::json json = ReadJsonFile(file);
  const auto bad = [&](const std::string& problem) { Fail(code::kBadFile, file + ": " + problem); };
  if (!json.is_object()) bad("must hold a JSON object");
  const auto field = [&](const char* name) { return json.contains(name) ? json.at(name) : nlohmann::json(); };
  const auto unset = [](const nlohmann::json& value) {
    return value.is_null() || (value.is_boolean() && !value.get<bool>()) || (value.is_object() && value.empty()) ||
           (value.is_array() && value.empty());
  };
  if (field("peft_type") != "LORA") bad("field 'peft_type' must be \"LORA\", got " + field("peft_type").dump());
  // Every LoraConfig field that, set, makes the adapter compute something other than B·A·x on a projection's input
  // (or adapt something other than the projections): refused rather than approximated.
  for (const char* unsupported :
       {"use_dora", "modules_to_save", "rank_pattern", "alpha_pattern", "fan_in_fan_out", "lora_bias",
        "layers_to_transform", "use_qalora", "target_parameters", "trainable_token_indices", "layer_replication",
        "alora_invocation_tokens", "arrow_config", "use_bdlora", "velora_config", "monteclora_config", "kasa_config"}) {
    if (!unset(field(unsupported))) {
      bad(std::string("field '") + unsupported + "' is " + field(unsupported).dump() +
          ": genius-native reads only plain LoRA adapters of every layer's projections");
    }
  }
  const nlohmann::json bias = field("bias");
  if (!bias.is_null() && bias != "none") bad("field 'bias' is " + bias.dump() + ": only \"none\" is supported");
  LoraSettings settings;
  const nlohmann::json rank = field("r");
  if (!rank.is_number_integer() || rank.get<int64_t>() < 1) bad("field 'r' must be a positive integer");
  settings.rank = rank.get<int64_t>();
  const nlohmann::json alpha = field("lora_alpha");
  if (!alpha.is_number() || !(alpha.get<double>() > 0)) bad("field 'lora_alpha' must be a positive number");
  settings.alpha = alpha.get<double>();
  const nlohmann::json dropout = field("lora_dropout");
  if (!dropout.is_null()) {
    if (!dropout.is_number() || dropout.get<double>() < 0 || dropout.get<double>() >= 1) {
      bad("field 'lora_dropout' must be a number in [0, 1)");
    }
    settings.dropout = dropout.get<double>();
  }
  const nlohmann::json rslora = field("use_rslora");
  if (!rslora.is_null() && !rslora.is_boolean()) bad("field 'use_rslora' must be a boolean");
  settings.rslora = rslora.is_boolean() && rslora.get<bool>();
  return settings;
}

}  // namespace

double LoraSettings::Scale() const {
  return rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / static_cast<double>(rank);
}

std::string LoraWeightName(int64_t layer, const std::string& module, char which) {
  return std::string(kPrefix) + "model.layers." + std::to_string(layer) + "." + module + ".lora_" + which + ".weight";
}

LoraAdapter NewLoraAdapter(const ModelConfig& config, const std::string& baseModel, const LoraSettings& settings,
                           uint64_t seed, at::Device device, at::ScalarType dtype) {
  const auto refuse = [](const std::string& problem) { Fail(code::kInvalidArgument, "lora: " + problem); };
  if (settings.rank < 1) refuse("rank must be a positive integer");
  if (!(settings.alpha > 0)) refuse("alpha must be positive");
  if (!(settings.dropout >= 0 && settings.dropout < 1)) refuse("dropout must be in [0, 1)");
  CheckTargets(settings.targets, "targets", refuse);
  const std::set<std::string> targets(settings.targets.begin(), settings.targets.end());
  const auto shapes = ProjectionShapes(config);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  LoraAdapter adapter{settings, {}, baseModel};
  std::sort(adapter.settings.targets.begin(), adapter.settings.targets.end());
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    for (const char* module : kLoraModules) {
      if (targets.count(ShortName(module)) == 0) continue;
      const int64_t out = shapes.at(module)[0], in = shapes.at(module)[1];
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));
      const at::Tensor a = at::empty({settings.rank, in}, at::kFloat).uniform_(-bound, bound, generator);
      adapter.weights.emplace(LoraWeightName(layer, module, 'A'), a.to(device, dtype));
      adapter.weights.emplace(LoraWeightName(layer, module, 'B'),
                              at::zeros({out, settings.rank}, at::TensorOptions().device(device).dtype(dtype)));
    }
  }
  return adapter;
}

LoraAdapter LoadLoraAdapter(const std::string& dir, const ModelConfig& config, const std::string& baseModel,
                            at::Device device, at::ScalarType dtype) {
  LoraAdapter adapter{ReadSettings(JoinPath(dir, kConfigFile)), {}, baseModel};
  const std::string file = JoinPath(dir, kWeightsFile);
  adapter.weights = ReadSafetensors(file, device, dtype);
  const auto bad = [&](const std::string& problem) { Fail(code::kBadFile, file + ": " + problem); };
  const auto shapes = ProjectionShapes(config);
  std::set<std::string> targets;
  for (const auto& [name, tensor] : adapter.weights) {
    const std::optional<WeightKey> key = ParseWeightName(name);
    if (!key) bad("tensor '" + name + "' is not a LoRA weight of an attention or MLP projection");
    if (key->layer >= config.numLayers) {
      bad("tensor '" + name + "' adapts layer " + std::to_string(key->layer) + " of a model with " +
          std::to_string(config.numLayers) + " layers");
    }
    const char other = key->which == 'A' ? 'B' : 'A';
    if (adapter.weights.count(LoraWeightName(key->layer, key->module, other)) == 0) {
      bad("tensor '" + name + "' has no lora_" + other + " beside it");
    }
    const std::vector<int64_t>& projection = shapes.at(key->module);
    const std::vector<int64_t> expected = key->which == 'A'
                                              ? std::vector<int64_t>{adapter.settings.rank, projection[1]}
                                              : std::vector<int64_t>{projection[0], adapter.settings.rank};
    if (tensor.sizes().vec() != expected) {
      bad("tensor '" + name + "' is " + c10::str(tensor.sizes()) + ", expected " + c10::str(at::IntArrayRef(expected)) +
          " for rank " + std::to_string(adapter.settings.rank) + " (adapter_config.json's r) on this model");
    }
    targets.insert(ShortName(key->module));
  }
  if (targets.empty()) bad("holds no LoRA weight");
  adapter.settings.targets.assign(targets.begin(), targets.end());
  return adapter;
}

void SaveLoraAdapter(const std::string& dir, const LoraAdapter& adapter, const TensorMap& weights,
                     at::ScalarType dtype) {
  const LoraSettings& settings = adapter.settings;
  TensorMap converted;
  for (const auto& [name, tensor] : weights) converted.emplace(name, tensor.to(dtype));
  WriteSafetensors(JoinPath(dir, kWeightsFile), converted, {{"format", "pt"}});
  // PEFT's LoraConfig fields, as save_pretrained writes them for this kind of adapter.
  const nlohmann::json config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", adapter.baseModel},
      {"r", settings.rank},
      {"lora_alpha", settings.alpha},
      {"lora_dropout", settings.dropout},
      {"use_rslora", settings.rslora},
      {"target_modules", settings.targets},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"use_dora", false},
      {"modules_to_save", nullptr},
      {"init_lora_weights", true},
      {"inference_mode", true},
      {"layers_to_transform", nullptr},
      {"layers_pattern", nullptr},
      {"rank_pattern", nlohmann::json::object()},
      {"alpha_pattern", nlohmann::json::object()},
      {"revision", nullptr},
  };
  WriteFileAtomically(JoinPath(dir, kConfigFile), config.dump(2) + "\n");
}

}  // namespace genius::model
