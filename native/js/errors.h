// Where native errors cross into JavaScript: any C++ exception a binding lets escape becomes a JS
// Error with a `code` (coded_error.h), so nothing unwinds across the N-API boundary.
#pragma once

#include <napi.h>

#include <functional>
#include <string>

#include "coded_error.h"

namespace genius {

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
