// Module init: registers the native classes and functions, nothing else.
#include <napi.h>

#include "js/addon_data.h"
#include "js/async_work.h"
#include "js/tensor_handle.h"
#include "ops/matmul_chain.h"
#include "runtime_info.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new genius::js::AddonData());
  genius::js::TensorHandle::Init(env, exports);
  genius::js::CancelToken::Init(env, exports);
  genius::InitRuntimeInfo(env, exports);
  genius::InitMatmulChain(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(genius_native, Init)
