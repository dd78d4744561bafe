// The JS handle on this process's place in a distributed run (NativeProcessGroup, dist/process_group.h): made by
// createProcessGroup once the ranks have met, its collectives run on the torch thread like every long call, one
// at a time and in the order issued, which is the order every rank must issue them in.
#pragma once

#include <napi.h>

#include <memory>

#include "dist/process_group.h"

namespace genius::js {

class ProcessGroupHandle : public Napi::ObjectWrap<ProcessGroupHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit ProcessGroupHandle(const Napi::CallbackInfo& info);
  // The group behind a JS handle; throws ERR_GENIUS_INVALID_HANDLE / ERR_GENIUS_DISPOSED naming `name`.
  static std::shared_ptr<dist::ProcessGroup> GroupOf(const Napi::Value& value, const char* name);

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info);
  template <Napi::Value (ProcessGroupHandle::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Guard(const Napi::CallbackInfo& info);
  std::shared_ptr<dist::ProcessGroup> Live() const;
  Napi::Value Rank(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value AllReduce(const Napi::CallbackInfo& info);
  Napi::Value Broadcast(const Napi::CallbackInfo& info);
  Napi::Value AllGather(const Napi::CallbackInfo& info);
  Napi::Value AllGatherBytes(const Napi::CallbackInfo& info);
  Napi::Value Barrier(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<dist::ProcessGroup> group_;  // empty once disposed; a running call holds its own reference
};

}  // namespace genius::js
