#include "rollout/engine.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "coded_error.h"
#include "profile/phase.h"

namespace genius::rollout {

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kEos: return "eos";
    case FinishReason::kStop: return "stop";
    default: return "length";
  }
}

namespace {

// Compaction copies the whole cache, so it waits until a quarter of the rows are done.
constexpr double kCompactWhenFinished = 0.25;

// The model over `tokens` [rows, T] (tokenValid marks the real ones), appended to `cache`: the logits
// [rows, vocab] that follow each row's last column.
at::Tensor NextLogits(const model::Transformer& model, const at::Tensor& tokens, const at::Tensor& tokenValid,
                      KvCache& cache) {
  const at::Tensor hidden = model.Forward(tokens, tokenValid, &cache);
  return model.Logits(hidden.select(1, tokens.size(1) - 1));
}

struct Prefilled {
  KvCache cache;
  at::Tensor logits;  // [inputs, vocab] for each input's next token
  int64_t computedTokens = 0;
};

// Left-pads the prompts into one batch and runs them through the model once.
Prefilled PrefillPrompts(const model::Transformer& model, const GenerateRequest& request) {
  GENIUS_PHASE("rollout.prefill");
  const auto& prompts = request.prompts;
  int64_t longest = 0, total = 0;
  for (const auto& prompt : prompts) {
    longest = std::max<int64_t>(longest, prompt.size());
    total += prompt.size();
  }
  const int64_t rows = prompts.size();
  at::Tensor tokens = at::zeros({rows, longest}, at::kLong);
  at::Tensor valid = at::zeros({rows, longest}, at::kBool);
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t offset = longest - static_cast<int64_t>(prompts[row].size());
    tokens[row].narrow(0, offset, prompts[row].size()).copy_(at::tensor(prompts[row], at::kLong));
    valid[row].narrow(0, offset, prompts[row].size()).fill_(true);
  }
  // With n samples per prompt the cache is forked into a larger one, which gets the room for new tokens.
  const int64_t room = request.samplesPerInput == 1 ? request.maxNewTokens : 0;
  Prefilled result{model.NewCache(rows, longest + room), {}, total};
  result.logits = NextLogits(model, tokens.to(model.device()), valid.to(model.device()), result.cache);
  return result;
}

// Feeds each continued row's pending token (the last one sampled but not yet run).
Prefilled ContinueRows(const model::Transformer& model, const GenerateRequest& request) {
  GENIUS_PHASE("rollout.continue");
  const at::Tensor rows = at::tensor(request.fromRows, at::kLong);
  Prefilled result{request.from->Select(rows, request.from->length + 1 + request.maxNewTokens),
                   {},
                   static_cast<int64_t>(request.fromRows.size())};
  const at::Tensor pending = result.cache.pending.unsqueeze(1);
  result.logits = NextLogits(model, pending.clamp_min(0), (pending >= 0), result.cache);
  result.cache.pending.fill_(-1);
  return result;
}

bool EndsWith(const std::vector<int64_t>& tokens, const std::vector<int64_t>& suffix) {
  return !suffix.empty() && tokens.size() >= suffix.size() &&
         std::equal(suffix.rbegin(), suffix.rend(), tokens.rbegin());
}

std::optional<FinishReason> StopReason(const Sample& sample, const StopConditions& stop, const bool* stopMask,
                                       int64_t maxNewTokens) {
  const int64_t token = sample.tokens.back();
  if (std::find(stop.eosTokenIds.begin(), stop.eosTokenIds.end(), token) != stop.eosTokenIds.end()) {
    return FinishReason::kEos;
  }
  if (stopMask != nullptr && stopMask[token]) return FinishReason::kStop;
  for (const auto& sequence : stop.stopSequences) {
    if (EndsWith(sample.tokens, sequence)) return FinishReason::kStop;
  }
  if (static_cast<int64_t>(sample.tokens.size()) >= maxNewTokens) return FinishReason::kLength;
  return std::nullopt;
}

}  // namespace

GenerateResult Generate(const model::Transformer& model, const GenerateRequest& request,
                        const std::function<void(int64_t step)>& checkpoint,
                        const std::function<void(const StepDraws&)>& onDraws) {
  Prefilled start = request.from ? ContinueRows(model, request) : PrefillPrompts(model, request);
  const int64_t inputs = start.cache.rows();
  const int64_t n = request.samplesPerInput;

  // Fork every input into its n samples: the cache rows and the next-token logits.
  const at::Tensor fork = at::arange(inputs, at::kLong).repeat_interleave(n).to(model.device());
  KvCache cache = n == 1 ? std::move(start.cache) : start.cache.Select(fork, start.cache.length + request.maxNewTokens);
  at::Tensor logits = n == 1 ? start.logits : start.logits.index_select(0, fork);

  GenerateResult result;
  result.computedTokens = start.computedTokens;
  result.samples.resize(inputs * n);
  for (int64_t i = 0; i < inputs * n; ++i) result.samples[i].input = i / n;

  const at::Tensor stopMask = request.stop.stopTokenMask.defined()
                                  ? request.stop.stopTokenMask.to(at::kCPU, at::kBool).contiguous()
                                  : at::Tensor();
  const bool* stopMaskData = stopMask.defined() ? stopMask.data_ptr<bool>() : nullptr;
  // What each row has seen so far is what its cache holds: the prompt, or the continued row and its pending token.
  const at::Tensor seen =
      request.sampling.repetitionPenalty == 1.0
          ? at::Tensor()
          : SeenTokens(cache.tokens.narrow(1, 0, cache.length), cache.valid.narrow(1, 0, cache.length), logits.size(1));
  TokenSampler sampler(model.device(), request.sampling, request.seed, request.sampleSeeds, seen);

  std::vector<int64_t> rowSample(inputs * n);  // cache row -> sample index
  for (int64_t i = 0; i < inputs * n; ++i) rowSample[i] = i;
  std::vector<bool> rowDone(inputs * n, false);
  int64_t doneRows = 0;
  const bool listening = static_cast<bool>(onDraws);
  StepDraws draws;  // refilled each step, so its vectors keep their capacity

  for (int64_t step = 0; step < request.maxNewTokens; ++step) {
    checkpoint(step);
    const Draw draw = [&] {
      GENIUS_PHASE("rollout.sample");
      return sampler.Next(logits, rowSample);
    }();
    const at::Tensor tokens = draw.tokens.to(at::kCPU);
    const at::Tensor logprobs = draw.logprobs.to(at::kCPU, at::kFloat);
    const int64_t* tokenData = tokens.data_ptr<int64_t>();
    const float* logprobData = logprobs.data_ptr<float>();
    std::vector<bool> feed(rowSample.size(), false);
    if (listening) {
      draws.step = step;
      draws.samples.clear();
      draws.tokens.clear();
      draws.logprobs.clear();
      draws.finished.clear();
    }
    for (size_t row = 0; row < rowSample.size(); ++row) {
      if (rowDone[row]) continue;
      if (!std::isfinite(logprobData[row])) {
        Fail(code::kNonFinite, "the model's next-token logits are NaN or infinite (sample " +
                                   std::to_string(rowSample[row]) + ", new token " + std::to_string(step + 1) +
                                   "): its weights or activations are not finite");
      }
      Sample& sample = result.samples[rowSample[row]];
      sample.tokens.push_back(tokenData[row]);
      sample.logprobs.push_back(logprobData[row]);
      sample.logprobSum += logprobData[row];
      if (listening) {
        draws.samples.push_back(rowSample[row]);
        draws.tokens.push_back(tokenData[row]);
        draws.logprobs.push_back(logprobData[row]);
      }
      if (auto reason = StopReason(sample, request.stop, stopMaskData, request.maxNewTokens)) {
        sample.finishReason = *reason;
        rowDone[row] = true;
        ++doneRows;
        if (listening) draws.finished.emplace_back(rowSample[row], *reason);
      } else {
        feed[row] = true;
      }
    }
    if (listening) onDraws(draws);
    if (doneRows == static_cast<int64_t>(rowSample.size())) break;

    if (!request.keepCache && doneRows >= kCompactWhenFinished * rowSample.size()) {
      GENIUS_PHASE("rollout.compact");
      std::vector<int64_t> keep;
      std::vector<int64_t> keptSamples;
      for (size_t row = 0; row < rowSample.size(); ++row) {
        if (!rowDone[row]) {
          keep.push_back(row);
          keptSamples.push_back(rowSample[row]);
        }
      }
      const at::Tensor keepIndex = at::tensor(keep, at::kLong).to(model.device());
      cache = cache.Select(keepIndex, cache.length + request.maxNewTokens - step);
      sampler.KeepRows(keepIndex);
      rowSample = keptSamples;
      rowDone.assign(keep.size(), false);
      feed.assign(keep.size(), true);
      doneRows = 0;
      const at::Tensor nextTokens = draw.tokens.index_select(0, keepIndex).unsqueeze(1);
      logits = NextLogits(model, nextTokens, at::ones_like(nextTokens, at::kBool), cache);
      result.computedTokens += static_cast<int64_t>(keep.size());
      continue;
    }
    // Finished rows (kept when the cache is kept) get an invalid column: nothing is added to them.
    GENIUS_PHASE("rollout.decode");
    const at::Tensor feedMask =
        at::tensor(std::vector<uint8_t>(feed.begin(), feed.end())).to(at::kBool).to(model.device()).unsqueeze(1);
    logits = NextLogits(model, draw.tokens.unsqueeze(1), feedMask, cache);
    result.computedTokens += static_cast<int64_t>(rowSample.size() - doneRows);
  }
  if (request.keepCache) {
    // Without compaction row r is sample r; its last token was drawn but never fed: it is pending (none when the
    // context window left no room for a token).
    std::vector<int64_t> pending;
    for (const Sample& sample : result.samples) pending.push_back(sample.tokens.empty() ? -1 : sample.tokens.back());
    cache.pending = at::tensor(pending, at::kLong).to(model.device());
    result.cache = std::make_shared<const KvCache>(std::move(cache));
  }
  return result;
}

}  // namespace genius::rollout
