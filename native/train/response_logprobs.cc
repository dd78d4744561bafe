#include "train/response_logprobs.h"

#include <algorithm>
#include <initializer_list>

#include "train/autocast_scope.h"

namespace genius::train {

namespace {

// A row of a batch: a prompt and the responses (branches) behind it, each with the index of its sequence.
struct Row {
  const SequenceView* prompt;
  std::vector<std::pair<const SequenceView*, int64_t>> branches;
  int64_t length = 0;  // the prompt once, then every branch's response
};

// `rows` right-padded into a batch of `sequences` sequences; `segments` [B, T] gets each column's part of its row:
// 0 the prompt, k the k-th branch's response, −1 padding.
SequenceBatch PackRows(const std::vector<Row>& rows, int64_t sequences, at::Device device, at::Tensor& positions,
                       at::Tensor& segments) {
  const int64_t count = static_cast<int64_t>(rows.size());
  int64_t width = 0, scored = 0;
  for (const Row& row : rows) {
    width = std::max(width, row.length);
    scored += row.length - row.prompt->promptLength;
  }
  at::Tensor tokens = at::zeros({count, width}, at::kLong);
  positions = at::zeros({count, width}, at::kLong);
  segments = at::full({count, width}, -1, at::kLong);
  at::Tensor scoredPositions = at::empty({scored}, at::kLong);
  at::Tensor targets = at::empty({scored}, at::kLong);
  at::Tensor sequenceOf = at::empty({scored}, at::kLong);
  at::Tensor responseLengths = at::empty({sequences}, at::kLong);
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
    const int64_t base = b * width;
    for (int64_t t = 0; t < prompt; ++t) {
      tokenData[base + t] = row.prompt->tokens[t];
      positionData[base + t] = t;
      segmentData[base + t] = 0;
    }
    int64_t column = prompt;
    for (size_t k = 0; k < row.branches.size(); ++k) {
      const auto& [sequence, index] = row.branches[k];
      for (int64_t t = prompt; t < sequence->length; ++t, ++column, ++n) {
        tokenData[base + column] = sequence->tokens[t];
        positionData[base + column] = t;
        segmentData[base + column] = static_cast<int64_t>(k) + 1;
        // The first response token is predicted from the prompt's last column, the others from the one before.
        scoredData[n] = base + (t == prompt ? prompt - 1 : column - 1);
        targetData[n] = sequence->tokens[t];
        sequenceData[n] = index;
      }
      lengthData[index] = sequence->length - prompt;
    }
    batch.tokenCount += row.length;
  }
  batch.tokens = tokens.to(device);
  batch.valid = (segments >= 0).to(device);
  batch.scoredPositions = scoredPositions.to(device);
  batch.targets = targets.to(device);
  batch.sequences = sequenceOf.to(device);
  batch.responseLengths = responseLengths.to(device);
  return batch;
}

bool SamePrompt(const SequenceView& a, const SequenceView& b) {
  return a.promptLength == b.promptLength && std::equal(a.tokens, a.tokens + a.promptLength, b.tokens);
}

// The multiply-adds of a decoder forward over rows of these lengths: every column goes through the projections and
// the MLP, and attention scores every (query, key) column pair of a row, masked or not, as the fused attention does.
// Sharing a prompt saves the projections of its tokens but makes a wider row, so it pays only where prompts are long
// next to responses (or the model is wide next to its rows).
double ForwardCost(std::initializer_list<int64_t> lengths, const model::ModelConfig& config) {
  const double attentionWidth = static_cast<double>(config.numHeads * config.headDim);
  const double projections = config.hiddenSize * (2 * attentionWidth + 2.0 * config.numKvHeads * config.headDim) +
                             3.0 * config.hiddenSize * config.intermediateSize;
  double cost = 0;
  for (const int64_t length : lengths) {
    const double columns = static_cast<double>(length);
    cost += columns * projections + columns * columns * 2 * attentionWidth;
  }
  return cost;
}

}  // namespace

SequenceBatch PackSequences(const std::vector<SequenceView>& sequences, at::Device device) {
  std::vector<Row> rows;
  for (size_t i = 0; i < sequences.size(); ++i) {
    rows.push_back({&sequences[i], {{&sequences[i], static_cast<int64_t>(i)}}, sequences[i].length});
  }
  at::Tensor positions, segments;
  return PackRows(rows, static_cast<int64_t>(sequences.size()), device, positions, segments);
}

SequenceBatch PackPairs(const std::vector<SequenceView>& chosen, const std::vector<SequenceView>& rejected,
                        const model::ModelConfig& config, at::Device device) {
  const int64_t pairs = static_cast<int64_t>(chosen.size());
  std::vector<Row> rows;
  bool anyShared = false;
  for (int64_t i = 0; i < pairs; ++i) {
    const SequenceView& c = chosen[i];
    const SequenceView& r = rejected[i];
    // Decided by the pair alone, so that its log-probs do not depend on the pairs it is batched with.
    const int64_t sharedLength = c.length + r.length - r.promptLength;
    if (SamePrompt(c, r) && ForwardCost({sharedLength}, config) < ForwardCost({c.length, r.length}, config)) {
      rows.push_back({&c, {{&c, i}, {&r, pairs + i}}, sharedLength});
      anyShared = true;
    } else {
      rows.push_back({&c, {{&c, i}}, c.length});
      rows.push_back({&r, {{&r, pairs + i}}, r.length});
    }
  }
  at::Tensor positions, segments;
  SequenceBatch batch = PackRows(rows, 2 * pairs, device, positions, segments);
  if (!anyShared) return batch;
  // A token attends to the valid tokens up to it of the prompt and of its own response; every token to itself.
  const int64_t width = segments.size(1);
  const at::Tensor valid = segments >= 0;
  const at::Tensor query = segments.unsqueeze(2), key = segments.unsqueeze(1);  // [B, T, 1], [B, 1, T]
  const at::Tensor causal = at::ones({width, width}, at::kBool).tril();
  const at::Tensor mask =
      (causal & ((key == 0) | (key == query)) & valid.unsqueeze(1) & valid.unsqueeze(2)) | at::eye(width, at::kBool);
  batch.layout = {positions.to(device), mask.unsqueeze(1).to(device)};
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
