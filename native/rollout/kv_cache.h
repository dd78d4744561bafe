// The key/value cache of a batch of sequences. Rows share one column index: prompts are left-padded
// and a finished or shorter row simply has invalid columns, so every row advances together and a
// decode step is one batched forward. `valid` masks what each row may attend to; `nextPosition`
// keeps each row's own RoPE position, which gaps do not advance.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace genius::rollout {

struct KvCache {
  std::vector<at::Tensor> keys;    // per layer [rows, kvHeads, capacity, headDim]
  std::vector<at::Tensor> values;  // same
  at::Tensor valid;                // [rows, capacity] bool: column holds a real token of the row
  at::Tensor tokens;               // [rows, capacity] int64: the token of each valid column (what a row has seen)
  at::Tensor nextPosition;         // [rows] int64
  at::Tensor pending;              // [rows] int64: last sampled token, not yet fed (-1: none)
  int64_t length = 0;              // columns in use
  // Transformer::id() of the model whose keys and values these are: another model, even of the same shape, must
  // not continue from them.
  uint64_t modelId = 0;

  static KvCache Empty(int64_t rows, int64_t layers, int64_t kvHeads, int64_t headDim, int64_t capacity,
                       const at::TensorOptions& options);
  int64_t rows() const { return valid.size(0); }
  int64_t capacity() const { return valid.size(1); }
  // Fills the next newTokens.size(1) columns with `newTokens` [rows, T] where `tokenValid` holds; returns their RoPE
  // positions [rows, T] and advances each row's position by its valid tokens.
  at::Tensor Append(const at::Tensor& newTokens, const at::Tensor& tokenValid);
  // A cache of the given rows, in that order, with room for `capacity` columns; a row may repeat
  // (forking a prefix for n samples). The used columns are copied once, straight into place.
  KvCache Select(const at::Tensor& rows, int64_t capacity) const;
};

}  // namespace genius::rollout
