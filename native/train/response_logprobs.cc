#include "train/response_logprobs.h"

#include <algorithm>

#include "train/autocast_scope.h"

namespace genius::train {

SequenceBatch PackSequences(const std::vector<SequenceView>& sequences, at::Device device) {
  const int64_t rows = static_cast<int64_t>(sequences.size());
  int64_t width = 0;
  int64_t scored = 0;
  for (const SequenceView& sequence : sequences) {
    width = std::max(width, sequence.length);
    scored += sequence.length - sequence.promptLength;
  }
  at::Tensor tokens = at::zeros({rows, width}, at::kLong);
  at::Tensor valid = at::zeros({rows, width}, at::kBool);
  at::Tensor positions = at::empty({scored}, at::kLong);
  at::Tensor targets = at::empty({scored}, at::kLong);
  at::Tensor rowOf = at::empty({scored}, at::kLong);
  at::Tensor responseLengths = at::empty({rows}, at::kLong);
  int64_t* lengthData = responseLengths.data_ptr<int64_t>();
  int64_t* tokenData = tokens.data_ptr<int64_t>();
  bool* validData = valid.data_ptr<bool>();
  int64_t* positionData = positions.data_ptr<int64_t>();
  int64_t* targetData = targets.data_ptr<int64_t>();
  int64_t* rowData = rowOf.data_ptr<int64_t>();
  SequenceBatch batch;
  int64_t n = 0;
  for (int64_t b = 0; b < rows; ++b) {
    const SequenceView& sequence = sequences[b];
    for (int64_t t = 0; t < sequence.length; ++t) {
      tokenData[b * width + t] = sequence.tokens[t];
      validData[b * width + t] = true;
    }
    for (int64_t t = sequence.promptLength; t < sequence.length; ++t, ++n) {
      positionData[n] = b * width + t - 1;
      targetData[n] = sequence.tokens[t];
      rowData[n] = b;
    }
    lengthData[b] = sequence.length - sequence.promptLength;
    batch.tokenCount += sequence.length;
  }
  batch.tokens = tokens.to(device);
  batch.valid = valid.to(device);
  batch.scoredPositions = positions.to(device);
  batch.targets = targets.to(device);
  batch.rows = rowOf.to(device);
  batch.responseLengths = responseLengths.to(device);
  return batch;
}

SequenceLogprobs ResponseLogprobs(const model::Transformer& model, const SequenceBatch& batch,
                                  const model::Transformer::LayerRunner& runLayer, LogprobChunks chunks,
                                  model::AdapterUse adapterUse) {
  const at::Tensor hidden = model.Forward(batch.tokens, batch.valid, nullptr, runLayer, adapterUse);
  at::Tensor scored = hidden.reshape({-1, hidden.size(-1)}).index_select(0, batch.scoredPositions);
  at::Tensor head = model.lmHead();
  const at::DeviceType deviceType = hidden.device().type();
  // The chunked Function's backward runs without autocast (it is thread-local and the engine may run
  // elsewhere); casting here makes both passes take the logits in the autocast dtype.
  if (at::autocast::is_autocast_enabled(deviceType)) {
    const at::ScalarType lower = at::autocast::get_autocast_dtype(deviceType);
    scored = scored.to(lower);
    head = head.to(lower);
  }
  const AutocastScope off(deviceType, false, at::autocast::get_autocast_dtype(deviceType));
  const at::Tensor logprobs = TargetLogprobs(scored, head, batch.targets, chunks);
  const at::Tensor sum = at::zeros({batch.tokens.size(0)}, logprobs.options()).index_add(0, batch.rows, logprobs);
  return {sum, sum / batch.responseLengths.to(sum.scalar_type()).clamp_min(1)};
}

}  // namespace genius::train
