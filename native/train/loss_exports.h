#pragma once

#include <napi.h>

namespace genius {
// preferenceLoss, preferenceLossWithGrad, sequenceLogprobs, sequenceLogprobsWithGrad, reduceTokenLogprobs,
// and testing.preferenceLossGradientError / testing.sequenceLogprobsGradientError.
void InitLossExports(Napi::Env env, Napi::Object exports);
}  // namespace genius
