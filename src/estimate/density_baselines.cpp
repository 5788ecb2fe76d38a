#include "estimate/density_baselines.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "estimate/neighbours.h"

namespace jointflow {
namespace {

void check_samples(const at::Tensor& x, int64_t minimum, const char* what) {
  JF_CHECK(x.dim() == 2 && x.size(0) >= minimum, what, ": samples must be [n, d] with n ≥ ",
           minimum, ", got ", x.sizes());
}

// log V_d, the volume of the unit d-ball: (d/2)·log π − log Γ(d/2 + 1).
double log_unit_ball_volume(int64_t d) {
  const double half = 0.5 * static_cast<double>(d);
  return half * std::log(M_PI) - std::lgamma(half + 1.0);
}

}  // namespace

// MATH §5.6 (kNN).
at::Tensor knn_log_density(const at::Tensor& x, int64_t k) {
  check_samples(x, 2, "knn_log_density");
  const int64_t n = x.size(0), d = x.size(1);
  if (k == 0) k = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  JF_CHECK(k >= 1 && k <= n - 1, "knn_log_density: k = ", k, " needs 1 ≤ k ≤ n − 1 = ", n - 1);
  const at::Tensor self = at::arange(n, at::TensorOptions().dtype(at::kLong));
  const at::Tensor r_k = nearest_neighbours(x, x, k, self).distances.select(1, k - 1);
  return std::log(static_cast<double>(k)) - std::log(static_cast<double>(n - 1)) -
         log_unit_ball_volume(d) - static_cast<double>(d) * r_k.log();
}

// MATH §5.6 (KDE, Silverman).
double silverman_bandwidth(const at::Tensor& x) {
  check_samples(x, 2, "silverman_bandwidth");
  const double n = static_cast<double>(x.size(0)), d = static_cast<double>(x.size(1));
  const double sigma = x.std(0).mean().item<double>();
  return sigma * std::pow(4.0 / ((d + 2.0) * n), 1.0 / (d + 4.0));
}

at::Tensor kde_log_density(const at::Tensor& x, double h) {
  check_samples(x, 2, "kde_log_density");
  if (h == 0.0) h = silverman_bandwidth(x);
  JF_CHECK(h > 0.0 && std::isfinite(h), "kde_log_density: bandwidth must be positive, got ", h);
  const int64_t n = x.size(0), d = x.size(1);
  const double log_normalizer = std::log(static_cast<double>(n - 1)) +
                                0.5 * static_cast<double>(d) * std::log(2.0 * M_PI * h * h);
  at::Tensor log_q = at::empty({n}, x.options());
  DistanceBlock block(x);
  for (int64_t start = 0; start < n; start += block.rows()) {
    const int64_t count = std::min(block.rows(), n - start);
    // Log-sum-exp in place in the block: exponent −‖x_i − x_j‖²/(2h²), −∞ for j = i.
    at::Tensor exponent = block.squared(x.narrow(0, start, count)).mul_(-0.5 / (h * h));
    const at::Tensor self = at::arange(count, x.options().dtype(at::kLong));
    exponent.view(-1).index_fill_(0, self * n + self + start,
                                  -std::numeric_limits<double>::infinity());
    const at::Tensor peak = std::get<0>(exponent.max(1, /*keepdim=*/true));
    log_q.narrow(0, start, count)
        .copy_(exponent.sub_(peak).exp_().sum(1).log_().add_(peak.squeeze(1)))
        .sub_(log_normalizer);
  }
  return log_q;
}

// MATH §5.6 (MGF): log N(x_i; μ̂, Σ̂) with Σ̂ = L Lᵀ.
at::Tensor gaussian_fit_log_density(const at::Tensor& x) {
  check_samples(x, 1, "gaussian_fit_log_density");
  const int64_t n = x.size(0), d = x.size(1);
  const at::Tensor centred = x - x.mean(0, /*keepdim=*/true);
  const at::Tensor covariance = centred.t().mm(centred) / static_cast<double>(n);
  const auto [cholesky, info] = at::linalg_cholesky_ex(covariance);
  JF_CHECK(info.item<int64_t>() == 0, "gaussian_fit_log_density: the sample covariance of ", n,
           " samples in ", d,
           " dimensions is singular; use more samples or drop constant "
           "dimensions");
  const at::Tensor z = at::linalg_solve_triangular(cholesky, centred.t(), /*upper=*/false);
  const double log_det_half = cholesky.diagonal().log().sum().item<double>();
  return -0.5 * z.pow(2).sum(0) - log_det_half - 0.5 * static_cast<double>(d) * std::log(2 * M_PI);
}

}  // namespace jointflow
