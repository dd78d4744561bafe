// JS entry points for model files: safetensors reading and writing, config.json parsing, and whole
// checkpoints checked against their config. File work runs on a worker thread and settles a Promise;
// arguments are validated on the JS thread first, so a bad call throws before anything is queued.
#include <ATen/ATen.h>

#include <map>

#include "js/args.h"
#include "js/async_work.h"
#include "js/bindings.h"
#include "js/tensor_handle.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/weights.h"

namespace genius::js {

namespace {

// The last argument of these calls, which holds their own options and the async ones (async_work.h)
// together; as for the async ones, null reads as absent.
Napi::Object OptionsOf(const Napi::Value& options) {
  return options.IsNull() ? Napi::Object::New(options.Env()) : ReadOptionalObject(options, "options");
}

Placement ReadFilePlacement(const Napi::Value& options) {
  return ReadPlacement(OptionsOf(options),
                       "a floating-point dtype (float32, float16, bfloat16, float64): it applies to floating-point "
                       "tensors only");
}

// The tensors of a JS object {name: NativeTensor}.
model::TensorMap ReadTensorRecord(const Napi::Value& value, const std::string& name) {
  const Napi::Object record = ReadObject(value, name);
  const Napi::Array keys = record.GetPropertyNames();
  model::TensorMap tensors;
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    tensors.emplace(key, TensorHandle::TensorOf(record.Get(key), name + "['" + key + "']"));
  }
  return tensors;
}

model::Metadata ReadMetadata(const Napi::Value& value) {
  model::Metadata metadata;
  if (value.IsUndefined() || value.IsNull()) return metadata;
  const Napi::Object record = ReadObject(value, "metadata");
  const Napi::Array keys = record.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    metadata.emplace(key, ReadString(record.Get(key), "metadata['" + key + "']"));
  }
  return metadata;
}

Napi::Value TensorRecord(Napi::Env env, model::TensorMap& tensors) {
  const std::map<std::string, at::Tensor> sorted(tensors.begin(), tensors.end());
  Napi::Object record = Napi::Object::New(env);
  for (const auto& [name, tensor] : sorted) record.Set(name, TensorHandle::Wrap(env, tensor));
  return record;
}

Napi::Value OptionalNumber(Napi::Env env, const std::optional<int64_t>& value) {
  return value ? Napi::Number::New(env, static_cast<double>(*value)) : env.Null();
}

Napi::Value ReadSafetensorsJs(const Napi::CallbackInfo& info) {
  const std::string path = ReadString(Arg(info, 0, "path"), "path");
  const Napi::Value options = info[1];
  const Placement placement = ReadFilePlacement(options);
  return RunAsync<model::TensorMap>(
      info.Env(), options,
      [path, placement](const WorkContext& context) {
        return model::ReadSafetensors(path, placement.device, placement.dtype, context.ItemProgress());
      },
      TensorRecord);
}

Napi::Value ReadSafetensorsMetadataJs(const Napi::CallbackInfo& info) {
  const model::SafetensorsFile file(ReadString(Arg(info, 0, "path"), "path"));
  Napi::Object record = Napi::Object::New(info.Env());
  for (const auto& [key, value] : file.metadata()) record.Set(key, value);
  return record;
}

Napi::Value WriteSafetensorsJs(const Napi::CallbackInfo& info) {
  const std::string path = ReadString(Arg(info, 0, "path"), "path");
  model::TensorMap tensors = ReadTensorRecord(Arg(info, 1, "tensors"), "tensors");
  model::Metadata metadata = ReadMetadata(info[2]);
  return RunAsync<bool>(
      info.Env(), info[3],
      [path, tensors = std::move(tensors), metadata = std::move(metadata)](const WorkContext& context) {
        model::WriteSafetensors(path, tensors, metadata, context.ItemProgress());
        return true;
      },
      ResolveUndefined);
}

Napi::Value ReadModelConfigJs(const Napi::CallbackInfo& info) {
  const model::ModelConfig config = model::ReadModelConfig(ReadString(Arg(info, 0, "dir"), "dir"));
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
  out.Set("qkNorm", config.qkNorm);
  out.Set("normPlusOne", config.normPlusOne);
  out.Set("sandwichNorms", config.sandwichNorms);
  out.Set("embedScale", number(config.embedScale));
  out.Set("activation", config.activation);
  out.Set("attentionScale", number(config.attentionScale));
  out.Set("slidingRopeTheta", config.slidingRopeTheta ? number(*config.slidingRopeTheta) : env.Null());
  out.Set("tieWordEmbeddings", config.tieWordEmbeddings);
  if (config.ropeScaling) {
    Napi::Object scaling = Napi::Object::New(env);
    scaling.Set("type", config.ropeScaling->type);
    scaling.Set("factor", number(config.ropeScaling->factor));
    scaling.Set("lowFreqFactor", number(config.ropeScaling->lowFreqFactor));
    scaling.Set("highFreqFactor", number(config.ropeScaling->highFreqFactor));
    scaling.Set("originalMaxPositions", number(config.ropeScaling->originalMaxPositions));
    if (config.ropeScaling->type == "yarn") {
      scaling.Set("betaFast", number(config.ropeScaling->betaFast));
      scaling.Set("betaSlow", number(config.ropeScaling->betaSlow));
      scaling.Set("truncate", Napi::Boolean::New(env, config.ropeScaling->truncate));
      scaling.Set("attentionFactor", number(config.ropeScaling->attentionFactor));
    }
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
  Napi::Array sliding = Napi::Array::New(env, config.slidingLayers.size());
  for (size_t i = 0; i < config.slidingLayers.size(); ++i)
    sliding.Set(i, Napi::Boolean::New(env, config.slidingLayers[i]));
  out.Set("slidingLayers", sliding);
  out.Set("torchDtype", config.torchDtype);
  return out;
}

Napi::Value LoadModelWeightsJs(const Napi::CallbackInfo& info) {
  const std::string dir = ReadString(Arg(info, 0, "dir"), "dir");
  const Napi::Value options = info[1];
  const Placement placement = ReadFilePlacement(options);
  return RunAsync<model::TensorMap>(
      info.Env(), options,
      [dir, placement](const WorkContext& context) {
        model::ModelConfig config = model::ReadModelConfig(dir);
        model::RecordStoredDtype(dir, config);
        return model::LoadWeights(dir, config, placement.device, placement.dtype.value_or(model::SavedDtype(config)),
                                  context.ItemProgress());
      },
      TensorRecord);
}

Napi::Value SaveModelWeightsJs(const Napi::CallbackInfo& info) {
  const std::string dir = ReadString(Arg(info, 0, "dir"), "dir");
  model::TensorMap weights = ReadTensorRecord(Arg(info, 1, "weights"), "weights");
  const std::string configDir = ReadString(Arg(info, 2, "configDir"), "configDir");
  const Napi::Value options = info[3];
  const uint64_t shardBytes = IntegerOr(OptionsOf(options), "options", "shardBytes", 0, 0, kMaxShardBytes);
  return RunAsync<bool>(
      info.Env(), options,
      [dir, weights = std::move(weights), configDir, shardBytes](const WorkContext& context) {
        // In the weights' own dtype (their embedding's; a missing one is refused by SaveWeights).
        const auto embedding = weights.find("model.embed_tokens.weight");
        const at::ScalarType dtype = embedding == weights.end() ? at::kFloat : embedding->second.scalar_type();
        model::SaveWeights(dir, weights, model::ReadModelConfig(configDir), dtype, shardBytes, context.ItemProgress());
        return true;
      },
      ResolveUndefined);
}

}  // namespace

void InitModelFileBindings(Napi::Env env, Napi::Object exports) {
  ExportFunction<&ReadSafetensorsJs>(env, exports, "readSafetensors");
  ExportFunction<&ReadSafetensorsMetadataJs>(env, exports, "readSafetensorsMetadata");
  ExportFunction<&WriteSafetensorsJs>(env, exports, "writeSafetensors");
  ExportFunction<&ReadModelConfigJs>(env, exports, "readModelConfig");
  ExportFunction<&LoadModelWeightsJs>(env, exports, "loadModelWeights");
  ExportFunction<&SaveModelWeightsJs>(env, exports, "saveModelWeights");
}

}  // namespace genius::js
