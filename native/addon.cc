// Module init: registers the native classes (js/*_handle.h) and functions (js/bindings.h), nothing else.
#include <malloc.h>
#include <napi.h>

#include "js/addon_data.h"
#include "js/async_work.h"
#include "js/bindings.h"
#include "js/model_handle.h"
#include "js/process_group_handle.h"
#include "js/tensor_handle.h"
#include "js/trainer_handle.h"
#include "memory/recycling_allocator.h"

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
  genius::js::ProcessGroupHandle::Init(env, exports);
  genius::js::InitRuntimeBindings(env, exports);
  genius::js::InitProbeBindings(env, exports);
  genius::js::InitModelFileBindings(env, exports);
  genius::js::InitLossBindings(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(genius_native, Init)
