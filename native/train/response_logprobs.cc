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
  at::Tensor sequenceOf = at::empty({scored}, at::kLong);
  at::Tensor responseLengths = at::empty({rows}, at::kLong);
  int64_t* lengthData = responseLengths.data_ptr<int64_t>();
  int64_t* tokenData = tokens.data_ptr<int64_t>();
  bool* validData = valid.data_ptr<bool>();
  int64_t* positionData = positions.data_ptr<int64_t>();
  int64_t* targetData = targets.data_ptr<int64_t>();
  int64_t* sequenceData = sequenceOf.data_ptr<int64_t>();
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
      sequenceData[n] = b;
    }
    lengthData[b] = sequence.length - sequence.promptLength;
    batch.tokenCount += sequence.length;
  }
  batch.tokens = tokens.to(device);
  batch.valid = valid.to(device);
  batch.scoredPositions = positions.to(device);
  batch.targets = targets.to(device);
  batch.sequences = sequenceOf.to(device);
  batch.responseLengths = responseLengths.to(device);
  return batch;
}

namespace {

bool SamePrompt(const SequenceView& a, const SequenceView& b) {
  return a.promptLength == b.promptLength && std::equal(a.tokens, a.tokens + a.promptLength, b.tokens);
}

}  // namespace

SequenceBatch PackPairs(const std::vector<SequenceView>& chosen, const std::vector<SequenceView>& rejected,
                        at::Device device) {
  const int64_t pairs = static_cast<int64_t>(chosen.size());
  // Each row: a prompt and the responses (branches) behind it; branch k's sequence index.
  struct Row {
    const SequenceView* prompt;
    std::vector<std::pair<const SequenceView*, int64_t>> branches;
    int64_t length;
  };
  std::vector<Row> rows;
  int64_t width = 0, scored = 0;
  for (int64_t i = 0; i < pairs; ++i) {
    const SequenceView& c = chosen[i];
    const SequenceView& r = rejected[i];
    if (SamePrompt(c, r)) {
      rows.push_back({&c, {{&c, i}, {&r, pairs + i}}, c.length + r.length - r.promptLength});
    } else {
      rows.push_back({&c, {{&c, i}}, c.length});
      rows.push_back({&r, {{&r, pairs + i}}, r.length});
    }
    scored += c.length - c.promptLength + r.length - r.promptLength;
  }
  for (const Row& row : rows) width = std::max(width, row.length);
  const int64_t count = static_cast<int64_t>(rows.size());
  at::Tensor tokens = at::zeros({count, width}, at::kLong);
  at::Tensor positions = at::zeros({count, width}, at::kLong);
  at::Tensor segments = at::full({count, width}, -1, at::kLong);  // 0 the prompt, k the k-th branch, -1 padding
  at::Tensor scoredPositions = at::empty({scored}, at::kLong);
  at::Tensor targets = at::empty({scored}, at::kLong);
  at::Tensor sequenceOf = at::empty({scored}, at::kLong);
  at::Tensor responseLengths = at::empty({2 * pairs}, at::kLong);
  int64_t* tokenData = tokens.data_ptr<int64_t>();
  int64_t* positionData = positions.data_ptr<int64_t>();
  int64_t* segmentData = segments.data_ptr<int64_t>();
  int64_t* scoredData = scoredPositions.data_ptr<int64_t>();
  int64_t* targetData = targets.data_ptr<int64_t>();
  int64_t* sequenceData = sequenceOf.data_ptr<int64_t>();
  int64_t* lengthData = responseLengths.data_ptr<int64_t>();
  SequenceBatch batch;
  int64_t n = 0;
  for (int64_t b = 0; b < count; ++b) {
    const Row& row = rows[b];
    const int64_t prompt = row.prompt->promptLength;
    int64_t* rowTokens = tokenData + b * width;
    for (int64_t t = 0; t < prompt; ++t) {
      rowTokens[t] = row.prompt->tokens[t];
      positionData[b * width + t] = t;
      segmentData[b * width + t] = 0;
    }
    int64_t column = prompt;
    for (size_t k = 0; k < row.branches.size(); ++k) {
      const auto& [sequence, index] = row.branches[k];
      for (int64_t t = prompt; t < sequence->length; ++t, ++column, ++n) {
        rowTokens[column] = sequence->tokens[t];
        positionData[b * width + column] = t;
        segmentData[b * width + column] = static_cast<int64_t>(k) + 1;
        // The first response token is predicted from the prompt's last column, the others from the one before.
        scoredData[n] = b * width + (t == prompt ? prompt - 1 : column - 1);
        targetData[n] = sequence->tokens[t];
        sequenceData[n] = index;
      }
      lengthData[index] = sequence->length - prompt;
    }
    batch.tokenCount += row.length;
  }
  const at::Tensor valid = segments >= 0;
  const at::Tensor query = segments.unsqueeze(2), key = segments.unsqueeze(1);  // [B, T, 1], [B, 1, T]
  const at::Tensor causal = at::ones({width, width}, at::kBool).tril();
  const at::Tensor sameBranchOrPrompt = (key == 0) | (key == query);
  const at::Tensor mask =
      (causal & sameBranchOrPrompt & valid.unsqueeze(1) & valid.unsqueeze(2)) | at::eye(width, at::kBool);
  batch.tokens = tokens.to(device);
  batch.valid = valid.to(device);
  batch.layout = {positions.to(device), mask.unsqueeze(1).to(device)};
  batch.scoredPositions = scoredPositions.to(device);
  batch.targets = targets.to(device);
  batch.sequences = sequenceOf.to(device);
  batch.responseLengths = responseLengths.to(device);
  return batch;
}

SequenceLogprobs ResponseLogprobs(const model::Transformer& model, const SequenceBatch& batch,
                                  const model::Transformer::LayerRunner& runLayer, LogprobChunks chunks,
                                  model::AdapterUse adapterUse) {
  const at::Tensor hidden = batch.layout.positions.defined()
                                ? model.Forward(batch.tokens, batch.layout, runLayer, adapterUse)
                                : model.Forward(batch.tokens, batch.valid, nullptr, runLayer, adapterUse);
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
  const at::Tensor sum =
      at::zeros({batch.responseLengths.size(0)}, logprobs.options()).index_add(0, batch.sequences, logprobs);
  return {sum, sum / batch.responseLengths.to(sum.scalar_type()).clamp_min(1)};
}

}  // namespace genius::train
