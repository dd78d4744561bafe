#include "js/async_work.h"

#include "js/args.h"
#include "js/tagged.h"

namespace genius::js {

namespace {
constexpr napi_type_tag kCancelTokenTag = {0x2d61b84f0c9e7a35ULL, 0x71c4e09ab35f26d8ULL};
}

void CancelToken::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("CancelToken", DefineClass(env, "CancelToken", {InstanceMethod<&CancelToken::Cancel>("cancel")}));
}

CancelToken::CancelToken(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CancelToken>(info) {
  Tag(info, kCancelTokenTag);
}

Napi::Value CancelToken::Cancel(const Napi::CallbackInfo& info) {
  flag_->store(true);
  return info.Env().Undefined();
}

std::shared_ptr<std::atomic<bool>> CancelToken::FlagOf(const Napi::Value& value, const char* name) {
  if (value.IsUndefined() || value.IsNull()) return std::make_shared<std::atomic<bool>>(false);
  return UnwrapTagged<CancelToken>(value, kCancelTokenTag, name, "CancelToken")->flag_;
}

void WorkContext::ThrowIfCancelled() const {
  if (cancelled_->load()) Fail(code::kAborted, "the operation was aborted");
}

void WorkContext::Progress(double done, double total) const {
  if (!progress_) return;
  progress_->function.NonBlockingCall([done, total](Napi::Env env, Napi::Function callback) {
    // A throwing progress callback must not take the process down; its error is dropped.
    try {
      callback.Call({Napi::Number::New(env, done), Napi::Number::New(env, total)});
    } catch (const Napi::Error&) {
    }
  });
}

std::function<void(size_t, size_t)> WorkContext::ItemProgress() const {
  return [this](size_t done, size_t total) {
    Progress(static_cast<double>(done), static_cast<double>(total));
    ThrowIfCancelled();
  };
}

void WorkContext::SettleAfterProgress(Napi::Env env, std::function<void(Napi::Env)> settle) {
  if (!progress_) {
    settle(env);
    return;
  }
  progress_->onDrained = std::move(settle);
  progress_->function.Release();  // its finalizer runs after the queue drains, and calls onDrained
}

WorkContext MakeWorkContext(Napi::Env env, const Napi::Value& options) {
  if (options.IsUndefined() || options.IsNull()) return WorkContext(CancelToken::FlagOf(options, "cancel"), nullptr);
  const Napi::Object object = ReadObject(options, "options");
  auto flag = CancelToken::FlagOf(object.Get("cancel"), "options.cancel");
  std::shared_ptr<ProgressChannel> progress;
  const Napi::Value onProgress = object.Get("onProgress");
  if (!onProgress.IsUndefined()) {
    if (!onProgress.IsFunction()) Invalid("options.onProgress", "a function");
    progress = std::make_shared<ProgressChannel>();
    progress->function = Napi::ThreadSafeFunction::New(env, onProgress.As<Napi::Function>(), "genius-native progress",
                                                       0, 1, [progress](Napi::Env finalizeEnv) {
                                                         if (progress->onDrained) progress->onDrained(finalizeEnv);
                                                       });
  }
  return WorkContext(std::move(flag), std::move(progress));
}

}  // namespace genius::js
