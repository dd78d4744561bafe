#pragma once

#include <napi.h>

namespace genius {
// readSafetensors, readSafetensorsMetadata, writeSafetensors, readModelConfig, loadModelWeights, saveModelWeights.
void InitModelBindings(Napi::Env env, Napi::Object exports);
}  // namespace genius
