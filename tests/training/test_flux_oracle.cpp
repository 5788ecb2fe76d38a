// The controllable-fields oracle of paper B App. B.1 (MATH §7): on the 3-mode 2-D mixture of
// B-Eq. 15 with its analytic score in place of the KDE and the exact divergence, the Flux
// Matching loss is zero for the distribution-preserving rotation f = s + θ·J s and positive,
// growing with |θ|, for the distribution-changing scaling f = (1 + θ)·s; and on a thin ring, the
// loss of an angular harmonic grows as the square of its order.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "distributed/counter_rng.h"
#include "training/flux_matching_loss.h"
#include "training/kde_score.h"

namespace jointflow {
namespace {

const at::TensorOptions kDouble = at::TensorOptions().dtype(at::kDouble);

// B-Eq. 15: equal weights, means 2.3·(cos, sin) of 90°, 210°, 330°, ν² = 0.65² + 0.45² = 0.625;
// the Langevin chains run at σ² = 0.45² (the reference experiment's σ).
constexpr double kNu2 = 0.625;
constexpr double kSigma2 = 0.2025;

at::Tensor means() {
  const double pi = std::acos(-1.0);
  std::vector<double> values;
  for (const double degrees : {90.0, 210.0, 330.0}) {
    values.push_back(2.3 * std::cos(degrees * pi / 180));
    values.push_back(2.3 * std::sin(degrees * pi / 180));
  }
  return at::tensor(values, kDouble).view({3, 2});
}

// s(x) = (m(x) − x)/ν² (B-Eq. 16): the KDE score of the three means at bandwidth ν².
at::Tensor mixture_score(const at::Tensor& x) { return kde_score(x, means(), kNu2); }

// J s with J = [[0, −1], [1, 0]].
at::Tensor rotate(const at::Tensor& s) { return at::stack({-s.select(1, 1), s.select(1, 0)}, 1); }

// Exact draws of p_σ for global ids [first, first + n).
at::Tensor mixture_draws(int64_t first, int64_t n) {
  const at::Tensor u = counter_uniform({21, RandomStream::exact_samples}, first, n, 1, 0);
  const at::Tensor component = at::clamp_max((3 * u).floor().to(at::kLong).view(-1), 2);
  return means().index_select(0, component) +
         std::sqrt(kNu2) * counter_normal({21, RandomStream::exact_samples}, first, n, 2, 1);
}

struct LossEstimate {
  double mean = 0.0;
  double standard_error = 0.0;
};

// Draws of p for global ids [first, first + n): [n, 2].
using Draws = std::function<at::Tensor(int64_t first, int64_t n)>;

// The loss averaged over `batches` minibatches of `batch` draws with a uniform horizon, chains at
// σ² driven by `score`, the exact divergence; the same draws (common random numbers) for every
// field.
LossEstimate minibatch_loss(const FieldFunction& field, const ScoreFunction& score,
                            const Draws& draws, double sigma2, uint64_t seed, int64_t batch,
                            int64_t batches,
                            ChainSensitivity sensitivity = ChainSensitivity::cross_chain) {
  std::vector<double> means_per_batch;
  for (int64_t k = 0; k < batches; ++k) {
    ChainNoise noise;
    noise.chain = counter_normal({seed, RandomStream::flux}, k * batch, batch, 2 * kLangevinSteps)
                      .view({batch, kLangevinSteps, 2})
                      .transpose(0, 1)
                      .contiguous();
    HorizonDraw horizon;
    horizon.tau =
        kHorizon * counter_uniform({seed, RandomStream::flux}, 1 << 30, 1, 1, k).item<double>();
    means_per_batch.push_back(flux_matching_per_sample(field, score, draws(k * batch, batch),
                                                       sigma2, horizon, noise,
                                                       DivergenceMode::exact, sensitivity)
                                  .mean()
                                  .item<double>());
  }
  const at::Tensor t = at::tensor(means_per_batch, kDouble);
  return {t.mean().item<double>(), t.std().item<double>() / std::sqrt(double(batches))};
}

// The appendix's estimate: B = 256 draws per minibatch, averaged over 64 minibatches.
LossEstimate oracle_loss(const FieldFunction& field) {
  return minibatch_loss(field, mixture_score, mixture_draws, kSigma2, 21, 256, 64);
}

TEST(FluxOracle, DistributionPreservingRotationHasZeroLoss) {
  const LossEstimate scaled = oracle_loss([](const at::Tensor& x) { return 2 * mixture_score(x); });
  ASSERT_GT(scaled.mean, 4 * scaled.standard_error) << "the scaled field must be penalized";
  for (const double theta : {-2.5, 1.0, 2.5}) {
    const LossEstimate rotated = oracle_loss([theta](const at::Tensor& x) {
      const at::Tensor s = mixture_score(x);
      return s + theta * rotate(s);
    });
    // r ≡ 0 for f = s + θ J s: ∇·(J s) = 0 and J s · s = 0, so the loss vanishes to rounding,
    // far inside the Monte Carlo noise of a field that changes the distribution.
    EXPECT_LT(std::abs(rotated.mean), 1e-9 * scaled.mean) << "θ = " << theta;
    EXPECT_LT(std::abs(rotated.mean), scaled.standard_error) << "θ = " << theta;
  }
}

TEST(FluxOracle, ScalingTheScoreGivesALossGrowingWithTheta) {
  std::vector<double> losses;
  const std::vector<double> thetas{0.25, 0.5, 1.0, 2.0};
  for (const double theta : thetas) {
    const LossEstimate estimate =
        oracle_loss([theta](const at::Tensor& x) { return (1 + theta) * mixture_score(x); });
    EXPECT_GT(estimate.mean, 4 * estimate.standard_error) << "θ = " << theta;
    losses.push_back(estimate.mean);
  }
  for (size_t i = 0; i + 1 < losses.size(); ++i) EXPECT_GT(losses[i + 1], losses[i]);
  // u = θ·s makes the per-draw loss exactly θ² times that of θ = 1 (same draws): quadratic growth.
  for (size_t i = 0; i < thetas.size(); ++i)
    EXPECT_NEAR(losses[i] / losses[2], thetas[i] * thetas[i], 1e-9);
  // Negative θ (shrinking the score) is penalized the same way.
  const LossEstimate shrunk =
      oracle_loss([](const at::Tensor& x) { return 0.5 * mixture_score(x); });
  EXPECT_NEAR(shrunk.mean / losses[2], 0.25, 1e-9);
}

// A thin ring p ∝ exp(−(r − R)²/(2w²))/r (radius exactly N(R, w²), angle uniform) with its
// analytic score s = (−(r − R)/w² − 1/r)·x/r, and f = s + t_k, t_k = cos(kθ)·e_θ the angular
// harmonic k. As s is radial, r_θ = ∇·t_k = −(k/r)·sin(kθ): E[r_θ²] = (k²/2)·E[1/r²] grows as k²,
// while the projected Fisher divergence of t_k (and the Fisher divergence DSM charges) is
// E|t_k|² = 1/2 for every k. The modes relax at rate a_k = σ²k²/R² per unit of σ²-rescaled time,
// slowly against the horizon (4a_k = 0.03k²), so the truncated loss sees them through E[r_θ²] and
// grows as k²: the first harmonic — a dipole in the samples' angular density — is the least
// penalized. Along the ring the chains' sensitivity ∂x_t/∂x_0 stays 1, so the pathwise loss is
// 2·∫₀⁴ E[r_θ(x_0) r_θ(x_τ)] dτ = 8·E[r_θ²]·(1 − e^{−4a_k})/(4a_k); the cross-chain estimator's ρI
// weighs τ by e^{−τ} instead, which holds the dipole more weakly and through noisier minibatches.
TEST(FluxOracle, RingHarmonicsArePenalizedAsTheSquareOfTheirOrder) {
  constexpr double kRadius = 2.5, kWidth = 0.3, kRingSigma2 = 0.05;
  const ScoreFunction score = [](const at::Tensor& x) {
    const at::Tensor r = x.norm(2, 1, true);
    return (-(r - kRadius) / (kWidth * kWidth) - 1 / r) * x / r;
  };
  const Draws ring = [](int64_t first, int64_t n) {
    const RandomKey key{31, RandomStream::exact_samples};
    const at::Tensor r = kRadius + kWidth * counter_normal(key, first, n, 1, 0);
    const at::Tensor theta = 2 * std::acos(-1.0) * counter_uniform(key, first, n, 1, 1);
    return at::cat({r * at::cos(theta), r * at::sin(theta)}, 1);
  };
  std::vector<LossEstimate> cross, pathwise;
  for (int k = 1; k <= 4; ++k) {
    const FieldFunction field = [&, k](const at::Tensor& z) {
      const at::Tensor theta = at::atan2(z.select(1, 1), z.select(1, 0)).unsqueeze(1);
      const at::Tensor tangent =
          at::cat({-z.narrow(1, 1, 1), z.narrow(1, 0, 1)}, 1) / z.norm(2, 1, true);
      return score(z) + at::cos(k * theta) * tangent;
    };
    cross.push_back(minibatch_loss(field, score, ring, kRingSigma2, 31, 512, 64));
    pathwise.push_back(
        minibatch_loss(field, score, ring, kRingSigma2, 31, 512, 64, ChainSensitivity::pathwise));
  }
  for (const auto* losses : {&cross, &pathwise}) {
    const char* name = losses == &cross ? "cross_chain" : "pathwise";
    ASSERT_GT((*losses)[0].mean, 4 * (*losses)[0].standard_error) << name;
    for (int k = 2; k <= 4; ++k) {
      const LossEstimate& loss = (*losses)[k - 1];
      EXPECT_GT(loss.mean, 4 * loss.standard_error) << name << ", harmonic " << k;
      EXPECT_NEAR(loss.mean / (*losses)[0].mean, k * k, 0.15 * k * k)
          << name << ", harmonic " << k << ": " << loss.mean << " ± " << loss.standard_error
          << " against the first's " << (*losses)[0].mean << " ± " << (*losses)[0].standard_error;
    }
  }
  // E[r_θ²] = E[1/r²]/2 for k = 1, with E[1/r²] = (1 + 3w²/R²)/R² to O(w⁴/R⁴).
  const double stein_residual2 =
      0.5 * (1 + 3 * kWidth * kWidth / (kRadius * kRadius)) / (kRadius * kRadius);
  const double a1 = kRingSigma2 / (kRadius * kRadius);
  EXPECT_NEAR(pathwise[0].mean, 8 * stein_residual2 * -std::expm1(-4 * a1) / (4 * a1),
              0.05 * pathwise[0].mean)
      << "pathwise dipole ± " << pathwise[0].standard_error;
  EXPECT_GT(pathwise[0].mean, 3 * cross[0].mean);
  EXPECT_LT(pathwise[0].standard_error / pathwise[0].mean,
            0.25 * cross[0].standard_error / cross[0].mean);
}

}  // namespace
}  // namespace jointflow
