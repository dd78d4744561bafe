#include "rollout/sampling.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <limits>
#include <utility>

#ifdef GENIUS_WITH_CUDA
#include "kernels/sampling.cuh"
#endif

namespace genius::rollout {

namespace {

// Probabilities after temperature, top-k, top-p and min-p, a new tensor; excluded tokens get exactly 0.
// logNormalizer [rows, 1] is the logsumexp of the scores when known, which is the softmax's own at temperature 1
// without top-k: then one pass takes the probabilities (at Qwen2.5's 152k vocabulary, every pass over the logits is
// a percent of a decode step).
at::Tensor FilteredProbabilities(const at::Tensor& scores, const at::Tensor& logNormalizer,
                                 const SamplingOptions& options) {
  const bool topK = options.topK > 0 && options.topK < scores.size(-1);
  at::Tensor probabilities;
  if (options.temperature == 1.0 && !topK) {
    probabilities = (scores - (logNormalizer.defined() ? logNormalizer : at::logsumexp(scores, -1, true))).exp_();
  } else {
    at::Tensor scaled = scores / options.temperature;
    if (topK) {
      const at::Tensor kth = std::get<0>(scaled.topk(options.topK, -1)).narrow(-1, options.topK - 1, 1);
      scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<double>::infinity());
    }
    probabilities = at::softmax(scaled, -1);
  }
  if (options.topP < 1.0) {
    const auto [sorted, order] = probabilities.sort(-1, /*descending=*/true);
    // Keep the smallest prefix whose mass reaches topP: a token goes when the mass before it does.
    const at::Tensor massBefore = sorted.cumsum(-1) - sorted;
    const at::Tensor removeSorted = massBefore >= options.topP;
    const at::Tensor remove = at::zeros_like(removeSorted).scatter(-1, order, removeSorted);
    probabilities = probabilities.masked_fill(remove, 0.0);
  }
  if (options.minP > 0.0) {
    // Relative to the most likely token, which always stays, so the mass top-p took away does not matter.
    probabilities =
        probabilities.masked_fill(probabilities < probabilities.amax(-1, /*keepdim=*/true) * options.minP, 0.0);
  }
  return probabilities;
}

// log_softmax at the drawn tokens only: one reduction instead of writing [rows, vocab].
at::Tensor TokenLogprobs(const at::Tensor& logits, const at::Tensor& logNormalizer, const at::Tensor& tokens) {
  return logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - logNormalizer.squeeze(-1);
}

}  // namespace

at::Tensor SeenTokens(const at::Tensor& tokens, const at::Tensor& valid, int64_t vocab) {
  // Columns that hold no token of the row mark an extra column, dropped after the scatter.
  const at::Tensor index = tokens.masked_fill(valid.logical_not(), vocab);
  return at::zeros({tokens.size(0), vocab + 1}, tokens.options().dtype(at::kBool))
      .scatter_(1, index, true)
      .narrow(1, 0, vocab)
      .contiguous();
}

at::Tensor PenalizeRepetition(const at::Tensor& logits, const at::Tensor& seen, double penalty) {
  return at::where(seen, at::where(logits < 0, logits * penalty, logits / penalty), logits);
}

Draw SampleTokens(const at::Tensor& logits, const at::Tensor& seen, const SamplingOptions& options,
                  const at::Tensor& uniforms) {
  const at::Tensor logNormalizer = at::logsumexp(logits, -1, /*keepdim=*/true);
  const bool penalized = seen.defined();
  const at::Tensor scores = penalized ? PenalizeRepetition(logits, seen, options.repetitionPenalty) : logits;
  at::Tensor tokens;
  if (options.temperature == 0.0) {
    tokens = scores.argmax(-1);
  } else {
    // One uniform draw per row against the cumulative distribution, rather than an Exponential per
    // vocabulary entry: on the CPU there is no host sync to avoid, and the random numbers are drawn one
    // at a time (at::multinomial of one sample draws the Exponentials: a tenth of a decode step of the
    // default model at batch 32). The draw is in (0, total] and the token is the first whose cumulative
    // mass reaches it, so a token of probability 0 (filtered) is never drawn.
    const at::Tensor cumulative =
        FilteredProbabilities(scores, penalized ? at::Tensor() : logNormalizer, options).cumsum_(-1);
    const at::Tensor total = cumulative.narrow(-1, cumulative.size(-1) - 1, 1);
    const at::Tensor draw = uniforms.neg().add_(1).mul_(total);
    // A NaN distribution (non-finite logits) searches past the end: clamped, its token's log-prob is NaN,
    // which Generate refuses as it refuses a greedy draw from such logits.
    tokens = at::searchsorted(cumulative, draw, /*out_int32=*/false, /*right=*/false)
                 .squeeze(-1)
                 .clamp_max_(logits.size(-1) - 1);
  }
  return {tokens, TokenLogprobs(logits, logNormalizer, tokens)};
}

#ifdef GENIUS_WITH_CUDA
Draw SampleTokensKernel(const at::Tensor& logits, const at::Tensor& seen, const SamplingOptions& options, uint64_t seed,
                        uint64_t step, const at::Tensor& rowSeeds) {
  const at::Tensor input = logits.to(at::kFloat).contiguous();
  const at::Tensor scores = seen.defined() ? PenalizeRepetition(input, seen, options.repetitionPenalty) : input;
  Draw draw{at::empty({input.size(0)}, input.options().dtype(at::kLong)), at::empty({input.size(0)}, input.options())};
  at::Tensor finished = at::zeros({input.size(0)}, input.options().dtype(at::kBool));
  kernels::SampleTokensCuda(scores, options.temperature, options.topP, options.topK, options.minP, seed, step, rowSeeds,
                            at::Tensor(), at::Tensor(), draw.tokens, draw.logprobs, finished);
  // The kernel's log-prob is under the scores it drew from; the model's own is wanted.
  if (seen.defined()) draw.logprobs = TokenLogprobs(input, at::logsumexp(input, -1, /*keepdim=*/true), draw.tokens);
  return draw;
}
#endif

namespace {
at::Generator MakeGenerator(const at::Device& device, uint64_t seed) {
  at::Generator generator = device.is_cuda() ? at::detail::getCUDAHooks().getNewGenerator(device.index())
                                             : at::make_generator<at::CPUGeneratorImpl>(seed);
  generator.set_current_seed(seed);
  return generator;
}
}  // namespace

// splitmix64's finaliser (Steele, Lea and Flood 2014): 64 well-mixed bits of a counter.
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double SampleUniform(uint64_t seed, uint64_t step) {
  return static_cast<double>(Mix(seed ^ Mix(step)) >> 11) * 0x1.0p-53;  // 53 random bits, as a double holds
}

TokenSampler::TokenSampler(const at::Device& device, SamplingOptions options, uint64_t seed,
                           std::vector<uint64_t> sampleSeeds, at::Tensor seen)
    : options_(options),
      seed_(seed),
      sampleSeeds_(std::move(sampleSeeds)),
      generator_(MakeGenerator(device, seed)),
      seen_(std::move(seen)) {
#ifdef GENIUS_WITH_CUDA
  useKernel_ = device.is_cuda();
#else
  useKernel_ = false;
#endif
}

Draw TokenSampler::Next(const at::Tensor& logits, const std::vector<int64_t>& rowSamples) {
  const uint64_t step = step_++;
  const bool ownStreams = !sampleSeeds_.empty();
  std::vector<int64_t> rowSeeds;
  if (ownStreams) {
    for (const int64_t sample : rowSamples) rowSeeds.push_back(static_cast<int64_t>(sampleSeeds_[sample]));
  }
  const Draw draw = [&] {
#ifdef GENIUS_WITH_CUDA
    if (useKernel_) {
      return SampleTokensKernel(logits, seen_, options_, seed_, step,
                                ownStreams ? at::tensor(rowSeeds, at::kLong).to(logits.device()) : at::Tensor());
    }
#endif
    if (options_.temperature == 0.0) return SampleTokens(logits, seen_, options_, at::Tensor());
    at::Tensor uniforms;
    if (ownStreams) {
      std::vector<double> draws;
      for (const int64_t seed : rowSeeds) draws.push_back(SampleUniform(static_cast<uint64_t>(seed), step));
      uniforms = at::tensor(draws, at::kDouble).unsqueeze(1).to(logits.options());
    } else {
      uniforms = at::rand({logits.size(0), 1}, generator_, logits.options());
    }
    return SampleTokens(logits, seen_, options_, uniforms);
  }();
  if (seen_.defined()) seen_.scatter_(1, draw.tokens.unsqueeze(1), true);
  return draw;
}

void TokenSampler::KeepRows(const at::Tensor& rows) {
  if (seen_.defined()) seen_ = seen_.index_select(0, rows);
}

}  // namespace genius::rollout
