#include "js/model_handle.h"

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include <string>

#include "js/addon_data.h"
#include "js/args.h"
#include "js/async_work.h"
#include "js/bindings.h"
#include "js/tagged.h"
#include "js/tensor_handle.h"
#include "model/initialization.h"
#include "model/weights.h"
#include "rollout/engine.h"

namespace genius::js {

namespace {

constexpr napi_type_tag kModelTag = {0x4b1e9d2c7a6f3085ULL, 0xd8c3a5b0e1f27649ULL};
constexpr napi_type_tag kKvCacheTag = {0x93f0c6a12e8b5d74ULL, 0x1a7d4e9c3b06f825ULL};

// Most samples or new tokens a single call may ask for; beyond is a mistake, not a workload.
constexpr int64_t kMaxSamplesPerInput = 4096;
constexpr int64_t kMaxNewTokens = 1 << 20;

std::vector<std::vector<int64_t>> ReadTokenLists(const Napi::Value& value, const std::string& name, int64_t vocab) {
  if (!value.IsArray()) Invalid(name, "an array of token-id arrays");
  const auto array = value.As<Napi::Array>();
  std::vector<std::vector<int64_t>> lists;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string element = ElementName(name, i);
    lists.push_back(ReadIndices(array.Get(i), element, vocab, "a token id of this model"));
    if (lists.back().empty()) Refuse(element, "is empty");
  }
  return lists;
}

rollout::GenerateRequest ReadGenerateRequest(const Napi::Value& value, const model::Transformer& model) {
  const Napi::Object request = ReadObject(value, "request");
  const model::ModelConfig& config = model.config();
  rollout::GenerateRequest parsed;
  int64_t longestInput = 0;
  if (!request.Get("cache").IsUndefined()) {
    parsed.from = KvCacheHandle::CacheOf(request.Get("cache"), "request.cache");
    if (parsed.from->modelId != model.id()) {
      Refuse("request.cache", "was made by another model: a kept cache continues only on the model that generated it");
    }
    parsed.fromRows = ReadIndices(request.Get("rows"), "request.rows", parsed.from->rows(), "a row of request.cache");
    if (parsed.fromRows.empty()) Refuse("request.rows", "is empty");
    longestInput = parsed.from->length + 1;
  } else {
    parsed.prompts = ReadTokenLists(request.Get("prompts"), "request.prompts", config.vocabSize);
    if (parsed.prompts.empty()) Refuse("request.prompts", "is empty");
    for (const auto& prompt : parsed.prompts) longestInput = std::max<int64_t>(longestInput, prompt.size());
  }
  parsed.samplesPerInput = IntegerOr(request, "request", "n", 1, 1, kMaxSamplesPerInput);
  parsed.maxNewTokens = ReadInteger(request.Get("maxNewTokens"), "request.maxNewTokens", 1, kMaxNewTokens);
  // Like a context window, the model's positions bound every sample: generation stops there ("length"). A prompt
  // that fills them is refused; a kept sample that filled them continues into an empty sample, ended by length.
  if (!parsed.from && longestInput >= config.maxPositions) {
    Refuse("request.prompts", "holds " + std::to_string(longestInput) + " tokens, as many as the model's " +
                                  std::to_string(config.maxPositions) + " positions: nothing can be generated");
  }
  parsed.maxNewTokens = std::min(parsed.maxNewTokens, config.maxPositions - longestInput);
  parsed.sampling.temperature = NumberOr(request, "request", "temperature", 1.0);
  parsed.sampling.topP = NumberOr(request, "request", "topP", 1.0);
  parsed.sampling.topK = IntegerOr(request, "request", "topK", 0, 0, config.vocabSize);
  if (parsed.sampling.temperature < 0) Invalid("request.temperature", ">= 0 (0 is greedy)");
  if (!(parsed.sampling.topP > 0 && parsed.sampling.topP <= 1)) Invalid("request.topP", "in (0, 1]");
  parsed.sampling.minP = NumberOr(request, "request", "minP", 0.0);
  if (!(parsed.sampling.minP >= 0 && parsed.sampling.minP <= 1)) Invalid("request.minP", "in [0, 1] (0 is off)");
  parsed.sampling.repetitionPenalty = NumberOr(request, "request", "repetitionPenalty", 1.0);
  if (!(parsed.sampling.repetitionPenalty > 0)) Invalid("request.repetitionPenalty", "> 0 (1 is off)");
  parsed.seed = static_cast<uint64_t>(IntegerOr(request, "request", "seed", 0, 0, kMaxSeed));
  const Napi::Value sampleSeeds = request.Get("sampleSeeds");
  if (!sampleSeeds.IsUndefined()) {
    const size_t inputs = parsed.from ? parsed.fromRows.size() : parsed.prompts.size();
    const size_t samples = inputs * static_cast<size_t>(parsed.samplesPerInput);
    if (!sampleSeeds.IsArray() || sampleSeeds.As<Napi::Array>().Length() != samples) {
      Invalid("request.sampleSeeds", "an array of " + std::to_string(samples) + " seeds, one per sample (inputs × n)");
    }
    const Napi::Array array = sampleSeeds.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      parsed.sampleSeeds.push_back(
          static_cast<uint64_t>(ReadInteger(array.Get(i), ElementName("request.sampleSeeds", i), 0, kMaxSeed)));
    }
  }
  parsed.keepCache = BoolOr(request, "request", "keepCache", false);

  const Napi::Value eos = request.Get("eosTokenIds");
  parsed.stop.eosTokenIds =
      eos.IsUndefined() ? config.eosTokenIds : ReadIndices(eos, "request.eosTokenIds", config.vocabSize, "a token id");
  const Napi::Value stopSequences = request.Get("stopSequences");
  if (!stopSequences.IsUndefined()) {
    parsed.stop.stopSequences = ReadTokenLists(stopSequences, "request.stopSequences", config.vocabSize);
  }
  const Napi::Value mask = request.Get("stopTokenMask");
  if (!mask.IsUndefined()) {
    if (!IsTypedArrayOf(mask, napi_uint8_array)) {
      Invalid("request.stopTokenMask", "a Uint8Array with one entry per vocabulary token");
    }
    const auto bytes = mask.As<Napi::Uint8Array>();
    // A tokenizer may know fewer tokens than the model's (padded) vocabulary; the rest never stop.
    if (static_cast<int64_t>(bytes.ElementLength()) > config.vocabSize) {
      Refuse("request.stopTokenMask", "has " + std::to_string(bytes.ElementLength()) + " entries for a vocabulary of " +
                                          std::to_string(config.vocabSize));
    }
    at::Tensor stopMask = at::zeros({config.vocabSize}, at::kBool);
    stopMask.narrow(0, 0, bytes.ElementLength())
        .copy_(
            at::from_blob(const_cast<uint8_t*>(bytes.Data()), {static_cast<int64_t>(bytes.ElementLength())}, at::kByte)
                .to(at::kBool));
    parsed.stop.stopTokenMask = stopMask;
  }
  return parsed;
}

// The JS handle of a model made on a worker (loadModel, initModel).
Napi::Value NewModelHandle(Napi::Env env, std::shared_ptr<const model::Transformer>& model) {
  using Held = std::shared_ptr<const model::Transformer>;
  return GetAddonData(env).modelConstructor.New({Napi::External<Held>::New(env, &model)});
}

Napi::Value SampleToJs(Napi::Env env, const rollout::Sample& sample) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("input", Napi::Number::New(env, static_cast<double>(sample.input)));
  Napi::Int32Array tokens = Napi::Int32Array::New(env, sample.tokens.size());
  for (size_t i = 0; i < sample.tokens.size(); ++i) tokens[i] = static_cast<int32_t>(sample.tokens[i]);
  Napi::Float32Array logprobs = Napi::Float32Array::New(env, sample.logprobs.size());
  for (size_t i = 0; i < sample.logprobs.size(); ++i) logprobs[i] = sample.logprobs[i];
  object.Set("tokens", tokens);
  object.Set("logprobs", logprobs);
  object.Set("logprobSum", Napi::Number::New(env, sample.logprobSum));
  object.Set("finishReason", Napi::String::New(env, rollout::FinishReasonName(sample.finishReason)));
  return object;
}

// What options.onTokens gets for one step: {step, samples, tokens, logprobs, finished: [{sample, finishReason}]}.
Napi::Value StepDrawsToJs(Napi::Env env, const rollout::StepDraws& draws) {
  const size_t count = draws.samples.size();
  Napi::Int32Array samples = Napi::Int32Array::New(env, count);
  Napi::Int32Array tokens = Napi::Int32Array::New(env, count);
  Napi::Float32Array logprobs = Napi::Float32Array::New(env, count);
  for (size_t i = 0; i < count; ++i) {
    samples[i] = static_cast<int32_t>(draws.samples[i]);
    tokens[i] = static_cast<int32_t>(draws.tokens[i]);
    logprobs[i] = draws.logprobs[i];
  }
  Napi::Array finished = Napi::Array::New(env, draws.finished.size());
  for (size_t i = 0; i < draws.finished.size(); ++i) {
    Napi::Object end = Napi::Object::New(env);
    end.Set("sample", Napi::Number::New(env, static_cast<double>(draws.finished[i].first)));
    end.Set("finishReason", Napi::String::New(env, rollout::FinishReasonName(draws.finished[i].second)));
    finished.Set(i, end);
  }
  Napi::Object object = Napi::Object::New(env);
  object.Set("step", Napi::Number::New(env, static_cast<double>(draws.step)));
  object.Set("samples", samples);
  object.Set("tokens", tokens);
  object.Set("logprobs", logprobs);
  object.Set("finished", finished);
  return object;
}

// Where loadModel / initModel put the weights, or the dtype save writes: options.device (default cpu) and
// options.dtype.
Placement ReadModelPlacement(const Napi::Object& options) {
  return ReadPlacement(options, "float32, float16, bfloat16 or float64");
}

// How loadModel / initModel give the model an adapter: options.adapter, the directory of one in PEFT's format, or
// options.lora, a new one's settings {rank, alpha, dropout, targets, rslora, seed} (model/lora.h); neither: none.
using AdapterSource = std::function<std::optional<model::LoraAdapter>(
    const model::ModelConfig& config, const std::string& baseModel, at::Device device, at::ScalarType dtype)>;
AdapterSource ReadAdapterSource(const Napi::Object& options) {
  const Napi::Value dir = options.Get("adapter");
  const Napi::Value lora = options.Get("lora");
  if (!dir.IsUndefined() && !lora.IsUndefined()) Refuse("options.adapter", "and options.lora cannot both be given");
  if (!dir.IsUndefined()) {
    const std::string path = ReadString(dir, "options.adapter");
    return [path](const model::ModelConfig& config, const std::string& baseModel, at::Device device,
                  at::ScalarType dtype) { return model::LoadLoraAdapter(path, config, baseModel, device, dtype); };
  }
  if (lora.IsUndefined()) {
    return [](const model::ModelConfig&, const std::string&, at::Device, at::ScalarType) { return std::nullopt; };
  }
  const Napi::Object object = ReadObject(lora, "options.lora");
  model::LoraSettings settings;
  settings.rank = ReadInteger(object.Get("rank"), "options.lora.rank", 1, 1 << 16);
  settings.alpha = ReadNumber(object.Get("alpha"), "options.lora.alpha");
  if (!(settings.alpha > 0)) Invalid("options.lora.alpha", "a positive number");
  settings.dropout = NumberOr(object, "options.lora", "dropout", 0.0);
  if (!(settings.dropout >= 0 && settings.dropout < 1)) Invalid("options.lora.dropout", "a number in [0, 1)");
  settings.rslora = BoolOr(object, "options.lora", "rslora", false);
  const Napi::Value targets = object.Get("targets");
  if (!targets.IsArray()) Invalid("options.lora.targets", "an array of module names (q_proj, …, down_proj)");
  for (uint32_t i = 0; i < targets.As<Napi::Array>().Length(); ++i) {
    settings.targets.push_back(ReadString(targets.As<Napi::Array>().Get(i), ElementName("options.lora.targets", i)));
  }
  const uint64_t seed = static_cast<uint64_t>(IntegerOr(object, "options.lora", "seed", 0, 0, kMaxSeed));
  return [settings, seed](const model::ModelConfig& config, const std::string& baseModel, at::Device device,
                          at::ScalarType dtype) {
    return model::NewLoraAdapter(config, baseModel, settings, seed, device, dtype);
  };
}

Napi::Value LoraSettingsToJs(Napi::Env env, const model::LoraAdapter& adapter) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("rank", Napi::Number::New(env, static_cast<double>(adapter.settings.rank)));
  object.Set("alpha", Napi::Number::New(env, adapter.settings.alpha));
  object.Set("dropout", Napi::Number::New(env, adapter.settings.dropout));
  object.Set("rslora", Napi::Boolean::New(env, adapter.settings.rslora));
  Napi::Array targets = Napi::Array::New(env, adapter.settings.targets.size());
  for (size_t i = 0; i < adapter.settings.targets.size(); ++i) targets.Set(i, adapter.settings.targets[i]);
  object.Set("targets", targets);
  int64_t parameters = 0;
  for (const auto& [name, tensor] : adapter.weights) parameters += tensor.numel();
  object.Set("parameters", Napi::Number::New(env, static_cast<double>(parameters)));
  return object;
}

}  // namespace

SaveSettings ReadSaveSettings(const Napi::Value& options, at::ScalarType defaultDtype) {
  const Napi::Object object = ReadOptionalObject(options, "options");
  const uint64_t shardBytes = IntegerOr(object, "options", "shardBytes", 0, 0, kMaxShardBytes);
  const at::ScalarType dtype =
      object.Get("dtype").IsUndefined() ? defaultDtype : ReadModelPlacement(object).dtype.value();
  return {shardBytes, dtype};
}

void ModelHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor =
      DefineClass(env, "NativeModel",
                  {InstanceMethod<&ModelHandle::Guard<&ModelHandle::Generate>>("generate"),
                   InstanceMethod<&ModelHandle::Guard<&ModelHandle::Logits>>("logits"),
                   InstanceMethod<&ModelHandle::Guard<&ModelHandle::Save>>("save"),
                   InstanceMethod<&ModelHandle::Guard<&ModelHandle::SaveAdapter>>("saveAdapter"),
                   InstanceMethod<&ModelHandle::Guard<&ModelHandle::Dispose>>("dispose"),
                   InstanceMethod<&ModelHandle::Guard<&ModelHandle::Describe>>("describe")});
  GetAddonData(env).modelConstructor = Napi::Persistent(constructor);
  exports.Set("NativeModel", constructor);
  ExportFunction<&ModelHandle::Load>(env, exports, "loadModel");
  ExportFunction<&ModelHandle::InitModel>(env, exports, "initModel");
}

// Only Load constructs, passing the model as an External, which JS code cannot make.
ModelHandle::ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw MakeJsError(info.Env(),
                      {code::kInvalidArgument, "NativeModel cannot be constructed directly; use Model.load()"});
  }
  model_ = *info[0].As<Napi::External<std::shared_ptr<const model::Transformer>>>().Data();
  Tag(info, kModelTag);
}

std::shared_ptr<const model::Transformer> ModelHandle::ModelOf(const Napi::Value& value, const char* name) {
  const ModelHandle* handle = UnwrapTagged<ModelHandle>(value, kModelTag, name, "model handle");
  if (handle == nullptr || !handle->model_)
    Fail(code::kDisposed, std::string("argument '") + name + "' is a disposed model");
  return handle->model_;
}

std::shared_ptr<std::shared_mutex> ModelHandle::WeightsLockOf(const Napi::Value& value, const char* name) {
  ModelOf(value, name);  // refuses anything but a live model handle
  return UnwrapTagged<ModelHandle>(value, kModelTag, name, "model handle")->weightsLock_;
}

std::shared_ptr<const std::atomic<bool>> ModelHandle::DisposedFlagOf(const Napi::Value& value, const char* name) {
  ModelOf(value, name);  // refuses anything but a live model handle
  return UnwrapTagged<ModelHandle>(value, kModelTag, name, "model handle")->disposed_;
}

template <Napi::Value (ModelHandle::*Method)(const Napi::CallbackInfo&)>
Napi::Value ModelHandle::Guard(const Napi::CallbackInfo& info) {
  return Guarded(info, [&] { return (this->*Method)(info); });
}

// loadModel(dir, {device, dtype, adapter | lora}, asyncOptions) -> Promise<NativeModel>
Napi::Value ModelHandle::Load(const Napi::CallbackInfo& info) {
  const std::string dir = ReadString(Arg(info, 0, "dir"), "dir");
  const Napi::Object options = ReadOptionalObject(info[1], "options");
  const Placement placement = ReadModelPlacement(options);
  const AdapterSource adapter = ReadAdapterSource(options);
  using Loaded = std::shared_ptr<const model::Transformer>;
  return RunAsync<Loaded>(
      info.Env(), info[2],
      [dir, placement, adapter](const WorkContext& context) -> Loaded {
        // Not InferenceMode: its tensors could never be trained (autograd refuses inference tensors).
        at::NoGradGuard noGrad;
        model::ModelConfig config = model::ReadModelConfig(dir);
        model::RecordStoredDtype(dir, config);
        const at::ScalarType weightsDtype = placement.dtype.value_or(model::SavedDtype(config));
        const model::TensorMap weights =
            model::LoadWeights(dir, config, placement.device, weightsDtype, context.ItemProgress());
        std::optional<model::LoraAdapter> lora = adapter(config, dir, placement.device, weightsDtype);
        return std::make_shared<const model::Transformer>(std::move(config), weights, std::move(lora));
      },
      NewModelHandle);
}

// initModel(dir, {seed, device, dtype, adapter | lora}, asyncOptions) -> Promise<NativeModel>: a new model of
// dir/config.json with transformers' random initialisation (model/initialization.h); dtype defaults to the config's.
Napi::Value ModelHandle::InitModel(const Napi::CallbackInfo& info) {
  const std::string dir = ReadString(Arg(info, 0, "dir"), "dir");
  const Napi::Object options = ReadOptionalObject(info[1], "options");
  const Placement placement = ReadModelPlacement(options);
  const uint64_t seed = IntegerOr(options, "options", "seed", 0, 0, kMaxSeed);
  const AdapterSource adapter = ReadAdapterSource(options);
  using Loaded = std::shared_ptr<const model::Transformer>;
  return RunAsync<Loaded>(
      info.Env(), info[2],
      [dir, placement, seed, adapter](const WorkContext&) -> Loaded {
        at::NoGradGuard noGrad;
        model::ModelConfig config = model::ReadModelConfig(dir);
        const at::ScalarType dtype = placement.dtype.value_or(model::SavedDtype(config));
        const model::TensorMap weights = model::InitialWeights(config, seed, placement.device, dtype);
        std::optional<model::LoraAdapter> lora = adapter(config, dir, placement.device, dtype);
        return std::make_shared<const model::Transformer>(std::move(config), weights, std::move(lora));
      },
      NewModelHandle);
}

// generate(request, asyncOptions) -> Promise<{samples, cache?, computedTokens}>; asyncOptions.onTokens, when given,
// gets each decode step's draws (StepDrawsToJs) as they happen, all before the Promise settles.
Napi::Value ModelHandle::Generate(const Napi::CallbackInfo& info) {
  const auto model = ModelOf(info.This(), "this");
  rollout::GenerateRequest request = ReadGenerateRequest(Arg(info, 0, "request"), *model);
  return RunAsync<rollout::GenerateResult>(
      info.Env(), info[1],
      [model, lock = weightsLock_, request = std::move(request)](const WorkContext& context) {
        const std::shared_lock weights(*lock);
        c10::InferenceMode inference;  // thread-local: set on the worker thread
        const auto checkpoint = [&context, &request](int64_t step) {
          context.ThrowIfCancelled();
          context.Progress(static_cast<double>(step), static_cast<double>(request.maxNewTokens));
        };
        std::function<void(const rollout::StepDraws&)> onDraws;  // none unless JS listens: nothing is gathered
        if (context.ListensForTokens()) {
          onDraws = [&context](const rollout::StepDraws& draws) {
            context.Tokens([draws](Napi::Env env) { return StepDrawsToJs(env, draws); });
          };
        }
        return rollout::Generate(*model, request, checkpoint, onDraws);
      },
      [](Napi::Env env, rollout::GenerateResult& result) -> Napi::Value {
        Napi::Object object = Napi::Object::New(env);
        Napi::Array samples = Napi::Array::New(env, result.samples.size());
        for (size_t i = 0; i < result.samples.size(); ++i) samples.Set(i, SampleToJs(env, result.samples[i]));
        object.Set("samples", samples);
        object.Set("computedTokens", Napi::Number::New(env, static_cast<double>(result.computedTokens)));
        if (result.cache) object.Set("cache", KvCacheHandle::Wrap(env, result.cache));
        return object;
      });
}

// logits(tokens, asyncOptions) -> Promise<NativeTensor [T, vocab] float32>
Napi::Value ModelHandle::Logits(const Napi::CallbackInfo& info) {
  const auto model = ModelOf(info.This(), "this");
  const std::vector<int64_t> tokens =
      ReadIndices(Arg(info, 0, "tokens"), "tokens", model->config().vocabSize, "a token id of this model");
  if (tokens.empty() || static_cast<int64_t>(tokens.size()) > model->config().maxPositions) {
    Refuse("tokens", "must hold 1 to " + std::to_string(model->config().maxPositions) + " tokens");
  }
  return RunAsync<at::Tensor>(
      info.Env(), info[1],
      [model, lock = weightsLock_, tokens](const WorkContext& context) {
        const std::shared_lock weights(*lock);
        c10::InferenceMode inference;
        const at::Tensor ids = at::tensor(tokens, at::kLong).to(model->device()).unsqueeze(0);
        return model->Logits(model->Forward(ids, at::ones_like(ids, at::kBool), nullptr)).squeeze(0);
      },
      TensorHandle::Wrap);
}

// save(dir, {shardBytes, dtype}, asyncOptions) -> Promise<void>: config.json and the weights (model/weights.h) in
// `dtype`, by default the one the model was loaded from (its config's), sharded past shardBytes (0 or absent:
// one file); a LoRA model's with its adapter merged in.
Napi::Value ModelHandle::Save(const Napi::CallbackInfo& info) {
  const auto model = ModelOf(info.This(), "this");
  const std::string dir = ReadString(Arg(info, 0, "dir"), "dir");
  const SaveSettings settings = ReadSaveSettings(info[1], model::SavedDtype(model->config()));
  return RunAsync<bool>(
      info.Env(), info[2],
      [model, lock = weightsLock_, dir, settings](const WorkContext& context) {
        const std::shared_lock weights(*lock);
        model::SaveWeights(dir, model->MergedParameters(), model->config(), settings.dtype, settings.shardBytes,
                           context.ItemProgress());
        return true;
      },
      ResolveUndefined);
}

// saveAdapter(dir, {dtype}, asyncOptions) -> Promise<void>: the LoRA adapter in PEFT's format (model/lora.h), in
// `dtype` (default float32, as PEFT keeps adapters).
Napi::Value ModelHandle::SaveAdapter(const Napi::CallbackInfo& info) {
  const auto model = ModelOf(info.This(), "this");
  if (model->adapter() == nullptr) Refuse("this", "has no LoRA adapter to save");
  const std::string dir = ReadString(Arg(info, 0, "dir"), "dir");
  const Napi::Object options = ReadOptionalObject(info[1], "options");
  const at::ScalarType dtype = ReadModelPlacement(options).dtype.value_or(at::kFloat);
  return RunAsync<bool>(
      info.Env(), info[2],
      [model, lock = weightsLock_, dir, dtype](const WorkContext&) {
        const std::shared_lock weights(*lock);
        model::SaveLoraAdapter(dir, *model->adapter(), model->adapter()->weights, dtype);
        return true;
      },
      ResolveUndefined);
}

Napi::Value ModelHandle::Dispose(const Napi::CallbackInfo& info) {
  model_.reset();  // running calls hold their own reference and finish first
  *disposed_ = true;
  return info.Env().Undefined();
}

Napi::Value ModelHandle::Describe(const Napi::CallbackInfo& info) {
  const auto model = ModelOf(info.This(), "this");
  Napi::Object object = Napi::Object::New(info.Env());
  object.Set("device", model->device().str());
  object.Set("dtype", DTypeName(model->dtype()));
  int64_t parameters = 0;
  for (const auto& [name, tensor] : model->Parameters()) parameters += tensor.numel();
  object.Set("parameters", Napi::Number::New(info.Env(), static_cast<double>(parameters)));
  object.Set("vocabSize", Napi::Number::New(info.Env(), static_cast<double>(model->config().vocabSize)));
  object.Set("maxPositions", Napi::Number::New(info.Env(), static_cast<double>(model->config().maxPositions)));
  Napi::Array eos = Napi::Array::New(info.Env());
  for (size_t i = 0; i < model->config().eosTokenIds.size(); ++i) {
    eos.Set(i, Napi::Number::New(info.Env(), static_cast<double>(model->config().eosTokenIds[i])));
  }
  object.Set("eosTokenIds", eos);
  if (model->adapter() != nullptr) object.Set("adapter", LoraSettingsToJs(info.Env(), *model->adapter()));
  return object;
}

void KvCacheHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor =
      DefineClass(env, "NativeKvCache",
                  {InstanceAccessor<&KvCacheHandle::Rows>("rows"), InstanceMethod<&KvCacheHandle::Dispose>("dispose")});
  GetAddonData(env).kvCacheConstructor = Napi::Persistent(constructor);
  exports.Set("NativeKvCache", constructor);
}

Napi::Object KvCacheHandle::Wrap(Napi::Env env, std::shared_ptr<const rollout::KvCache> cache) {
  return GetAddonData(env).kvCacheConstructor.New(
      {Napi::External<std::shared_ptr<const rollout::KvCache>>::New(env, &cache)});
}

KvCacheHandle::KvCacheHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KvCacheHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw MakeJsError(info.Env(), {code::kInvalidArgument, "NativeKvCache is made by generate({keepCache: true})"});
  }
  cache_ = *info[0].As<Napi::External<std::shared_ptr<const rollout::KvCache>>>().Data();
  Tag(info, kKvCacheTag);
}

std::shared_ptr<const rollout::KvCache> KvCacheHandle::CacheOf(const Napi::Value& value, const char* name) {
  const KvCacheHandle* handle = UnwrapTagged<KvCacheHandle>(value, kKvCacheTag, name, "KV cache handle");
  if (handle == nullptr || !handle->cache_)
    Fail(code::kDisposed, std::string("argument '") + name + "' is a disposed KV cache");
  return handle->cache_;
}

Napi::Value KvCacheHandle::Rows(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cache_ ? static_cast<double>(cache_->rows()) : 0.0);
}

Napi::Value KvCacheHandle::Dispose(const Napi::CallbackInfo& info) {
  cache_.reset();
  return info.Env().Undefined();
}

}  // namespace genius::js
