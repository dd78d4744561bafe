#include "js/trainer_handle.h"

#include <cmath>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "js/addon_data.h"
#include "js/args.h"
#include "js/async_work.h"
#include "js/bindings.h"
#include "js/model_handle.h"
#include "js/process_group_handle.h"
#include "js/tagged.h"
#include "model/weights.h"

namespace genius::js {

namespace {

constexpr napi_type_tag kTrainerTag = {0x6c2a91f4d85e0b37ULL, 0xa4f7103c9e2d6b58ULL};

train::TrainerOptions ReadTrainerOptions(const Napi::Value& value) {
  train::TrainerOptions options;
  const Napi::Object object = ReadOptionalObject(value, "options");
  options.loss = ReadPreferenceOptions(value, "options");
  train::AdamWOptions& adamw = options.adamw;
  adamw.beta1 = NumberOr(object, "options", "beta1", adamw.beta1);
  adamw.beta2 = NumberOr(object, "options", "beta2", adamw.beta2);
  adamw.eps = NumberOr(object, "options", "eps", adamw.eps);
  adamw.weightDecay = NumberOr(object, "options", "weightDecay", adamw.weightDecay);
  if (!(adamw.beta1 >= 0 && adamw.beta1 < 1)) Invalid("options.beta1", "in [0, 1)");
  if (!(adamw.beta2 >= 0 && adamw.beta2 < 1)) Invalid("options.beta2", "in [0, 1)");
  if (!(adamw.eps >= 0)) Invalid("options.eps", ">= 0");
  if (!(adamw.weightDecay >= 0)) Invalid("options.weightDecay", ">= 0");
  options.maxGradNorm = NumberOr(object, "options", "maxGradNorm", 0.0);
  if (!(options.maxGradNorm >= 0)) Invalid("options.maxGradNorm", ">= 0 (0: no clipping)");
  options.microBatch = IntegerOr(object, "options", "microBatch", options.microBatch, 1, kMaxChunk);
  options.chunks.vocab = IntegerOr(object, "options", "vocabChunk", options.chunks.vocab, 1, kMaxChunk);
  options.autocastBf16 = BoolOr(object, "options", "autocastBf16", false);
  options.checkpointLayers = BoolOr(object, "options", "checkpointLayers", false);
  if (Has(object, "group")) options.group = ProcessGroupHandle::GroupOf(object.Get("group"), "options.group");
  options.shardOptimizer = BoolOr(object, "options", "shardOptimizer", false);
  if (options.shardOptimizer && !options.group) Invalid("options.shardOptimizer", "given with options.group only");
  return options;
}

// {tokens, lengths, promptLengths}: Int32Arrays; sequence i is the next lengths[i] tokens, its first
// promptLengths[i] the prompt. Every sequence must fit the model and score at least one token. None at all only
// for a trainer of a process group, whose other ranks may have the step's examples.
train::SequenceSet ReadSequences(const Napi::Value& value, const std::string& name, const train::Trainer& trainer,
                                 const model::ModelConfig& config) {
  const Napi::Object object = ReadObject(value, name);
  train::SequenceSet set;
  set.tokens = ReadInt32Array(object.Get("tokens"), name + ".tokens");
  const std::vector<int32_t> lengths = ReadInt32Array(object.Get("lengths"), name + ".lengths");
  const std::vector<int32_t> promptLengths = ReadInt32Array(object.Get("promptLengths"), name + ".promptLengths");
  if (lengths.empty() && !trainer.distributed()) Invalid(name + ".lengths", "non-empty (one entry per sequence)");
  if (promptLengths.size() != lengths.size()) {
    Invalid(name + ".promptLengths", "as long as " + name + ".lengths (" + std::to_string(lengths.size()) + ")");
  }
  set.offsets.push_back(0);
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 2 || lengths[i] > config.maxPositions) {
      Invalid(ElementName(name + ".lengths", i),
              "in [2, " + std::to_string(config.maxPositions) +
                  "] (a prompt token and a response token, within the model's positions)");
    }
    if (promptLengths[i] < 1 || promptLengths[i] >= lengths[i]) {
      Invalid(ElementName(name + ".promptLengths", i),
              "in [1, " + std::to_string(lengths[i] - 1) + "]: at least one prompt and one response token");
    }
    set.offsets.push_back(set.offsets.back() + lengths[i]);
    set.promptLengths.push_back(promptLengths[i]);
  }
  if (set.offsets.back() != static_cast<int64_t>(set.tokens.size())) {
    Invalid(name + ".tokens", "Σ lengths = " + std::to_string(set.offsets.back()) + " tokens long, not " +
                                  std::to_string(set.tokens.size()));
  }
  for (size_t i = 0; i < set.tokens.size(); ++i) {
    if (set.tokens[i] < 0 || set.tokens[i] >= config.vocabSize) {
      Invalid(ElementName(name + ".tokens", i),
              "a token id in [0, " + std::to_string(config.vocabSize) + "), got " + std::to_string(set.tokens[i]));
    }
  }
  return set;
}

// The chosen and rejected sides of `object` ({chosen, rejected}, the argument of preferenceStep or score), as many
// of each.
std::pair<train::SequenceSet, train::SequenceSet> ReadPairSides(const Napi::Object& object,
                                                                const train::Trainer& trainer,
                                                                const model::ModelConfig& config) {
  const std::string name = "batch";
  train::SequenceSet chosen = ReadSequences(object.Get("chosen"), name + ".chosen", trainer, config);
  train::SequenceSet rejected = ReadSequences(object.Get("rejected"), name + ".rejected", trainer, config);
  if (rejected.size() != chosen.size()) {
    Invalid(name + ".rejected", "as many sequences as " + name + ".chosen (" + std::to_string(chosen.size()) + ")");
  }
  return {std::move(chosen), std::move(rejected)};
}

// `count` finite numbers from a Float64Array, Float32Array or number[]; `what` says what they are.
std::vector<double> ReadValues(const Napi::Value& value, const std::string& name, size_t count, const char* what) {
  std::vector<double> values;
  if (IsTypedArrayOf(value, napi_float64_array)) {
    const auto array = value.As<Napi::Float64Array>();
    values.assign(array.Data(), array.Data() + array.ElementLength());
  } else if (IsTypedArrayOf(value, napi_float32_array)) {
    const auto array = value.As<Napi::Float32Array>();
    values.assign(array.Data(), array.Data() + array.ElementLength());
  } else if (value.IsArray()) {
    const auto array = value.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      const Napi::Value element = array.Get(i);
      values.push_back(element.IsNumber() ? element.As<Napi::Number>().DoubleValue() : std::nan(""));
    }
  } else {
    Invalid(name, std::string("a Float64Array, Float32Array or number[] of ") + what);
  }
  if (values.size() != count)
    Invalid(name, std::to_string(count) + " values, one per pair (got " + std::to_string(values.size()) + ")");
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      Invalid(ElementName(name, i), std::string("a finite number: ") + what + " cannot be NaN or ±inf");
  }
  return values;
}

Napi::Object MetricsToJs(Napi::Env env, const train::StepMetrics& metrics) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("loss", metrics.loss);
  object.Set("chosenReward", metrics.chosenReward);
  object.Set("rejectedReward", metrics.rejectedReward);
  object.Set("accuracy", metrics.accuracy);
  object.Set("margin", metrics.margin);
  object.Set("gradNorm", metrics.gradNorm);
  object.Set("examples", static_cast<double>(metrics.examples));
  object.Set("tokens", static_cast<double>(metrics.tokens));
  return object;
}

Napi::Float64Array ToFloat64Array(Napi::Env env, const std::vector<double>& values) {
  Napi::Float64Array array = Napi::Float64Array::New(env, values.size());
  std::copy(values.begin(), values.end(), array.Data());
  return array;
}

double ReadLearningRate(const Napi::Value& value) {
  const double lr = ReadNumber(value, "lr");
  if (!(lr >= 0)) Invalid("lr", "a finite number >= 0");
  return lr;
}

train::Checkpoint Cancellation(const WorkContext& context) {
  return [&context] { context.ThrowIfCancelled(); };
}

}  // namespace

void TrainerHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor =
      DefineClass(env, "NativeTrainer",
                  {InstanceMethod<&TrainerHandle::Guard<&TrainerHandle::PreferenceStep>>("preferenceStep"),
                   InstanceMethod<&TrainerHandle::Guard<&TrainerHandle::SftStep>>("sftStep"),
                   InstanceMethod<&TrainerHandle::Guard<&TrainerHandle::Score>>("score"),
                   InstanceMethod<&TrainerHandle::Guard<&TrainerHandle::SaveState>>("saveState"),
                   InstanceMethod<&TrainerHandle::Guard<&TrainerHandle::SaveModel>>("saveModel"),
                   InstanceMethod<&TrainerHandle::Guard<&TrainerHandle::LoadState>>("loadState"),
                   InstanceMethod<&TrainerHandle::Guard<&TrainerHandle::Dispose>>("dispose")});
  GetAddonData(env).trainerConstructor = Napi::Persistent(constructor);
  exports.Set("NativeTrainer", constructor);
  ExportFunction<&TrainerHandle::Create>(env, exports, "createTrainer");
}

// Only Create constructs, passing the state as an External, which JS code cannot make.
TrainerHandle::TrainerHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerHandle>(info) {
  if (info.Length() != 2 || !info[0].IsExternal()) {
    throw MakeJsError(info.Env(),
                      {code::kInvalidArgument, "NativeTrainer cannot be constructed directly; use createTrainer()"});
  }
  state_ = *info[0].As<Napi::External<std::shared_ptr<State>>>().Data();
  loss_ = *info[1].As<Napi::External<train::PreferenceLossOptions>>().Data();
  Tag(info, kTrainerTag);
}

template <Napi::Value (TrainerHandle::*Method)(const Napi::CallbackInfo&)>
Napi::Value TrainerHandle::Guard(const Napi::CallbackInfo& info) {
  return Guarded(info, [&] { return (this->*Method)(info); });
}

std::shared_ptr<TrainerHandle::State> TrainerHandle::Live() const {
  if (!state_) Fail(code::kDisposed, "this trainer was disposed");
  if (*state_->modelDisposed) Fail(code::kDisposed, "this trainer's model was disposed");
  return state_;
}

// createTrainer(model, options, asyncOptions) -> Promise<NativeTrainer>. Made on a worker under the
// shared weights lock: a low-precision model's float32 masters are copies of its weights.
Napi::Value TrainerHandle::Create(const Napi::CallbackInfo& info) {
  auto state = std::make_shared<State>();
  state->model = ModelHandle::ModelOf(Arg(info, 0, "model"), "model");
  state->weightsLock = ModelHandle::WeightsLockOf(info[0], "model");
  state->modelDisposed = ModelHandle::DisposedFlagOf(info[0], "model");
  const train::TrainerOptions options = ReadTrainerOptions(info[1]);
  if (options.group && options.group->device().type() != state->model->device().type()) {
    Invalid("options.group", "a process group on the model's device (" + state->model->device().str() + "), not " +
                                 options.group->device().str());
  }
  using Created = std::shared_ptr<State>;
  return RunAsync<Created>(
      info.Env(), info[2],
      [state, options](const WorkContext&) -> Created {
        const std::shared_lock weights(*state->weightsLock);
        state->trainer = std::make_unique<train::Trainer>(state->model, options);
        return state;
      },
      [loss = options.loss](Napi::Env env, Created& created) -> Napi::Value {
        train::PreferenceLossOptions lossOptions = loss;
        return GetAddonData(env).trainerConstructor.New(
            {Napi::External<Created>::New(env, &created),
             Napi::External<train::PreferenceLossOptions>::New(env, &lossOptions)});
      });
}

// preferenceStep({chosen, rejected, referenceChosen?, referenceRejected?, chosenAdvantage?, rejectedAdvantage?},
// lr, asyncOptions) -> Promise<metrics>. Reference sums are required unless the loss is reference-free,
// advantages for ACO (A_w, A_l).
Napi::Value TrainerHandle::PreferenceStep(const Napi::CallbackInfo& info) {
  const std::shared_ptr<State> state = Live();
  const model::ModelConfig& config = state->model->config();
  const Napi::Object object = ReadObject(Arg(info, 0, "batch"), "batch");
  train::PreferenceBatch batch;
  std::tie(batch.chosen, batch.rejected) = ReadPairSides(object, *state->trainer, config);
  const size_t pairs = batch.chosen.size();
  if (!loss_.referenceFree) {
    batch.referenceChosen =
        ReadValues(object.Get("referenceChosen"), "batch.referenceChosen", pairs, "reference log-probs");
    batch.referenceRejected =
        ReadValues(object.Get("referenceRejected"), "batch.referenceRejected", pairs, "reference log-probs");
  }
  if (loss_.kind == train::PreferenceLossKind::kAco) {
    batch.chosenAdvantage = ReadValues(object.Get("chosenAdvantage"), "batch.chosenAdvantage", pairs, "advantages");
    batch.rejectedAdvantage =
        ReadValues(object.Get("rejectedAdvantage"), "batch.rejectedAdvantage", pairs, "advantages");
  }
  const double lr = ReadLearningRate(Arg(info, 1, "lr"));
  return RunAsync<train::StepMetrics>(
      info.Env(), info[2],
      [state, batch = std::move(batch), lr](const WorkContext& context) {
        const std::unique_lock weights(*state->weightsLock);
        return state->trainer->PreferenceStep(batch, lr, Cancellation(context));
      },
      MetricsToJs);
}

// sftStep(sequences, lr, asyncOptions) -> Promise<metrics>
Napi::Value TrainerHandle::SftStep(const Napi::CallbackInfo& info) {
  const std::shared_ptr<State> state = Live();
  train::SequenceSet sequences =
      ReadSequences(Arg(info, 0, "sequences"), "sequences", *state->trainer, state->model->config());
  const double lr = ReadLearningRate(Arg(info, 1, "lr"));
  return RunAsync<train::StepMetrics>(
      info.Env(), info[2],
      [state, sequences = std::move(sequences), lr](const WorkContext& context) {
        const std::unique_lock weights(*state->weightsLock);
        return state->trainer->SftStep(sequences, lr, Cancellation(context));
      },
      MetricsToJs);
}

// score(batch: {chosen, rejected}, {adapter}, asyncOptions) -> Promise<{chosen: Float64Array, rejected: Float64Array}>
Napi::Value TrainerHandle::Score(const Napi::CallbackInfo& info) {
  const std::shared_ptr<State> state = Live();
  auto [chosen, rejected] =
      ReadPairSides(ReadObject(Arg(info, 0, "batch"), "batch"), *state->trainer, state->model->config());
  const bool adapter = BoolOr(ReadOptionalObject(info[1], "options"), "options", "adapter", true);
  const model::AdapterUse adapterUse = adapter ? model::AdapterUse::kOn : model::AdapterUse::kOff;
  return RunAsync<train::PairScores>(
      info.Env(), info[2],
      [state, chosen = std::move(chosen), rejected = std::move(rejected), adapterUse](const WorkContext& context) {
        const std::shared_lock weights(*state->weightsLock);
        return state->trainer->Score(chosen, rejected, Cancellation(context), adapterUse);
      },
      [](Napi::Env env, train::PairScores& scores) -> Napi::Value {
        Napi::Object object = Napi::Object::New(env);
        object.Set("chosen", ToFloat64Array(env, scores.chosen));
        object.Set("rejected", ToFloat64Array(env, scores.rejected));
        return object;
      });
}

// saveState(path, asyncOptions) -> Promise<void>
Napi::Value TrainerHandle::SaveState(const Napi::CallbackInfo& info) {
  const std::shared_ptr<State> state = Live();
  const std::string path = ReadString(Arg(info, 0, "path"), "path");
  return RunAsync<bool>(
      info.Env(), info[1],
      [state, path](const WorkContext&) {
        const std::shared_lock weights(*state->weightsLock);
        state->trainer->SaveState(path);
        return true;
      },
      ResolveUndefined);
}

// saveModel(dir, {shardBytes, dtype}, asyncOptions) -> Promise<void>: the model as Model.save writes it, from the
// float32 masters; dtype defaults to the one the model was loaded from.
Napi::Value TrainerHandle::SaveModel(const Napi::CallbackInfo& info) {
  const std::shared_ptr<State> state = Live();
  const std::string dir = ReadString(Arg(info, 0, "dir"), "dir");
  // An adapter is kept in float32 by default, as PEFT keeps it; a model in the dtype it was loaded from.
  const SaveSettings settings = ReadSaveSettings(
      info[1], state->model->adapter() != nullptr ? at::kFloat : model::SavedDtype(state->model->config()));
  return RunAsync<bool>(
      info.Env(), info[2],
      [state, dir, settings](const WorkContext& context) {
        const std::shared_lock weights(*state->weightsLock);
        state->trainer->SaveModel(dir, settings.dtype, settings.shardBytes, context.ItemProgress());
        return true;
      },
      ResolveUndefined);
}

// loadState(path, asyncOptions) -> Promise<void>
Napi::Value TrainerHandle::LoadState(const Napi::CallbackInfo& info) {
  const std::shared_ptr<State> state = Live();
  const std::string path = ReadString(Arg(info, 0, "path"), "path");
  return RunAsync<bool>(
      info.Env(), info[1],
      [state, path](const WorkContext&) {
        const std::unique_lock weights(*state->weightsLock);
        state->trainer->LoadState(path);
        return true;
      },
      ResolveUndefined);
}

Napi::Value TrainerHandle::Dispose(const Napi::CallbackInfo& info) {
  state_.reset();  // running calls hold their own reference and finish first
  return info.Env().Undefined();
}

}  // namespace genius::js
