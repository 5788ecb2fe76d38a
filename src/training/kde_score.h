// The minibatch kernel density estimate of p_σ = p_data * N(0, σ²I) and its score (paper B
// Eq. 7, MATH §7.1 point 1): the Flux Matching and DSM targets.
#pragma once

#include <ATen/core/Tensor.h>

namespace jointflow {

// Posterior weights of the clean examples given a noisy point:
// w_ij = softmax_j(−‖z_i − x_j‖² / (2σ²)), own term included. z: [n, ...], data: [m, ...] with
// the same numbers per sample, same dtype and device. Returns [n, m], differentiable in z.
at::Tensor kde_weights(const at::Tensor& z, const at::Tensor& data, double sigma2);

// E[x | z] under the KDE: Σ_j w_ij x_j, shaped like z (the DSM target of MATH §7.1).
at::Tensor kde_posterior_mean(const at::Tensor& z, const at::Tensor& data, double sigma2);

// B-Eq. 7: ∇ log p̂_σ(z) = (E[x | z] − z) / σ², shaped like z, differentiable in z.
at::Tensor kde_score(const at::Tensor& z, const at::Tensor& data, double sigma2);

}  // namespace jointflow
