// The exact rectified flow of a diagonal Gaussian mixture (MATH §2): the "pre-trained model"
// of the experiments and the reference for every identity test.
#pragma once

#include <vector>

#include "data/gaussian_mixture.h"
#include "models/velocity_field.h"

namespace jointflow {

class MixtureFlow final : public VelocityField {
 public:
  // The mixture is converted to `dtype` and `device` once.
  MixtureFlow(const GaussianMixture& mixture, at::ScalarType dtype, at::Device device);

  // MATH §2: v = Σ_k γ_k [μ_k + ((t S_k − (1−t)) / C_k) ⊙ (x − t μ_k)], C_k = t² S_k + (1−t)².
  // With one time for all rows, a CPU float/double x and no autograd graph to record, one fused
  // pass per row; otherwise differentiable tensor ops.
  at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const override;
  std::vector<int64_t> sample_shape() const override { return {mixture_.dim()}; }

  // s = ∇ log p_t(x) = Σ_k γ_k [−(x − t μ_k) / C_k]; x [n, d] → [n, d].
  at::Tensor score(const at::Tensor& x, const at::Tensor& t) const;
  // log p_t(x); x [n, d] → [n].
  at::Tensor log_prob(const at::Tensor& x, const at::Tensor& t) const;
  // E[x_1 | x_t = x] = Σ_k γ_k [μ_k + t S_k / C_k ⊙ (x − t μ_k)]; x [n, d] → [n, d].
  at::Tensor endpoint(const at::Tensor& x, const at::Tensor& t) const;

  const GaussianMixture& mixture() const { return mixture_; }

 private:
  struct Terms;
  // Per-component log densities and the broadcast shapes every formula above shares.
  Terms terms(const at::Tensor& x, const at::Tensor& t) const;
  // The fused velocity: x [n, d] contiguous on the CPU, one time t → [n, d].
  at::Tensor velocity_rows(const at::Tensor& x, double t) const;

  GaussianMixture mixture_;  // on the field's dtype and device
  at::Tensor variances_;     // S_k: [C, d]
  at::Tensor log_weights_;   // log π_k: [C]
  // The same parameters as host doubles for velocity_rows: μ and S row-major [C·d], log π [C].
  std::vector<double> host_means_, host_variances_, host_log_weights_;
};

}  // namespace jointflow
