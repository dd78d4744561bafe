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
  cache.tokens = at::empty({rows, capacity}, at::TensorOptions().dtype(at::kLong).device(device));
  cache.nextPosition = at::zeros({rows}, at::TensorOptions().dtype(at::kLong).device(device));
  cache.pending = at::full({rows}, -1, at::TensorOptions().dtype(at::kLong).device(device));
  return cache;
}

at::Tensor KvCache::Append(const at::Tensor& newTokens, const at::Tensor& tokenValid) {
  const int64_t count = tokenValid.size(1);
  TORCH_CHECK(length + count <= capacity(), "KV cache overflow: ", length + count, " > ", capacity());
  valid.narrow(1, length, count).copy_(tokenValid);
  tokens.narrow(1, length, count).copy_(newTokens);
  const at::Tensor steps = tokenValid.to(at::kLong);
  // A padding token takes the position of the next real one; it is never attended to anyway.
  const at::Tensor positions = nextPosition.unsqueeze(1) + steps.cumsum(1) - steps;
  nextPosition = nextPosition + steps.sum(1);
  length += count;
  return positions;
}

KvCache KvCache::Select(const at::Tensor& rowIndex, int64_t newCapacity) const {
  TORCH_CHECK(newCapacity >= length, "KV cache capacity ", newCapacity, " < the ", length, " columns in use");
  const at::Tensor index = rowIndex.to(valid.device(), at::kLong);
  KvCache selected = Empty(index.size(0), static_cast<int64_t>(keys.size()), keys[0].size(1), keys[0].size(3),
                           newCapacity, keys[0].options());
  const auto gather = [&](const at::Tensor& from, const at::Tensor& to, int64_t dim) {
    at::Tensor used = to.narrow(dim, 0, length);
    at::index_select_out(used, from.narrow(dim, 0, length), 0, index);
  };
  for (size_t layer = 0; layer < keys.size(); ++layer) {
    gather(keys[layer], selected.keys[layer], 2);
    gather(values[layer], selected.values[layer], 2);
  }
  gather(valid, selected.valid, 1);
  gather(tokens, selected.tokens, 1);
  selected.nextPosition = nextPosition.index_select(0, index);
  selected.pending = pending.index_select(0, index);
  selected.length = length;
  selected.modelId = modelId;
  return selected;
}

}  // namespace genius::rollout
