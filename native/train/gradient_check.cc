#include "train/gradient_check.h"

#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>

namespace genius::train {

GradientCheck CheckGradients(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& function,
                             const std::vector<at::Tensor>& inputs, double step) {
  std::vector<at::Tensor> leaves;
  for (const at::Tensor& input : inputs) leaves.push_back(input.detach().clone().requires_grad_(true));
  const at::Tensor outputs = function(leaves);
  const at::Tensor ramp = at::linspace(0.5, 1.5, outputs.numel(), outputs.options()).view(outputs.sizes());
  const auto weighted = [&](const std::vector<at::Tensor>& arguments) {
    return (function(arguments) * ramp).sum().item<double>();
  };
  const std::vector<at::Tensor> analytic = torch::autograd::grad({(outputs * ramp).sum()}, leaves, {},
                                                                 /*retain_graph=*/false, /*create_graph=*/false,
                                                                 /*allow_unused=*/true);

  at::NoGradGuard noGrad;
  GradientCheck check{0.0, 0.0};
  std::vector<at::Tensor> probes;
  for (const at::Tensor& leaf : leaves) probes.push_back(leaf.detach().clone());
  for (size_t i = 0; i < probes.size(); ++i) {
    const at::Tensor flat = probes[i].view(-1);
    // An input the function ignores gets no gradient from autograd; its true gradient is zero.
    const at::Tensor gradient = analytic[i].defined() ? analytic[i].reshape(-1) : at::zeros_like(flat);
    for (int64_t k = 0; k < flat.numel(); ++k) {
      const double original = flat[k].item<double>();
      flat[k] = original + step;
      const double above = weighted(probes);
      flat[k] = original - step;
      const double below = weighted(probes);
      flat[k] = original;
      const double numeric = (above - below) / (2.0 * step);
      check.maxAbsoluteError = std::max(check.maxAbsoluteError, std::abs(gradient[k].item<double>() - numeric));
      check.maxNumericGradient = std::max(check.maxNumericGradient, std::abs(numeric));
    }
  }
  return check;
}

}  // namespace genius::train
