// The identities of MATH §1 and the mixture formulas of MATH §2 in float64, against autograd,
// finite differences and closed forms.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>

#include "core/error.h"
#include "data/gaussian_mixture.h"
#include "models/mixture_flow.h"
#include "models/rectified_flow.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

at::Tensor scalar_time(double t) { return at::scalar_tensor(t, kDouble); }

// Points spread around the mixture's modes at the scale of p_t.
at::Tensor probe_points(const GaussianMixture& mixture, double t, int64_t n) {
  at::manual_seed(7);
  const at::Tensor means = mixture.means.index({at::arange(n) % mixture.components()});
  return t * means + (1 - t + 0.3 * t) * at::randn({n, mixture.dim()}, kDouble);
}

class MixtureFlowIdentities : public ::testing::TestWithParam<std::string> {};

TEST_P(MixtureFlowIdentities, ScoreIsGradientOfLogDensity) {
  const MixtureFlow flow(named_mixture(GetParam()), at::kDouble, at::kCPU);
  for (double t : {0.0, 0.3, 0.7, 0.95}) {
    const at::Tensor x = probe_points(flow.mixture(), t, 40).requires_grad_(true);
    const at::Tensor log_p = flow.log_prob(x, scalar_time(t));
    const at::Tensor gradient = torch::autograd::grad({log_p.sum()}, {x})[0];
    const at::Tensor score = flow.score(x, scalar_time(t));
    EXPECT_LT(max_abs_diff(score, gradient) / (1 + score.abs().max().item<double>()), 1e-12)
        << "t = " << t;
  }
}

TEST_P(MixtureFlowIdentities, ScoreMatchesFiniteDifferencesOfLogDensity) {
  const MixtureFlow flow(named_mixture(GetParam()), at::kDouble, at::kCPU);
  const double t = 0.5;
  const at::Tensor x = probe_points(flow.mixture(), t, 10);
  const at::Tensor score = flow.score(x, scalar_time(t));
  const double h = 1e-5;
  for (int64_t j = 0; j < x.size(1); ++j) {
    at::Tensor step = at::zeros_like(x);
    step.select(1, j).fill_(h);
    const at::Tensor central =
        (flow.log_prob(x + step, scalar_time(t)) - flow.log_prob(x - step, scalar_time(t))) /
        (2 * h);
    EXPECT_LT(max_abs_diff(central, score.select(1, j)), 1e-8) << "dimension " << j;
  }
}

TEST_P(MixtureFlowIdentities, ScoreFromVelocityIsTheScore) {  // MATH §1, paper A Eq. 10
  const MixtureFlow flow(named_mixture(GetParam()), at::kDouble, at::kCPU);
  for (double t : {0.0, 0.2, 0.5, 0.9, 0.99}) {
    const at::Tensor x = probe_points(flow.mixture(), t, 50);
    const at::Tensor v = flow.velocity(x, scalar_time(t));
    const at::Tensor from_velocity = score_from_velocity(x, v, scalar_time(t));
    const at::Tensor score = flow.score(x, scalar_time(t));
    EXPECT_LT(max_abs_diff(from_velocity, score) / (1 + score.abs().max().item<double>()), 1e-10)
        << "t = " << t;
  }
}

TEST_P(MixtureFlowIdentities, EndpointFromVelocityIsThePosteriorMean) {  // MATH §1
  const MixtureFlow flow(named_mixture(GetParam()), at::kDouble, at::kCPU);
  for (double t : {0.0, 0.4, 0.8, 0.99}) {
    const at::Tensor x = probe_points(flow.mixture(), t, 50);
    const at::Tensor v = flow.velocity(x, scalar_time(t));
    EXPECT_LT(max_abs_diff(endpoint_from_velocity(x, v, scalar_time(t)),
                           flow.endpoint(x, scalar_time(t))),
              1e-10)
        << "t = " << t;
  }
}

// ∂_t log p_t = −∇·v − v·∇log p_t (continuity equation), with ∂_t by central differences and
// the divergence by autograd.
TEST_P(MixtureFlowIdentities, VelocitySatisfiesTheContinuityEquation) {
  const MixtureFlow flow(named_mixture(GetParam()), at::kDouble, at::kCPU);
  for (double t : {0.1, 0.5, 0.8}) {
    const at::Tensor x = probe_points(flow.mixture(), t, 20).requires_grad_(true);
    const at::Tensor v = flow.velocity(x, scalar_time(t));
    at::Tensor divergence = at::zeros({x.size(0)}, kDouble);
    for (int64_t j = 0; j < x.size(1); ++j)
      divergence += torch::autograd::grad({v.select(1, j).sum()}, {x}, {}, true)[0].select(1, j);
    const double h = 1e-6;
    const at::Tensor xd = x.detach();
    const at::Tensor dt_log_p =
        (flow.log_prob(xd, scalar_time(t + h)) - flow.log_prob(xd, scalar_time(t - h))) / (2 * h);
    const at::Tensor residual = dt_log_p + divergence + (v * flow.score(xd, scalar_time(t))).sum(1);
    EXPECT_LT(residual.abs().max().item<double>() / (1 + dt_log_p.abs().max().item<double>()), 1e-7)
        << "t = " << t;
  }
}

TEST_P(MixtureFlowIdentities, PerRowTimesMatchScalarTime) {
  const MixtureFlow flow(named_mixture(GetParam()), at::kDouble, at::kCPU);
  const at::Tensor x = probe_points(flow.mixture(), 0.6, 12);
  const at::Tensor rows = at::full({12}, 0.6, kDouble);
  EXPECT_LT(max_abs_diff(flow.velocity(x, rows), flow.velocity(x, scalar_time(0.6))), 1e-14);
  EXPECT_LT(max_abs_diff(flow.log_prob(x, rows), flow.log_prob(x, scalar_time(0.6))), 1e-12);
  // Distinct times per row equal row-by-row evaluation.
  const at::Tensor times = at::linspace(0.05, 0.95, 12, kDouble);
  const at::Tensor batched = flow.velocity(x, times);
  for (int64_t i = 0; i < 12; ++i) {
    const at::Tensor single = flow.velocity(x.narrow(0, i, 1), times[i]);
    EXPECT_LT(max_abs_diff(batched.narrow(0, i, 1), single), 1e-14);
  }
}

TEST_P(MixtureFlowIdentities, NoiseAtTimeZeroAndMixtureAtTimeOne) {
  const MixtureFlow flow(named_mixture(GetParam()), at::kDouble, at::kCPU);
  const int64_t d = flow.mixture().dim();
  const at::Tensor x = probe_points(flow.mixture(), 0.5, 30);
  const at::Tensor standard_normal = -0.5 * x.pow(2).sum(1) - 0.5 * d * std::log(2 * M_PI);
  EXPECT_LT(max_abs_diff(flow.log_prob(x, scalar_time(0.0)), standard_normal), 1e-12);
  // At t = 0 the velocity is E[x_1] − x_0 | x_0 = x: the mixture mean minus x.
  const at::Tensor mean = (flow.mixture().weights.unsqueeze(1) * flow.mixture().means).sum(0);
  EXPECT_LT(max_abs_diff(flow.velocity(x, scalar_time(0.0)), mean - x), 1e-12);
  const at::Tensor near_modes = probe_points(flow.mixture(), 1.0, 30);
  const at::Tensor exact = mixture_log_prob(flow.mixture(), near_modes);
  EXPECT_LT(max_abs_diff(flow.log_prob(near_modes, scalar_time(1.0)), exact) /
                (1 + exact.abs().max().item<double>()),
            1e-12);
}

TEST_P(MixtureFlowIdentities, Float32AgreesWithFloat64) {
  const GaussianMixture mixture = named_mixture(GetParam());
  const MixtureFlow flow64(mixture, at::kDouble, at::kCPU);
  const MixtureFlow flow32(mixture, at::kFloat, at::kCPU);
  const at::Tensor x = probe_points(mixture, 0.5, 30);
  const at::Tensor t = scalar_time(0.5);
  const at::Tensor v64 = flow64.velocity(x, t);
  const at::Tensor v32 = flow32.velocity(x.to(at::kFloat), t);
  EXPECT_EQ(v32.scalar_type(), at::kFloat);
  EXPECT_LT(max_abs_diff(v32.to(at::kDouble), v64) / (1 + v64.abs().max().item<double>()), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(NamedMixtures, MixtureFlowIdentities,
                         ::testing::Values("gmm8d", "gmm2d", "gmm2d3"));

TEST(MixtureFlow, VelocityMatchesOneComponentClosedForm) {
  // One 1-D component N(μ, S): v(x,t) = μ + (tS − (1−t))/(t²S + (1−t)²)·(x − tμ).
  GaussianMixture single{"single", at::ones({1}, kDouble), at::full({1, 1}, 1.5, kDouble),
                         at::full({1, 1}, 0.5, kDouble)};
  const MixtureFlow flow(single, at::kDouble, at::kCPU);
  const double t = 0.3, mu = 1.5, s = 0.25;
  const at::Tensor x = at::linspace(-2, 2, 9, kDouble).unsqueeze(1);
  const double c = t * t * s + (1 - t) * (1 - t);
  const at::Tensor expected = mu + (t * s - (1 - t)) / c * (x - t * mu);
  EXPECT_LT(max_abs_diff(flow.velocity(x, scalar_time(t)), expected), 1e-15);
}

TEST(MixtureFlow, RejectsInputOfTheWrongWidth) {
  const MixtureFlow flow(named_mixture("gmm2d"), at::kDouble, at::kCPU);
  EXPECT_THROW(flow.velocity(at::zeros({3, 5}, kDouble), scalar_time(0.5)), Error);
}

}  // namespace
}  // namespace jointflow
