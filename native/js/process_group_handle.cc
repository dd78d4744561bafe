#include "js/process_group_handle.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "js/addon_data.h"
#include "js/args.h"
#include "js/async_work.h"
#include "js/bindings.h"
#include "js/tagged.h"
#include "js/tensor_handle.h"

namespace genius::js {

namespace {

constexpr napi_type_tag kProcessGroupTag = {0x3f81c6a29d4e5b70ULL, 0xb25e0d9471c8a3f6ULL};
// A day: longer than any wait a run should sit through, far below the overflow of a millisecond count.
constexpr int64_t kMaxTimeoutMs = int64_t{24} * 3600 * 1000;

dist::GroupOptions ReadGroupOptions(const Napi::Value& value) {
  const Napi::Object object = ReadObject(value, "options");
  dist::GroupOptions options;
  options.worldSize = ReadInteger(object.Get("worldSize"), "options.worldSize", 1, 1 << 20);
  options.rank = ReadInteger(object.Get("rank"), "options.rank", 0, options.worldSize - 1);
  options.masterAddr = ReadString(object.Get("masterAddr"), "options.masterAddr");
  if (options.masterAddr.empty()) Invalid("options.masterAddr", "a host name or address");
  options.masterPort = ReadInteger(object.Get("masterPort"), "options.masterPort", 1, 65535);
  options.hostStore = BoolOr(object, "options", "hostStore", options.rank == 0);
  options.storePrefix = ReadString(object.Get("storePrefix"), "options.storePrefix");
  options.timeout =
      std::chrono::milliseconds(ReadInteger(object.Get("timeoutMs"), "options.timeoutMs", 1, kMaxTimeoutMs));
  if (Has(object, "device")) options.device = ReadDevice(object.Get("device"), "options.device");
  if (options.device.is_cuda() && !options.device.has_index()) Invalid("options.device", "'cpu' or 'cuda:N'");
  return options;
}

// A tensor argument of a collective: dense and on the group's device, as c10d requires.
at::Tensor ReadCollectiveTensor(const Napi::Value& value, const std::string& name, const dist::ProcessGroup& group) {
  const at::Tensor& tensor = TensorHandle::TensorOf(value, name);
  if (tensor.device() != group.device()) {
    Invalid(name, "a tensor on " + group.device().str() + ", the process group's device (got " +
                      DescribeTensor(tensor) + ")");
  }
  return tensor;
}

}  // namespace

void ProcessGroupHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor =
      DefineClass(env, "NativeProcessGroup",
                  {InstanceAccessor<&ProcessGroupHandle::Guard<&ProcessGroupHandle::Rank>>("rank"),
                   InstanceAccessor<&ProcessGroupHandle::Guard<&ProcessGroupHandle::Size>>("size"),
                   InstanceMethod<&ProcessGroupHandle::Guard<&ProcessGroupHandle::AllReduce>>("allReduce"),
                   InstanceMethod<&ProcessGroupHandle::Guard<&ProcessGroupHandle::Broadcast>>("broadcast"),
                   InstanceMethod<&ProcessGroupHandle::Guard<&ProcessGroupHandle::AllGather>>("allGather"),
                   InstanceMethod<&ProcessGroupHandle::Guard<&ProcessGroupHandle::AllGatherBytes>>("allGatherBytes"),
                   InstanceMethod<&ProcessGroupHandle::Guard<&ProcessGroupHandle::Barrier>>("barrier"),
                   InstanceMethod<&ProcessGroupHandle::Guard<&ProcessGroupHandle::Dispose>>("dispose")});
  GetAddonData(env).processGroupConstructor = Napi::Persistent(constructor);
  exports.Set("NativeProcessGroup", constructor);
  ExportFunction<&ProcessGroupHandle::Create>(env, exports, "createProcessGroup");
}

// Only Create constructs, passing the group as an External, which JS code cannot make.
ProcessGroupHandle::ProcessGroupHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProcessGroupHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw MakeJsError(info.Env(), {code::kInvalidArgument,
                                   "NativeProcessGroup cannot be constructed directly; use createProcessGroup()"});
  }
  group_ = *info[0].As<Napi::External<std::shared_ptr<dist::ProcessGroup>>>().Data();
  Tag(info, kProcessGroupTag);
}

std::shared_ptr<dist::ProcessGroup> ProcessGroupHandle::GroupOf(const Napi::Value& value, const char* name) {
  return UnwrapTagged<ProcessGroupHandle>(value, kProcessGroupTag, name, "NativeProcessGroup")->Live();
}

template <Napi::Value (ProcessGroupHandle::*Method)(const Napi::CallbackInfo&)>
Napi::Value ProcessGroupHandle::Guard(const Napi::CallbackInfo& info) {
  return Guarded(info, [&] { return (this->*Method)(info); });
}

std::shared_ptr<dist::ProcessGroup> ProcessGroupHandle::Live() const {
  if (!group_) Fail(code::kDisposed, "this process group was disposed");
  return group_;
}

// createProcessGroup({rank, worldSize, masterAddr, masterPort, hostStore?, storePrefix, timeoutMs, device?},
// asyncOptions)
// -> Promise<NativeProcessGroup>, once every rank has joined.
Napi::Value ProcessGroupHandle::Create(const Napi::CallbackInfo& info) {
  const dist::GroupOptions options = ReadGroupOptions(Arg(info, 0, "options"));
  using Joined = std::shared_ptr<dist::ProcessGroup>;
  return RunAsync<Joined>(
      info.Env(), info[1], [options](const WorkContext&) { return dist::ProcessGroup::Join(options); },
      [](Napi::Env env, Joined& group) -> Napi::Value {
        return GetAddonData(env).processGroupConstructor.New({Napi::External<Joined>::New(env, &group)});
      });
}

Napi::Value ProcessGroupHandle::Rank(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Live()->rank()));
}

Napi::Value ProcessGroupHandle::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Live()->size()));
}

// allReduce(tensors[]) -> Promise<void>: each tensor summed over the ranks, in place, in one collective.
Napi::Value ProcessGroupHandle::AllReduce(const Napi::CallbackInfo& info) {
  const std::shared_ptr<dist::ProcessGroup> group = Live();
  const Napi::Value value = Arg(info, 0, "tensors");
  if (!value.IsArray()) Invalid("tensors", "an array of tensors");
  const Napi::Array array = value.As<Napi::Array>();
  std::vector<at::Tensor> tensors;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    tensors.push_back(ReadCollectiveTensor(array.Get(i), ElementName("tensors", i), *group));
    if (tensors[i].scalar_type() != tensors[0].scalar_type()) {
      Invalid(ElementName("tensors", i), std::string("of one dtype with tensors[0] (") +
                                             DTypeName(tensors[0].scalar_type()) + "), as one collective sums them");
    }
  }
  return RunAsync<bool>(
      info.Env(), info.Env().Undefined(),
      [group, tensors](const WorkContext&) mutable {
        group->AllReduce(tensors);
        return true;
      },
      ResolveUndefined);
}

// broadcast(tensor, root) -> Promise<void>: rank root's values into every rank's tensor, in place.
Napi::Value ProcessGroupHandle::Broadcast(const Napi::CallbackInfo& info) {
  const std::shared_ptr<dist::ProcessGroup> group = Live();
  at::Tensor tensor = ReadCollectiveTensor(Arg(info, 0, "tensor"), "tensor", *group);
  const int64_t root = ReadInteger(Arg(info, 1, "root"), "root", 0, group->size() - 1);
  return RunAsync<bool>(
      info.Env(), info.Env().Undefined(),
      [group, tensor, root](const WorkContext&) mutable {
        group->Broadcast(tensor, root);
        return true;
      },
      ResolveUndefined);
}

// allGather(tensor) -> Promise<NativeTensor[]>: every rank's tensor in rank order (first dimensions may differ).
Napi::Value ProcessGroupHandle::AllGather(const Napi::CallbackInfo& info) {
  const std::shared_ptr<dist::ProcessGroup> group = Live();
  const at::Tensor tensor = ReadCollectiveTensor(Arg(info, 0, "tensor"), "tensor", *group);
  using Gathered = std::vector<at::Tensor>;
  return RunAsync<Gathered>(
      info.Env(), info.Env().Undefined(), [group, tensor](const WorkContext&) { return group->AllGather(tensor); },
      [](Napi::Env env, Gathered& gathered) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, gathered.size());
        for (uint32_t i = 0; i < gathered.size(); ++i) array.Set(i, TensorHandle::Wrap(env, gathered[i]));
        return array;
      });
}

// allGatherBytes(bytes: Uint8Array) -> Promise<Uint8Array[]>: every rank's bytes in rank order, for what JS sends
// as text (records as JSON).
Napi::Value ProcessGroupHandle::AllGatherBytes(const Napi::CallbackInfo& info) {
  const std::shared_ptr<dist::ProcessGroup> group = Live();
  const Napi::Value value = Arg(info, 0, "bytes");
  if (!IsTypedArrayOf(value, napi_uint8_array)) Invalid("bytes", "a Uint8Array");
  const Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  at::Tensor tensor = at::empty({static_cast<int64_t>(bytes.ElementLength())}, at::kByte);
  if (bytes.ElementLength() > 0) std::memcpy(tensor.data_ptr(), bytes.Data(), bytes.ElementLength());
  using Gathered = std::vector<at::Tensor>;
  return RunAsync<Gathered>(
      info.Env(), info.Env().Undefined(),
      [group, tensor](const WorkContext&) {
        Gathered gathered = group->AllGather(tensor.to(group->device()));
        for (at::Tensor& part : gathered) part = part.to(at::kCPU).contiguous();
        return gathered;
      },
      [](Napi::Env env, Gathered& gathered) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, gathered.size());
        for (uint32_t i = 0; i < gathered.size(); ++i) {
          Napi::Uint8Array part = Napi::Uint8Array::New(env, gathered[i].numel());
          if (gathered[i].numel() > 0) std::memcpy(part.Data(), gathered[i].data_ptr(), gathered[i].numel());
          array.Set(i, part);
        }
        return array;
      });
}

// barrier() -> Promise<void>, once every rank has called it.
Napi::Value ProcessGroupHandle::Barrier(const Napi::CallbackInfo& info) {
  const std::shared_ptr<dist::ProcessGroup> group = Live();
  return RunAsync<bool>(
      info.Env(), info.Env().Undefined(),
      [group](const WorkContext&) {
        group->Barrier();
        return true;
      },
      ResolveUndefined);
}

Napi::Value ProcessGroupHandle::Dispose(const Napi::CallbackInfo& info) {
  group_.reset();  // the connections close when the last running call lets go too
  return info.Env().Undefined();
}

}  // namespace genius::js
