// Score regularization of the diversity gradient (MATH §4 step 1; paper A Eqs. 13–16).
#pragma once

#include <ATen/core/Tensor.h>

#include "sampling/sampler_options.h"

namespace jointflow {

// g̃ from g and the score s, per row: with ŝ = s/‖s‖ and α = g·ŝ, rows with α ≥ 0 are kept;
// rows with α < 0 lose α ŝ (hard) or t^p α ŝ (soft). g, s: [n, D] → [n, D]. Rows with s = 0
// are kept. Tensor ops, any device.
at::Tensor regularize_diversity_gradient(ScoreRegularization rule, const at::Tensor& g,
                                         const at::Tensor& score, double t, double soft_power);

struct RegularizedGradient {
  at::Tensor g_tilde;        // g̃: [n, D], g itself for `none`
  at::Tensor squared_norms;  // ‖v_i‖² and ‖g̃_i‖² per row: [n, 2]
};

// The sampler's per-member step of MATH §4: the score s = (t·v − x)/(1 − t) of MATH §1,
// g̃ = regularize_diversity_gradient(rule, g, s, t, p), and the squared norms the joint
// normalization sums over a group. x, v, g: [n, D], one dtype and device; t ∈ [0, 1). On the
// CPU one pass over the rows (double accumulation, the same per row wherever it sits in the
// batch); elsewhere the composition of the tensor ops.
RegularizedGradient regularize_with_norms(ScoreRegularization rule, const at::Tensor& x,
                                          const at::Tensor& v, const at::Tensor& g, double t,
                                          double soft_power);

}  // namespace jointflow
