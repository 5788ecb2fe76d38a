// Gradients of every diversity objective against central finite differences (float64) and
// against batched autograd, closed forms of the objectives on small hand-built sets (MATH §3),
// and the sampler's fused score-regularization step against the tensor ops (MATH §4).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "models/rectified_flow.h"
#include "sampling/diversity.h"
#include "sampling/score_regularization.h"

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
                             diversity_value(spec, y - step, quality_in, bandwidth))
                                .sum() /
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
               .sum() /
           (2 * h))
              .item<double>();
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

double max_relative_difference(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / (1 + b.abs().max())).item<double>();
}

// The closed forms against autograd through diversity_value on sets of every size the samplers
// use: K = 2 (one pair), an even number of pairs (interpolated median), K = 10 in 8-D (Table 1)
// and K = 64 in 2-D (an ill-conditioned DPP); one group has coinciding members.
TEST_P(ObjectiveGradients, ClosedFormMatchesAutograd) {
  DiversitySpec spec;
  spec.objective = GetParam();
  spec.df_quality_radius2 = 8.0;
  for (auto [k, f] : {std::pair<int64_t, int64_t>{2, 3}, {4, 2}, {10, 8}, {64, 2}}) {
    at::Tensor y = random_sets(5, k, f, 11 + k);
    y[4] = 0.7 + 1e-17 * y[4];  // coinciding: zero gradient by the round-off guard
    const at::Tensor quality =
        spec.objective == Objective::df ? at::rand({5, k}, kDouble) * 16 : at::Tensor();
    const DiversityGradient closed = diversity_gradient(spec, y, quality);
    const DiversityGradient reference = diversity_gradient_by_autograd(spec, y, quality);
    // K = 64 members in 2-D make L + εI nearly singular (condition ≈ 1/ε = 10⁶): both routes
    // round differently through its inverse.
    const double tolerance = k > 10 ? 1e-8 : 1e-12;
    EXPECT_LT(max_relative_difference(closed.features, reference.features), tolerance)
        << "K = " << k << ", f = " << f;
    EXPECT_EQ(closed.features[4].abs().max().item<double>(), 0.0);
    if (spec.objective == Objective::df) {
      EXPECT_LT(max_relative_difference(closed.quality_input, reference.quality_input), tolerance)
          << "K = " << k;
    }
  }
}

TEST_P(ObjectiveGradients, Float32GivesTheFloat64GradientRounded) {
  DiversitySpec spec;
  spec.objective = GetParam();
  const at::Tensor y = random_sets(4, 10, 8, 21);
  const at::Tensor quality =
      spec.objective == Objective::df ? at::rand({4, 10}, kDouble) * 30 : at::Tensor();
  const DiversityGradient wide = diversity_gradient(spec, y, quality);
  const at::Tensor y32 = y.to(at::kFloat);
  const DiversityGradient narrow =
      diversity_gradient(spec, y32, quality.defined() ? quality.to(at::kFloat) : at::Tensor());
  EXPECT_EQ(narrow.features.scalar_type(), at::kFloat);
  // The only difference is the float32 rounding of the inputs and outputs.
  const DiversityGradient from_rounded =
      diversity_gradient(spec, y32.to(at::kDouble),
                         quality.defined() ? quality.to(at::kFloat).to(at::kDouble) : at::Tensor());
  EXPECT_LT(max_relative_difference(narrow.features.to(at::kDouble), from_rounded.features), 1e-6);
  EXPECT_LT(max_relative_difference(narrow.features.to(at::kDouble), wide.features), 1e-3);
}

// Each group's gradient is computed on its own, so it is bitwise the same in any batch: the
// property behind rank-count invariance (DESIGN §3).
TEST_P(ObjectiveGradients, GroupGradientDoesNotDependOnTheBatch) {
  DiversitySpec spec;
  spec.objective = GetParam();
  const at::Tensor y = random_sets(7, 10, 8, 31);
  const at::Tensor quality =
      spec.objective == Objective::df ? at::rand({7, 10}, kDouble) * 30 : at::Tensor();
  const at::Tensor batched = diversity_gradient(spec, y, quality).features;
  for (int64_t g = 0; g < 7; ++g) {
    const at::Tensor alone =
        diversity_gradient(spec, y.narrow(0, g, 1),
                           quality.defined() ? quality.narrow(0, g, 1) : at::Tensor())
            .features;
    EXPECT_TRUE(at::equal(alone[0], batched[g])) << "group " << g;
  }
}

// The fused CPU step equals the score of MATH §1, regularize_diversity_gradient and the squared
// norms as tensor ops (MATH §4 step 1).
TEST(RegularizeWithNorms, MatchesTheTensorOps) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({50, 8}, kDouble), v = at::randn({50, 8}, kDouble);
  const at::Tensor g = at::randn({50, 8}, kDouble);
  for (auto rule :
       {ScoreRegularization::none, ScoreRegularization::soft, ScoreRegularization::hard})
    for (double t : {0.0, 0.3, 0.97}) {
      const RegularizedGradient fused = regularize_with_norms(rule, x, v, g, t, 0.5);
      const at::Tensor score = score_from_velocity(x, v, at::scalar_tensor(t, kDouble));
      const at::Tensor g_tilde = regularize_diversity_gradient(rule, g, score, t, 0.5);
      EXPECT_LT(max_relative_difference(fused.g_tilde, g_tilde), 1e-14) << "t = " << t;
      const at::Tensor norms = at::stack({v.pow(2).sum(1), g_tilde.pow(2).sum(1)}, 1);
      EXPECT_LT(max_relative_difference(fused.squared_norms, norms), 1e-14) << "t = " << t;
      const RegularizedGradient narrow =
          regularize_with_norms(rule, x.to(at::kFloat), v.to(at::kFloat), g.to(at::kFloat), t, 0.5);
      EXPECT_EQ(narrow.g_tilde.scalar_type(), at::kFloat);
      EXPECT_LT(max_relative_difference(narrow.g_tilde.to(at::kDouble), g_tilde), 1e-5);
    }
}

// Three points on a line at 0, 1, 3: squared distances 1, 9, 4, median 4, so D̃ = 1/4, 9/4, 1.
at::Tensor three_points() { return at::tensor({0.0, 1.0, 3.0}, kDouble).reshape({1, 3, 1}); }

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
  EXPECT_NEAR(value(Objective::dpp), log_det3(std::exp(-d01), std::exp(-d02), std::exp(-d12)),
              1e-12);
  EXPECT_NEAR(value(Objective::hdpp), log_det3(1 / (1 + d01), 1 / (1 + d02), 1 / (1 + d12)), 1e-12);
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
  EXPECT_TRUE(
      at::allclose(diversity_value(spec, y, inside), diversity_value(spec, y, also_inside)));
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
