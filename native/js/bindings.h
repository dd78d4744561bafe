// The free functions the addon exports to JS, one file of them per concept (native/js/*_bindings.cc),
// each registered by addon.cc through its Init function; the handle classes (*_handle.h) register
// their own. Every one reads its arguments through js/args.h and runs under GuardedCall (errors.h).
#pragma once

#include <napi.h>

#include "js/errors.h"
#include "train/preference_loss.h"

namespace genius::js {

// model_file_bindings.cc: readSafetensors, readSafetensorsMetadata, writeSafetensors, readModelConfig,
// loadModelWeights, saveModelWeights.
void InitModelFileBindings(Napi::Env env, Napi::Object exports);

// loss_bindings.cc: preferenceLoss, preferenceLossWithGrad, sequenceLogprobs, sequenceLogprobsWithGrad,
// reduceTokenLogprobs, and testing.preferenceLossGradientError / testing.sequenceLogprobsGradientError.
void InitLossBindings(Napi::Env env, Napi::Object exports);
// Reads {loss, beta, alpha, nllWeight, referenceFree, acoWeight} (each optional; undefined gives the
// defaults), naming `name`.key in errors. Defined in loss_bindings.cc; createTrainer (trainer_handle.cc)
// reads its loss with it too, as the trainer trains with the same options.
train::PreferenceLossOptions ReadPreferenceOptions(const Napi::Value& value, const std::string& name);

// runtime_bindings.cc: info, setThreads, setProfiling, takeProfile.
void InitRuntimeBindings(Napi::Env env, Napi::Object exports);

// probe_bindings.cc: matmulChain and testing.sampleTokens, single ops for tests and measurements.
void InitProbeBindings(Napi::Env env, Napi::Object exports);

// Sets target[name] to `Fn` as a JS function whose exceptions go through GuardedCall.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
void ExportFunction(Napi::Env env, Napi::Object target, const char* name) {
  target.Set(name, Napi::Function::New<GuardedCall<Fn>>(env, name));
}

// exports.testing, where the checks exported for tests only go (`genius-native/testing`); made by
// whichever Init runs first, so that each adds to it rather than replacing it.
inline Napi::Object TestingExports(Napi::Env env, Napi::Object exports) {
  const Napi::Value existing = exports.Get("testing");
  if (existing.IsObject()) return existing.As<Napi::Object>();
  Napi::Object testing = Napi::Object::New(env);
  exports.Set("testing", testing);
  return testing;
}

}  // namespace genius::js
