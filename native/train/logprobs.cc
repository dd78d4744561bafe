#include "train/logprobs.h"

#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

namespace genius::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Softmax statistics are reduced in float32 even for bfloat16/float16 models; float64 stays float64.
at::ScalarType ReductionType(const at::Tensor& hidden) {
  return hidden.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// The logits of one row chunk against one vocabulary block [v0, v1), in the reduction dtype.
at::Tensor BlockLogits(const at::Tensor& hidden, const at::Tensor& weightBlock, at::ScalarType reduction) {
  return at::matmul(hidden, weightBlock.t()).to(reduction);
}

// Which targets fall in the block [v0, v1), and their column inside it (clamped where they do not).
struct TargetsInBlock {
  at::Tensor present;  // [rows] bool
  at::Tensor column;   // [rows, 1] int64
};

TargetsInBlock LocateTargets(const at::Tensor& targets, int64_t v0, int64_t v1) {
  return {targets.ge(v0).logical_and_(targets.lt(v1)), (targets - v0).clamp_(0, v1 - v0 - 1).unsqueeze(1)};
}

// out += a·b: the product in a's and b's dtype (the model's, fast on tensor cores), the sum in out's.
void AddProduct(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b) {
  if (out.scalar_type() == a.scalar_type()) {
    out.addmm_(a, b);
  } else {
    out.add_(at::mm(a, b));
  }
}

class TargetLogprobsFunction : public torch::autograd::Function<TargetLogprobsFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& targets, int64_t rowChunk, int64_t vocabChunk, bool keep) {
    ctx->saved_data["keep"] = keep;
    if (keep) return KeptForward(ctx, hidden, weight, targets);
    const at::ScalarType reduction = ReductionType(hidden);
    const int64_t positions = hidden.size(0);
    const int64_t vocab = weight.size(0);
    at::Tensor logprobs = at::empty({positions}, hidden.options().dtype(reduction));
    at::Tensor logNormalizers = at::empty({positions}, hidden.options().dtype(reduction));
    for (int64_t r0 = 0; r0 < positions; r0 += rowChunk) {
      const int64_t r1 = std::min(positions, r0 + rowChunk);
      const at::Tensor rows = hidden.slice(0, r0, r1);
      const at::Tensor rowTargets = targets.slice(0, r0, r1);
      at::Tensor logNormalizer;  // online logsumexp over the blocks seen so far
      at::Tensor targetLogit = at::zeros({r1 - r0}, hidden.options().dtype(reduction));
      for (int64_t v0 = 0; v0 < vocab; v0 += vocabChunk) {
        const int64_t v1 = std::min(vocab, v0 + vocabChunk);
        const at::Tensor logits = BlockLogits(rows, weight.slice(0, v0, v1), reduction);
        const at::Tensor blockNormalizer = at::logsumexp(logits, {1});
        logNormalizer = logNormalizer.defined() ? at::logaddexp(logNormalizer, blockNormalizer) : blockNormalizer;
        const TargetsInBlock located = LocateTargets(rowTargets, v0, v1);
        targetLogit.add_(at::where(located.present, logits.gather(1, located.column).squeeze(1), 0.0));
      }
      logprobs.slice(0, r0, r1).copy_(targetLogit - logNormalizer);
      logNormalizers.slice(0, r0, r1).copy_(logNormalizer);
    }
    ctx->save_for_backward({hidden, weight, targets, logNormalizers});
    ctx->saved_data["rowChunk"] = rowChunk;
    ctx->saved_data["vocabChunk"] = vocabChunk;
    return logprobs;
  }

  // With g = dL/dlogp: dL/dlogits[i, j] = g_i·(1[j = t_i] − softmax_ij), softmax_ij = exp(logit_ij − lse_i);
  // dh = dlogits·W and dW = dlogitsᵀ·h, summed block by block from recomputed logits.
  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& hidden = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& targets = saved[2];
    if (ctx->saved_data["keep"].toBool()) return KeptBackward(ctx, saved, gradOutputs[0]);
    const at::Tensor& logNormalizers = saved[3];
    const int64_t rowChunk = ctx->saved_data["rowChunk"].toInt();
    const int64_t vocabChunk = ctx->saved_data["vocabChunk"].toInt();
    const bool needHidden = ctx->needs_input_grad(0);
    const bool needWeight = ctx->needs_input_grad(1);
    const at::ScalarType reduction = ReductionType(hidden);
    const at::Tensor gradLogprobs = gradOutputs[0].to(reduction);
    const int64_t positions = hidden.size(0);
    const int64_t vocab = weight.size(0);

    at::Tensor gradHidden = needHidden ? at::empty_like(hidden) : at::Tensor();
    // Accumulated over row chunks in the reduction dtype: summing many bfloat16 partial products loses bits.
    at::Tensor gradWeight = needWeight ? at::zeros(weight.sizes(), weight.options().dtype(reduction)) : at::Tensor();
    for (int64_t r0 = 0; r0 < positions; r0 += rowChunk) {
      const int64_t r1 = std::min(positions, r0 + rowChunk);
      const at::Tensor rows = hidden.slice(0, r0, r1);
      const at::Tensor rowTargets = targets.slice(0, r0, r1);
      const at::Tensor rowGrad = gradLogprobs.slice(0, r0, r1);
      const at::Tensor rowNormalizer = logNormalizers.slice(0, r0, r1).unsqueeze(1);
      at::Tensor rowGradHidden =
          needHidden ? at::zeros({r1 - r0, hidden.size(1)}, hidden.options().dtype(reduction)) : at::Tensor();
      for (int64_t v0 = 0; v0 < vocab; v0 += vocabChunk) {
        const int64_t v1 = std::min(vocab, v0 + vocabChunk);
        const at::Tensor weightBlock = weight.slice(0, v0, v1);
        at::Tensor gradLogits = BlockLogits(rows, weightBlock, reduction).sub_(rowNormalizer).exp_();
        gradLogits.mul_(rowGrad.neg().unsqueeze(1));
        const TargetsInBlock located = LocateTargets(rowTargets, v0, v1);
        gradLogits.scatter_add_(1, located.column, at::where(located.present, rowGrad, 0.0).unsqueeze(1));
        const at::Tensor gradLogitsInModelType = gradLogits.to(hidden.scalar_type());
        if (needHidden) AddProduct(rowGradHidden, gradLogitsInModelType, weightBlock);
        if (needWeight) AddProduct(gradWeight.slice(0, v0, v1), gradLogitsInModelType.t(), rows);
      }
      if (needHidden) gradHidden.slice(0, r0, r1).copy_(rowGradHidden);
    }
    return {gradHidden, needWeight ? gradWeight.to(weight.scalar_type()) : at::Tensor(), {}, {}, {}, {}};
  }

 private:
  // All logits in one product; their softmax is what the backward needs, so it is kept, in place of them.
  static at::Tensor KeptForward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                                const at::Tensor& targets) {
    at::Tensor logits = BlockLogits(hidden, weight, ReductionType(hidden));
    const at::Tensor logNormalizers = at::logsumexp(logits, {1}, /*keepdim=*/true);
    const at::Tensor logprobs = logits.gather(1, targets.unsqueeze(1)).sub_(logNormalizers).squeeze(1);
    ctx->save_for_backward({hidden, weight, targets, logits.sub_(logNormalizers).exp_()});
    return logprobs;
  }

  // The backward above with the kept softmax for the recomputed blocks, over the whole vocabulary at once.
  static variable_list KeptBackward(AutogradContext* ctx, const variable_list& saved, const at::Tensor& gradOutput) {
    const at::Tensor& hidden = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& targets = saved[2];
    const at::Tensor& softmax = saved[3];
    const at::Tensor gradLogprobs = gradOutput.to(softmax.scalar_type()).unsqueeze(1);
    const at::Tensor gradLogits =
        (softmax * gradLogprobs.neg()).scatter_add_(1, targets.unsqueeze(1), gradLogprobs).to(hidden.scalar_type());
    return {ctx->needs_input_grad(0) ? at::mm(gradLogits, weight) : at::Tensor(),
            ctx->needs_input_grad(1) ? at::mm(gradLogits.t(), hidden) : at::Tensor(),
            {},
            {},
            {},
            {}};
  }
};

}  // namespace

at::Tensor TargetLogprobs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                          LogprobChunks chunks) {
  // By the sizes alone, with or without grad: a policy's log-probs and the reference log-probs taken from
  // the same weights must be the same numbers (a step's first rewards are exactly 0).
  const bool keep = hidden.size(0) * weight.size(0) <= chunks.keptLogits;
  return TargetLogprobsFunction::apply(hidden, weight, targets, chunks.rows, chunks.vocab, keep);
}

SequenceLogprobs ReduceTokenLogprobs(const at::Tensor& tokenLogprobs, const at::Tensor& mask) {
  const at::Tensor keep = mask.to(at::kBool);
  // where, not multiply: a masked position may hold −inf (e.g. a padding target), and −inf·0 is NaN.
  const at::Tensor sum = at::where(keep, tokenLogprobs, 0.0).sum(1);
  // A sequence with no kept token gets mean 0 rather than 0/0, which would poison a batch mean.
  const at::Tensor count = keep.sum(1).clamp_min(1).to(tokenLogprobs.scalar_type());
  return {sum, sum / count};
}

}  // namespace genius::train
