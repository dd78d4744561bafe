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

void WorkContext::Post(Napi::FunctionReference ListenerChannel::*listener,
                       std::function<std::vector<napi_value>(Napi::Env)> arguments) const {
  // The channel outlives every queued call: the function's finalizer holds it and runs after the queue drains.
  ListenerChannel* channel = listeners_.get();
  channel->function.NonBlockingCall(
      [channel, listener, arguments = std::move(arguments)](Napi::Env env, Napi::Function) {
        // A throwing listener must not take the process down; its error is dropped.
        try {
          (channel->*listener).Call(arguments(env));
        } catch (const Napi::Error&) {
        }
      });
}

void WorkContext::Progress(double done, double total) const {
  if (!listeners_ || listeners_->onProgress.IsEmpty()) return;
  Post(&ListenerChannel::onProgress, [done, total](Napi::Env env) -> std::vector<napi_value> {
    return {Napi::Number::New(env, done), Napi::Number::New(env, total)};
  });
}

void WorkContext::Tokens(std::function<Napi::Value(Napi::Env)> argument) const {
  if (!ListensForTokens()) return;
  Post(&ListenerChannel::onTokens,
       [argument = std::move(argument)](Napi::Env env) -> std::vector<napi_value> { return {argument(env)}; });
}

std::function<void(size_t, size_t)> WorkContext::ItemProgress() const {
  return [this](size_t done, size_t total) {
    Progress(static_cast<double>(done), static_cast<double>(total));
    ThrowIfCancelled();
  };
}

void WorkContext::SettleAfterListeners(Napi::Env env, std::function<void(Napi::Env)> settle) {
  if (!listeners_) {
    settle(env);
    return;
  }
  listeners_->onDrained = std::move(settle);
  listeners_->function.Release();  // its finalizer runs after the queue drains, and calls onDrained
}

namespace {

// options[key]: a function held for the call, or an empty reference when not given.
Napi::FunctionReference ReadListener(const Napi::Object& options, const char* key) {
  const Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return {};
  if (!value.IsFunction()) Invalid(std::string("options.") + key, "a function");
  return Napi::Persistent(value.As<Napi::Function>());
}

}  // namespace

WorkContext MakeWorkContext(Napi::Env env, const Napi::Value& options) {
  if (options.IsUndefined() || options.IsNull()) return WorkContext(CancelToken::FlagOf(options, "cancel"), nullptr);
  const Napi::Object object = ReadObject(options, "options");
  auto flag = CancelToken::FlagOf(object.Get("cancel"), "options.cancel");
  Napi::FunctionReference onProgress = ReadListener(object, "onProgress");
  Napi::FunctionReference onTokens = ReadListener(object, "onTokens");
  if (onProgress.IsEmpty() && onTokens.IsEmpty()) return WorkContext(std::move(flag), nullptr);
  auto listeners = std::make_shared<ListenerChannel>();
  listeners->onProgress = std::move(onProgress);
  listeners->onTokens = std::move(onTokens);
  listeners->function = Napi::ThreadSafeFunction::New(env, Napi::Function(), "genius-native listeners", 0, 1,
                                                      [listeners](Napi::Env finalizeEnv) {
                                                        // References are freed here, on the JS thread.
                                                        listeners->onProgress.Reset();
                                                        listeners->onTokens.Reset();
                                                        if (listeners->onDrained) listeners->onDrained(finalizeEnv);
                                                      });
  return WorkContext(std::move(flag), std::move(listeners));
}

}  // namespace genius::js
