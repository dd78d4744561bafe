// The runtime the addon runs on: info() says what it was built against and what it can use right
// now; setThreads() sets torch's thread count; setProfiling() and takeProfile() drive the phase
// profiler (profile/profiler.h) for `genius-native bench --profile`.
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <torch/headeronly/version.h>

#include "js/args.h"
#include "js/bindings.h"
#include "js/torch_thread.h"
#include "profile/profiler.h"

namespace genius::js {

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
  const int threads = static_cast<int>(ReadInteger(Arg(info, 0, "threads"), "threads", 1, 1024));
  // OpenMP's thread count is per thread: set for the torch thread, where long calls run, and for this
  // one. The torch thread takes it after the calls queued before it, which this call waits for.
  RunOnTorchThread([threads] { at::set_num_threads(threads); });
  at::set_num_threads(threads);
  return info.Env().Undefined();
}

Napi::Value SetProfiling(const Napi::CallbackInfo& info) {
  profile::SetProfiling(ReadBool(Arg(info, 0, "on"), "on"));
  return info.Env().Undefined();
}

// takeProfile() -> [{name, calls, selfMs, totalMs}]
Napi::Value TakeProfile(const Napi::CallbackInfo& info) {
  const std::vector<profile::ProfileRow> rows = profile::TakeProfile();
  Napi::Array result = Napi::Array::New(info.Env(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    Napi::Object row = Napi::Object::New(info.Env());
    row.Set("name", rows[i].name);
    row.Set("calls", static_cast<double>(rows[i].calls));
    row.Set("selfMs", rows[i].selfMs);
    row.Set("totalMs", rows[i].totalMs);
    result.Set(i, row);
  }
  return result;
}

}  // namespace

void InitRuntimeBindings(Napi::Env env, Napi::Object exports) {
  ExportFunction<&Info>(env, exports, "info");
  ExportFunction<&SetThreads>(env, exports, "setThreads");
  ExportFunction<&SetProfiling>(env, exports, "setProfiling");
  ExportFunction<&TakeProfile>(env, exports, "takeProfile");
}

}  // namespace genius::js
