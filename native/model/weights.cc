#include "model/weights.h"

#include <algorithm>
#include <map>
#include <vector>

#include "coded_error.h"
#include "model/file_io.h"

namespace genius::model {

namespace {

// A report names this many tensors of each kind, then counts the rest.
constexpr size_t kNamesListed = 12;

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Tensors a checkpoint may hold beyond ExpectedWeights: RoPE tables older exports saved as buffers,
// and the copy of the embedding some writers keep for a tied lm_head.
bool IsIgnored(const std::string& name, const ModelConfig& config) {
  return EndsWith(name, "rotary_emb.inv_freq") || (config.tieWordEmbeddings && name == "lm_head.weight");
}

std::string ShapeText(const std::vector<int64_t>& shape) { return c10::str(at::IntArrayRef(shape)); }

std::string ListNames(const char* label, const std::vector<std::string>& names) {
  std::string text = std::string(label) + " ";
  for (size_t i = 0; i < names.size() && i < kNamesListed; ++i) text += (i == 0 ? "" : ", ") + names[i];
  if (names.size() > kNamesListed) text += " and " + std::to_string(names.size() - kNamesListed) + " more";
  return text;
}

// How many decoder layers `present` holds weights of (one past the highest model.layers.N).
int64_t LayersPresent(const std::map<std::string, std::vector<int64_t>>& present) {
  static const std::string prefix = "model.layers.";
  int64_t layers = 0;
  for (const auto& entry : present) {
    const std::string& name = entry.first;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t end = name.find('.', prefix.size());
    const std::string digits = name.substr(prefix.size(), end - prefix.size());
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    layers = std::max<int64_t>(layers, std::stoll(digits) + 1);
  }
  return layers;
}

// Every way `present` (name → shape) differs from ExpectedWeights(config), in one line; empty when none.
std::string DescribeMismatch(const ModelConfig& config, const std::map<std::string, std::vector<int64_t>>& present) {
  // Before listing the expected names, which takes memory per declared layer: a config that declares more
  // layers than the weights hold (3,000,000 took gigabytes to be refused) is refused by the count alone.
  const int64_t layers = LayersPresent(present);
  if (config.numLayers > layers) {
    return "num_hidden_layers is " + std::to_string(config.numLayers) + " but the weights hold " +
           std::to_string(layers) + " layers";
  }
  std::vector<std::string> missing;
  std::vector<std::string> misshapen;
  std::map<std::string, std::vector<int64_t>> unexpected = present;
  for (const auto& [name, shape] : ExpectedWeights(config)) {
    const auto found = present.find(name);
    if (found == present.end()) {
      missing.push_back(name);
    } else if (found->second != shape) {
      misshapen.push_back(name + " is " + ShapeText(found->second) + " instead of " + ShapeText(shape));
    }
    unexpected.erase(name);
  }
  std::vector<std::string> parts;
  if (!missing.empty()) parts.push_back(ListNames("missing", missing));
  if (!unexpected.empty()) {
    std::vector<std::string> names;
    for (const auto& entry : unexpected) names.push_back(entry.first);
    parts.push_back(ListNames("unexpected", names));
  }
  if (!misshapen.empty()) parts.push_back(ListNames("wrong shape:", misshapen));
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : "; ") + part;
  return text;
}

std::string Describe(const ModelConfig& config) {
  return config.modelType + ", " + std::to_string(config.numLayers) + " layers, hidden " +
         std::to_string(config.hiddenSize) + ", vocab " + std::to_string(config.vocabSize) +
         (config.tieWordEmbeddings ? ", tied embeddings" : "");
}

const char* WeightDtypeName(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "float32";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kDouble: return "float64";
    default: return nullptr;
  }
}

}  // namespace

at::ScalarType SavedDtype(const ModelConfig& config) {
  for (at::ScalarType dtype : {at::kFloat, at::kHalf, at::kBFloat16, at::kDouble}) {
    if (config.torchDtype == WeightDtypeName(dtype)) return dtype;
  }
  return at::kFloat;  // ReadModelConfig admits no other name; a hand-built config defaults as transformers does
}

void RecordStoredDtype(const std::string& dir, ModelConfig& config) {
  const SafetensorsCheckpoint checkpoint(dir);
  for (const SafetensorsEntry* entry : checkpoint.entries()) {
    if (entry->name != "model.embed_tokens.weight") continue;
    if (const char* name = WeightDtypeName(entry->dtype)) config.torchDtype = name;
  }
}

TensorMap LoadWeights(const std::string& dir, const ModelConfig& config, at::Device device, at::ScalarType dtype,
                      const TensorProgress& progress) {
  const SafetensorsCheckpoint checkpoint(dir);
  std::vector<const SafetensorsEntry*> entries;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const SafetensorsEntry* entry : checkpoint.entries()) {
    if (IsIgnored(entry->name, config)) continue;
    entries.push_back(entry);
    shapes.emplace(entry->name, entry->shape);
  }
  const std::string mismatch = DescribeMismatch(config, shapes);
  if (!mismatch.empty()) {
    Fail(code::kBadFile, dir + ": the weights do not match config.json (" + Describe(config) + "): " + mismatch);
  }
  for (const SafetensorsEntry* entry : entries) {
    if (!at::isFloatingType(entry->dtype)) {
      Fail(code::kBadFile, checkpoint.FileOf(*entry) + ": tensor '" + entry->name + "' holds " +
                               c10::toString(entry->dtype) + " values, not floating point");
    }
  }
  TensorMap weights;
  for (size_t i = 0; i < entries.size(); ++i) {
    weights.emplace(entries[i]->name, checkpoint.Load(*entries[i], device, dtype));
    if (progress) progress(i + 1, entries.size());
  }
  return weights;
}

void SaveWeights(const std::string& dir, const TensorMap& weights, const ModelConfig& config, at::ScalarType dtype,
                 uint64_t shardBytes, const TensorProgress& progress) {
  TensorMap written;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, tensor] : weights) {
    if (config.tieWordEmbeddings && name == "lm_head.weight") continue;  // transformers does not save it either
    if (!tensor.defined() || !at::isFloatingType(tensor.scalar_type())) {
      Fail(code::kInvalidArgument, "weight '" + name + "' is not a floating-point tensor");
    }
    shapes.emplace(name, tensor.sizes().vec());
    written.emplace(name, tensor.scalar_type() == dtype ? tensor : tensor.to(dtype));
  }
  const std::string mismatch = DescribeMismatch(config, shapes);
  if (!mismatch.empty()) {
    Fail(code::kInvalidArgument,
         "the weights to save do not match the model config (" + Describe(config) + "): " + mismatch);
  }
  ModelConfig saved = config;
  if (const char* name = WeightDtypeName(dtype)) saved.torchDtype = name;
  WriteSafetensorsCheckpoint(dir, written, {{"format", "pt"}}, shardBytes, progress);
  WriteFileAtomically(JoinPath(dir, "config.json"), ConfigToJson(saved).dump(2) + "\n");
}

}  // namespace genius::model
