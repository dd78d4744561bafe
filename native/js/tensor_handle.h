// The opaque handle JS holds for a libtorch tensor. Type-tagged, so a forged object is refused;
// disposable, so memory is freed when the caller says so rather than when V8 next collects.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <atomic>
#include <optional>
#include <string>

namespace genius::js {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // A new JS handle owning `tensor`.
  static Napi::Object Wrap(Napi::Env env, at::Tensor tensor);
  // The tensor behind a JS handle; throws ERR_GENIUS_INVALID_HANDLE / ERR_GENIUS_DISPOSED naming `name`.
  static const at::Tensor& TensorOf(const Napi::Value& value, const std::string& name);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

 private:
  static Napi::Value FromData(const Napi::CallbackInfo& info);
  static Napi::Value LiveCount(const Napi::CallbackInfo& info);

  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Bytes(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value ToArray(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // Instance methods are registered through this so that C++ exceptions become JS errors.
  template <Napi::Value (TensorHandle::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Guard(const Napi::CallbackInfo& info);

  const at::Tensor& Get() const;
  void Release();

  std::optional<at::Tensor> tensor_;  // empty once disposed
  int64_t reportedBytes_ = 0;         // what was reported to V8 as external memory
  static std::atomic<int64_t> live_;  // handles holding a tensor, across all environments
};

}  // namespace genius::js
