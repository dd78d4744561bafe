// Readers for JS arguments: each checks type and range and throws ERR_GENIUS_INVALID_ARG naming the
// argument and what was expected, so native code below them only sees valid values.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace genius::js {

// Largest tensor a handle may be created with from JS (elements); larger requests are refused
// before any allocation is attempted.
inline constexpr int64_t kMaxElements = int64_t{1} << 34;

Napi::Value Arg(const Napi::CallbackInfo& info, size_t index, const char* name);
Napi::Object ReadObject(const Napi::Value& value, const char* name);
std::string ReadString(const Napi::Value& value, const char* name);
bool ReadBool(const Napi::Value& value, const char* name);
double ReadNumber(const Napi::Value& value, const char* name);
int64_t ReadInteger(const Napi::Value& value, const char* name, int64_t min, int64_t max);
std::vector<int64_t> ReadShape(const Napi::Value& value, const char* name);
at::ScalarType ReadDType(const Napi::Value& value, const char* name);
at::Device ReadDevice(const Napi::Value& value, const char* name);

const char* DTypeName(at::ScalarType dtype);

}  // namespace genius::js
