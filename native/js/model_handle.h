// JS handles on a loaded model (NativeModel) and on a kept KV cache (NativeKvCache). Both are
// type-tagged and disposable like tensor handles; a cache keeps the model's tensors it was made
// with alive, not the model itself.
//
// A model's weights change in place when it is trained (train/trainer.h), so each model has a weights
// lock: work that reads the weights (generate, logits, save) holds it shared, a training step holds
// it exclusively. Calls are serialised, not refused: a generate() issued during a step waits for the
// step to end (on its worker thread). A KV cache kept from before a step holds the old weights' keys.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <shared_mutex>

#include "js/args.h"
#include "model/transformer.h"
#include "rollout/kv_cache.h"

namespace genius::js {

// How a model directory is written (save, a trainer's saveModel): options.shardBytes (0 or absent: one file) and
// options.dtype, by default `defaultDtype`.
struct SaveSettings {
  uint64_t shardBytes;
  at::ScalarType dtype;
};
SaveSettings ReadSaveSettings(const Napi::Value& options, at::ScalarType defaultDtype);

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit ModelHandle(const Napi::CallbackInfo& info);
  // The model behind a JS handle; throws ERR_GENIUS_INVALID_HANDLE / ERR_GENIUS_DISPOSED naming `name`.
  static std::shared_ptr<const model::Transformer> ModelOf(const Napi::Value& value, const char* name);
  // The weights lock of the model behind a JS handle (see above).
  static std::shared_ptr<std::shared_mutex> WeightsLockOf(const Napi::Value& value, const char* name);
  // Set when the handle is disposed: what a trainer of the model checks before each call (it holds the model
  // itself, so disposing the handle alone would not stop it).
  static std::shared_ptr<const std::atomic<bool>> DisposedFlagOf(const Napi::Value& value, const char* name);

 private:
  static Napi::Value Load(const Napi::CallbackInfo& info);
  static Napi::Value InitModel(const Napi::CallbackInfo& info);
  template <Napi::Value (ModelHandle::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Guard(const Napi::CallbackInfo& info);
  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value Logits(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value SaveAdapter(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Describe(const Napi::CallbackInfo& info);

  std::shared_ptr<const model::Transformer> model_;
  std::shared_ptr<std::shared_mutex> weightsLock_ = std::make_shared<std::shared_mutex>();
  std::shared_ptr<std::atomic<bool>> disposed_ = std::make_shared<std::atomic<bool>>(false);
};

class KvCacheHandle : public Napi::ObjectWrap<KvCacheHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<const rollout::KvCache> cache);
  static std::shared_ptr<const rollout::KvCache> CacheOf(const Napi::Value& value, const char* name);
  explicit KvCacheHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value Rows(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<const rollout::KvCache> cache_;
};

}  // namespace genius::js
