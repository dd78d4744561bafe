// Each loss is a torch::autograd::Function whose forward and backward are written out, so the gradient
// the trainer follows is the one the paper states (e.g. ACO: ∇L = −(1 − σ(z))·[β∇log πθ(T_w) − βw∇log πθ(T_l)])
// and is checked against central differences (testing.preferenceLossGradientError).
//
// Every Function takes the same arguments, in this order:
//   policyChosen, policyRejected, referenceChosen, referenceRejected,   (sums of token log-probs)
//   policyChosenMean, policyRejectedMean,                                 (optional: per-token means)
//   chosenAdvantage, rejectedAdvantage,                                   (optional: A_w, A_l)
//   options
// and returns {per-pair losses, chosen rewards, rejected rewards}, the rewards marked non-differentiable.
// With log-ratios r_w = log πθ(T_w) − log πref(T_w) and r_l likewise, the reference gradient is the
// negated policy gradient; advantages and options get none (ACO's weight w is a constant).
#include "train/preference_loss.h"

#include <torch/csrc/autograd/custom_function.h>

namespace genius::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// IPO's target margin 1/(2τ) with τ = 0.5, as the Genius code base fixes it.
constexpr double kIpoTau = 0.5;
// SimPO's reward margin γ, as the Genius code base fixes it (β is the options' β, on mean log-probs).
constexpr double kSimpoGamma = 1.0;
// ROPO's weights on its noise-tolerant sigmoid term (α) and on its DPO term (γ); see RopoLoss.
constexpr double kRopoAlpha = 0.2;
constexpr double kRopoGamma = 0.1;

using OptionalTensor = std::optional<at::Tensor>;

// {losses, β·r_w, β·r_l}: the rewards every loss reports, whatever it optimises.
variable_list WithRewards(AutogradContext* ctx, at::Tensor losses, const at::Tensor& chosenLogRatio,
                          const at::Tensor& rejectedLogRatio, double beta) {
  at::Tensor chosenRewards = chosenLogRatio * beta;
  at::Tensor rejectedRewards = rejectedLogRatio * beta;
  ctx->mark_non_differentiable({chosenRewards, rejectedRewards});
  return {std::move(losses), std::move(chosenRewards), std::move(rejectedRewards)};
}

// Gradients in forward-argument order for a loss that reads the log-prob sums only through r_w and r_l.
variable_list LogRatioGradients(const at::Tensor& dChosenLogRatio, const at::Tensor& dRejectedLogRatio) {
  return {dChosenLogRatio, dRejectedLogRatio, -dChosenLogRatio, -dRejectedLogRatio, {}, {}, {}, {}, {}};
}

// Gradients in forward-argument order for a loss that reads only the per-token mean log-probs.
variable_list MeanLogprobGradients(const at::Tensor& dChosenMean, const at::Tensor& dRejectedMean) {
  return {{}, {}, {}, {}, dChosenMean, dRejectedMean, {}, {}, {}};
}

// ACO: L = −log σ(z), z = β·r_w − β·w·r_l, w = clip(exp(−(A_l − A_w)/α)) — min(1, ·) in the paper,
// max(1, ·) in the reference code, taken as exp(min(0, x)) = min(1, exp(x)) and exp(max(0, x)) = max(1, exp(x)).
class AcoLoss : public torch::autograd::Function<AcoLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& policyChosen, const at::Tensor& policyRejected,
                               const at::Tensor& referenceChosen, const at::Tensor& referenceRejected,
                               const OptionalTensor& policyChosenMean, const OptionalTensor& policyRejectedMean,
                               const OptionalTensor& chosenAdvantage, const OptionalTensor& rejectedAdvantage,
                               const PreferenceLossOptions& options) {
    const at::Tensor exponent = (*rejectedAdvantage - *chosenAdvantage).neg_().div_(options.alpha);
    const at::Tensor weight =
        (options.acoWeight == AcoWeightClip::kPaper ? exponent.clamp_max(0.0) : exponent.clamp_min(0.0)).exp_();
    const at::Tensor chosenLogRatio = policyChosen - referenceChosen;
    const at::Tensor rejectedLogRatio = policyRejected - referenceRejected;
    const at::Tensor z = (chosenLogRatio - weight * rejectedLogRatio) * options.beta;
    ctx->save_for_backward({z, weight});
    ctx->saved_data["beta"] = options.beta;
    return WithRewards(ctx, at::log_sigmoid(z).neg_(), chosenLogRatio, rejectedLogRatio, options.beta);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& z = saved[0];
    const at::Tensor& weight = saved[1];
    const double beta = ctx->saved_data["beta"].toDouble();
    // dL/dz = −σ(−z) = −(1 − σ(z)).
    const at::Tensor dz = at::sigmoid(-z).mul_(gradOutputs[0]).neg_();
    return LogRatioGradients(dz * beta, dz * weight * -beta);
  }
};

// DPO: L = −log σ(β·(r_w − r_l)).
class DpoLoss : public torch::autograd::Function<DpoLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& policyChosen, const at::Tensor& policyRejected,
                               const at::Tensor& referenceChosen, const at::Tensor& referenceRejected,
                               const OptionalTensor& policyChosenMean, const OptionalTensor& policyRejectedMean,
                               const OptionalTensor& chosenAdvantage, const OptionalTensor& rejectedAdvantage,
                               const PreferenceLossOptions& options) {
    const at::Tensor chosenLogRatio = policyChosen - referenceChosen;
    const at::Tensor rejectedLogRatio = policyRejected - referenceRejected;
    const at::Tensor z = (chosenLogRatio - rejectedLogRatio) * options.beta;
    ctx->save_for_backward({z});
    ctx->saved_data["beta"] = options.beta;
    return WithRewards(ctx, at::log_sigmoid(z).neg_(), chosenLogRatio, rejectedLogRatio, options.beta);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    const at::Tensor z = ctx->get_saved_variables()[0];
    const double beta = ctx->saved_data["beta"].toDouble();
    const at::Tensor dz = at::sigmoid(-z).mul_(gradOutputs[0]).neg_();
    return LogRatioGradients(dz * beta, dz * -beta);
  }
};

// IPO: L = (r_w − r_l − 1/(2τ))², τ = 0.5. As in the Genius code base, β does not enter the loss (τ plays
// its part); it only scales the reported rewards.
class IpoLoss : public torch::autograd::Function<IpoLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& policyChosen, const at::Tensor& policyRejected,
                               const at::Tensor& referenceChosen, const at::Tensor& referenceRejected,
                               const OptionalTensor& policyChosenMean, const OptionalTensor& policyRejectedMean,
                               const OptionalTensor& chosenAdvantage, const OptionalTensor& rejectedAdvantage,
                               const PreferenceLossOptions& options) {
    const at::Tensor chosenLogRatio = policyChosen - referenceChosen;
    const at::Tensor rejectedLogRatio = policyRejected - referenceRejected;
    const at::Tensor residual = chosenLogRatio - rejectedLogRatio - 1.0 / (2.0 * kIpoTau);
    ctx->save_for_backward({residual});
    return WithRewards(ctx, residual.square(), chosenLogRatio, rejectedLogRatio, options.beta);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    const at::Tensor residual = ctx->get_saved_variables()[0];
    const at::Tensor dResidual = residual * 2.0 * gradOutputs[0];
    return LogRatioGradients(dResidual, -dResidual);
  }
};

// SimPO-style: L = −log σ(β·(mean log πθ(T_w) − mean log πθ(T_l)) − γ), γ = 1: reference-free and
// length-normalised, with β applied to the mean log-probs directly as the Genius code base does.
class SimpoLoss : public torch::autograd::Function<SimpoLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& policyChosen, const at::Tensor& policyRejected,
                               const at::Tensor& referenceChosen, const at::Tensor& referenceRejected,
                               const OptionalTensor& policyChosenMean, const OptionalTensor& policyRejectedMean,
                               const OptionalTensor& chosenAdvantage, const OptionalTensor& rejectedAdvantage,
                               const PreferenceLossOptions& options) {
    const at::Tensor z = (*policyChosenMean - *policyRejectedMean) * options.beta - kSimpoGamma;
    ctx->save_for_backward({z});
    ctx->saved_data["beta"] = options.beta;
    return WithRewards(ctx, at::log_sigmoid(z).neg_(), policyChosen - referenceChosen,
                       policyRejected - referenceRejected, options.beta);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    const at::Tensor z = ctx->get_saved_variables()[0];
    const double beta = ctx->saved_data["beta"].toDouble();
    const at::Tensor dz = at::sigmoid(-z).mul_(gradOutputs[0]).neg_();
    return MeanLogprobGradients(dz * beta, dz * -beta);
  }
};

// ROPO ("ROPO: Robust Preference Optimization for Large Language Models", Liang et al. 2024,
// arXiv:2404.04102): the DPO loss plus a noise-tolerant term σ(−z), z = β·(r_w − r_l):
//   L = α·σ(−z) − γ·log σ(z),   dL/dz = −σ(−z)·(α·σ(z) + γ).
// σ(−z) is symmetric (σ(z) + σ(−z) = 1), so under symmetric label noise its expected gradient keeps its
// direction; its gradient σ(z)σ(−z) vanishes for pairs the policy confidently ranks the other way, which
// are the likely mislabelled ones, and the small DPO term keeps the loss convex enough to optimise.
// α = 0.2 and γ = 0.1 are the values the Genius code base (open_instruct/aco_utils.py, ropo_loss) trains
// its ROPO ablation with.
class RopoLoss : public torch::autograd::Function<RopoLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& policyChosen, const at::Tensor& policyRejected,
                               const at::Tensor& referenceChosen, const at::Tensor& referenceRejected,
                               const OptionalTensor& policyChosenMean, const OptionalTensor& policyRejectedMean,
                               const OptionalTensor& chosenAdvantage, const OptionalTensor& rejectedAdvantage,
                               const PreferenceLossOptions& options) {
    const at::Tensor chosenLogRatio = policyChosen - referenceChosen;
    const at::Tensor rejectedLogRatio = policyRejected - referenceRejected;
    const at::Tensor z = (chosenLogRatio - rejectedLogRatio) * options.beta;
    const at::Tensor losses = at::sigmoid(-z) * kRopoAlpha - at::log_sigmoid(z) * kRopoGamma;
    ctx->save_for_backward({z});
    ctx->saved_data["beta"] = options.beta;
    return WithRewards(ctx, losses, chosenLogRatio, rejectedLogRatio, options.beta);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    const at::Tensor z = ctx->get_saved_variables()[0];
    const double beta = ctx->saved_data["beta"].toDouble();
    const at::Tensor dz =
        at::sigmoid(-z).mul_(at::sigmoid(z).mul_(kRopoAlpha).add_(kRopoGamma)).mul_(gradOutputs[0]).neg_();
    return LogRatioGradients(dz * beta, dz * -beta);
  }
};

// SFT: L = −mean log πθ(T_w), the per-token negative log-likelihood of the chosen response.
class SftLoss : public torch::autograd::Function<SftLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& policyChosen, const at::Tensor& policyRejected,
                               const at::Tensor& referenceChosen, const at::Tensor& referenceRejected,
                               const OptionalTensor& policyChosenMean, const OptionalTensor& policyRejectedMean,
                               const OptionalTensor& chosenAdvantage, const OptionalTensor& rejectedAdvantage,
                               const PreferenceLossOptions& options) {
    return WithRewards(ctx, policyChosenMean->neg(), policyChosen - referenceChosen, policyRejected - referenceRejected,
                       options.beta);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    return MeanLogprobGradients(-gradOutputs[0], {});
  }
};

template <class Loss>
variable_list Apply(const PreferencePairLogprobs& pairs, const PreferenceLossOptions& options) {
  return Loss::apply(pairs.policyChosen, pairs.policyRejected, pairs.referenceChosen, pairs.referenceRejected,
                     pairs.policyChosenMean, pairs.policyRejectedMean, pairs.chosenAdvantage, pairs.rejectedAdvantage,
                     options);
}

variable_list ApplyLoss(const PreferencePairLogprobs& pairs, const PreferenceLossOptions& options) {
  switch (options.kind) {
    case PreferenceLossKind::kAco: return Apply<AcoLoss>(pairs, options);
    case PreferenceLossKind::kDpo: return Apply<DpoLoss>(pairs, options);
    case PreferenceLossKind::kIpo: return Apply<IpoLoss>(pairs, options);
    case PreferenceLossKind::kSimpo: return Apply<SimpoLoss>(pairs, options);
    case PreferenceLossKind::kRopo: return Apply<RopoLoss>(pairs, options);
    case PreferenceLossKind::kSft: return Apply<SftLoss>(pairs, options);
  }
  TORCH_CHECK(false, "unknown preference loss kind ", static_cast<int>(options.kind));
}

}  // namespace

PreferenceLoss ComputePreferenceLoss(const PreferencePairLogprobs& pairs, const PreferenceLossOptions& options) {
  PreferencePairLogprobs withReference = pairs;
  // reference_free means log πref = 0 for the loss and for the reported rewards alike.
  if (options.referenceFree) {
    withReference.referenceChosen = at::zeros_like(pairs.policyChosen);
    withReference.referenceRejected = at::zeros_like(pairs.policyRejected);
  }
  const variable_list outputs = ApplyLoss(withReference, options);
  PreferenceLoss result;
  result.losses = outputs[0];
  if (options.nllWeight > 0) {
    TORCH_CHECK(pairs.policyChosenMean.has_value(), "the NLL term reads policyChosenMean");
    result.losses = result.losses + options.nllWeight * Apply<SftLoss>(withReference, options)[0];
  }
  result.chosenRewards = outputs[1];
  result.rejectedRewards = outputs[2];
  result.loss = result.losses.mean();
  result.accuracy = result.chosenRewards.gt(result.rejectedRewards).to(result.chosenRewards.scalar_type()).mean();
  result.margin = (result.chosenRewards - result.rejectedRewards).mean();
  return result;
}

}  // namespace genius::train
