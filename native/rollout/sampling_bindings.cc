#include "rollout/sampling_bindings.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include "js/args.h"
#include "js/errors.h"
#include "js/tensor_handle.h"
#include "rollout/sampling.h"

#ifdef GENIUS_WITH_CUDA
#include "kernels/sampling.cuh"
#endif

namespace genius {

namespace {

// testing.sampleTokens(logits [rows, vocab], {temperature, topP, topK, seed, step}, path: 'aten' | 'kernel')
//   -> {tokens, logprobs} tensor handles
Napi::Value SampleTokensJs(const Napi::CallbackInfo& info) {
  c10::InferenceMode inference;
  const at::Tensor logits = js::TensorHandle::TensorOf(js::Arg(info, 0, "logits"), "logits");
  const Napi::Object options = js::ReadObject(js::Arg(info, 1, "options"), "options");
  const std::string path = js::ReadString(js::Arg(info, 2, "path"), "path");
  if (logits.dim() != 2 || logits.scalar_type() != at::kFloat) {
    Fail(code::kInvalidArgument, "argument 'logits' must be a float32 [rows, vocab] tensor");
  }
  rollout::SamplingOptions sampling{js::ReadNumber(options.Get("temperature"), "options.temperature"),
                                    js::ReadNumber(options.Get("topP"), "options.topP"),
                                    js::ReadInteger(options.Get("topK"), "options.topK", 0, logits.size(1))};
  const auto seed = static_cast<uint64_t>(js::ReadInteger(options.Get("seed"), "options.seed", 0, (1LL << 53) - 1));
  const auto step = static_cast<uint64_t>(js::ReadInteger(options.Get("step"), "options.step", 0, (1LL << 53) - 1));
  rollout::Draw draw;
  if (path == "aten") {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    draw = rollout::SampleTokens(logits.cpu(), sampling, generator);
  } else if (path == "kernel") {
#ifdef GENIUS_WITH_CUDA
    if (!logits.is_cuda()) Fail(code::kInvalidArgument, "the sampling kernel needs CUDA logits");
    const at::Tensor input = logits.contiguous();
    draw = {at::empty({input.size(0)}, input.options().dtype(at::kLong)), at::empty({input.size(0)}, input.options())};
    at::Tensor finished = at::zeros({input.size(0)}, input.options().dtype(at::kBool));
    kernels::SampleTokensCuda(input, sampling.temperature, sampling.topP, sampling.topK, seed, step, at::Tensor(),
                              at::Tensor(), draw.tokens, draw.logprobs, finished);
#else
    Fail(code::kInvalidArgument, "this build has no CUDA kernels (see `genius-native info`)");
#endif
  } else {
    Fail(code::kInvalidArgument, "argument 'path' must be 'aten' or 'kernel'");
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("tokens", js::TensorHandle::Wrap(info.Env(), draw.tokens));
  result.Set("logprobs", js::TensorHandle::Wrap(info.Env(), draw.logprobs));
  return result;
}

}  // namespace

void InitSamplingBindings(Napi::Env env, Napi::Object exports) {
  const Napi::Value existing = exports.Get("testing");
  Napi::Object testing = existing.IsObject() ? existing.As<Napi::Object>() : Napi::Object::New(env);
  testing.Set("sampleTokens", Napi::Function::New<GuardedCall<&SampleTokensJs>>(env, "sampleTokens"));
  exports.Set("testing", testing);
}

}  // namespace genius
