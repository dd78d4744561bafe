#include "js/errors.h"

#include <c10/util/Exception.h>

#include <new>

namespace genius {

CaughtError DescribeCurrentException() {
  try {
    throw;
  } catch (const Error& error) {
    return {error.code(), error.what()};
  } catch (const Napi::Error& error) {
    return {code::kInternal, error.Message()};
  } catch (const c10::OutOfMemoryError& error) {
    return {code::kOutOfMemory, error.msg()};
  } catch (const c10::Error& error) {
    // msg() leaves out the C++ backtrace that what() appends; it means nothing to a JS caller.
    return {code::kTorch, error.msg()};
  } catch (const std::bad_alloc&) {
    return {code::kOutOfMemory, "out of host memory"};
  } catch (const std::exception& error) {
    return {code::kInternal, error.what()};
  } catch (...) {
    return {code::kInternal, "unknown native exception"};
  }
}

Napi::Error MakeJsError(Napi::Env env, const CaughtError& error) {
  Napi::Error jsError = Napi::Error::New(env, error.message);
  jsError.Set("code", Napi::String::New(env, error.code));
  return jsError;
}

Napi::Value Guarded(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;  // already a JS exception (e.g. thrown by a JS callback); let node-addon-api rethrow it
  } catch (...) {
    throw MakeJsError(info.Env(), DescribeCurrentException());
  }
}

}  // namespace genius
