// Type tags mark the objects each native class made, so that a forged or foreign object passed
// where a handle is expected is refused (better-sqlite3's pattern) instead of being unwrapped.
#pragma once

#include <napi.h>

#include <string>

#include "js/errors.h"

namespace genius::js {

// The T an object made by T's constructor wraps; ERR_GENIUS_INVALID_HANDLE for anything else.
template <typename T>
T* UnwrapTagged(const Napi::Value& value, const napi_type_tag& tag, const std::string& name, const char* what) {
  bool tagged = false;
  if (!value.IsObject() || napi_check_object_type_tag(value.Env(), value, &tag, &tagged) != napi_ok || !tagged) {
    Fail(code::kInvalidHandle, "argument '" + name + "' is not a " + what + " made by genius-native");
  }
  return Napi::ObjectWrap<T>::Unwrap(value.As<Napi::Object>());
}

inline void Tag(const Napi::CallbackInfo& info, const napi_type_tag& tag) {
  NAPI_THROW_IF_FAILED_VOID(info.Env(), napi_type_tag_object(info.Env(), info.This(), &tag));
}

}  // namespace genius::js
