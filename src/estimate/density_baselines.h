// Baseline estimates of the marginal density q_1 from the pooled samples (MATH §5.6, paper A
// App. G): kNN, leave-one-out Gaussian KDE with Silverman's bandwidth, and the ML Gaussian fit.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace jointflow {

// Leave-one-out kNN density: log q̂(x_i) = log k − log(n − 1) − log V_d − d·log r_k(x_i), r_k the
// distance to the k-th nearest other sample, V_d = π^{d/2}/Γ(d/2 + 1).
// x: [n, d] float64 CPU → [n]. k = 0 picks ⌈√n⌉; needs 1 ≤ k ≤ n − 1. More than k copies of a
// point give r_k = 0 and log q̂ = +∞ there.
at::Tensor knn_log_density(const at::Tensor& x, int64_t k = 0);

// Silverman's rule h = σ̂·(4/((d + 2)·n))^{1/(d+4)}, σ̂ the mean over dimensions of the sample
// standard deviations (n − 1 denominator). x: [n, d] float64, n ≥ 2.
double silverman_bandwidth(const at::Tensor& x);

// Leave-one-out Gaussian KDE with bandwidth h (Silverman's when h = 0):
// log q̂(x_i) = log[(1/(n − 1)) Σ_{j≠i} N(x_i; x_j, h² I)], by log-sum-exp in row chunks.
// x: [n, d] float64 CPU → [n].
at::Tensor kde_log_density(const at::Tensor& x, double h = 0.0);

// Maximum-likelihood Gaussian (sample mean, covariance with 1/n) of all samples, evaluated at
// every sample (MGF, no leave-one-out). x: [n, d] float64 CPU → [n]. Throws an Error when the
// covariance is singular.
at::Tensor gaussian_fit_log_density(const at::Tensor& x);

}  // namespace jointflow
