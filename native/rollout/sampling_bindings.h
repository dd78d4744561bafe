#pragma once

#include <napi.h>

namespace genius {
// testing.sampleTokens: one decode-step draw through the ATen path or the CUDA kernel, for tests.
void InitSamplingBindings(Napi::Env env, Napi::Object exports);
}  // namespace genius
