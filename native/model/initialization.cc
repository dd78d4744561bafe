#include "model/initialization.h"

#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "coded_error.h"

namespace genius::model {

namespace {

// transformers' PretrainedConfig default.
constexpr double kDefaultInitializerRange = 0.02;

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

double InitializerRange(const ModelConfig& config) {
  const auto found = config.raw.find("initializer_range");
  if (found == config.raw.end() || found->is_null()) return kDefaultInitializerRange;
  if (!found->is_number() || !(found->get<double>() > 0)) {
    Fail(code::kBadFile, "config.json: 'initializer_range' must be a positive number, got " + found->dump());
  }
  return found->get<double>();
}

}  // namespace

TensorMap InitialWeights(const ModelConfig& config, uint64_t seed, at::Device device, at::ScalarType dtype) {
  const double range = InitializerRange(config);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::TensorOptions cpuFloat = at::TensorOptions().dtype(at::kFloat);
  TensorMap weights;
  for (const auto& [name, shape] : ExpectedWeights(config)) {
    at::Tensor weight;
    if (EndsWith(name, "norm.weight")) {
      // Gemma's norms scale by 1 + weight: their identity is 0.
      weight = config.normPlusOne ? at::zeros(shape, cpuFloat) : at::ones(shape, cpuFloat);
    } else if (EndsWith(name, ".bias")) {
      weight = at::zeros(shape, cpuFloat);
    } else {
      weight = at::normal(0.0, range, shape, generator, cpuFloat);
    }
    weights.emplace(name, weight);
  }
  const auto pad = config.raw.find("pad_token_id");
  if (pad != config.raw.end() && pad->is_number_integer()) {
    const int64_t row = pad->get<int64_t>();
    if (row >= 0 && row < config.vocabSize) weights.at("model.embed_tokens.weight")[row].zero_();
  }
  for (auto& [name, weight] : weights) weight = weight.to(device, dtype);
  return weights;
}

}  // namespace genius::model
