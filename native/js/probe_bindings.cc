// Single operations exposed to exercise and measure the native layer, not to build on: matmulChain,
// the smallest end-to-end run of the async machinery, and testing.sampleTokens, one decode-step draw
// through either sampling path, for the tests that hold the CUDA kernel to the ATen path.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <cmath>

#include "js/args.h"
#include "js/async_work.h"
#include "js/bindings.h"
#include "js/tensor_handle.h"
#include "rollout/sampling.h"

namespace genius::js {

namespace {

// matmulChain(a, steps, options): x ← tanh(x·a / √n), `steps` times, starting from x = a. A long, real
// libtorch computation run the way every long call runs: on a worker thread, with progress,
// cancellation at each step, and its own thread-local InferenceMode. Doubles as a matmul throughput probe.
Napi::Value MatmulChain(const Napi::CallbackInfo& info) {
  const at::Tensor a = TensorHandle::TensorOf(Arg(info, 0, "a"), "a");
  const int64_t steps = ReadInteger(Arg(info, 1, "steps"), "steps", 0, 1 << 20);
  if (a.dim() != 2 || a.size(0) != a.size(1) || !at::isFloatingType(a.scalar_type())) {
    Invalid("a",
            "a square floating-point matrix, got shape " + c10::str(a.sizes()) + " of " + DTypeName(a.scalar_type()));
  }
  return RunAsync<at::Tensor>(
      info.Env(), info[2],
      [a, steps](const WorkContext& context) {
        c10::InferenceMode inference;  // thread-local: must be set on the worker thread itself
        const double scale = 1.0 / std::sqrt(static_cast<double>(a.size(0)));
        at::Tensor x = a;
        for (int64_t step = 0; step < steps; ++step) {
          context.ThrowIfCancelled();
          x = at::tanh(at::matmul(x, a).mul_(scale));
          context.Progress(static_cast<double>(step + 1), static_cast<double>(steps));
        }
        return x.clone();  // a fresh tensor, so the caller never aliases its input
      },
      TensorHandle::Wrap);
}

// testing.sampleTokens(logits [rows, vocab], {temperature, topP, topK, seed, step}, path: 'aten' | 'kernel')
//   -> {tokens, logprobs} tensor handles
Napi::Value SampleTokens(const Napi::CallbackInfo& info) {
  c10::InferenceMode inference;
  const at::Tensor logits = TensorHandle::TensorOf(Arg(info, 0, "logits"), "logits");
  const Napi::Object options = ReadObject(Arg(info, 1, "options"), "options");
  const std::string path = ReadString(Arg(info, 2, "path"), "path");
  if (logits.dim() != 2 || logits.scalar_type() != at::kFloat) Invalid("logits", "a float32 [rows, vocab] tensor");
  const rollout::SamplingOptions sampling{ReadNumber(options.Get("temperature"), "options.temperature"),
                                          ReadNumber(options.Get("topP"), "options.topP"),
                                          ReadInteger(options.Get("topK"), "options.topK", 0, logits.size(1))};
  const auto seed = static_cast<uint64_t>(ReadInteger(options.Get("seed"), "options.seed", 0, kMaxSeed));
  [[maybe_unused]] const auto step =  // read by the kernel path only
      static_cast<uint64_t>(ReadInteger(options.Get("step"), "options.step", 0, kMaxSeed));
  rollout::Draw draw;
  if (path == "aten") {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor cpuLogits = logits.cpu();
    draw = rollout::SampleTokens(cpuLogits, sampling, at::rand({cpuLogits.size(0), 1}, generator, cpuLogits.options()));
  } else if (path == "kernel") {
#ifdef GENIUS_WITH_CUDA
    if (!logits.is_cuda()) Fail(code::kInvalidArgument, "the sampling kernel needs CUDA logits");
    draw = rollout::SampleTokensKernel(logits, sampling, seed, step);
#else
    Fail(code::kInvalidArgument, "this build has no CUDA kernels (see `genius-native info`)");
#endif
  } else {
    Invalid("path", "'aten' or 'kernel'");
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("tokens", TensorHandle::Wrap(info.Env(), draw.tokens));
  result.Set("logprobs", TensorHandle::Wrap(info.Env(), draw.logprobs));
  return result;
}

}  // namespace

void InitProbeBindings(Napi::Env env, Napi::Object exports) {
  ExportFunction<&SampleTokens>(env, TestingExports(env, exports), "sampleTokens");
  ExportFunction<&MatmulChain>(env, exports, "matmulChain");
}

}  // namespace genius::js
