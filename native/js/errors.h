// Errors that cross into JavaScript: every one carries a stable string `code` (ERR_GENIUS_*), so
// callers can branch on it, and a message that names the argument, file or tensor concerned.
#pragma once

#include <napi.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace genius {

namespace code {
inline constexpr const char* kInvalidArgument = "ERR_GENIUS_INVALID_ARG";
inline constexpr const char* kDisposed = "ERR_GENIUS_DISPOSED";
inline constexpr const char* kInvalidHandle = "ERR_GENIUS_INVALID_HANDLE";
inline constexpr const char* kAborted = "ERR_GENIUS_ABORTED";
inline constexpr const char* kOutOfMemory = "ERR_GENIUS_OUT_OF_MEMORY";
inline constexpr const char* kTorch = "ERR_GENIUS_TORCH";
inline constexpr const char* kInternal = "ERR_GENIUS_INTERNAL";
inline constexpr const char* kBadFile = "ERR_GENIUS_BAD_FILE";  // a model file, config or checkpoint that is malformed
inline constexpr const char* kNonFinite = "ERR_GENIUS_NON_FINITE";  // a loss, gradient or logit is NaN or inf
}  // namespace code

// Thrown anywhere in native code (JS thread or worker); converted to a JS Error at the boundary.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

[[noreturn]] inline void Fail(const char* errorCode, const std::string& message) { throw Error(errorCode, message); }

// The code and message of whatever exception is in flight (call inside a catch block).
struct CaughtError {
  std::string code;
  std::string message;
};
CaughtError DescribeCurrentException();

Napi::Error MakeJsError(Napi::Env env, const CaughtError& error);

// Runs `body` and turns any C++ exception (genius::Error, c10::Error, std::bad_alloc, ...) into a
// pending JS exception, so nothing unwinds across the N-API boundary.
Napi::Value Guarded(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& body);

// Wraps a free function as a JS function whose exceptions go through Guarded.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value GuardedCall(const Napi::CallbackInfo& info) {
  return Guarded(info, [&] { return Fn(info); });
}

}  // namespace genius
