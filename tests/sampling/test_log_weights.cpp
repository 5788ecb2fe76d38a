// The log-weight identity of MATH §5.3: with a residual known in closed form (q_1 another
// Gaussian mixture, r = u − v exactly), the integrated log-weight equals log p_1 − log q_1 along
// paths driven by v, by u and by the coupled velocity; and Hutchinson's divergence agrees with
// the exact one in expectation (MATH §5.5).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <utility>

#include "distributed/local_communicator.h"
#include "models/divergence.h"
#include "models/mixture_flow.h"
#include "sampling/joint_sampler.h"
#include "sampling/log_weights.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

// r = u − v for two exact mixture flows.
class DifferenceField final : public VelocityField {
 public:
  DifferenceField(const VelocityField& u, const VelocityField& v) : u_(u), v_(v) {}
  at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const override {
    return u_.velocity(x, t) - v_.velocity(x, t);
  }
  std::vector<int64_t> sample_shape() const override { return v_.sample_shape(); }

 private:
  const VelocityField& u_;
  const VelocityField& v_;
};

// q: the means of gmm2d with uniform weights and 1.5× the variances (MATH §5.3's check).
GaussianMixture other_mixture() {
  GaussianMixture q = named_mixture("gmm2d");
  q.weights = at::full({10}, 0.1, kDouble);
  q.stds = q.stds * std::sqrt(1.5);
  return q;
}

struct Flows {
  GaussianMixture p_mixture = named_mixture("gmm2d");
  GaussianMixture q_mixture = other_mixture();
  MixtureFlow v{p_mixture, at::kDouble, at::kCPU};
  MixtureFlow u{q_mixture, at::kDouble, at::kCPU};
  DifferenceField r{u, v};
  at::Tensor exact_log_w(const at::Tensor& x1) const {
    return mixture_log_prob(p_mixture, x1) - mixture_log_prob(q_mixture, x1);
  }
};

const DivergenceOptions kExact{};

// Largest |log w − (log p_1 − log q_1)| over paths from x0 driven by ẋ = `driver`(x, t), with
// the rate accumulated by TrajectoryLogWeights on an N-step Euler grid.
double max_path_error(const Flows& flows, const VelocityField& driver, at::Tensor x,
                      Quadrature quadrature, int64_t steps) {
  TrajectoryLogWeights weights(flows.v, flows.r, quadrature, kExact, {1, RandomStream::hutchinson},
                               0);
  const double dt = 1.0 / static_cast<double>(steps);
  for (int64_t k = 0; k < steps; ++k) {
    const double t = static_cast<double>(k) * dt;
    at::Tensor v, xdot;
    {
      at::NoGradGuard no_grad;
      v = flows.v.velocity(x, at::scalar_tensor(t, kDouble));
      xdot = driver.velocity(x, at::scalar_tensor(t, kDouble));
    }
    // The left rule takes the base velocity from the sampler: here, v at x.
    weights.observe(x, t, dt, v, xdot);
    x = x + dt * xdot;
  }
  return (weights.log_w() - flows.exact_log_w(x)).abs().max().item<double>();
}

TEST(LogWeights, AlongPathsDrivenByVAndByU) {
  // Midpoint rule: 1e-3 on 200 steps (the left rule needs about 10⁴, MATH §5.3).
  const Flows flows;
  at::manual_seed(3);
  const at::Tensor x0 = at::randn({200, 2}, kDouble);
  EXPECT_LT(max_path_error(flows, flows.v, x0, Quadrature::midpoint, 200), 1e-3) << "driven by v";
  EXPECT_LT(max_path_error(flows, flows.u, x0, Quadrature::midpoint, 200), 1e-3) << "driven by u";
}

TEST(LogWeights, LeftRuleIsFirstOrderAndMidpointRuleSecondOrder) {
  // Doubling N halves the left rule's error and quarters the midpoint rule's.
  const Flows flows;
  at::manual_seed(4);
  const at::Tensor x0 = at::randn({200, 2}, kDouble);
  const double left_ratio = max_path_error(flows, flows.u, x0, Quadrature::left, 200) /
                            max_path_error(flows, flows.u, x0, Quadrature::left, 400);
  const double midpoint_ratio = max_path_error(flows, flows.u, x0, Quadrature::midpoint, 200) /
                                max_path_error(flows, flows.u, x0, Quadrature::midpoint, 400);
  EXPECT_NEAR(left_ratio, 2.0, 0.3);
  EXPECT_NEAR(midpoint_ratio, 4.0, 0.6);
}

TEST(LogWeights, AlongCoupledSamplerPaths) {
  // The sampler's own observer on DPP + soft SR paths (ẋ = v + v_div): the identity holds for
  // any path, so the accumulated weight is still log p_1 − log q_1 at the final state.
  const Flows flows;
  SamplerOptions options;
  options.objective = Objective::dpp;
  options.sr = ScoreRegularization::soft;
  options.group_size = 5;
  options.groups = 40;
  options.steps = 200;
  LocalCommunicator comm;
  const JointSampler sampler(flows.v, options, comm, at::kDouble, at::kCPU);
  const GroupLayout layout = make_group_layout(0, options.groups, options.group_size, 1, 0);
  TrajectoryLogWeights weights(flows.v, flows.r, Quadrature::midpoint, kExact,
                               {1, RandomStream::hutchinson}, 0);
  const SampledBlock block = sampler.sample(layout, {1, RandomStream::initial_noise}, &weights);
  EXPECT_LT((weights.log_w() - flows.exact_log_w(block.x1)).abs().max().item<double>(), 1e-3);
}

struct SetMean {
  double mean, se;
};

// Mean over sets of the per-set value [G] with its standard error sqrt(s²/G).
SetMean over_sets(const at::Tensor& per_set) {
  return {per_set.mean().item<double>(), (per_set.var() / per_set.size(0)).sqrt().item<double>()};
}

// The λ = 0 joint sampler (hdpp + soft SR, K = 10) driven by `driver`, with trajectory weights
// for p = gmm2d against q (r = u − v): the per-set mean weights [G] and unbiased estimates of
// E_p[x] [G, 2].
void weighted_sets(const Flows& flows, const VelocityField& driver, at::Tensor& mean_w,
                   at::Tensor& estimate) {
  SamplerOptions options;
  options.objective = Objective::hdpp;
  options.sr = ScoreRegularization::soft;
  options.lambda = 0.0;
  options.group_size = 10;
  options.groups = 1000;
  options.steps = 100;  // the grid of the jobs
  LocalCommunicator comm;
  const JointSampler sampler(driver, options, comm, at::kDouble, at::kCPU);
  const GroupLayout layout = make_group_layout(0, options.groups, options.group_size, 1, 0);
  // The midpoint rule evaluates v itself, so the sampler may be driven by u.
  TrajectoryLogWeights weights(flows.v, flows.r, Quadrature::midpoint, kExact,
                               {4, RandomStream::hutchinson}, 0);
  const SampledBlock block = sampler.sample(layout, {4, RandomStream::initial_noise}, &weights);
  const at::Tensor w = weights.log_w().exp().view({options.groups, options.group_size});
  mean_w = w.mean(1);
  estimate = (w.unsqueeze(2) * block.x1.view({options.groups, options.group_size, 2})).mean(1);
}

TEST(LogWeights, CalibratedWhenTheSamplesComeFromTheWeightsProposal) {
  // MATH §5.1: E_q[p/q · f] = E_p[f] needs samples from q, the density the weights divide by.
  // Driven by u (samples from q_1, r ≠ 0), the mean weight is 1 and E_p[x] = Σ π_k μ_k is
  // recovered, each within 3 standard errors over 1 000 sets.
  const Flows flows;
  at::Tensor mean_w, estimate;
  weighted_sets(flows, flows.u, mean_w, estimate);
  const SetMean weight = over_sets(mean_w);
  EXPECT_LT(std::abs(weight.mean - 1.0), 3 * weight.se) << weight.mean << " ± " << weight.se;
  const at::Tensor exact_mean = at::matmul(flows.p_mixture.weights, flows.p_mixture.means);
  for (int64_t c = 0; c < 2; ++c) {
    const SetMean component = over_sets(estimate.select(1, c));
    EXPECT_LT(std::abs(component.mean - exact_mean[c].item<double>()), 3 * component.se)
        << "E_p[x_" << c << "]: " << component.mean << " ± " << component.se << ", exact "
        << exact_mean[c].item<double>();
  }
  // The same weights on samples from p (driven by v, what a λ = 0 run with a learned residual
  // does) average E_p[p/q] = 1 + χ²(p‖q) > 1: the check above can fail.
  weighted_sets(flows, flows.v, mean_w, estimate);
  const SetMean mismatched = over_sets(mean_w);
  EXPECT_GT(mismatched.mean - 1.0, 10 * mismatched.se) << mismatched.mean << " ± " << mismatched.se;
}

TEST(LogWeights, FixedPositionMatchesTheClosedFormRatio) {
  // MATH §5.4 at fixed x: ∫ ∂_t log ρ_t(x) dt = log p_1(x) − log q_1(x) (ρ_0 = 1).
  const Flows flows;
  const at::Tensor x = named_mixture("gmm2d").means + 0.1;
  for (const auto& [quadrature, steps] : {std::pair{Quadrature::midpoint, int64_t{100}},
                                          std::pair{Quadrature::left, int64_t{4000}}}) {
    const at::Tensor log_w = fixed_position_log_weights(flows.v, flows.r, x, steps, quadrature,
                                                        kExact, {2, RandomStream::hutchinson}, 0);
    EXPECT_LT((log_w - flows.exact_log_w(x)).abs().max().item<double>(), 1e-3) << steps << " steps";
  }
}

TEST(Divergence, ExactEqualsTheTraceOfALinearField) {
  at::manual_seed(5);
  const at::Tensor a = at::randn({3, 3}, kDouble);
  at::AutoGradMode enable_grad(true);
  const at::Tensor x = at::randn({4, 3}, kDouble).requires_grad_(true);
  const at::Tensor div = divergence(at::matmul(x, a.t()), x, kExact, {});
  EXPECT_LT((div - a.trace()).abs().max().item<double>(), 1e-14);
}

TEST(Divergence, HutchinsonAgreesWithExactInExpectation) {
  const Flows flows;
  at::AutoGradMode enable_grad(true);
  const at::Tensor x = (named_mixture("gmm2d").means * 0.5).requires_grad_(true);
  const at::Tensor t = at::scalar_tensor(0.6, kDouble);
  const at::Tensor r = flows.r.velocity(x, t);
  const at::Tensor exact = divergence(r, x, kExact, {});
  DivergenceOptions hutchinson;
  hutchinson.exact_max_dim = 0;
  hutchinson.probes = 4000;
  const at::Tensor estimate = divergence(r, x, hutchinson, {{9, RandomStream::hutchinson}, 0, 0});
  // Per-probe variance of εᵀJε for Rademacher ε is 2 Σ_{i≠j} J_ij² (symmetrized); bound it by
  // the Jacobian's Frobenius norm: 5 standard errors.
  at::Tensor jacobian_norm2 = at::zeros({x.size(0)}, kDouble);
  for (int64_t j = 0; j < 2; ++j) {
    const at::Tensor row = torch::autograd::grad({r.select(1, j).sum()}, {x}, {}, true)[0];
    jacobian_norm2 += row.pow(2).sum(1);
  }
  const at::Tensor tolerance = 5 * (2 * jacobian_norm2 / hutchinson.probes).sqrt() + 1e-12;
  EXPECT_TRUE(((estimate - exact).abs() < tolerance).all().item<bool>())
      << "exact " << exact << " estimate " << estimate;
  // Probes depend on the global id only: a sub-block of rows reproduces its estimates.
  const at::Tensor rows = x.detach().narrow(0, 3, 4).requires_grad_(true);
  const at::Tensor part = divergence(flows.r.velocity(rows, t), rows, hutchinson,
                                     {{9, RandomStream::hutchinson}, 3, 0});
  EXPECT_LT((part - estimate.narrow(0, 3, 4)).abs().max().item<double>(), 1e-12);
}

}  // namespace
}  // namespace jointflow
