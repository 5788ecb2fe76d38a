// Score regularization of the diversity gradient (MATH §4 step 1; paper A Eqs. 13–16).
#pragma once

#include <ATen/core/Tensor.h>

#include "sampling/sampler_options.h"

namespace jointflow {

// g̃ from g and the score s, per row: with ŝ = s/‖s‖ and α = g·ŝ, rows with α ≥ 0 are kept;
// rows with α < 0 lose α ŝ (hard) or t^p α ŝ (soft). g, s: [n, D] → [n, D]. Rows with s = 0
// are kept.
at::Tensor regularize_diversity_gradient(ScoreRegularization rule, const at::Tensor& g,
                                         const at::Tensor& score, double t, double soft_power);

}  // namespace jointflow
