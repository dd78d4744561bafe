// `info()`: what this addon was built against and what it can use right now.
#include "runtime_info.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <torch/headeronly/version.h>

#include "js/args.h"
#include "js/errors.h"
#include "js/torch_thread.h"

namespace genius {

namespace {

// The libtorch file actually loaded, which can differ from the one built against (LD_LIBRARY_PATH).
std::string LoadedLibtorchPath() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&at::get_num_threads), &info) != 0 && info.dli_fname != nullptr) {
    return info.dli_fname;
  }
  return "";
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("torchVersion", TORCH_VERSION);
  result.Set("torchBuiltAgainst", GENIUS_TORCH_ROOT);
  result.Set("torchLoadedFrom", LoadedLibtorchPath());
  result.Set("buildType", GENIUS_BUILD_TYPE);
#ifdef GENIUS_WITH_CUDA
  result.Set("cudaKernels", true);
#else
  result.Set("cudaKernels", false);
#endif
  const bool cuda = at::hasCUDA();
  result.Set("torchHasCuda", at::detail::getCUDAHooks().isBuilt());
  result.Set("cudaAvailable", cuda);
  Napi::Array devices = Napi::Array::New(env);
  devices.Set(0u, Napi::String::New(env, "cpu"));
  const int cudaDevices = cuda ? at::detail::getCUDAHooks().deviceCount() : 0;
  for (int i = 0; i < cudaDevices; ++i) devices.Set(i + 1, Napi::String::New(env, "cuda:" + std::to_string(i)));
  result.Set("devices", devices);
  result.Set("threads", at::get_num_threads());
  result.Set("interopThreads", at::get_num_interop_threads());
  result.Set("parallelInfo", at::get_parallel_info());
  return result;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int threads = static_cast<int>(js::ReadInteger(js::Arg(info, 0, "threads"), "threads", 1, 1024));
  // OpenMP's thread count is per thread: set for the torch thread, where long calls run, and for this
  // one. The torch thread takes it after the calls queued before it, which this call waits for.
  js::RunOnTorchThread([threads] { at::set_num_threads(threads); });
  at::set_num_threads(threads);
  return info.Env().Undefined();
}

}  // namespace

void InitRuntimeInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New<GuardedCall<&Info>>(env, "info"));
  exports.Set("setThreads", Napi::Function::New<GuardedCall<&SetThreads>>(env, "setThreads"));
}

}  // namespace genius
