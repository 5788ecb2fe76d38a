#include "sampling/score_regularization.h"

#include <ATen/ATen.h>

#include <cmath>

namespace jointflow {

at::Tensor regularize_diversity_gradient(ScoreRegularization rule, const at::Tensor& g,
                                         const at::Tensor& score, double t, double soft_power) {
  if (rule == ScoreRegularization::none) return g;
  const at::Tensor norm = score.norm(2, 1, /*keepdim=*/true);
  const at::Tensor unit = score / at::where(norm > 0, norm, at::ones_like(norm));
  const at::Tensor alpha = (g * unit).sum(1, /*keepdim=*/true);
  const double fraction = rule == ScoreRegularization::hard ? 1.0 : std::pow(t, soft_power);
  return g - fraction * alpha.clamp_max(0) * unit;
}

}  // namespace jointflow
