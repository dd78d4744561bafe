// Readers for JS arguments, and the one way to refuse an argument. Each reader checks type and range
// and throws ERR_GENIUS_INVALID_ARG naming the argument and what was expected, so native code below
// the bindings only sees valid values. Every binding (native/js) reads its arguments through these;
// what is read by one binding only (a generate request, a batch of sequences) is read there, with them.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace genius::js {

// Largest tensor a handle may be created with from JS (elements); larger requests are refused
// before any allocation is attempted.
inline constexpr int64_t kMaxElements = int64_t{1} << 34;
// Largest micro-batch or chunk (rows, vocabulary columns) accepted: above any useful value, far below overflow.
inline constexpr int64_t kMaxChunk = int64_t{1} << 40;
// Largest checkpoint shard accepted (options.shardBytes), in bytes: 2^53.
inline constexpr int64_t kMaxShardBytes = int64_t{1} << 53;
// Largest seed accepted: 2^53 - 1, the last integer a JS number holds exactly.
inline constexpr int64_t kMaxSeed = (int64_t{1} << 53) - 1;

// Throws ERR_GENIUS_INVALID_ARG "argument '<name>' must be <expected>".
[[noreturn]] void Invalid(const std::string& name, const std::string& expected);
// Throws ERR_GENIUS_INVALID_ARG "argument '<name>' <problem>", for what "must be" does not say ("is empty").
[[noreturn]] void Refuse(const std::string& name, const std::string& problem);

// "name[3]": how errors name an element of an array argument.
std::string ElementName(const std::string& name, size_t index);
// "shape [2, 3] of float32 on cpu": a tensor argument as error messages describe it.
std::string DescribeTensor(const at::Tensor& tensor);
const char* DTypeName(at::ScalarType dtype);

// info[index], which must be given (not undefined).
Napi::Value Arg(const Napi::CallbackInfo& info, size_t index, const std::string& name);
Napi::Object ReadObject(const Napi::Value& value, const std::string& name);
// An options object that may be left out: undefined reads as an empty object.
Napi::Object ReadOptionalObject(const Napi::Value& value, const std::string& name);
std::string ReadString(const Napi::Value& value, const std::string& name);
bool ReadBool(const Napi::Value& value, const std::string& name);
double ReadNumber(const Napi::Value& value, const std::string& name);
int64_t ReadInteger(const Napi::Value& value, const std::string& name, int64_t min, int64_t max);
std::vector<int64_t> ReadShape(const Napi::Value& value, const std::string& name);
at::ScalarType ReadDType(const Napi::Value& value, const std::string& name);
at::Device ReadDevice(const Napi::Value& value, const std::string& name);

// Optional fields of an object argument `name`: `fallback` when object[key] is undefined, else read
// and checked like the readers above, naming `name.key`.
bool Has(const Napi::Object& object, const char* key);
double NumberOr(const Napi::Object& object, const std::string& name, const char* key, double fallback);
int64_t IntegerOr(const Napi::Object& object, const std::string& name, const char* key, int64_t fallback, int64_t min,
                  int64_t max);
bool BoolOr(const Napi::Object& object, const std::string& name, const char* key, bool fallback);

bool IsTypedArrayOf(const Napi::Value& value, napi_typedarray_type type);
// An Int32Array, copied.
std::vector<int32_t> ReadInt32Array(const Napi::Value& value, const std::string& name);
// Integers in [0, limit) from a number[] or Int32Array; `what` says what they index.
std::vector<int64_t> ReadIndices(const Napi::Value& value, const std::string& name, int64_t limit, const char* what);

// Where tensors read from files are put: options.device (default cpu) and options.dtype, which must
// be floating-point (it converts floating-point tensors only); `floatExpected` is what the error
// names as expected when it is not.
struct Placement {
  at::Device device = at::kCPU;
  std::optional<at::ScalarType> dtype;
};
Placement ReadPlacement(const Napi::Object& options, const std::string& floatExpected);

}  // namespace genius::js
