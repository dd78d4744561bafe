// Central-difference check of an autograd function's backward, for tests: the reference gradient is
// computed from forward evaluations alone, so it checks a hand-written backward independently of it.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <vector>

namespace genius::train {

struct GradientCheck {
  double maxAbsoluteError;    // max over input elements of |analytic − central difference|
  double maxNumericGradient;  // max |central difference|, to judge that error against
};

// Compares the backward of s = Σ_k v_k·f(inputs)_k, v_k a fixed ramp from 0.5 to 1.5 (so that the backward
// must honour a non-uniform incoming gradient), with (s(x + εe) − s(x − εe)) / 2ε for every element of every
// input. Inputs must be float64; ε is the step.
GradientCheck CheckGradients(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& function,
                             const std::vector<at::Tensor>& inputs, double step);

}  // namespace genius::train
