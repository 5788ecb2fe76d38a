#include "sampling/diversity.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "sampling/diversity_common.h"

namespace jointflow {
namespace {

using detail::chebyshev_coefficients;
using detail::kDfQualityFloor;
using detail::kDppJitter;
using detail::kPairEpsilon;
using detail::machine_epsilon;

at::Tensor squared_distances(const at::Tensor& y) {
  return (y.unsqueeze(2) - y.unsqueeze(1)).pow(2).sum(-1);  // [B, K, K]
}

// The entries above the diagonal, row by row: [B, K, K] → [B, K(K − 1)/2].
at::Tensor upper_pairs(const at::Tensor& matrix) {
  const int64_t k = matrix.size(1);
  const at::Tensor upper = at::triu_indices(k, k, 1, matrix.options().dtype(at::kLong));
  return matrix.index({at::indexing::Slice(), upper[0], upper[1]});
}

at::Tensor identity_like(const at::Tensor& batch_of_matrices) {
  return at::eye(batch_of_matrices.size(-1), batch_of_matrices.options())
      .expand_as(batch_of_matrices);
}

// log det(L + εI) by Cholesky for each symmetric positive semi-definite L. The jitter is always
// added, not only when a factorization fails: a conditional jitter makes D jump, and the sampler
// then amplifies last-bit differences between runs (MATH §3 says "if needed"; this is the choice).
at::Tensor log_det_spd(const at::Tensor& matrices) {
  const at::Tensor factor = at::linalg_cholesky(matrices + kDppJitter * identity_like(matrices));
  return 2 * factor.diagonal(0, -2, -1).log().sum(-1);
}

// DiverseFlow's objective log det L_q − log det(L_q + I), L_q = L ⊙ q qᵀ (MATH §3.1).
at::Tensor diverse_flow_value(const at::Tensor& dist, const at::Tensor& radius_input,
                              double radius2) {
  const at::Tensor excess = radius_input - radius2;
  const at::Tensor quality =
      at::where(excess <= 0, at::ones_like(excess), at::exp(-excess).clamp_min(kDfQualityFloor));
  const at::Tensor kernel = at::exp(-dist) * quality.unsqueeze(2) * quality.unsqueeze(1);
  return log_det_spd(kernel) - log_det_spd(kernel + identity_like(kernel));
}

}  // namespace

at::Tensor chebyshev_log_det(const at::Tensor& kernel, int64_t degree) {
  const double a = kDppJitter, b = static_cast<double>(kernel.size(-1));
  const std::vector<double> coefficients = chebyshev_coefficients(degree, a, b);
  const at::Tensor eye = identity_like(kernel);
  const at::Tensor scaled = (2 * kernel - (a + b) * eye) / (b - a);
  at::Tensor previous = eye, current = scaled;
  at::Tensor total = coefficients[0] * static_cast<double>(kernel.size(-1)) +
                     coefficients[1] * scaled.diagonal(0, -2, -1).sum(-1);
  for (int64_t j = 2; j <= degree; ++j) {
    at::Tensor next = 2 * at::matmul(scaled, current) - previous;
    total = total + coefficients[j] * next.diagonal(0, -2, -1).sum(-1);
    previous = current;
    current = next;
  }
  return total;
}

double chi_squared_quantile(double probability, int64_t dof) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor half_dof = at::scalar_tensor(dof / 2.0, options);
  double low = 0, high = dof + 100.0 * std::sqrt(2.0 * dof) + 100;
  for (int iteration = 0; iteration < 200; ++iteration) {
    const double mid = (low + high) / 2;
    const double cdf = at::igamma(half_dof, at::scalar_tensor(mid / 2, options)).item<double>();
    (cdf < probability ? low : high) = mid;
  }
  return (low + high) / 2;
}

DiversitySpec make_diversity_spec(const SamplerOptions& options, int64_t dim) {
  DiversitySpec spec;
  spec.objective = options.objective;
  spec.chebyshev_degree = options.chebyshev_degree;
  spec.df_quality_radius2 = options.df_quality_radius2 > 0 ? options.df_quality_radius2
                                                           : chi_squared_quantile(0.995, dim);
  return spec;
}

at::Tensor median_pair_distance(const at::Tensor& features) {
  const at::Tensor pairs = upper_pairs(squared_distances(features.detach()));
  return at::quantile(pairs, 0.5, 1).clamp_min(1e-30);  // identical members: avoid 0/0
}

at::Tensor diversity_value(const DiversitySpec& spec, const at::Tensor& features,
                           const at::Tensor& quality_input, const at::Tensor& bandwidth) {
  JF_CHECK(features.dim() == 3 && features.size(1) >= 2,
           "diversity objectives need features of shape [groups, K >= 2, f], got ",
           features.sizes());
  // D̃_ij = ‖y_i − y_j‖² / h, h held constant (MATH §3).
  const at::Tensor h = bandwidth.defined() ? bandwidth : median_pair_distance(features);
  const at::Tensor dist = squared_distances(features) / h.view({-1, 1, 1});
  switch (spec.objective) {
    case Objective::dpp:
      return log_det_spd(at::exp(-dist));
    case Objective::hdpp:
      return log_det_spd(1 / (1 + dist));
    case Objective::pg:  // −Σ_{i≠j} exp(−D̃_ij); the diagonal contributes exp(0) = 1 each
      return -(at::exp(-dist).sum({1, 2}) - features.size(1));
    case Objective::chebyshev:
      return chebyshev_log_det(at::exp(-dist), spec.chebyshev_degree);
    case Objective::logbarrier:
      return at::log(upper_pairs(dist) + kPairEpsilon).sum(1);
    case Objective::reciprocal:
      return -(1 / (upper_pairs(dist) + kPairEpsilon)).sum(1);
    case Objective::df:
      JF_CHECK(quality_input.defined(), "the df objective needs ‖x̂_0‖² per member");
      return diverse_flow_value(dist, quality_input, spec.df_quality_radius2);
    case Objective::iid:
      break;
  }
  throw Error("internal: diversity_value called for the iid sampler");
}

DiversityGradient diversity_gradient_by_autograd(const DiversitySpec& spec,
                                                 const at::Tensor& features,
                                                 const at::Tensor& quality_input) {
  at::AutoGradMode enable_grad(true);
  const at::Tensor y = features.detach().requires_grad_(true);
  std::vector<at::Tensor> inputs{y};
  at::Tensor quality;
  if (spec.objective == Objective::df) {
    quality = quality_input.detach().requires_grad_(true);
    inputs.push_back(quality);
  }
  const at::Tensor bandwidth = median_pair_distance(y);
  const at::Tensor total = diversity_value(spec, y, quality, bandwidth).sum();
  const auto gradients = torch::autograd::grad({total}, inputs);
  // A group whose features coincide up to round-off has no diversity direction: its D̃ would be
  // round-off noise over round-off noise. At t = 0 every exact rectified-flow endpoint equals
  // E[x_1], so this is the first Euler step's case; the joint normalization would otherwise blow
  // that noise up to a full-size velocity (MATH §4: ‖G̃‖ = 0 gives no diversity velocity).
  const double resolution = 1e3 * machine_epsilon(features.scalar_type());
  const at::Tensor scale = y.detach().pow(2).sum(-1).mean(-1);
  const at::Tensor resolved = bandwidth.gt(resolution * resolution * scale).to(y.scalar_type());
  DiversityGradient result;
  result.features = gradients[0] * resolved.view({-1, 1, 1});
  if (quality.defined()) result.quality_input = gradients[1] * resolved.view({-1, 1});
  return result;
}

}  // namespace jointflow
