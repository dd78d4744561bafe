// Long native calls run off the JS thread and settle a Promise, so the JS event loop stays free: a
// libuv worker hands the work to the one torch thread (js/torch_thread.h) and waits for it. Progress
// and a generate call's tokens reach JS through one ThreadSafeFunction per call; cancellation through a
// CancelToken that the TypeScript layer trips from an AbortSignal. Torch's thread-local guards (InferenceMode,
// NoGradGuard, autocast) do not cross threads: each work function sets its own, inside the work.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "js/errors.h"
#include "js/torch_thread.h"
#include "profile/profiler.h"

namespace genius::js {

// JS-visible object holding the flag a worker polls; `cancel()` is called on AbortSignal 'abort'.
class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit CancelToken(const Napi::CallbackInfo& info);
  // The flag behind a token passed as argument `name` (undefined gives a flag nobody trips).
  static std::shared_ptr<std::atomic<bool>> FlagOf(const Napi::Value& value, const char* name);

 private:
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  std::shared_ptr<std::atomic<bool>> flag_ = std::make_shared<std::atomic<bool>>(false);
};

// A call's JS listeners (options.onProgress, options.onTokens), reached from the worker through one
// ThreadSafeFunction: each queued call names the listener it runs, so the function itself is none of them.
struct ListenerChannel {
  Napi::ThreadSafeFunction function;
  Napi::FunctionReference onProgress;  // empty when not given
  Napi::FunctionReference onTokens;
  std::function<void(Napi::Env)> onDrained;  // runs once every queued call was delivered
};

// What a work function may use from the worker thread.
class WorkContext {
 public:
  WorkContext(std::shared_ptr<std::atomic<bool>> cancelled, std::shared_ptr<ListenerChannel> listeners)
      : cancelled_(std::move(cancelled)), listeners_(std::move(listeners)) {}
  // Throws ERR_GENIUS_ABORTED once the token was tripped; call it at safe points.
  void ThrowIfCancelled() const;
  // Reports progress to the JS callback, if any, without waiting for it.
  void Progress(double done, double total) const;
  // Whether options.onTokens was given: work that streams its results gathers them for it only then.
  bool ListensForTokens() const { return listeners_ && !listeners_->onTokens.IsEmpty(); }
  // Passes what `argument` makes on the JS thread to options.onTokens, without waiting for it.
  void Tokens(std::function<Napi::Value(Napi::Env)> argument) const;
  // A callback for libtorch loops over items (tensors of a file, weights of a model): reports
  // (done, total) after each item, then throws if the call was cancelled.
  std::function<void(size_t done, size_t total)> ItemProgress() const;
  // Runs `settle` on the JS thread once every listener call already queued (progress, tokens) has reached JS,
  // so that a Promise never resolves before the events that preceded it.
  void SettleAfterListeners(Napi::Env env, std::function<void(Napi::Env)> settle);

 private:
  // Queues a call of `listener` with the arguments `arguments` makes on the JS thread.
  void Post(Napi::FunctionReference ListenerChannel::*listener,
            std::function<std::vector<napi_value>(Napi::Env)> arguments) const;

  std::shared_ptr<std::atomic<bool>> cancelled_;
  std::shared_ptr<ListenerChannel> listeners_;
};

// `options` may hold `cancel` (a CancelToken), `onProgress(done, total)` and, for calls that stream tokens,
// `onTokens(step)`.
WorkContext MakeWorkContext(Napi::Env env, const Napi::Value& options);

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result(const WorkContext&)>;
  using Convert = std::function<Napi::Value(Napi::Env, Result&)>;

  PromiseWorker(Napi::Env env, WorkContext context, Work work, Convert convert)
      : Napi::AsyncWorker(env, "genius-native"),
        deferred_(Napi::Promise::Deferred::New(env)),
        context_(std::move(context)),
        work_(std::move(work)),
        convert_(std::move(convert)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    RunOnTorchThread([this] {
      const profile::CallScope profiled;
      try {
        result_.emplace(work_(context_));
      } catch (...) {
        error_ = DescribeCurrentException();
      }
    });
  }

  void OnOK() override {
    // The worker is deleted after OnOK; the settlement may run later, so it owns what it needs.
    context_.SettleAfterListeners(
        Env(), [deferred = deferred_, convert = convert_,
                result = std::make_shared<std::optional<Result>>(std::move(result_)), error = error_](Napi::Env env) {
          Napi::HandleScope scope(env);
          if (error) {
            deferred.Reject(MakeJsError(env, *error).Value());
            return;
          }
          try {
            deferred.Resolve(convert(env, **result));
          } catch (...) {
            deferred.Reject(MakeJsError(env, DescribeCurrentException()).Value());
          }
        });
  }

 private:
  Napi::Promise::Deferred deferred_;
  WorkContext context_;
  Work work_;
  Convert convert_;
  std::optional<Result> result_;
  std::optional<CaughtError> error_;
};

// The convert of a call whose Promise resolves with undefined (a work returning a placeholder `true`).
inline Napi::Value ResolveUndefined(Napi::Env env, bool&) { return env.Undefined(); }

// Queues `work` on the thread pool; the Promise resolves with convert(result) on the JS thread.
template <typename Result>
Napi::Promise RunAsync(Napi::Env env, const Napi::Value& options, typename PromiseWorker<Result>::Work work,
                       typename PromiseWorker<Result>::Convert convert) {
  auto* worker = new PromiseWorker<Result>(env, MakeWorkContext(env, options), std::move(work), std::move(convert));
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK
  return promise;
}

}  // namespace genius::js
