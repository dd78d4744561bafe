#include "js/tensor_handle.h"

#include <cstring>
#include <string>

#include "js/addon_data.h"
#include "js/args.h"
#include "js/errors.h"
#include "js/tagged.h"

namespace genius::js {

std::atomic<int64_t> TensorHandle::live_{0};

namespace {

// Marks objects made by this class; napi_check_object_type_tag refuses anything else.
constexpr napi_type_tag kTensorTag = {0x6a8c1f3e52b94d07ULL, 0x9e2f4c71d3a85b16ULL};

bool IsFloating(at::ScalarType dtype) { return at::isFloatingType(dtype); }

// The tensor a JS TypedArray holds, viewed without copying, and the dtype its elements are.
at::Tensor ViewTypedArray(const Napi::TypedArray& array, at::ScalarType target) {
  void* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  const int64_t length = static_cast<int64_t>(array.ElementLength());
  at::ScalarType source;
  switch (array.TypedArrayType()) {
    case napi_float32_array: source = at::kFloat; break;
    case napi_float64_array: source = at::kDouble; break;
    case napi_int32_array: source = at::kInt; break;
    case napi_bigint64_array: source = at::kLong; break;
    case napi_uint8_array:
      source = at::kByte;
      break;  // any non-zero byte is true
    // Raw 16-bit patterns, for exact float16/bfloat16 round trips.
    case napi_uint16_array:
      if (target != at::kHalf && target != at::kBFloat16) {
        Fail(code::kInvalidArgument, "argument 'data': a Uint16Array holds raw float16/bfloat16 bits only");
      }
      source = target;
      break;
    default: Invalid("data", "a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array or Uint16Array");
  }
  if (!IsFloating(target) && IsFloating(source)) {
    Fail(code::kInvalidArgument, std::string("argument 'data': a ") + DTypeName(target) +
                                     " tensor needs integer data (Int32Array, BigInt64Array or Uint8Array)");
  }
  return at::from_blob(data, {length}, at::TensorOptions().dtype(source));
}

// The JS TypedArray type that holds a dtype's values exactly (float16/bfloat16 widen to float32).
std::pair<napi_typedarray_type, at::ScalarType> HostArrayType(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble: return {napi_float64_array, at::kDouble};
    case at::kLong: return {napi_bigint64_array, at::kLong};
    case at::kInt: return {napi_int32_array, at::kInt};
    case at::kBool: return {napi_uint8_array, at::kBool};
    default: return {napi_float32_array, at::kFloat};
  }
}

}  // namespace

void TensorHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor =
      DefineClass(env, "NativeTensor",
                  {
                      InstanceAccessor<&TensorHandle::Guard<&TensorHandle::Shape>>("shape"),
                      InstanceAccessor<&TensorHandle::Guard<&TensorHandle::DType>>("dtype"),
                      InstanceAccessor<&TensorHandle::Guard<&TensorHandle::Device>>("device"),
                      InstanceAccessor<&TensorHandle::Guard<&TensorHandle::Bytes>>("nbytes"),
                      InstanceAccessor<&TensorHandle::Guard<&TensorHandle::Disposed>>("disposed"),
                      InstanceMethod<&TensorHandle::Guard<&TensorHandle::ToArray>>("toArray"),
                      InstanceMethod<&TensorHandle::Guard<&TensorHandle::To>>("to"),
                      InstanceMethod<&TensorHandle::Guard<&TensorHandle::Dispose>>("dispose"),
                  });
  GetAddonData(env).tensorConstructor = Napi::Persistent(constructor);
  exports.Set("NativeTensor", constructor);
  exports.Set("tensorFromData", Napi::Function::New<GuardedCall<&TensorHandle::FromData>>(env, "tensorFromData"));
  exports.Set("liveTensors", Napi::Function::New<GuardedCall<&TensorHandle::LiveCount>>(env, "liveTensors"));
}

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor tensor) {
  return GetAddonData(env).tensorConstructor.New({Napi::External<at::Tensor>::New(env, &tensor)});
}

const at::Tensor& TensorHandle::TensorOf(const Napi::Value& value, const std::string& name) {
  const TensorHandle* handle = UnwrapTagged<TensorHandle>(value, kTensorTag, name, "tensor handle");
  if (handle == nullptr || !handle->tensor_) {
    Fail(code::kDisposed, "argument '" + name + "' is a tensor that was already disposed");
  }
  return *handle->tensor_;
}

// Only Wrap may construct: it passes the tensor as an External, which JS code cannot make.
TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw MakeJsError(info.Env(),
                      {code::kInvalidArgument,
                       "NativeTensor cannot be constructed directly; use Tensor.from() or a genius-native call"});
  }
  tensor_ = *info[0].As<Napi::External<at::Tensor>>().Data();
  Tag(info, kTensorTag);
  reportedBytes_ = static_cast<int64_t>(tensor_->nbytes());
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), reportedBytes_);
  ++live_;
}

TensorHandle::~TensorHandle() { Release(); }

template <Napi::Value (TensorHandle::*Method)(const Napi::CallbackInfo&)>
Napi::Value TensorHandle::Guard(const Napi::CallbackInfo& info) {
  return Guarded(info, [&] { return (this->*Method)(info); });
}

const at::Tensor& TensorHandle::Get() const {
  if (!tensor_) Fail(code::kDisposed, "this tensor was already disposed");
  return *tensor_;
}

void TensorHandle::Release() {
  if (!tensor_) return;
  tensor_.reset();
  Napi::MemoryManagement::AdjustExternalMemory(Env(), -reportedBytes_);
  reportedBytes_ = 0;
  --live_;
}

Napi::Value TensorHandle::FromData(const Napi::CallbackInfo& info) {
  const Napi::Value data = Arg(info, 0, "data");
  const std::vector<int64_t> shape = ReadShape(Arg(info, 1, "shape"), "shape");
  const at::ScalarType dtype = ReadDType(Arg(info, 2, "dtype"), "dtype");
  const at::Device device = ReadDevice(Arg(info, 3, "device"), "device");
  if (!data.IsTypedArray()) Invalid("data", "a TypedArray");
  const auto array = data.As<Napi::TypedArray>();
  const int64_t elements = c10::multiply_integers(shape);
  if (static_cast<int64_t>(array.ElementLength()) != elements) {
    Refuse("data", "has " + std::to_string(array.ElementLength()) + " elements but shape " +
                       c10::str(at::IntArrayRef(shape)) + " needs " + std::to_string(elements));
  }
  // The copy detaches the tensor from JS memory, which V8 may move or free.
  at::Tensor tensor = ViewTypedArray(array, dtype).to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
  return Wrap(info.Env(), tensor.view(shape));
}

Napi::Value TensorHandle::LiveCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live_.load()));
}

Napi::Value TensorHandle::Shape(const Napi::CallbackInfo& info) {
  const auto sizes = Get().sizes();
  Napi::Array shape = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) shape.Set(i, Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return shape;
}

Napi::Value TensorHandle::DType(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DTypeName(Get().scalar_type()));
}

Napi::Value TensorHandle::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Get().device().str());
}

Napi::Value TensorHandle::Bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Get().nbytes()));
}

Napi::Value TensorHandle::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.has_value());
}

Napi::Value TensorHandle::ToArray(const Napi::CallbackInfo& info) {
  const auto [arrayType, hostDType] = HostArrayType(Get().scalar_type());
  const at::Tensor host = Get().to(at::kCPU, hostDType).contiguous();
  const size_t bytes = host.nbytes();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), host.data_ptr(), bytes);
  napi_value array;
  NAPI_THROW_IF_FAILED(info.Env(), napi_create_typedarray(info.Env(), arrayType, host.numel(), buffer, 0, &array),
                       Napi::Value());
  return Napi::Value(info.Env(), array);
}

Napi::Value TensorHandle::To(const Napi::CallbackInfo& info) {
  const at::Device device = ReadDevice(Arg(info, 0, "device"), "device");
  const at::ScalarType dtype = ReadDType(Arg(info, 1, "dtype"), "dtype");
  return Wrap(info.Env(), Get().to(device, dtype, /*non_blocking=*/false, /*copy=*/true));
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace genius::js
