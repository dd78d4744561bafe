// JS entry points for model files: safetensors reading and writing, config.json parsing, and whole
// checkpoints checked against their config. File work runs on a worker thread and settles a Promise;
// arguments are validated on the JS thread first, so a bad call throws before anything is queued.
#include "model/bindings.h"

#include <ATen/ATen.h>

#include <map>

#include "js/args.h"
#include "js/async_work.h"
#include "js/errors.h"
#include "js/tensor_handle.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/weights.h"

namespace genius {

namespace {

// `options.key`, or undefined when `options` or the key is absent.
Napi::Value Option(const Napi::Value& options, const char* key) {
  if (options.IsUndefined() || options.IsNull()) return options.Env().Undefined();
  return js::ReadObject(options, "options").Get(key);
}

at::Device DeviceOption(const Napi::Value& options) {
  const Napi::Value device = Option(options, "device");
  return device.IsUndefined() ? at::Device(at::kCPU) : js::ReadDevice(device, "options.device");
}

std::optional<at::ScalarType> FloatDtypeOption(const Napi::Value& options) {
  const Napi::Value value = Option(options, "dtype");
  if (value.IsUndefined()) return std::nullopt;
  const at::ScalarType dtype = js::ReadDType(value, "options.dtype");
  if (!at::isFloatingType(dtype)) {
    Fail(code::kInvalidArgument,
         "argument 'options.dtype' must be a floating-point dtype (float32, float16, bfloat16, "
         "float64): it applies to floating-point tensors only");
  }
  return dtype;
}

// A progress callback for the model layer that reports to JS and stops at cancellation.
model::TensorProgress ProgressTo(const js::WorkContext& context) {
  return [&context](size_t done, size_t total) {
    context.Progress(static_cast<double>(done), static_cast<double>(total));
    context.ThrowIfCancelled();
  };
}

// The tensors of a JS object {name: NativeTensor}.
model::TensorMap ReadTensorRecord(const Napi::Value& value, const char* name) {
  const Napi::Object record = js::ReadObject(value, name);
  const Napi::Array keys = record.GetPropertyNames();
  model::TensorMap tensors;
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    const std::string label = std::string(name) + "['" + key + "']";
    tensors.emplace(key, js::TensorHandle::TensorOf(record.Get(key), label.c_str()));
  }
  return tensors;
}

model::Metadata ReadMetadata(const Napi::Value& value) {
  model::Metadata metadata;
  if (value.IsUndefined() || value.IsNull()) return metadata;
  const Napi::Object record = js::ReadObject(value, "metadata");
  const Napi::Array keys = record.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    const std::string label = "metadata['" + key + "']";
    metadata.emplace(key, js::ReadString(record.Get(key), label.c_str()));
  }
  return metadata;
}

Napi::Value TensorRecord(Napi::Env env, model::TensorMap& tensors) {
  const std::map<std::string, at::Tensor> sorted(tensors.begin(), tensors.end());
  Napi::Object record = Napi::Object::New(env);
  for (const auto& [name, tensor] : sorted) record.Set(name, js::TensorHandle::Wrap(env, tensor));
  return record;
}

Napi::Value OptionalNumber(Napi::Env env, const std::optional<int64_t>& value) {
  return value ? Napi::Number::New(env, static_cast<double>(*value)) : env.Null();
}

Napi::Value ReadSafetensorsJs(const Napi::CallbackInfo& info) {
  const std::string path = js::ReadString(js::Arg(info, 0, "path"), "path");
  const Napi::Value options = info[1];
  const at::Device device = DeviceOption(options);
  const std::optional<at::ScalarType> dtype = FloatDtypeOption(options);
  return js::RunAsync<model::TensorMap>(
      info.Env(), options,
      [path, device, dtype](const js::WorkContext& context) {
        return model::ReadSafetensors(path, device, dtype, ProgressTo(context));
      },
      TensorRecord);
}

Napi::Value ReadSafetensorsMetadataJs(const Napi::CallbackInfo& info) {
  const model::SafetensorsFile file(js::ReadString(js::Arg(info, 0, "path"), "path"));
  Napi::Object record = Napi::Object::New(info.Env());
  for (const auto& [key, value] : file.metadata()) record.Set(key, value);
  return record;
}

Napi::Value WriteSafetensorsJs(const Napi::CallbackInfo& info) {
  const std::string path = js::ReadString(js::Arg(info, 0, "path"), "path");
  model::TensorMap tensors = ReadTensorRecord(js::Arg(info, 1, "tensors"), "tensors");
  model::Metadata metadata = ReadMetadata(info[2]);
  return js::RunAsync<bool>(
      info.Env(), info[3],
      [path, tensors = std::move(tensors), metadata = std::move(metadata)](const js::WorkContext& context) {
        model::WriteSafetensors(path, tensors, metadata, ProgressTo(context));
        return true;
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value ReadModelConfigJs(const Napi::CallbackInfo& info) {
  const model::ModelConfig config = model::ReadModelConfig(js::ReadString(js::Arg(info, 0, "dir"), "dir"));
  const Napi::Env env = info.Env();
  const auto number = [env](double value) { return Napi::Number::New(env, value); };
  Napi::Object out = Napi::Object::New(env);
  out.Set("modelType", config.modelType);
  out.Set("hiddenSize", number(config.hiddenSize));
  out.Set("numLayers", number(config.numLayers));
  out.Set("numHeads", number(config.numHeads));
  out.Set("numKvHeads", number(config.numKvHeads));
  out.Set("headDim", number(config.headDim));
  out.Set("intermediateSize", number(config.intermediateSize));
  out.Set("vocabSize", number(config.vocabSize));
  out.Set("maxPositions", number(config.maxPositions));
  out.Set("rmsNormEps", number(config.rmsNormEps));
  out.Set("ropeTheta", number(config.ropeTheta));
  out.Set("attentionBias", config.attentionBias);
  out.Set("attentionOutputBias", config.attentionOutputBias);
  out.Set("mlpBias", config.mlpBias);
  out.Set("tieWordEmbeddings", config.tieWordEmbeddings);
  if (config.ropeScaling) {
    Napi::Object scaling = Napi::Object::New(env);
    scaling.Set("type", config.ropeScaling->type);
    scaling.Set("factor", number(config.ropeScaling->factor));
    scaling.Set("lowFreqFactor", number(config.ropeScaling->lowFreqFactor));
    scaling.Set("highFreqFactor", number(config.ropeScaling->highFreqFactor));
    scaling.Set("originalMaxPositions", number(config.ropeScaling->originalMaxPositions));
    out.Set("ropeScaling", scaling);
  } else {
    out.Set("ropeScaling", env.Null());
  }
  Napi::Array eos = Napi::Array::New(env, config.eosTokenIds.size());
  for (size_t i = 0; i < config.eosTokenIds.size(); ++i) eos.Set(i, number(config.eosTokenIds[i]));
  out.Set("eosTokenIds", eos);
  out.Set("bosTokenId", OptionalNumber(env, config.bosTokenId));
  out.Set("padTokenId", OptionalNumber(env, config.padTokenId));
  out.Set("slidingWindow", OptionalNumber(env, config.slidingWindow));
  out.Set("torchDtype", config.torchDtype);
  return out;
}

Napi::Value LoadModelWeightsJs(const Napi::CallbackInfo& info) {
  const std::string dir = js::ReadString(js::Arg(info, 0, "dir"), "dir");
  const Napi::Value options = info[1];
  const at::Device device = DeviceOption(options);
  const std::optional<at::ScalarType> dtype = FloatDtypeOption(options);
  return js::RunAsync<model::TensorMap>(
      info.Env(), options,
      [dir, device, dtype](const js::WorkContext& context) {
        model::ModelConfig config = model::ReadModelConfig(dir);
        model::RecordStoredDtype(dir, config);
        return model::LoadWeights(dir, config, device, dtype.value_or(model::SavedDtype(config)), ProgressTo(context));
      },
      TensorRecord);
}

Napi::Value SaveModelWeightsJs(const Napi::CallbackInfo& info) {
  const std::string dir = js::ReadString(js::Arg(info, 0, "dir"), "dir");
  model::TensorMap weights = ReadTensorRecord(js::Arg(info, 1, "weights"), "weights");
  const std::string configDir = js::ReadString(js::Arg(info, 2, "configDir"), "configDir");
  const Napi::Value options = info[3];
  const Napi::Value shardOption = Option(options, "shardBytes");
  const uint64_t shardBytes =
      shardOption.IsUndefined() ? 0 : js::ReadInteger(shardOption, "options.shardBytes", 0, int64_t{1} << 53);
  return js::RunAsync<bool>(
      info.Env(), options,
      [dir, weights = std::move(weights), configDir, shardBytes](const js::WorkContext& context) {
        // In the weights' own dtype (their embedding's; a missing one is refused by SaveWeights).
        const auto embedding = weights.find("model.embed_tokens.weight");
        const at::ScalarType dtype = embedding == weights.end() ? at::kFloat : embedding->second.scalar_type();
        model::SaveWeights(dir, weights, model::ReadModelConfig(configDir), dtype, shardBytes, ProgressTo(context));
        return true;
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

}  // namespace

void InitModelBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("readSafetensors", Napi::Function::New<GuardedCall<&ReadSafetensorsJs>>(env, "readSafetensors"));
  exports.Set("readSafetensorsMetadata",
              Napi::Function::New<GuardedCall<&ReadSafetensorsMetadataJs>>(env, "readSafetensorsMetadata"));
  exports.Set("writeSafetensors", Napi::Function::New<GuardedCall<&WriteSafetensorsJs>>(env, "writeSafetensors"));
  exports.Set("readModelConfig", Napi::Function::New<GuardedCall<&ReadModelConfigJs>>(env, "readModelConfig"));
  exports.Set("loadModelWeights", Napi::Function::New<GuardedCall<&LoadModelWeightsJs>>(env, "loadModelWeights"));
  exports.Set("saveModelWeights", Napi::Function::New<GuardedCall<&SaveModelWeightsJs>>(env, "saveModelWeights"));
}

}  // namespace genius
