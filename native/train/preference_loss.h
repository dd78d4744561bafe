// The preference losses Genius trains with (ACO, the paper's own) and the ones its ablation compares
// against (DPO, IPO, SimPO, ROPO, SFT), each a torch::autograd::Function with an explicit backward.
// Inputs are per-pair sequence log-probs (sums over response tokens, prompt masked) and advantages.
#pragma once

#include <ATen/ATen.h>

#include <optional>

namespace genius::train {

enum class PreferenceLossKind { kAco, kDpo, kIpo, kSimpo, kRopo, kSft };

// How ACO clips its weight w = exp(−(A_l − A_w)/α) on the rejected log-ratio.
enum class AcoWeightClip {
  kPaper,          // min(1, ·): a rejected step with more advantage than the chosen one is punished less
  kReferenceCode,  // max(1, ·): what aco_utils.aco_loss of the Genius repository computes
};

// One row per pair; every tensor is [B], same dtype and device.
struct PreferencePairLogprobs {
  at::Tensor policyChosen;                       // Σ log πθ(T_w | x)
  at::Tensor policyRejected;                     // Σ log πθ(T_l | x)
  at::Tensor referenceChosen;                    // Σ log πref(T_w | x); ignored when referenceFree
  at::Tensor referenceRejected;                  // Σ log πref(T_l | x); ignored when referenceFree
  std::optional<at::Tensor> policyChosenMean;    // per-token mean of log πθ(T_w | x): SimPO, SFT
  std::optional<at::Tensor> policyRejectedMean;  // per-token mean of log πθ(T_l | x): SimPO
  std::optional<at::Tensor> chosenAdvantage;     // A_w: ACO
  std::optional<at::Tensor> rejectedAdvantage;   // A_l: ACO
};

struct PreferenceLossOptions {
  PreferenceLossKind kind = PreferenceLossKind::kAco;
  double beta = 0.1;           // β: scale of the implicit reward β·(log πθ − log πref)
  double alpha = 1.0;          // α: ACO's advantage temperature; α → ∞ turns ACO into DPO
  bool referenceFree = false;  // log πref := 0
  AcoWeightClip acoWeight = AcoWeightClip::kPaper;
  // λ of an added NLL term on the chosen side, λ·(−mean log πθ(T_w)) (RPO): DPO-family losses can lower the
  // chosen log-prob along with the rejected one, and this holds it up. Reads policyChosenMean when > 0.
  double nllWeight = 0.0;
};

struct PreferenceLoss {
  at::Tensor losses;           // [B], differentiable w.r.t. the log-prob inputs
  at::Tensor loss;             // mean of losses, 0-dim
  at::Tensor chosenRewards;    // [B] β·(log πθ(T_w) − log πref(T_w)), detached
  at::Tensor rejectedRewards;  // [B] β·(log πθ(T_l) − log πref(T_l)), detached
  at::Tensor accuracy;         // 0-dim: share of pairs whose chosen reward exceeds the rejected one
  at::Tensor margin;           // 0-dim: mean of chosen − rejected reward
};

// Runs the autograd Function of options.kind. The caller guarantees what that kind reads is present
// and shaped alike (the JS binding validates); metrics stay on the device, so nothing syncs here.
PreferenceLoss ComputePreferenceLoss(const PreferencePairLogprobs& pairs, const PreferenceLossOptions& options);

}  // namespace genius::train
