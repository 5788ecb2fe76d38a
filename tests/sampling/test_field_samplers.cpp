// Samplers and the likelihood of noise-conditional fields (paper B §3.5, MATH §8) on Gaussian
// data N(μ, s²I), whose field f(y, σ) = (μ − y)/(s² + σ²) makes every answer a closed form:
// Langevin's stationary law, the probability-flow ODE's map, the RF Euler sampler through the
// adapter, the reverse-VE sampler, and −log p in bits per dimension.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "distributed/counter_rng.h"
#include "models/noise_conditional_velocity.h"
#include "sampling/field_samplers.h"

namespace jointflow {
namespace {

const at::TensorOptions kDouble = at::TensorOptions().dtype(at::kDouble);
constexpr double kS2 = 0.5;  // data variance per dimension

at::Tensor data_mean() { return at::tensor({1.0, -2.0}, kDouble); }

class GaussianField final : public NoiseConditionalField {
 public:
  explicit GaussianField(at::Tensor mean = data_mean()) : mean_(std::move(mean)) {}
  at::Tensor field(const at::Tensor& y, const at::Tensor& sigma) const override {
    return (mean_ - y) / (kS2 + broadcast_sigma(sigma, y).pow(2));
  }
  std::vector<int64_t> sample_shape() const override { return {2}; }

 private:
  at::Tensor mean_;
};

double value(const at::Tensor& scalar) { return scalar.item<double>(); }

// Mean and per-dimension variance of samples [n, 2] against N(μ, variance·I).
void expect_gaussian(const at::Tensor& x, double variance, double tolerance) {
  const int64_t n = x.size(0);
  const double mean_tolerance = 4 * std::sqrt(variance / n);
  EXPECT_NEAR(value(x.select(1, 0).mean()), 1.0, mean_tolerance);
  EXPECT_NEAR(value(x.select(1, 1).mean()), -2.0, mean_tolerance);
  for (int64_t j = 0; j < 2; ++j)
    EXPECT_NEAR(value(x.select(1, j).var()), variance, tolerance * variance) << "dimension " << j;
}

TEST(FieldSamplers, LangevinReachesTheNoisedDataAtItsSigma) {
  const GaussianField field;
  FieldSamplerOptions options;
  options.kind(FieldSamplerKind::langevin).steps(2000).step_size(0.01).sigma(0.3);
  const at::Tensor x = sample_field(field, options, 1, 0, 4000, kDouble);
  // ULA on N(μ, v): stationary variance v / (1 − ε/(4v)), v = s² + σ².
  const double v = kS2 + 0.09;
  expect_gaussian(x, v / (1 - 0.01 / (4 * v)), 0.07);
}

TEST(FieldSamplers, SamplesDependOnlyOnTheirIds) {
  const GaussianField field;
  FieldSamplerOptions options;
  options.steps(50);
  const at::Tensor all = sample_field(field, options, 2, 0, 10, kDouble);
  const at::Tensor part = sample_field(field, options, 2, 3, 4, kDouble);
  EXPECT_TRUE(at::allclose(part, all.narrow(0, 3, 4), 1e-14, 1e-14));
}

TEST(FieldSamplers, ProbabilityFlowOdeIsTheExactGaussianMap) {
  const GaussianField field;
  FieldSamplerOptions options;
  options.kind(FieldSamplerKind::pf_ode).steps(200).sigma_max(80.0).sigma_min(0.002);
  const at::Tensor start = 80.0 * counter_normal({3, RandomStream::initial_noise}, 0, 500, 2);
  const at::Tensor x = probability_flow_sample(field, start, options);
  // dx/dσ = σ(x − μ)/(s² + σ²) gives x(0) = μ + (x(σ_max) − μ)·s/√(s² + σ_max²); Heun's error
  // falls as 1/N² (1.6e-2, 3.8e-3, 9.2e-4 at 50, 100, 200 steps).
  const at::Tensor exact = data_mean() + (start - data_mean()) * std::sqrt(kS2 / (kS2 + 6400.0));
  EXPECT_LT(value((x - exact).abs().max()), 2e-3);
  expect_gaussian(sample_field(field, options, 3, 0, 4000, kDouble), kS2, 0.07);
}

TEST(FieldSamplers, ReverseVeAndRfEulerReachTheData) {
  const GaussianField field;
  FieldSamplerOptions options;
  options.kind(FieldSamplerKind::reverse_ve).steps(500).sigma_max(50.0).sigma_min(0.01);
  expect_gaussian(sample_field(field, options, 4, 0, 4000, kDouble), kS2, 0.08);
  options.kind(FieldSamplerKind::rf_euler).steps(200).sigma_max(80.0);
  expect_gaussian(sample_field(field, options, 5, 0, 4000, kDouble), kS2, 0.08);
}

// The prior N(0, σ_max²I) stands for p_{σ_max} = N(μ, (s² + σ_max²)I); for μ ≠ 0 that costs
// O(|μ||x − μ|/(s σ_max)) nats (0.07 bits at σ_max = 80 with μ = (1, −2)), so the exact check uses
// centred data.
TEST(FieldSamplers, NllByTheProbabilityFlowOde) {
  const GaussianField field(at::zeros({2}, kDouble));
  FieldSamplerOptions options;
  // Heun's error in bits: 7e-2, 1.7e-2, 4e-3, 7e-4 at 50, 100, 200, 400 steps.
  options.steps(400).sigma_max(80.0).sigma_min(0.002);
  const at::Tensor x = counter_normal({6, RandomStream::exact_samples}, 0, 64, 2);
  // −log N(x; 0, (s² + σ_min²)I) / (2 ln 2).
  const double variance = kS2 + 0.002 * 0.002;
  const at::Tensor exact =
      (0.5 * x.pow(2).sum(1) / variance + std::log(2 * M_PI * variance)) / (2 * std::log(2.0));
  DivergenceOptions exact_divergence;
  const at::Tensor nll =
      nll_bits_per_dim(field, x, options, exact_divergence, {7, RandomStream::hutchinson}, 0);
  EXPECT_LT(value((nll - exact).abs().max()), 2e-3);
  // Hutchinson probes (exact here: the Jacobian is a multiple of I).
  DivergenceOptions hutchinson;
  hutchinson.exact_max_dim = 0;
  EXPECT_TRUE(at::allclose(
      nll_bits_per_dim(field, x, options, hutchinson, {7, RandomStream::hutchinson}, 0), nll, 1e-10,
      1e-10));
}

}  // namespace
}  // namespace jointflow
