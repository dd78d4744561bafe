#include "model/transformer.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace genius::model {

namespace {

at::Tensor Optional(const TensorMap& weights, const std::string& name) {
  const auto found = weights.find(name);
  return found == weights.end() ? at::Tensor() : found->second;
}

at::Tensor BaseLinear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return at::linear(x, weight, bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt);
}

// YaRN's blend of `inverse` (extrapolation) and inverse / factor (interpolation) over a linear ramp
// between the dimensions that turn betaFast and betaSlow times over the original context, in float32 as
// transformers' _compute_yarn_parameters.
at::Tensor YarnInverseFrequencies(const RopeScaling& scaling, int64_t headDim, double theta,
                                  const at::Tensor& inverse) {
  const double dim = static_cast<double>(headDim);
  const auto correctionDim = [&](double rotations) {
    return dim * std::log(scaling.originalMaxPositions / (rotations * 2 * M_PI)) / (2 * std::log(theta));
  };
  double low = correctionDim(scaling.betaFast), high = correctionDim(scaling.betaSlow);
  if (scaling.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, dim - 1);
  if (low == high) high += 0.001;  // as transformers: no division by zero
  const at::Tensor ramp = ((at::arange(headDim / 2, at::kFloat) - low) / (high - low)).clamp(0, 1);
  const at::Tensor extrapolation = 1 - ramp;
  return inverse / scaling.factor * (1 - extrapolation) + inverse * extrapolation;
}

// transformers' RoPE init at base `theta`: default, "linear" (positions / factor), "llama3" (Llama 3.1 frequency
// blending) and "yarn", all in float32 as there.
at::Tensor InverseFrequencies(int64_t headDim, double theta, const std::optional<RopeScaling>& ropeScaling) {
  at::Tensor exponents = at::arange(0, headDim, 2, at::kLong).to(at::kFloat) / static_cast<double>(headDim);
  at::Tensor inverse = 1.0 / at::pow(theta, exponents);
  if (!ropeScaling) return inverse;
  const RopeScaling& scaling = *ropeScaling;
  if (scaling.type == "linear") return inverse / scaling.factor;
  if (scaling.type == "yarn") return YarnInverseFrequencies(scaling, headDim, theta, inverse);
  // llama3
  const double lowFreqWavelength = scaling.originalMaxPositions / scaling.lowFreqFactor;
  const double highFreqWavelength = scaling.originalMaxPositions / scaling.highFreqFactor;
  const at::Tensor wavelength = 2 * M_PI / inverse;
  at::Tensor scaled = at::where(wavelength > lowFreqWavelength, inverse / scaling.factor, inverse);
  const at::Tensor smooth = (scaling.originalMaxPositions / wavelength - scaling.lowFreqFactor) /
                            (scaling.highFreqFactor - scaling.lowFreqFactor);
  const at::Tensor smoothed = (1 - smooth) * scaled / scaling.factor + smooth * scaled;
  const at::Tensor medium = (wavelength >= highFreqWavelength) & (wavelength <= lowFreqWavelength);
  return at::where(medium, smoothed, scaled);
}

// Concatenates `parts` (rows of [out, in] weights, or biases) into one tensor and makes each part a view
// of its rows. Biases are all present or all absent in these families; an absent one stays absent.
at::Tensor Fuse(std::vector<at::Tensor*> parts) {
  if (!parts[0]->defined()) return at::Tensor();
  std::vector<at::Tensor> tensors;
  for (const at::Tensor* part : parts) tensors.push_back(*part);
  at::Tensor fused = at::cat(tensors, 0);
  int64_t row = 0;
  for (at::Tensor* part : parts) {
    const int64_t rows = part->size(0);
    *part = fused.narrow(0, row, rows);
    row += rows;
  }
  return fused;
}

// Attention of one query per row ([rows, heads, 1, dim]) over the cache's keys and values [rows, kvHeads,
// keys, dim] under mask [rows, 1, 1, keys], as scaled_dot_product_attention computes it. A decode step
// takes this path: the fused CPU kernel is made for blocks of queries, and one query per row paid its
// set-up (a fifth of a decode step at batch 32). The query heads that share a key/value head are one
// matrix against it, so grouped-query attention copies no key or value.
at::Tensor SingleQueryAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                                double scale) {
  const int64_t rows = q.size(0), heads = q.size(1), dim = q.size(3), kvHeads = k.size(1);
  const at::Tensor grouped = q.reshape({rows, kvHeads, heads / kvHeads, dim});
  at::Tensor scores = at::matmul(grouped, k.transpose(-1, -2)).mul_(scale);
  scores.masked_fill_(mask.logical_not(), -std::numeric_limits<double>::infinity());
  return at::matmul(at::softmax(scores, -1), v).view({rows, heads, 1, dim});
}

uint64_t NextModelId() {
  static std::atomic<uint64_t> last{0};
  return ++last;
}

at::Tensor RotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

Transformer::Transformer(ModelConfig config, const TensorMap& weights, std::optional<LoraAdapter> adapter)
    : id_(NextModelId()), config_(std::move(config)), adapter_(std::move(adapter)) {
  embed_ = weights.at("model.embed_tokens.weight");
  finalNorm_ = weights.at("model.norm.weight");
  lmHead_ = config_.tieWordEmbeddings ? embed_ : weights.at("lm_head.weight");
  for (int64_t i = 0; i < config_.numLayers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i) + ".";
    const auto weight = [&](const std::string& name) { return weights.at(prefix + name + ".weight"); };
    const auto bias = [&](const std::string& name) { return Optional(weights, prefix + name + ".bias"); };
    layers_.push_back(LayerWeights{weight("input_layernorm"), weight("post_attention_layernorm"),
                                   weight("self_attn.q_proj"), weight("self_attn.k_proj"), weight("self_attn.v_proj"),
                                   weight("self_attn.o_proj"), bias("self_attn.q_proj"), bias("self_attn.k_proj"),
                                   bias("self_attn.v_proj"), bias("self_attn.o_proj"), weight("mlp.gate_proj"),
                                   weight("mlp.up_proj"), weight("mlp.down_proj"), bias("mlp.gate_proj"),
                                   bias("mlp.up_proj"), bias("mlp.down_proj")});
    LayerWeights& layer = layers_.back();
    layer.qNorm = Optional(weights, prefix + "self_attn.q_norm.weight");
    layer.kNorm = Optional(weights, prefix + "self_attn.k_norm.weight");
    layer.preFeedforwardNorm = Optional(weights, prefix + "pre_feedforward_layernorm.weight");
    layer.postFeedforwardNorm = Optional(weights, prefix + "post_feedforward_layernorm.weight");
    layer.qkv = Fuse({&layer.q, &layer.k, &layer.v});
    layer.qkvBias = Fuse({&layer.qBias, &layer.kBias, &layer.vBias});
    layer.gateUp = Fuse({&layer.gate, &layer.up});
    layer.gateUpBias = Fuse({&layer.gateBias, &layer.upBias});
    if (!adapter_) continue;
    LoraWeights* loras[] = {&layer.qLora,    &layer.kLora,  &layer.vLora,   &layer.oLora,
                            &layer.gateLora, &layer.upLora, &layer.downLora};
    for (size_t m = 0; m < std::size(kLoraModules); ++m) {
      const auto a = adapter_->weights.find(LoraWeightName(i, kLoraModules[m], 'A'));
      if (a == adapter_->weights.end()) continue;
      *loras[m] = {a->second, adapter_->weights.at(LoraWeightName(i, kLoraModules[m], 'B'))};
    }
  }
  inverseFrequencies_ = InverseFrequencies(config_.headDim, config_.ropeTheta, config_.ropeScaling).to(embed_.device());
  if (config_.slidingRopeTheta) {  // the sliding layers' RoPE: their own base, no scaling
    slidingInverseFrequencies_ =
        InverseFrequencies(config_.headDim, *config_.slidingRopeTheta, std::nullopt).to(embed_.device());
  }
}

TensorMap Transformer::Parameters() const {
  TensorMap parameters{{"model.embed_tokens.weight", embed_}, {"model.norm.weight", finalNorm_}};
  if (!config_.tieWordEmbeddings) parameters.emplace("lm_head.weight", lmHead_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string prefix = "model.layers." + std::to_string(i) + ".";
    const LayerWeights& layer = layers_[i];
    const std::pair<const char*, const at::Tensor*> named[] = {
        {"input_layernorm.weight", &layer.inputNorm},
        {"post_attention_layernorm.weight", &layer.postAttentionNorm},
        {"self_attn.q_proj.weight", &layer.q},
        {"self_attn.k_proj.weight", &layer.k},
        {"self_attn.v_proj.weight", &layer.v},
        {"self_attn.o_proj.weight", &layer.o},
        {"self_attn.q_proj.bias", &layer.qBias},
        {"self_attn.k_proj.bias", &layer.kBias},
        {"self_attn.v_proj.bias", &layer.vBias},
        {"self_attn.o_proj.bias", &layer.oBias},
        {"mlp.gate_proj.weight", &layer.gate},
        {"mlp.up_proj.weight", &layer.up},
        {"mlp.down_proj.weight", &layer.down},
        {"mlp.gate_proj.bias", &layer.gateBias},
        {"mlp.up_proj.bias", &layer.upBias},
        {"mlp.down_proj.bias", &layer.downBias},
        {"self_attn.q_norm.weight", &layer.qNorm},
        {"self_attn.k_norm.weight", &layer.kNorm},
        {"pre_feedforward_layernorm.weight", &layer.preFeedforwardNorm},
        {"post_feedforward_layernorm.weight", &layer.postFeedforwardNorm},
    };
    for (const auto& [name, tensor] : named) {
      if (tensor->defined()) parameters.emplace(prefix + name, *tensor);
    }
  }
  return parameters;
}

TensorMap Transformer::MergedParameters() const {
  TensorMap parameters = Parameters();
  if (!adapter_) return parameters;
  const double scale = adapter_->settings.Scale();
  for (int64_t layer = 0; layer < config_.numLayers; ++layer) {
    for (const char* module : kLoraModules) {
      const auto a = adapter_->weights.find(LoraWeightName(layer, module, 'A'));
      if (a == adapter_->weights.end()) continue;
      const at::Tensor& b = adapter_->weights.at(LoraWeightName(layer, module, 'B'));
      at::Tensor& weight = parameters.at("model.layers." + std::to_string(layer) + "." + module + ".weight");
      const at::Tensor delta = at::matmul(b.to(at::kFloat), a->second.to(at::kFloat)) * scale;
      weight = (weight.to(at::kFloat) + delta).to(weight.scalar_type());
    }
  }
  return parameters;
}

rollout::KvCache Transformer::NewCache(int64_t rows, int64_t capacity) const {
  rollout::KvCache cache =
      rollout::KvCache::Empty(rows, config_.numLayers, config_.numKvHeads, config_.headDim, capacity, embed_.options());
  cache.modelId = id_;
  return cache;
}

at::Tensor Transformer::LoraTerm(const at::Tensor& x, const LoraWeights& lora) const {
  if (!lora.a.defined()) return at::Tensor();
  const LoraSettings& settings = adapter_->settings;
  // As PEFT's lora.Linear: dropout on the adapter's input while training, the scale on its output.
  const bool training = at::GradMode::is_enabled() && lora.a.requires_grad();
  const at::Tensor input = training && settings.dropout > 0 ? at::dropout(x, settings.dropout, /*train=*/true) : x;
  return at::linear(at::linear(input, lora.a), lora.b) * settings.Scale();
}

at::Tensor Transformer::Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                               const LoraWeights& lora, bool adapted) const {
  const at::Tensor base = BaseLinear(x, weight, bias);
  const at::Tensor term = adapted ? LoraTerm(x, lora) : at::Tensor();
  return term.defined() ? base + term : base;
}

// At inference one matmul computes all parts of a fused weight; while the parts are trained, each is its own leaf
// that autograd must reach, so they are applied one by one. LoRA terms are added part by part.
std::vector<at::Tensor> Transformer::Project(const at::Tensor& x, const at::Tensor& fused, const at::Tensor& fusedBias,
                                             const std::vector<const at::Tensor*>& weights,
                                             const std::vector<const at::Tensor*>& biases,
                                             const std::vector<const LoraWeights*>& loras, bool adapted) const {
  std::vector<at::Tensor> outputs;
  if (at::GradMode::is_enabled() && weights[0]->requires_grad()) {
    for (size_t i = 0; i < weights.size(); ++i) outputs.push_back(BaseLinear(x, *weights[i], *biases[i]));
  } else {
    std::vector<int64_t> sizes;
    for (const at::Tensor* weight : weights) sizes.push_back(weight->size(0));
    outputs = BaseLinear(x, fused, fusedBias).split_with_sizes(sizes, -1);
  }
  if (!adapted) return outputs;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const at::Tensor term = LoraTerm(x, *loras[i]);
    if (term.defined()) outputs[i] = outputs[i] + term;
  }
  return outputs;
}

at::Tensor Transformer::RmsNorm(const at::Tensor& x, const at::Tensor& weight) const {
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + config_.rmsNormEps);
  // Gemma scales in float32 by 1 + weight, then casts; Llama casts, then scales by weight.
  if (config_.normPlusOne) return (normed * (weight.to(at::kFloat) + 1.0)).to(x.scalar_type());
  return weight * normed.to(x.scalar_type());
}

std::pair<at::Tensor, at::Tensor> Transformer::Rotary(const at::Tensor& positions, const at::Tensor& inverse,
                                                      double scale) const {
  const at::Tensor angles = positions.to(at::kFloat).unsqueeze(-1) * inverse;  // [rows, T, dim/2]
  const at::Tensor doubled = at::cat({angles, angles}, -1).unsqueeze(1);       // [rows, 1, T, dim]
  if (scale == 1.0) return {doubled.cos().to(dtype()), doubled.sin().to(dtype())};
  return {(doubled.cos() * scale).to(dtype()), (doubled.sin() * scale).to(dtype())};
}

at::Tensor Transformer::Attention(int64_t layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                  const at::Tensor& mask, rollout::KvCache* cache, int64_t start, bool adapted) const {
  const LayerWeights& w = layers_[layer];
  const int64_t rows = x.size(0), count = x.size(1), dim = config_.headDim;
  const auto heads = [&](const at::Tensor& projected, int64_t headCount) {
    return projected.view({rows, count, headCount, dim}).transpose(1, 2);
  };
  const std::vector<at::Tensor> qkv = Project(x, w.qkv, w.qkvBias, {&w.q, &w.k, &w.v}, {&w.qBias, &w.kBias, &w.vBias},
                                              {&w.qLora, &w.kLora, &w.vLora}, adapted);
  at::Tensor q = heads(qkv[0], config_.numHeads);
  at::Tensor k = heads(qkv[1], config_.numKvHeads);
  at::Tensor v = heads(qkv[2], config_.numKvHeads);
  if (w.qNorm.defined()) {
    q = RmsNorm(q, w.qNorm);
    k = RmsNorm(k, w.kNorm);
  }
  q = q * cos + RotateHalf(q) * sin;
  k = k * cos + RotateHalf(k) * sin;
  if (cache != nullptr) {
    cache->keys[layer].narrow(2, start, count).copy_(k);
    cache->values[layer].narrow(2, start, count).copy_(v);
    k = cache->keys[layer].narrow(2, 0, start + count);
    v = cache->values[layer].narrow(2, 0, start + count);
  }
  const at::Tensor attended = count == 1
                                  ? SingleQueryAttention(q, k, v, mask, config_.attentionScale)
                                  : at::scaled_dot_product_attention(q, k, v, mask, 0.0, /*is_causal=*/false,
                                                                     config_.attentionScale, /*enable_gqa=*/true);
  return Linear(attended.transpose(1, 2).reshape({rows, count, config_.numHeads * dim}), w.o, w.oBias, w.oLora,
                adapted);
}

at::Tensor Transformer::Mlp(const LayerWeights& w, const at::Tensor& x, bool adapted) const {
  const std::vector<at::Tensor> gateUp =
      Project(x, w.gateUp, w.gateUpBias, {&w.gate, &w.up}, {&w.gateBias, &w.upBias}, {&w.gateLora, &w.upLora}, adapted);
  const at::Tensor gate = config_.activation == "silu" ? at::silu(gateUp[0]) : at::gelu(gateUp[0], "tanh");
  return Linear(gate * gateUp[1], w.down, w.downBias, w.downLora, adapted);
}

at::Tensor Transformer::Forward(const at::Tensor& tokens, const at::Tensor& tokenValid, rollout::KvCache* cache,
                                const LayerRunner& runLayer, AdapterUse adapterUse) const {
  const int64_t count = tokens.size(1);
  const int64_t start = cache != nullptr ? cache->length : 0;
  at::Tensor positions, keyValid;
  if (cache != nullptr) {
    positions = cache->Append(tokens, tokenValid);
    keyValid = cache->valid.narrow(1, 0, start + count);
  } else {
    const at::Tensor steps = tokenValid.to(at::kLong);
    positions = steps.cumsum(1) - steps;
    keyValid = tokenValid;
  }
  // Query i (column start+i) sees valid keys up to its own column. A padding query sees itself as
  // well, so that no row of the softmax is empty (which would give NaN); its output is never used.
  const auto options = at::TensorOptions().dtype(at::kLong).device(tokens.device());
  const at::Tensor queryColumn = at::arange(start, start + count, options).view({count, 1});
  const at::Tensor keyColumn = at::arange(0, start + count, options).view({1, start + count});
  const at::Tensor mask =
      (((keyColumn <= queryColumn).unsqueeze(0) & keyValid.unsqueeze(1)) | (keyColumn == queryColumn).unsqueeze(0))
          .unsqueeze(1);  // [rows, 1, T, keys]: broadcast over heads
  return Run(tokens, positions, mask, queryColumn.view({1, count}), keyColumn, cache, start, runLayer, adapterUse);
}

at::Tensor Transformer::Forward(const at::Tensor& tokens, const RowLayout& layout, const LayerRunner& runLayer,
                                AdapterUse adapterUse) const {
  return Run(tokens, layout.positions, layout.mask, layout.positions, layout.positions, nullptr, 0, runLayer,
             adapterUse);
}

at::Tensor Transformer::Run(const at::Tensor& tokens, const at::Tensor& positions, const at::Tensor& mask,
                            const at::Tensor& queryPlaces, const at::Tensor& keyPlaces, rollout::KvCache* cache,
                            int64_t start, const LayerRunner& runLayer, AdapterUse adapterUse) const {
  const std::vector<bool>& sliding = config_.slidingLayers;
  const bool anyFull = std::find(sliding.begin(), sliding.end(), false) != sliding.end();
  const at::Tensor fullMask = anyFull ? mask : at::Tensor();
  // A sliding layer's query also leaves out the keys `window` or more places before its own.
  at::Tensor slidingMask;
  if (config_.slidingWindow) {
    const at::Tensor near = keyPlaces.unsqueeze(-2) > queryPlaces.unsqueeze(-1) - *config_.slidingWindow;
    const at::Tensor diagonal = mask & (keyPlaces.unsqueeze(-2) == queryPlaces.unsqueeze(-1)).unsqueeze(-3);
    slidingMask = (mask & near.unsqueeze(-3)) | diagonal;
  }
  const auto rotary =
      Rotary(positions, inverseFrequencies_, config_.ropeScaling ? config_.ropeScaling->attentionFactor : 1.0);
  const auto slidingRotary =
      slidingInverseFrequencies_.defined() ? Rotary(positions, slidingInverseFrequencies_, 1.0) : rotary;

  const bool adapted = adapter_ && adapterUse == AdapterUse::kOn;
  at::Tensor x = at::embedding(embed_, tokens);
  // As transformers: the scale in the weights' dtype (a bfloat16 model multiplies by sqrt(hidden) so rounded).
  if (config_.embedScale != 1.0) x = x * at::scalar_tensor(config_.embedScale, at::kFloat).to(x.options());
  for (int64_t layer = 0; layer < config_.numLayers; ++layer) {
    // Captures by value: a runner may call it again after Forward has returned (recomputation in backward).
    const at::Tensor& attendMask = sliding[layer] ? slidingMask : fullMask;
    const auto& [cos, sin] = sliding[layer] ? slidingRotary : rotary;
    const Layer run = [this, layer, cos = cos, sin = sin, attendMask, cache, start, adapted](const at::Tensor& input) {
      const LayerWeights& w = layers_[layer];
      const at::Tensor attended =
          Attention(layer, RmsNorm(input, w.inputNorm), cos, sin, attendMask, cache, start, adapted);
      if (!config_.sandwichNorms) {
        const at::Tensor h = input + attended;
        return h + Mlp(w, RmsNorm(h, w.postAttentionNorm), adapted);
      }
      const at::Tensor h = input + RmsNorm(attended, w.postAttentionNorm);
      return h + RmsNorm(Mlp(w, RmsNorm(h, w.preFeedforwardNorm), adapted), w.postFeedforwardNorm);
    };
    x = runLayer ? runLayer(run, x) : run(x);
  }
  return RmsNorm(x, finalNorm_);
}

at::Tensor Transformer::Logits(const at::Tensor& hidden) const { return at::linear(hidden, lmHead_).to(at::kFloat); }

}  // namespace genius::model
