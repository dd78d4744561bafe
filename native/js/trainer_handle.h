// The JS handle on a Trainer (NativeTrainer): training steps, reference scores and optimizer state
// of one model, each run on a worker thread under the model's weights lock (model_handle.h):
// exclusive for what changes the weights or the optimizer, shared for what only reads them.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <shared_mutex>

#include "train/trainer.h"

namespace genius::js {

class TrainerHandle : public Napi::ObjectWrap<TrainerHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit TrainerHandle(const Napi::CallbackInfo& info);

 private:
  // Everything a call needs, kept alive by the call even if the handle is disposed meanwhile.
  struct State {
    std::shared_ptr<const model::Transformer> model;
    std::shared_ptr<std::shared_mutex> weightsLock;
    std::shared_ptr<const std::atomic<bool>> modelDisposed;
    std::unique_ptr<train::Trainer> trainer;
  };

  static Napi::Value Create(const Napi::CallbackInfo& info);
  template <Napi::Value (TrainerHandle::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Guard(const Napi::CallbackInfo& info);
  std::shared_ptr<State> Live() const;
  Napi::Value PreferenceStep(const Napi::CallbackInfo& info);
  Napi::Value SftStep(const Napi::CallbackInfo& info);
  Napi::Value Score(const Napi::CallbackInfo& info);
  Napi::Value SaveState(const Napi::CallbackInfo& info);
  Napi::Value SaveModel(const Napi::CallbackInfo& info);
  Napi::Value LoadState(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<State> state_;
  train::PreferenceLossOptions loss_;  // what the batches of preferenceStep must carry
};

}  // namespace genius::js
