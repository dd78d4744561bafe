// The JS surface of the training losses. Preference losses work on [B] tensors and run synchronously;
// log-probs touch [N, V] logits and run on a worker thread. Every argument is checked here, so the
// functions of preference_loss.h and logprobs.h only ever see inputs that agree with each other.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "js/args.h"
#include "js/async_work.h"
#include "js/bindings.h"
#include "js/tensor_handle.h"
#include "train/gradient_check.h"
#include "train/logprobs.h"
#include "train/preference_loss.h"

namespace genius::js {

namespace {

// Central-difference step of the gradient checks: in float64 the truncation (∝ ε²) and rounding (∝ 1/ε)
// errors both stay near 1e-10 for the O(1) values checked.
constexpr double kGradientCheckStep = 1e-6;

bool AllFinite(const at::Tensor& tensor) { return at::isfinite(tensor).all().item<bool>(); }

Napi::Object GradientCheckToJs(Napi::Env env, const train::GradientCheck& check) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("maxAbsoluteError", check.maxAbsoluteError);
  result.Set("maxNumericGradient", check.maxNumericGradient);
  return result;
}

void RequireFloat64(const at::Tensor& tensor, const std::string& name) {
  if (tensor.scalar_type() != at::kDouble) {
    Invalid(name, "float64 for a finite-difference check, got " + DescribeTensor(tensor));
  }
}

// ---- preference losses ----

struct LossKindName {
  train::PreferenceLossKind kind;
  const char* name;
};
constexpr LossKindName kLossKinds[] = {
    {train::PreferenceLossKind::kAco, "aco"},   {train::PreferenceLossKind::kDpo, "dpo"},
    {train::PreferenceLossKind::kIpo, "ipo"},   {train::PreferenceLossKind::kSimpo, "simpo"},
    {train::PreferenceLossKind::kRopo, "ropo"}, {train::PreferenceLossKind::kSft, "sft"},
};

const char* NameOf(train::PreferenceLossKind kind) {
  for (const LossKindName& entry : kLossKinds) {
    if (entry.kind == kind) return entry.name;
  }
  return "?";
}

train::PreferenceLossKind ReadLossKind(const Napi::Value& value, const std::string& name) {
  const std::string kind = ReadString(value, name);
  for (const LossKindName& entry : kLossKinds) {
    if (kind == entry.name) return entry.kind;
  }
  Invalid(name, "one of aco, dpo, ipo, simpo, ropo, sft (got '" + kind + "')");
}

double ReadPositive(const Napi::Value& value, const std::string& name) {
  const double number = ReadNumber(value, name);
  if (!(number > 0)) Invalid(name, "a finite number > 0 (got " + std::to_string(number) + ")");
  return number;
}

}  // namespace

train::PreferenceLossOptions ReadPreferenceOptions(const Napi::Value& value, const std::string& name) {
  train::PreferenceLossOptions options;
  if (value.IsUndefined()) return options;
  const Napi::Object object = ReadObject(value, name);
  if (Has(object, "loss")) options.kind = ReadLossKind(object.Get("loss"), name + ".loss");
  if (Has(object, "beta")) options.beta = ReadPositive(object.Get("beta"), name + ".beta");
  if (Has(object, "alpha")) options.alpha = ReadPositive(object.Get("alpha"), name + ".alpha");
  if (Has(object, "nllWeight")) {
    const std::string field = name + ".nllWeight";
    options.nllWeight = ReadNumber(object.Get("nllWeight"), field);
    if (options.nllWeight < 0) Invalid(field, "a number >= 0 (got " + std::to_string(options.nllWeight) + ")");
  }
  options.referenceFree = BoolOr(object, name, "referenceFree", options.referenceFree);
  if (Has(object, "acoWeight")) {
    const std::string clip = ReadString(object.Get("acoWeight"), name + ".acoWeight");
    if (clip == "paper") {
      options.acoWeight = train::AcoWeightClip::kPaper;
    } else if (clip == "reference-code") {
      options.acoWeight = train::AcoWeightClip::kReferenceCode;
    } else {
      Invalid(name + ".acoWeight", "'paper' or 'reference-code' (got '" + clip + "')");
    }
  }
  return options;
}

namespace {

// Reads the per-pair tensors of `inputs`, each checked against the first one read.
class PairReader {
 public:
  explicit PairReader(Napi::Object inputs) : inputs_(std::move(inputs)) {}

  // inputs[key]: absent gives nullopt, or an error saying `whyRequired` when it is required.
  std::optional<at::Tensor> Read(const char* key, bool required, const std::string& whyRequired) {
    const Napi::Value value = inputs_.Get(key);
    const std::string name = std::string("inputs.") + key;
    if (value.IsUndefined()) {
      if (required) Invalid(name, "given: " + whyRequired);
      return std::nullopt;
    }
    const at::Tensor& tensor = TensorHandle::TensorOf(value, name);
    if (tensor.dim() != 1 || !at::isFloatingType(tensor.scalar_type())) {
      Invalid(name, "a 1-D floating-point tensor with one value per pair, got " + DescribeTensor(tensor));
    }
    if (!first_) {
      if (tensor.size(0) == 0) Invalid(name, "non-empty (one value per pair, at least one pair)");
      first_ = tensor;
      firstName_ = name;
    } else if (tensor.sizes() != first_->sizes() || tensor.scalar_type() != first_->scalar_type() ||
               tensor.device() != first_->device()) {
      Invalid(name, "like '" + firstName_ + "' (" + DescribeTensor(*first_) + "), got " + DescribeTensor(tensor));
    }
    if (!AllFinite(tensor)) Invalid(name, "finite, but it holds NaN or ±inf");
    return tensor;
  }

 private:
  Napi::Object inputs_;
  std::optional<at::Tensor> first_;
  std::string firstName_;
};

struct PreferenceRequest {
  train::PreferencePairLogprobs pairs;
  train::PreferenceLossOptions options;
};

// (inputs, options?) of preferenceLoss and its variants; requires exactly what the chosen loss reads.
PreferenceRequest ReadPreferenceRequest(const Napi::CallbackInfo& info) {
  PreferenceRequest request;
  request.options = ReadPreferenceOptions(info[1], "options");
  const train::PreferenceLossKind kind = request.options.kind;
  const std::string readByLoss = std::string("the '") + NameOf(kind) + "' loss reads it";
  const std::string readForRewards = "every loss reports rewards from it";
  const std::string readByReference = "log πref is read unless options.referenceFree is true";
  const bool withReference = !request.options.referenceFree;
  PairReader reader(ReadObject(Arg(info, 0, "inputs"), "inputs"));
  train::PreferencePairLogprobs& pairs = request.pairs;
  pairs.policyChosen = *reader.Read("policyChosen", true, readForRewards);
  pairs.policyRejected = *reader.Read("policyRejected", true, readForRewards);
  pairs.referenceChosen = reader.Read("referenceChosen", withReference, readByReference).value_or(at::Tensor());
  pairs.referenceRejected = reader.Read("referenceRejected", withReference, readByReference).value_or(at::Tensor());
  const bool meansRead = kind == train::PreferenceLossKind::kSimpo || kind == train::PreferenceLossKind::kSft;
  const bool nllTerm = request.options.nllWeight > 0;
  pairs.policyChosenMean =
      reader.Read("policyChosenMean", meansRead || nllTerm, nllTerm ? "options.nllWeight > 0 reads it" : readByLoss);
  pairs.policyRejectedMean = reader.Read("policyRejectedMean", kind == train::PreferenceLossKind::kSimpo, readByLoss);
  pairs.chosenAdvantage = reader.Read("chosenAdvantage", kind == train::PreferenceLossKind::kAco, readByLoss);
  pairs.rejectedAdvantage = reader.Read("rejectedAdvantage", kind == train::PreferenceLossKind::kAco, readByLoss);
  return request;
}

// The log-prob inputs present in `pairs`, named as in JS, in a fixed order (the differentiable ones).
std::vector<std::pair<const char*, at::Tensor*>> LogprobInputs(train::PreferencePairLogprobs& pairs) {
  std::vector<std::pair<const char*, at::Tensor*>> present;
  const auto add = [&present](const char* key, at::Tensor* tensor) {
    if (tensor->defined()) present.emplace_back(key, tensor);
  };
  add("policyChosen", &pairs.policyChosen);
  add("policyRejected", &pairs.policyRejected);
  add("referenceChosen", &pairs.referenceChosen);
  add("referenceRejected", &pairs.referenceRejected);
  if (pairs.policyChosenMean) add("policyChosenMean", &*pairs.policyChosenMean);
  if (pairs.policyRejectedMean) add("policyRejectedMean", &*pairs.policyRejectedMean);
  return present;
}

Napi::Object PreferenceLossToJs(Napi::Env env, const train::PreferenceLoss& loss) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("losses", TensorHandle::Wrap(env, loss.losses.detach()));
  result.Set("chosenRewards", TensorHandle::Wrap(env, loss.chosenRewards));
  result.Set("rejectedRewards", TensorHandle::Wrap(env, loss.rejectedRewards));
  result.Set("loss", loss.loss.item<double>());
  result.Set("accuracy", loss.accuracy.item<double>());
  result.Set("margin", loss.margin.item<double>());
  return result;
}

// preferenceLoss(inputs, options?) → {losses, chosenRewards, rejectedRewards, loss, accuracy, margin}
Napi::Value RunPreferenceLoss(const Napi::CallbackInfo& info) {
  const PreferenceRequest request = ReadPreferenceRequest(info);
  at::NoGradGuard noGrad;
  return PreferenceLossToJs(info.Env(), train::ComputePreferenceLoss(request.pairs, request.options));
}

// preferenceLossWithGrad(inputs, options?): the same, plus `grads`: d(mean loss)/d(input) for every log-prob
// input given (zeros for one the loss does not read), through the Functions' own backward.
Napi::Value RunPreferenceLossWithGrad(const Napi::CallbackInfo& info) {
  PreferenceRequest request = ReadPreferenceRequest(info);
  const auto inputs = LogprobInputs(request.pairs);
  // Fresh leaves, so that the caller's tensors neither collect gradients nor keep a graph alive.
  for (const auto& [key, tensor] : inputs) *tensor = tensor->detach().clone().requires_grad_(true);
  const train::PreferenceLoss loss = train::ComputePreferenceLoss(request.pairs, request.options);
  loss.loss.backward();
  Napi::Object result = PreferenceLossToJs(info.Env(), loss);
  Napi::Object grads = Napi::Object::New(info.Env());
  for (const auto& [key, tensor] : inputs) {
    const at::Tensor& grad = tensor->grad();
    grads.Set(key, TensorHandle::Wrap(info.Env(), grad.defined() ? grad : at::zeros_like(*tensor)));
  }
  result.Set("grads", grads);
  return result;
}

// testing.preferenceLossGradientError(inputs, options?): float64 inputs; the options' loss Function's
// backward against central differences over every log-prob input given.
Napi::Value PreferenceLossGradientError(const Napi::CallbackInfo& info) {
  PreferenceRequest request = ReadPreferenceRequest(info);
  std::vector<at::Tensor> values;
  for (const auto& [key, tensor] : LogprobInputs(request.pairs)) {
    RequireFloat64(*tensor, std::string("inputs.") + key);
    values.push_back(*tensor);
  }
  const auto losses = [&request](const std::vector<at::Tensor>& probe) {
    train::PreferencePairLogprobs pairs = request.pairs;
    const auto slots = LogprobInputs(pairs);
    for (size_t i = 0; i < slots.size(); ++i) *slots[i].second = probe[i];
    return train::ComputePreferenceLoss(pairs, request.options).losses;
  };
  return GradientCheckToJs(info.Env(), train::CheckGradients(losses, values, kGradientCheckStep));
}

// ---- log-probs ----

struct LogprobRequest {
  at::Tensor hidden;
  at::Tensor weight;
  at::Tensor targets;  // int64
  train::LogprobChunks chunks;
};

// (hidden, weight, targets, chunk, options?) with options.vocabChunk.
LogprobRequest ReadLogprobRequest(const Napi::CallbackInfo& info) {
  LogprobRequest request;
  const at::Tensor& hidden = TensorHandle::TensorOf(Arg(info, 0, "hidden"), "hidden");
  const at::Tensor& weight = TensorHandle::TensorOf(Arg(info, 1, "weight"), "weight");
  const at::Tensor& targets = TensorHandle::TensorOf(Arg(info, 2, "targets"), "targets");
  request.chunks.rows = ReadInteger(Arg(info, 3, "chunk"), "chunk", 1, kMaxChunk);
  if (hidden.dim() != 2 || !at::isFloatingType(hidden.scalar_type())) {
    Invalid("hidden", "a 2-D floating-point tensor [positions, hidden size], got " + DescribeTensor(hidden));
  }
  if (weight.dim() != 2 || weight.size(0) == 0 || weight.size(1) != hidden.size(1) ||
      weight.scalar_type() != hidden.scalar_type() || weight.device() != hidden.device()) {
    Invalid("weight", "the LM head [vocab ≥ 1, " + std::to_string(hidden.size(1)) + "] in " +
                          DTypeName(hidden.scalar_type()) + " on " + hidden.device().str() + " (like hidden), got " +
                          DescribeTensor(weight));
  }
  if (targets.dim() != 1 || targets.size(0) != hidden.size(0) || targets.device() != hidden.device() ||
      (targets.scalar_type() != at::kLong && targets.scalar_type() != at::kInt)) {
    Invalid("targets", "an int64 or int32 tensor [" + std::to_string(hidden.size(0)) + "] on " + hidden.device().str() +
                           " (one token id per hidden row), got " + DescribeTensor(targets));
  }
  const int64_t vocab = weight.size(0);
  if (targets.numel() > 0) {
    const int64_t low = targets.min().item<int64_t>();
    const int64_t high = targets.max().item<int64_t>();
    if (low < 0 || high >= vocab) {
      Invalid("targets", "token ids in [0, " + std::to_string(vocab) + "), got ids from " + std::to_string(low) +
                             " to " + std::to_string(high));
    }
  }
  request.hidden = hidden;
  request.weight = weight;
  request.targets = targets.to(at::kLong);
  // Chunked unless asked: these calls are the chunked computation's own tests and measurements.
  request.chunks.keptLogits = 0;
  const Napi::Object options = ReadOptionalObject(info[4], "options");
  request.chunks.vocab = IntegerOr(options, "options", "vocabChunk", request.chunks.vocab, 1, kMaxChunk);
  request.chunks.keptLogits = IntegerOr(options, "options", "keptLogits", request.chunks.keptLogits, 0, kMaxChunk);
  return request;
}

// options.gradOutput of sequenceLogprobsWithGrad: dL/dlogp [N]; undefined means all ones.
at::Tensor ReadGradOutput(const Napi::Value& options, const at::Tensor& hidden) {
  if (options.IsUndefined()) return at::Tensor();
  const Napi::Value value = options.As<Napi::Object>().Get("gradOutput");
  if (value.IsUndefined()) return at::Tensor();
  const at::Tensor& grad = TensorHandle::TensorOf(value, "options.gradOutput");
  if (grad.dim() != 1 || grad.size(0) != hidden.size(0) || !at::isFloatingType(grad.scalar_type()) ||
      grad.device() != hidden.device()) {
    Invalid("options.gradOutput", "a floating-point tensor [" + std::to_string(hidden.size(0)) + "] on " +
                                      hidden.device().str() + ", got " + DescribeTensor(grad));
  }
  if (!AllFinite(grad)) Invalid("options.gradOutput", "finite, but it holds NaN or ±inf");
  return grad;
}

// sequenceLogprobs(hidden, weight, targets, chunk, options?) → Promise<logp [N]>
Napi::Value RunSequenceLogprobs(const Napi::CallbackInfo& info) {
  const LogprobRequest request = ReadLogprobRequest(info);
  return RunAsync<at::Tensor>(
      info.Env(), info[4],
      [request](const WorkContext& context) {
        context.ThrowIfCancelled();
        // NoGradGuard, not InferenceMode: an inference tensor could not feed autograd code later.
        at::NoGradGuard noGrad;
        return train::TargetLogprobs(request.hidden, request.weight, request.targets, request.chunks);
      },
      TensorHandle::Wrap);
}

struct LogprobsWithGrad {
  at::Tensor logprobs;
  at::Tensor gradHidden;
  at::Tensor gradWeight;
};

// sequenceLogprobsWithGrad(hidden, weight, targets, chunk, options?) → Promise<{logprobs, gradHidden,
// gradWeight}>: the gradients of Σ_i gradOutput_i·logp_i through the chunked backward.
Napi::Value RunSequenceLogprobsWithGrad(const Napi::CallbackInfo& info) {
  const LogprobRequest request = ReadLogprobRequest(info);
  const at::Tensor gradOutput = ReadGradOutput(info[4], request.hidden);
  return RunAsync<LogprobsWithGrad>(
      info.Env(), info[4],
      [request, gradOutput](const WorkContext& context) {
        context.ThrowIfCancelled();
        const at::Tensor hidden = request.hidden.detach().requires_grad_(true);
        const at::Tensor weight = request.weight.detach().requires_grad_(true);
        const at::Tensor logprobs = train::TargetLogprobs(hidden, weight, request.targets, request.chunks);
        const at::Tensor seed = gradOutput.defined() ? gradOutput.to(logprobs.scalar_type()) : at::ones_like(logprobs);
        const auto grads = torch::autograd::grad({logprobs}, {hidden, weight}, {seed});
        return LogprobsWithGrad{logprobs.detach(), grads[0], grads[1]};
      },
      [](Napi::Env env, LogprobsWithGrad& result) -> Napi::Value {
        Napi::Object object = Napi::Object::New(env);
        object.Set("logprobs", TensorHandle::Wrap(env, result.logprobs));
        object.Set("gradHidden", TensorHandle::Wrap(env, result.gradHidden));
        object.Set("gradWeight", TensorHandle::Wrap(env, result.gradWeight));
        return object;
      });
}

// testing.sequenceLogprobsGradientError(hidden, weight, targets, chunk, options?): float64 hidden and
// weight; the chunked backward against central differences over every element of both.
Napi::Value SequenceLogprobsGradientError(const Napi::CallbackInfo& info) {
  const LogprobRequest request = ReadLogprobRequest(info);
  RequireFloat64(request.hidden, "hidden");
  const auto logprobs = [&request](const std::vector<at::Tensor>& probe) {
    return train::TargetLogprobs(probe[0], probe[1], request.targets, request.chunks);
  };
  return GradientCheckToJs(info.Env(),
                           train::CheckGradients(logprobs, {request.hidden, request.weight}, kGradientCheckStep));
}

// reduceTokenLogprobs(tokenLogprobs [B, T], mask [B, T]) → {sum [B], mean [B]}
Napi::Value RunReduceTokenLogprobs(const Napi::CallbackInfo& info) {
  const at::Tensor& tokenLogprobs = TensorHandle::TensorOf(Arg(info, 0, "tokenLogprobs"), "tokenLogprobs");
  const at::Tensor& mask = TensorHandle::TensorOf(Arg(info, 1, "mask"), "mask");
  if (tokenLogprobs.dim() != 2 || !at::isFloatingType(tokenLogprobs.scalar_type())) {
    Invalid("tokenLogprobs", "a 2-D floating-point tensor [sequences, tokens], got " + DescribeTensor(tokenLogprobs));
  }
  if (mask.sizes() != tokenLogprobs.sizes() || mask.device() != tokenLogprobs.device() ||
      at::isFloatingType(mask.scalar_type())) {
    Invalid("mask", "a bool or integer tensor " + c10::str(tokenLogprobs.sizes()) + " on " +
                        tokenLogprobs.device().str() + " (like tokenLogprobs), got " + DescribeTensor(mask));
  }
  at::NoGradGuard noGrad;
  const train::SequenceLogprobs reduced = train::ReduceTokenLogprobs(tokenLogprobs, mask);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("sum", TensorHandle::Wrap(info.Env(), reduced.sum));
  result.Set("mean", TensorHandle::Wrap(info.Env(), reduced.mean));
  return result;
}

}  // namespace

void InitLossBindings(Napi::Env env, Napi::Object exports) {
  ExportFunction<&RunPreferenceLoss>(env, exports, "preferenceLoss");
  ExportFunction<&RunPreferenceLossWithGrad>(env, exports, "preferenceLossWithGrad");
  ExportFunction<&RunSequenceLogprobs>(env, exports, "sequenceLogprobs");
  ExportFunction<&RunSequenceLogprobsWithGrad>(env, exports, "sequenceLogprobsWithGrad");
  ExportFunction<&RunReduceTokenLogprobs>(env, exports, "reduceTokenLogprobs");
  const Napi::Object testing = TestingExports(env, exports);
  ExportFunction<&PreferenceLossGradientError>(env, testing, "preferenceLossGradientError");
  ExportFunction<&SequenceLogprobsGradientError>(env, testing, "sequenceLogprobsGradientError");
}

}  // namespace genius::js
