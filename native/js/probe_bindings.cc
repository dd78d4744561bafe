// Single operations exposed to exercise and measure the native layer, not to build on: matmulChain,
// the smallest end-to-end run of the async machinery, testing.sampleTokens, one decode-step draw
// through either sampling path, for the tests that hold the CUDA kernel to the ATen path and both to
// transformers' sampling, and testing.penalizeRepetition, the logits after the repetition penalty.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

// What each row of `value` (one array of token ids per row of `logits`) has seen, marked as the engine marks it.
at::Tensor ReadSeen(const Napi::Value& value, const std::string& name, const at::Tensor& logits) {
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  if (!value.IsArray() || value.As<Napi::Array>().Length() != static_cast<uint32_t>(rows)) {
    Invalid(name, "an array of " + std::to_string(rows) + " token-id arrays, one per row");
  }
  std::vector<std::vector<int64_t>> lists;
  int64_t longest = 0;
  for (uint32_t row = 0; row < rows; ++row) {
    lists.push_back(ReadIndices(value.As<Napi::Array>().Get(row), ElementName(name, row), vocab, "a token id"));
    longest = std::max<int64_t>(longest, lists.back().size());
  }
  at::Tensor tokens = at::zeros({rows, longest}, at::kLong);
  at::Tensor valid = at::zeros({rows, longest}, at::kBool);
  for (int64_t row = 0; row < rows; ++row) {
    const auto count = static_cast<int64_t>(lists[row].size());
    tokens[row].narrow(0, 0, count).copy_(at::tensor(lists[row], at::kLong));
    valid[row].narrow(0, 0, count).fill_(true);
  }
  return rollout::SeenTokens(tokens, valid, vocab).to(logits.device());
}

const at::Tensor& ReadLogits(const Napi::CallbackInfo& info) {
  const at::Tensor& logits = TensorHandle::TensorOf(Arg(info, 0, "logits"), "logits");
  if (logits.dim() != 2 || logits.scalar_type() != at::kFloat) Invalid("logits", "a float32 [rows, vocab] tensor");
  return logits;
}

// testing.sampleTokens(logits [rows, vocab], {temperature, topP, topK, minP?, repetitionPenalty?, previous?, seed,
//   step}, path: 'aten' | 'kernel') -> {tokens, logprobs} tensor handles. `previous` (one token-id array per row)
//   is what each row has seen, wanted when repetitionPenalty is not 1.
Napi::Value SampleTokens(const Napi::CallbackInfo& info) {
  c10::InferenceMode inference;
  const at::Tensor logits = ReadLogits(info);
  const Napi::Object options = ReadObject(Arg(info, 1, "options"), "options");
  const std::string path = ReadString(Arg(info, 2, "path"), "path");
  const rollout::SamplingOptions sampling{
      ReadNumber(options.Get("temperature"), "options.temperature"), ReadNumber(options.Get("topP"), "options.topP"),
      ReadInteger(options.Get("topK"), "options.topK", 0, logits.size(1)), NumberOr(options, "options", "minP", 0.0),
      NumberOr(options, "options", "repetitionPenalty", 1.0)};
  const at::Tensor seen =
      sampling.repetitionPenalty == 1.0 ? at::Tensor() : ReadSeen(options.Get("previous"), "options.previous", logits);
  const auto seed = static_cast<uint64_t>(ReadInteger(options.Get("seed"), "options.seed", 0, kMaxSeed));
  [[maybe_unused]] const auto step =  // read by the kernel path only
      static_cast<uint64_t>(ReadInteger(options.Get("step"), "options.step", 0, kMaxSeed));
  rollout::Draw draw;
  if (path == "aten") {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor cpuLogits = logits.cpu();
    draw = rollout::SampleTokens(cpuLogits, seen.defined() ? seen.cpu() : seen, sampling,
                                 at::rand({cpuLogits.size(0), 1}, generator, cpuLogits.options()));
  } else if (path == "kernel") {
#ifdef GENIUS_WITH_CUDA
    if (!logits.is_cuda()) Fail(code::kInvalidArgument, "the sampling kernel needs CUDA logits");
    draw = rollout::SampleTokensKernel(logits, seen, sampling, seed, step);
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

// testing.penalizeRepetition(logits [rows, vocab], previous: one token-id array per row, penalty) -> the logits
//   the sampler draws from after the repetition penalty, a tensor handle.
Napi::Value PenalizeRepetition(const Napi::CallbackInfo& info) {
  c10::InferenceMode inference;
  const at::Tensor logits = ReadLogits(info);
  const at::Tensor seen = ReadSeen(Arg(info, 1, "previous"), "previous", logits);
  const double penalty = ReadNumber(Arg(info, 2, "penalty"), "penalty");
  return TensorHandle::Wrap(info.Env(), rollout::PenalizeRepetition(logits, seen, penalty));
}

}  // namespace

void InitProbeBindings(Napi::Env env, Napi::Object exports) {
  ExportFunction<&SampleTokens>(env, TestingExports(env, exports), "sampleTokens");
  ExportFunction<&PenalizeRepetition>(env, TestingExports(env, exports), "penalizeRepetition");
  ExportFunction<&MatmulChain>(env, exports, "matmulChain");
}

}  // namespace genius::js
