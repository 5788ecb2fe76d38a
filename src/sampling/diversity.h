// Diversity objectives D of a joint set and their gradients (MATH §3, §3.1; paper A App. D).
#pragma once

#include <ATen/core/Tensor.h>

#include "sampling/sampler_options.h"

namespace jointflow {

struct DiversitySpec {
  Objective objective = Objective::dpp;
  int64_t chebyshev_degree = 8;
  double df_quality_radius2 = 21.955;  // ρ² of DiverseFlow's quality (MATH §3.1)
};

// The spec a sampler uses for samples of `dim` numbers: ρ² defaults to the 99.5 % quantile of
// χ²_dim when options.df_quality_radius2 is 0.
DiversitySpec make_diversity_spec(const SamplerOptions& options, int64_t dim);

// Quantile of the χ² distribution with `dof` degrees of freedom (bisection on the regularized
// incomplete gamma function).
double chi_squared_quantile(double probability, int64_t dof);

// Σ_j c_j tr T_j(L̃) ≈ log det L with L̃ = (2L − (a+b)I)/(b − a) and c_j the Chebyshev
// interpolation coefficients of log on [a, b] = [ε, K] (MATH §3). kernel: [B, K, K] → [B].
at::Tensor chebyshev_log_det(const at::Tensor& kernel, int64_t degree);

// h of each group: the median of ‖y_i − y_j‖² over i < j, detached (MATH §3). [B, K, f] → [B].
at::Tensor median_pair_distance(const at::Tensor& features);

// D for each group. features: [B, K, f]; quality_input: [B, K] with ‖x̂_0‖² per member for
// `df` (MATH §3.1), undefined otherwise; bandwidth: h per group [B], the median of the
// features' pairwise squared distances when undefined. Returns [B], differentiable by autograd
// with h held constant.
at::Tensor diversity_value(const DiversitySpec& spec, const at::Tensor& features,
                           const at::Tensor& quality_input, const at::Tensor& bandwidth = {});

struct DiversityGradient {
  at::Tensor features;       // ∂D/∂y: [B, K, f]
  at::Tensor quality_input;  // ∂D/∂‖x̂_0‖²: [B, K] for `df`, undefined otherwise
};

// ∂D/∂y (and ∂D/∂‖x̂_0‖² for `df`) of diversity_value with h held constant; inputs are not
// modified, outputs have their dtype. Groups whose features coincide up to round-off (median
// pairwise squared distance below (10³ε)² times their mean squared norm, ε of the features'
// dtype) get a zero gradient. On the CPU in closed form, one group at a time in double
// precision, so a group's gradient does not depend on the batch it sits in; on other devices
// by diversity_gradient_by_autograd.
DiversityGradient diversity_gradient(const DiversitySpec& spec, const at::Tensor& features,
                                     const at::Tensor& quality_input);

// The same by batched autograd through diversity_value, on any device (the reference the
// closed forms are tested against).
DiversityGradient diversity_gradient_by_autograd(const DiversitySpec& spec,
                                                 const at::Tensor& features,
                                                 const at::Tensor& quality_input);

}  // namespace jointflow
