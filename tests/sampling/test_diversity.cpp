// Gradients of every diversity objective against central finite differences (float64), and
// closed forms of the objectives on small hand-built sets (MATH §3).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "sampling/diversity.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

at::Tensor random_sets(int64_t groups, int64_t k, int64_t f, uint64_t seed) {
  at::manual_seed(seed);
  return at::randn({groups, k, f}, kDouble);
}

class ObjectiveGradients : public ::testing::TestWithParam<Objective> {};

TEST_P(ObjectiveGradients, MatchFiniteDifferences) {
  DiversitySpec spec;
  spec.objective = GetParam();
  spec.df_quality_radius2 = 3.0;
  const at::Tensor y = random_sets(3, 6, 4, 3);
  // Quality inputs on both sides of ρ² so both branches of q are exercised.
  const at::Tensor quality = at::linspace(1.0, 6.0, 18, kDouble).reshape({3, 6}) + 0.01;
  const at::Tensor quality_in = spec.objective == Objective::df ? quality : at::Tensor();
  const DiversityGradient gradient = diversity_gradient(spec, y, quality_in);
  const double h = 1e-6;
  // The bandwidth is held constant in the gradient (MATH §3), so also in the differences.
  const at::Tensor bandwidth = median_pair_distance(y);
  for (int64_t index = 0; index < y.numel(); ++index) {
    at::Tensor step = at::zeros_like(y);
    step.view(-1)[index] = h;
    const double numeric = ((diversity_value(spec, y + step, quality_in, bandwidth) -
                             diversity_value(spec, y - step, quality_in, bandwidth)).sum() /
                            (2 * h))
                               .item<double>();
    const double analytic = gradient.features.view(-1)[index].item<double>();
    EXPECT_NEAR(analytic, numeric, 1e-6 * (1 + std::abs(numeric))) << "feature " << index;
  }
  if (spec.objective == Objective::df) {
    for (int64_t index = 0; index < quality.numel(); ++index) {
      at::Tensor step = at::zeros_like(quality);
      step.view(-1)[index] = h;
      const double numeric =
          ((diversity_value(spec, y, quality + step) - diversity_value(spec, y, quality - step))
               .sum() / (2 * h)).item<double>();
      EXPECT_NEAR(gradient.quality_input.view(-1)[index].item<double>(), numeric,
                  1e-6 * (1 + std::abs(numeric)))
          << "quality " << index;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllObjectives, ObjectiveGradients,
                         ::testing::Values(Objective::dpp, Objective::hdpp, Objective::pg,
                                           Objective::chebyshev, Objective::logbarrier,
                                           Objective::reciprocal, Objective::df));

// Three points on a line at 0, 1, 3: squared distances 1, 9, 4, median 4, so D̃ = 1/4, 9/4, 1.
at::Tensor three_points() {
  return at::tensor({0.0, 1.0, 3.0}, kDouble).reshape({1, 3, 1});
}

TEST(Objectives, ClosedFormsOnThreePoints) {
  const double d01 = 0.25, d02 = 2.25, d12 = 1.0;
  DiversitySpec spec;
  auto value = [&](Objective objective) {
    spec.objective = objective;
    return diversity_value(spec, three_points(), {}).item<double>();
  };
  EXPECT_NEAR(value(Objective::pg), -2 * (std::exp(-d01) + std::exp(-d02) + std::exp(-d12)), 1e-14);
  EXPECT_NEAR(value(Objective::logbarrier),
              std::log(d01 + 1e-8) + std::log(d02 + 1e-8) + std::log(d12 + 1e-8), 1e-14);
  EXPECT_NEAR(value(Objective::reciprocal),
              -(1 / (d01 + 1e-8) + 1 / (d02 + 1e-8) + 1 / (d12 + 1e-8)), 1e-12);
  // log det(L + εI), ε = 1e-6 (MATH §3), of the 3×3 kernel by its explicit determinant.
  auto log_det3 = [](double a, double b, double c) {  // off-diagonals (01, 02, 12)
    const double diagonal = 1 + 1e-6;
    return std::log(diagonal * diagonal * diagonal + 2 * a * b * c -
                    diagonal * (a * a + b * b + c * c));
  };
  EXPECT_NEAR(value(Objective::dpp),
              log_det3(std::exp(-d01), std::exp(-d02), std::exp(-d12)), 1e-12);
  EXPECT_NEAR(value(Objective::hdpp), log_det3(1 / (1 + d01), 1 / (1 + d02), 1 / (1 + d12)),
              1e-12);
}

TEST(Objectives, ChebyshevIsExactAtItsInterpolationNodes) {
  // L = λI with λ a Chebyshev node of [ε, K]: tr T_j(L̃) = K·T_j(cos θ), so the expansion equals
  // K·log λ exactly.
  const int64_t k = 5, degree = 8;
  const double a = 1e-6, b = k;
  for (int64_t node = 0; node <= degree; ++node) {
    const double lambda = (b - a) / 2 * std::cos(M_PI * (node + 0.5) / (degree + 1)) + (a + b) / 2;
    const at::Tensor kernel = lambda * at::eye(k, kDouble).unsqueeze(0);
    EXPECT_NEAR(chebyshev_log_det(kernel, degree).item<double>(), k * std::log(lambda), 1e-9)
        << "node " << node;
  }
}

TEST(Objectives, DuplicateMembersGetAFiniteDppValueThroughJitter) {
  DiversitySpec spec;
  spec.objective = Objective::dpp;
  at::Tensor y = random_sets(1, 4, 2, 5);
  y.select(1, 1).copy_(y.select(1, 0));  // L is singular; L + εI is not
  const double value = diversity_value(spec, y, {}).item<double>();
  EXPECT_TRUE(std::isfinite(value));
  EXPECT_LT(value, std::log(1e-6) + 5);
}

TEST(Objectives, DiverseFlowQualityIsOneInsideTheRadius) {
  DiversitySpec spec;
  spec.objective = Objective::df;
  spec.df_quality_radius2 = 10.0;
  const at::Tensor y = random_sets(2, 4, 3, 9);
  const at::Tensor inside = at::full({2, 4}, 2.0, kDouble);
  const at::Tensor also_inside = at::full({2, 4}, 9.0, kDouble);
  EXPECT_TRUE(at::allclose(diversity_value(spec, y, inside), diversity_value(spec, y, also_inside)));
  const at::Tensor outside = at::full({2, 4}, 12.0, kDouble);
  EXPECT_FALSE(at::allclose(diversity_value(spec, y, inside), diversity_value(spec, y, outside)));
}

TEST(Objectives, CoincidingFeaturesHaveNoDiversityDirection) {
  // Every member at the same point up to round-off (the t = 0 endpoints of an exact flow).
  DiversitySpec spec;
  spec.objective = Objective::dpp;
  const at::Tensor base = at::tensor({1.3, -0.7}, kDouble);
  at::Tensor y = base.expand({1, 5, 2}).clone();
  y += 1e-17 * random_sets(1, 5, 2, 4);
  EXPECT_EQ(diversity_gradient(spec, y, {}).features.abs().max().item<double>(), 0.0);
  // A genuine spread, however small, keeps its gradient.
  y = base + 1e-6 * random_sets(1, 5, 2, 4);
  EXPECT_GT(diversity_gradient(spec, y, {}).features.abs().max().item<double>(), 0.0);
}

TEST(ChiSquaredQuantile, MatchesTables) {
  EXPECT_NEAR(chi_squared_quantile(0.995, 8), 21.955, 1e-3);
  EXPECT_NEAR(chi_squared_quantile(0.95, 2), 5.991, 1e-3);
  EXPECT_NEAR(chi_squared_quantile(0.5, 1), 0.4549, 1e-4);
}

}  // namespace
}  // namespace jointflow
