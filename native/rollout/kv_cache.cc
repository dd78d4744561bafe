#include "rollout/kv_cache.h"

namespace genius::rollout {

KvCache KvCache::Empty(int64_t rows, int64_t layers, int64_t kvHeads, int64_t headDim, int64_t capacity,
                       const at::TensorOptions& options) {
  KvCache cache;
  for (int64_t layer = 0; layer < layers; ++layer) {
    cache.keys.push_back(at::empty({rows, kvHeads, capacity, headDim}, options));
    cache.values.push_back(at::empty({rows, kvHeads, capacity, headDim}, options));
  }
  const auto device = options.device();
  cache.valid = at::zeros({rows, capacity}, at::TensorOptions().dtype(at::kBool).device(device));
  cache.nextPosition = at::zeros({rows}, at::TensorOptions().dtype(at::kLong).device(device));
  cache.pending = at::full({rows}, -1, at::TensorOptions().dtype(at::kLong).device(device));
  return cache;
}

void KvCache::Reserve(int64_t newCapacity) {
  if (newCapacity <= capacity()) return;
  const int64_t extra = newCapacity - capacity();
  auto grow = [&](at::Tensor& tensor, int64_t dim) {
    auto shape = tensor.sizes().vec();
    shape[dim] = extra;
    tensor = at::cat({tensor, at::zeros(shape, tensor.options())}, dim);
  };
  for (auto& key : keys) grow(key, 2);
  for (auto& value : values) grow(value, 2);
  grow(valid, 1);
}

at::Tensor KvCache::Append(const at::Tensor& tokenValid) {
  const int64_t count = tokenValid.size(1);
  TORCH_CHECK(length + count <= capacity(), "KV cache overflow: ", length + count, " > ", capacity());
  valid.narrow(1, length, count).copy_(tokenValid);
  const at::Tensor steps = tokenValid.to(at::kLong);
  // A padding token takes the position of the next real one; it is never attended to anyway.
  const at::Tensor positions = nextPosition.unsqueeze(1) + steps.cumsum(1) - steps;
  nextPosition = nextPosition + steps.sum(1);
  length += count;
  return positions;
}

KvCache KvCache::Select(const at::Tensor& rowIndex) const {
  KvCache selected;
  const at::Tensor index = rowIndex.to(valid.device(), at::kLong);
  // Only the used columns are copied; the capacity shrinks to them.
  for (const auto& key : keys) selected.keys.push_back(key.narrow(2, 0, length).index_select(0, index));
  for (const auto& value : values) selected.values.push_back(value.narrow(2, 0, length).index_select(0, index));
  selected.valid = valid.narrow(1, 0, length).index_select(0, index);
  selected.nextPosition = nextPosition.index_select(0, index);
  selected.pending = pending.index_select(0, index);
  selected.length = length;
  return selected;
}

}  // namespace genius::rollout
