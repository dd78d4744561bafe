// Per-environment state of the addon (one per Node main thread or worker_thread), so that nothing
// native is shared between isolates.
#pragma once

#include <napi.h>

namespace genius::js {

struct AddonData {
  Napi::FunctionReference tensorConstructor;
  Napi::FunctionReference modelConstructor;
  Napi::FunctionReference kvCacheConstructor;
  Napi::FunctionReference trainerConstructor;
  Napi::FunctionReference processGroupConstructor;
};

inline AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace genius::js
