#include "js/args.h"

#include <ATen/detail/CUDAHooksInterface.h>

#include <cmath>
#include <optional>

#include "js/errors.h"

namespace genius::js {

void Invalid(const std::string& name, const std::string& expected) { Refuse(name, "must be " + expected); }

void Refuse(const std::string& name, const std::string& problem) {
  Fail(code::kInvalidArgument, "argument '" + name + "' " + problem);
}

std::string ElementName(const std::string& name, size_t index) { return name + "[" + std::to_string(index) + "]"; }

std::string DescribeTensor(const at::Tensor& tensor) {
  return "shape " + c10::str(tensor.sizes()) + " of " + DTypeName(tensor.scalar_type()) + " on " +
         tensor.device().str();
}

const char* DTypeName(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "float32";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    default: return c10::toString(dtype);
  }
}

Napi::Value Arg(const Napi::CallbackInfo& info, size_t index, const std::string& name) {
  if (index >= info.Length() || info[index].IsUndefined()) Invalid(name, "given");
  return info[index];
}

Napi::Object ReadObject(const Napi::Value& value, const std::string& name) {
  if (!value.IsObject()) Invalid(name, "an object");
  return value.As<Napi::Object>();
}

Napi::Object ReadOptionalObject(const Napi::Value& value, const std::string& name) {
  return value.IsUndefined() ? Napi::Object::New(value.Env()) : ReadObject(value, name);
}

std::string ReadString(const Napi::Value& value, const std::string& name) {
  if (!value.IsString()) Invalid(name, "a string");
  return value.As<Napi::String>().Utf8Value();
}

bool ReadBool(const Napi::Value& value, const std::string& name) {
  if (!value.IsBoolean()) Invalid(name, "a boolean");
  return value.As<Napi::Boolean>().Value();
}

double ReadNumber(const Napi::Value& value, const std::string& name) {
  if (!value.IsNumber()) Invalid(name, "a number");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number)) Invalid(name, "a finite number");
  return number;
}

int64_t ReadInteger(const Napi::Value& value, const std::string& name, int64_t min, int64_t max) {
  const double number = ReadNumber(value, name);
  if (number != std::floor(number) || number < static_cast<double>(min) || number > static_cast<double>(max)) {
    Invalid(name, "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int64_t>(number);
}

std::vector<int64_t> ReadShape(const Napi::Value& value, const std::string& name) {
  if (!value.IsArray()) Invalid(name, "an array of non-negative integers");
  const auto array = value.As<Napi::Array>();
  if (array.Length() > 8) Invalid(name, "at most 8 dimensions");
  std::vector<int64_t> shape;
  int64_t elements = 1;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const int64_t size = ReadInteger(array.Get(i), name, 0, kMaxElements);
    elements = size == 0 ? 0 : (elements > kMaxElements / size ? kMaxElements + 1 : elements * size);
    if (elements > kMaxElements) Invalid(name, "a shape of at most 2^34 elements");
    shape.push_back(size);
  }
  return shape;
}

at::ScalarType ReadDType(const Napi::Value& value, const std::string& name) {
  const std::string dtype = ReadString(value, name);
  if (dtype == "float32") return at::kFloat;
  if (dtype == "float16") return at::kHalf;
  if (dtype == "bfloat16") return at::kBFloat16;
  if (dtype == "float64") return at::kDouble;
  if (dtype == "int64") return at::kLong;
  if (dtype == "int32") return at::kInt;
  if (dtype == "bool") return at::kBool;
  Invalid(name, "one of float32, float16, bfloat16, float64, int64, int32, bool (got '" + dtype + "')");
}

at::Device ReadDevice(const Napi::Value& value, const std::string& name) {
  const std::string text = ReadString(value, name);
  const std::string expected = "'cpu', 'cuda' or 'cuda:N' (got '" + text + "')";
  std::optional<at::Device> device;
  try {
    device = at::Device(text);
  } catch (const c10::Error&) {
    Invalid(name, expected);
  }
  if (device->is_cpu()) return *device;
  if (!device->is_cuda()) Invalid(name, expected);
  const int count = at::hasCUDA() ? at::detail::getCUDAHooks().deviceCount() : 0;
  if (device->has_index() ? device->index() >= count : count == 0) {
    Refuse(name,
           "is '" + text + "' but " + std::to_string(count) + " CUDA devices are available (see `genius-native info`)");
  }
  return *device;
}

bool Has(const Napi::Object& object, const char* key) { return !object.Get(key).IsUndefined(); }

double NumberOr(const Napi::Object& object, const std::string& name, const char* key, double fallback) {
  const Napi::Value value = object.Get(key);
  return value.IsUndefined() ? fallback : ReadNumber(value, name + "." + key);
}

int64_t IntegerOr(const Napi::Object& object, const std::string& name, const char* key, int64_t fallback, int64_t min,
                  int64_t max) {
  const Napi::Value value = object.Get(key);
  return value.IsUndefined() ? fallback : ReadInteger(value, name + "." + key, min, max);
}

bool BoolOr(const Napi::Object& object, const std::string& name, const char* key, bool fallback) {
  const Napi::Value value = object.Get(key);
  return value.IsUndefined() ? fallback : ReadBool(value, name + "." + key);
}

bool IsTypedArrayOf(const Napi::Value& value, napi_typedarray_type type) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == type;
}

std::vector<int32_t> ReadInt32Array(const Napi::Value& value, const std::string& name) {
  if (!IsTypedArrayOf(value, napi_int32_array)) Invalid(name, "an Int32Array");
  const auto array = value.As<Napi::Int32Array>();
  return std::vector<int32_t>(array.Data(), array.Data() + array.ElementLength());
}

std::vector<int64_t> ReadIndices(const Napi::Value& value, const std::string& name, int64_t limit, const char* what) {
  std::vector<int64_t> indices;
  const auto read = [&](double index, size_t position) {
    if (!(index >= 0 && index < static_cast<double>(limit)) ||
        index != static_cast<double>(static_cast<int64_t>(index))) {
      Refuse(ElementName(name, position), "= " + std::to_string(index) + " is not " + what +
                                              " (expected an integer in [0, " + std::to_string(limit) + "))");
    }
    indices.push_back(static_cast<int64_t>(index));
  };
  if (IsTypedArrayOf(value, napi_int32_array)) {
    const auto array = value.As<Napi::Int32Array>();
    for (size_t i = 0; i < array.ElementLength(); ++i) read(array[i], i);
  } else if (value.IsArray()) {
    const auto array = value.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      const Napi::Value element = array.Get(i);
      read(element.IsNumber() ? element.As<Napi::Number>().DoubleValue() : -1.0, i);
    }
  } else {
    Invalid(name, "an array of integers or an Int32Array");
  }
  return indices;
}

Placement ReadPlacement(const Napi::Object& options, const std::string& floatExpected) {
  Placement placement;
  if (Has(options, "device")) placement.device = ReadDevice(options.Get("device"), "options.device");
  if (Has(options, "dtype")) placement.dtype = ReadDType(options.Get("dtype"), "options.dtype");
  if (placement.dtype && !at::isFloatingType(*placement.dtype)) Invalid("options.dtype", floatExpected);
  return placement;
}

}  // namespace genius::js
