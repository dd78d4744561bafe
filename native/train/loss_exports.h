#pragma once

#include <napi.h>

#include <string>

#include "train/preference_loss.h"

namespace genius {
// Reads {loss, beta, alpha, referenceFree, acoWeight} (each optional; undefined gives the defaults),
// naming `name`.key in errors. Shared with the trainer, which trains with the same options.
train::PreferenceLossOptions ReadPreferenceOptions(const Napi::Value& value, const std::string& name);

// preferenceLoss, preferenceLossWithGrad, sequenceLogprobs, sequenceLogprobsWithGrad, reduceTokenLogprobs,
// and testing.preferenceLossGradientError / testing.sequenceLogprobsGradientError.
void InitLossExports(Napi::Env env, Napi::Object exports);
}  // namespace genius
