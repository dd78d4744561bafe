// matmulChain(a, steps, options): x ← tanh(x·a / √n), `steps` times, starting from x = a.
// A long, real libtorch computation run the way every long call runs: on a worker thread, with
// progress, cancellation at each step, and its own thread-local InferenceMode. It is the smallest
// end-to-end exercise of the async machinery, and doubles as a matmul throughput probe.
#include "ops/matmul_chain.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>

#include "js/args.h"
#include "js/async_work.h"
#include "js/tensor_handle.h"

namespace genius {

namespace {

Napi::Value MatmulChain(const Napi::CallbackInfo& info) {
  const at::Tensor a = js::TensorHandle::TensorOf(js::Arg(info, 0, "a"), "a");
  const int64_t steps = js::ReadInteger(js::Arg(info, 1, "steps"), "steps", 0, 1 << 20);
  if (a.dim() != 2 || a.size(0) != a.size(1) || !at::isFloatingType(a.scalar_type())) {
    Fail(code::kInvalidArgument, "argument 'a' must be a square floating-point matrix, got shape " +
                                     c10::str(a.sizes()) + " of " + js::DTypeName(a.scalar_type()));
  }
  return js::RunAsync<at::Tensor>(
      info.Env(), info[2],
      [a, steps](const js::WorkContext& context) {
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
      [](Napi::Env env, at::Tensor& result) -> Napi::Value { return js::TensorHandle::Wrap(env, result); });
}

}  // namespace

void InitMatmulChain(Napi::Env env, Napi::Object exports) {
  exports.Set("matmulChain", Napi::Function::New<GuardedCall<&MatmulChain>>(env, "matmulChain"));
}

}  // namespace genius
