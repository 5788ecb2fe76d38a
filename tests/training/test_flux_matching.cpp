// Flux Matching's pieces against closed forms (MATH §7, §7.1): the minibatch KDE score, the
// exponential-integrator Langevin step, the cross-chain weights, the horizon sampler, the noise
// levels, the DSM baseline, and paper B Theorem 3.1 (∇J̃ = ∇ of the code's loss) on a 1-D
// Gaussian whose projected Fisher divergence is known in closed form.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <vector>

#include "distributed/counter_rng.h"
#include "training/dsm_loss.h"
#include "training/flux_matching_loss.h"
#include "training/flux_model.h"
#include "training/flux_noise.h"
#include "training/kde_score.h"

namespace jointflow {
namespace {

const at::TensorOptions kDouble = at::TensorOptions().dtype(at::kDouble);

double value(const at::Tensor& scalar) { return scalar.item<double>(); }

TEST(KdeScore, OnePointBatchIsTheGaussianScore) {
  const at::Tensor x = at::tensor({0.3, -1.2, 2.0}, kDouble).view({1, 3});
  const at::Tensor z = at::tensor({1.0, 0.5, -0.7, 0.0, 0.0, 0.0}, kDouble).view({2, 3});
  const double sigma2 = 0.37;
  // ŝ(z) = (x − z)/σ² (B-Eq. 7 with B = 1).
  EXPECT_TRUE(at::allclose(kde_score(z, x, sigma2), (x - z) / sigma2, 1e-14, 1e-14));
  // Differentiable in z: ∂ŝ/∂z = −I/σ².
  const at::Tensor input = z.clone().requires_grad_(true);
  const at::Tensor gradient =
      torch::autograd::grad({kde_score(input, x, sigma2).sum()}, {input})[0];
  EXPECT_TRUE(at::allclose(gradient, at::full_like(z, -1.0 / sigma2), 1e-12, 1e-12));
}

TEST(KdeScore, TwoPointsAreSoftmaxWeightedOwnTermIncluded) {
  const std::vector<double> x1{0.0, 1.0}, x2{2.0, -1.0}, z{0.5, 0.25};
  const double sigma2 = 0.8;
  auto squared = [](const std::vector<double>& a, const std::vector<double>& b) {
    return (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]);
  };
  const double k1 = std::exp(-squared(z, x1) / (2 * sigma2));
  const double k2 = std::exp(-squared(z, x2) / (2 * sigma2));
  const double w1 = k1 / (k1 + k2), w2 = k2 / (k1 + k2);
  const at::Tensor data = at::tensor({x1[0], x1[1], x2[0], x2[1]}, kDouble).view({2, 2});
  const at::Tensor point = at::tensor({z[0], z[1]}, kDouble).view({1, 2});
  const at::Tensor expected_mean =
      at::tensor({w1 * x1[0] + w2 * x2[0], w1 * x1[1] + w2 * x2[1]}, kDouble).view({1, 2});
  EXPECT_TRUE(at::allclose(kde_weights(point, data, sigma2),
                           at::tensor({w1, w2}, kDouble).view({1, 2}), 1e-14, 1e-14));
  EXPECT_TRUE(at::allclose(kde_posterior_mean(point, data, sigma2), expected_mean, 1e-14, 1e-14));
  EXPECT_TRUE(
      at::allclose(kde_score(point, data, sigma2), (expected_mean - point) / sigma2, 1e-13, 1e-13));
  // The data point itself is part of its own KDE: at z = x1 the weight of x1 dominates.
  EXPECT_GT(value(kde_weights(data.narrow(0, 0, 1), data, 0.1)[0][0]), 0.99);
}

TEST(LangevinStep, MatchesTheExponentialIntegratorFormula) {
  const at::Tensor z = at::tensor({0.4, -2.0, 1.5}, kDouble).view({1, 3});
  const at::Tensor score = at::tensor({1.0, 0.5, -3.0}, kDouble).view({1, 3});
  const at::Tensor noise = at::tensor({0.3, -0.1, 2.0}, kDouble).view({1, 3});
  const double sigma2 = 0.05, h = 0.7;
  // z + (1 − e^{−h})σ²ŝ + √(σ²(1 − e^{−2h}))ξ (MATH §7.1 point 1).
  const at::Tensor expected =
      z + (1 - std::exp(-h)) * sigma2 * score + std::sqrt(sigma2 * (1 - std::exp(-2 * h))) * noise;
  EXPECT_TRUE(at::allclose(langevin_step(z, score, sigma2, h, noise), expected, 1e-15, 1e-15));
}

TEST(LangevinStep, KeepsAGaussianOfVarianceSigma2Exactly) {
  // With ŝ(z) = −z/σ² the step is the exact OU transition: N(0, σ²) stays N(0, σ²).
  const int64_t n = 200000;
  const double sigma2 = 0.3;
  at::Tensor z = std::sqrt(sigma2) * counter_normal({1, RandomStream::exact_samples}, 0, n, 1);
  for (int64_t k = 0; k < kLangevinSteps; ++k)
    z = langevin_step(z, -z / sigma2, sigma2, 0.9,
                      counter_normal({1, RandomStream::langevin}, 0, n, 1, k));
  EXPECT_NEAR(value(z.mean()), 0.0, 4 * std::sqrt(sigma2 / n));
  EXPECT_NEAR(value(z.var()), sigma2, 4 * sigma2 * std::sqrt(2.0 / n));
}

TEST(CrossChainWeights, AreTheGaussianTransitionPosteriorsOverSources) {
  const int64_t b = 5;
  const at::Tensor x0 = counter_normal({2, RandomStream::exact_samples}, 0, b, 2);
  const at::Tensor score0 = counter_normal({2, RandomStream::exact_samples}, 10, b, 2);
  const at::Tensor x_t = counter_normal({2, RandomStream::exact_samples}, 20, b, 2);
  const double sigma2 = 0.4, tau = 0.6, rho = std::exp(-tau);
  const at::Tensor weights = cross_chain_weights(x0, score0, x_t, sigma2, tau);
  const double variance = sigma2 * (1 - rho * rho);
  const at::Tensor mu = x0 + (1 - rho) * sigma2 * score0;
  for (int64_t j = 0; j < b; ++j) {
    std::vector<double> logits;
    double top = -1e300;
    for (int64_t i = 0; i < b; ++i) {
      logits.push_back(-value((mu[i] - x_t[j]).pow(2).sum()) / (2 * variance));
      top = std::max(top, logits.back());
    }
    double total = 0;
    for (const double l : logits) total += std::exp(l - top);
    for (int64_t i = 0; i < b; ++i)
      EXPECT_NEAR(value(weights[i][j]), std::exp(logits[i] - top) / total, 1e-13)
          << "source " << i << ", chain " << j;
  }
}

TEST(HorizonSampler, InverseCdfAndDensityOfTheTruncatedExponential) {
  HorizonSampler sampler(16, 3);
  sampler->to(at::kDouble);
  const double sigma = 0.7;
  const double lambda = value(sampler->rate(sigma));
  EXPECT_GE(lambda, 1.0);
  const double mass = 1 - std::exp(-lambda * kHorizon);
  for (const double u : {0.01, 0.3, 0.5, 0.9, 0.999}) {
    const HorizonDraw draw = sampler->sample(sigma, u);
    EXPECT_GE(draw.tau, 0.0);
    EXPECT_LE(draw.tau, kHorizon);
    // CDF(τ) = (1 − e^{−λτ}) / (1 − e^{−4λ}) = u, q(τ) = λe^{−λτ} / (1 − e^{−4λ}) (B-Eq. 49).
    EXPECT_NEAR((1 - std::exp(-lambda * draw.tau)) / mass, u, 1e-12);
    EXPECT_NEAR(draw.density, lambda * std::exp(-lambda * draw.tau) / mass, 1e-12);
    EXPECT_NEAR(value(sampler->log_density(draw.tau, sigma)), std::log(draw.density), 1e-12);
  }
  // REINFORCE needs ln q to be differentiable in the sampler's parameters.
  EXPECT_TRUE(sampler->log_density(1.0, sigma).requires_grad());
}

TEST(NoiseLevels, EdmIsLogNormalVeIsLogUniformAndEachRankDrawsItsOwn) {
  NoiseLevelOptions edm;
  edm.schedule(NoiseSchedule::edm);
  NoiseLevelOptions ve;
  ve.schedule(NoiseSchedule::ve).sigma_min(0.01).sigma_max(10.0);
  const int64_t n = 4000;
  std::vector<double> log_edm, log_ve, horizons;
  for (int64_t step = 0; step < n; ++step) {
    log_edm.push_back(std::log(batch_draw(edm, 9, {step, 0}).sigma));
    const BatchDraw draw = batch_draw(ve, 9, {step, 0});
    log_ve.push_back(std::log(draw.sigma));
    horizons.push_back(draw.horizon_uniform);
  }
  const at::Tensor e = at::tensor(log_edm, kDouble), v = at::tensor(log_ve, kDouble);
  EXPECT_NEAR(value(e.mean()), -1.2, 4 * 1.2 / std::sqrt(n));
  EXPECT_NEAR(value(e.std()), 1.2, 0.05);
  EXPECT_GE(value(v.min()), std::log(0.01));
  EXPECT_LE(value(v.max()), std::log(10.0));
  EXPECT_NEAR(value(v.mean()), 0.5 * (std::log(0.01) + std::log(10.0)), 0.1);
  EXPECT_NEAR(value(at::tensor(horizons, kDouble).mean()), 0.5, 0.02);
  // The same step on another rank's block (another first example) gets another σ; the same
  // position always the same one.
  EXPECT_NE(batch_draw(edm, 9, {3, 0}).sigma, batch_draw(edm, 9, {3, 170}).sigma);
  EXPECT_EQ(batch_draw(edm, 9, {3, 170}).sigma, batch_draw(edm, 9, {3, 170}).sigma);
  EXPECT_EQ(batch_draw(NoiseLevelOptions().sigma(0.3), 9, {3, 0}).sigma, 0.3);
}

// f(y, σ) = the KDE score of a fixed batch: the exact target of DSM on that batch.
class KdeField final : public NoiseConditionalField {
 public:
  explicit KdeField(at::Tensor data) : data_(std::move(data)) {}
  at::Tensor field(const at::Tensor& y, const at::Tensor& sigma) const override {
    const double s = value(sigma);
    return kde_score(y, data_, s * s);
  }
  std::vector<int64_t> sample_shape() const override { return {data_.size(1)}; }

 private:
  at::Tensor data_;
};

TEST(DsmLoss, TheBatchKdeScoreHasZeroLossAndAScaledOneDoesNot) {
  const at::Tensor x = counter_normal({4, RandomStream::exact_samples}, 0, 64, 3);
  const double sigma = 0.6;
  const at::Tensor noisy = x + sigma * counter_normal({4, RandomStream::exact_samples}, 100, 64, 3);
  const KdeField exact(x);
  EXPECT_LT(value(dsm_per_sample(exact, x, noisy, sigma, 0.5).abs().max()), 1e-24);
  // A constant offset c in D gives λ(σ)·c² per sample, λ = (σ² + σ_d²)/(σσ_d)².
  class Offset final : public NoiseConditionalField {
   public:
    explicit Offset(const KdeField& base) : base_(base) {}
    at::Tensor field(const at::Tensor& y, const at::Tensor& sigma) const override {
      const double s = value(sigma);
      return base_.field(y, sigma) + 0.1 / (s * s);
    }
    std::vector<int64_t> sample_shape() const override { return {3}; }

   private:
    const KdeField& base_;
  } offset(exact);
  const double weight = (sigma * sigma + 0.25) / std::pow(sigma * 0.5, 2);
  EXPECT_TRUE(at::allclose(dsm_per_sample(offset, x, noisy, sigma, 0.5),
                           at::full({64}, weight * 0.01, kDouble), 1e-12, 1e-12));
}

// Paper B Theorem 3.1 on p = N(0, v) with f_θ(x) = −a·x + b, the score ŝ = −x/v exact, the chains
// exact OU transitions (σ² = v) and the Hutchinson divergence exact in 1-D. With α = 1/v − a,
// J̃ = E‖f − s‖² = α²v + b² (in 1-D the projection is the identity), i.e. α² + b²/v per unit of
// σ²-rescaled time; truncated at τ = 4 and with the code's factor 2 and ρ:
//   E[loss] = 2α²(1 − e^{−8}) + 2b²(1 − e^{−4})/v,
//   E[∇_a loss] = −2α(1 − e^{−8}) = ∂_a J̃_trunc,  E[∇_b loss] = 2b(1 − e^{−4})/v = ∂_b J̃_trunc:
// the stop-gradient halves the gradient of the loss's own value, as Lemma A.4 says. Here every
// chain's ∂x_t/∂x_0 is ρ exactly, so the cross-chain and the pathwise estimators of ĝ both hold it.
class TheoremThreeOne : public ::testing::TestWithParam<ChainSensitivity> {};

TEST_P(TheoremThreeOne, GradientIdentityOnAGaussian) {
  const double v = 1.3, a0 = 0.4, b0 = 0.3, alpha = 1 / v - a0;
  const at::Tensor a = at::full({}, a0, kDouble).requires_grad_(true);
  const at::Tensor b = at::full({}, b0, kDouble).requires_grad_(true);
  const FieldFunction field = [&](const at::Tensor& z) { return -a * z + b; };
  const ScoreFunction score = [&](const at::Tensor& z) { return -z / v; };
  const int64_t batch = 256, batches = 1500;
  std::vector<double> losses, grad_a, grad_b;
  for (int64_t k = 0; k < batches; ++k) {
    const at::Tensor x0 =
        std::sqrt(v) * counter_normal({5, RandomStream::exact_samples}, k * batch, batch, 1);
    ChainNoise noise;
    noise.chain = counter_normal({5, RandomStream::flux}, k * batch, batch, kLangevinSteps)
                      .t()
                      .contiguous()
                      .view({kLangevinSteps, batch, 1});
    noise.probe = counter_rademacher({5, RandomStream::hutchinson}, k * batch, batch, 1);
    HorizonDraw horizon;
    horizon.tau = kHorizon * value(counter_uniform({5, RandomStream::flux}, 1 << 30, 1, 1, k));
    const at::Tensor loss = flux_matching_per_sample(field, score, x0, v, horizon, noise,
                                                     DivergenceMode::hutchinson, GetParam())
                                .mean();
    const auto gradients = torch::autograd::grad({loss}, {a, b});
    losses.push_back(value(loss));
    grad_a.push_back(value(gradients[0]));
    grad_b.push_back(value(gradients[1]));
  }
  auto check = [&](const std::vector<double>& samples, double expected, const char* what) {
    const at::Tensor t = at::tensor(samples, kDouble);
    const double mean = value(t.mean()), stderr_ = value(t.std()) / std::sqrt(batches);
    EXPECT_NEAR(mean, expected, 4 * stderr_ + 0.02 * std::abs(expected))
        << what << ": Monte Carlo standard error " << stderr_;
  };
  check(losses, 2 * alpha * alpha * (1 - std::exp(-8.0)) + 2 * b0 * b0 * (1 - std::exp(-4.0)) / v,
        "loss");
  check(grad_a, -2 * alpha * (1 - std::exp(-8.0)), "∂loss/∂a");
  check(grad_b, 2 * b0 * (1 - std::exp(-4.0)) / v, "∂loss/∂b");
}

INSTANTIATE_TEST_SUITE_P(FluxMatching, TheoremThreeOne,
                         ::testing::Values(ChainSensitivity::cross_chain,
                                           ChainSensitivity::pathwise),
                         [](const ::testing::TestParamInfo<ChainSensitivity>& info) {
                           return choice_name(info.param, chain_sensitivity_choices());
                         });

// The pathwise ĝ_i = (∂x_t^i/∂x0_i)ᵀ∇r(x_t^i)/q(τ) against central differences of x0 ↦ r(x_t(x0))
// along the same chain noise, with a KDE score and a nonlinear, non-conservative field (float64).
TEST(FluxMatching, PathwiseSensitivityIsTheDerivativeOfRAlongEachChain) {
  const int64_t b = 6;
  const at::Tensor clean = counter_normal({7, RandomStream::exact_samples}, 0, 40, 2);
  const at::Tensor x0 =
      clean.narrow(0, 0, b) + 0.3 * counter_normal({7, RandomStream::flux}, 0, b, 2);
  const double sigma2 = 0.09;
  const at::Tensor w = at::tensor({0.7, -0.4, 0.9, 0.2}, kDouble).view({2, 2});
  const FieldFunction field = [&](const at::Tensor& z) { return at::tanh(at::matmul(z, w)) - z; };
  const ScoreFunction score = [&](const at::Tensor& z) { return kde_score(z, clean, sigma2); };
  ChainNoise noise;
  noise.chain = counter_normal({7, RandomStream::flux}, 100, b, 2 * kLangevinSteps)
                    .view({b, kLangevinSteps, 2})
                    .transpose(0, 1)
                    .contiguous();
  HorizonDraw horizon;
  horizon.tau = 2.6;
  horizon.density = 0.3;
  auto r_at_end = [&](const at::Tensor& start) {
    at::Tensor z = start;
    for (int64_t k = 0; k < kLangevinSteps; ++k)
      z = langevin_step(z, score(z), sigma2, horizon.tau / kLangevinSteps, noise.chain[k]);
    z = z.detach().requires_grad_(true);
    return langevin_stein(field, score, z, noise.probe, DivergenceMode::exact).detach();
  };
  const double step = 1e-6;
  std::vector<at::Tensor> columns;
  for (int64_t c = 0; c < 2; ++c) {
    const at::Tensor shift = at::zeros_like(x0);
    shift.select(1, c).fill_(step);
    columns.push_back((r_at_end(x0 + shift) - r_at_end(x0 - shift)) / (2 * step));
  }
  const at::Tensor g_hat = at::stack(columns, 1) / horizon.density;
  const at::Tensor u0 = field(x0) - score(x0);
  const at::Tensor expected = -2 * (u0 * g_hat).sum(1);
  const at::Tensor loss = flux_matching_per_sample(
      field, score, x0, sigma2, horizon, noise, DivergenceMode::exact, ChainSensitivity::pathwise);
  EXPECT_TRUE(at::allclose(loss, expected, 1e-6, 1e-8)) << loss << expected;
  // The cross-chain estimator is another quantity (ρI and the other chains' ends).
  const at::Tensor cross =
      flux_matching_per_sample(field, score, x0, sigma2, horizon, noise, DivergenceMode::exact);
  EXPECT_FALSE(at::allclose(cross, expected, 1e-3, 1e-3));
}

}  // namespace
}  // namespace jointflow
