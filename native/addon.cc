// Module init: registers the native classes and functions, nothing else.
#include <malloc.h>
#include <napi.h>

#include "js/addon_data.h"
#include "js/async_work.h"
#include "js/model_handle.h"
#include "js/tensor_handle.h"
#include "js/trainer_handle.h"
#include "memory/recycling_allocator.h"
#include "model/bindings.h"
#include "ops/matmul_chain.h"
#include "profile/profiler.h"
#include "rollout/sampling_bindings.h"
#include "runtime_info.h"
#include "train/loss_exports.h"

namespace {

// libtorch allocates tensor buffers with posix_memalign. When one is freed, glibc carves the small
// allocations that follow (a handle's wrapper, whose finalizer waits for an event-loop turn) out of
// the hole, and the next aligned buffer no longer fits in what is left: 100k create/dispose cycles
// of a 64 KB tensor in a synchronous loop grew RSS by 6 GB. Serving blocks of 64 KB and more from
// mmap keeps RSS flat, and that loop ran 2x faster. The recycling allocator (memory/) keeps those
// blocks for reuse, so that a decode loop does not pay mmap and its page faults at every step.
constexpr int kMmapThresholdBytes = 64 * 1024;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  genius::memory::InstallRecyclingCpuAllocator();
  env.SetInstanceData(new genius::js::AddonData());
  genius::js::TensorHandle::Init(env, exports);
  genius::js::CancelToken::Init(env, exports);
  genius::js::ModelHandle::Init(env, exports);
  genius::js::KvCacheHandle::Init(env, exports);
  genius::js::TrainerHandle::Init(env, exports);
  genius::InitRuntimeInfo(env, exports);
  genius::InitSamplingBindings(env, exports);
  genius::InitMatmulChain(env, exports);
  genius::InitModelBindings(env, exports);
  genius::InitLossExports(env, exports);
  genius::profile::InitProfiler(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(genius_native, Init)
