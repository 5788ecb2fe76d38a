// MATH §6 / paper A App. H ranking metrics against scipy and hand-computed values with ties.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "distributed/counter_rng.h"
#include "estimate/ranking.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

at::Tensor values(std::vector<double> v) { return at::tensor(v, kDouble); }

// Kendall's τ_b by the O(n²) definition of App. H.
double brute_force_tau_b(const at::Tensor& x, const at::Tensor& y) {
  const int64_t n = x.size(0);
  double concordant = 0, discordant = 0, only_x = 0, only_y = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const double a = (x[i] - x[j]).item<double>(), b = (y[i] - y[j]).item<double>();
      if (a == 0 && b == 0) continue;
      if (a == 0)
        ++only_x;
      else if (b == 0)
        ++only_y;
      else if ((a > 0) == (b > 0))
        ++concordant;
      else
        ++discordant;
    }
  return (concordant - discordant) /
         std::sqrt((concordant + discordant + only_x) * (concordant + discordant + only_y));
}

TEST(Ranking, KendallAndSpearmanMatchScipyWithTies) {
  // Expected values: scipy 1.10.1, scipy.stats.kendalltau (variant 'b') and spearmanr.
  // Case 1 by hand: C = 3, D = 1, one pair tied only in x, one only in y → 2/√(5·5) = 0.4.
  struct Case {
    std::vector<double> x, y;
    double tau_b, rho;
  };
  const std::vector<Case> cases{
      {{1, 2, 2, 3}, {1, 3, 2, 2}, 0.4, 0.5},
      {{1, 1, 2, 2, 3, 3, 4, 5}, {1, 1, 2, 3, 2, 4, 4, 0}, 0.28, 0.21604938271604937},
      {{3, 1, 4, 1, 5, 9, 2, 6, 5, 3},
       {2, 7, 1, 8, 2, 8, 1, 8, 2, 8},
       0.13041013273932525,
       0.13471506281091267}};
  for (const Case& c : cases) {
    EXPECT_NEAR(kendall_tau_b(values(c.x), values(c.y)), c.tau_b, 1e-15);
    EXPECT_NEAR(spearman_rho(values(c.x), values(c.y)), c.rho, 1e-15);
  }
}

TEST(Ranking, PerfectAgreementReversalAndConstants) {
  const at::Tensor x = values({0.5, -1, 3, 2, 2, 7});
  const at::Tensor increasing = x.exp() * 4;  // monotone transform: same ranking
  EXPECT_NEAR(kendall_tau_b(x, increasing), 1.0, 1e-15);
  EXPECT_NEAR(spearman_rho(x, increasing), 1.0, 1e-15);
  EXPECT_NEAR(kendall_tau_b(x, -x), -1.0, 1e-15);
  EXPECT_NEAR(spearman_rho(x, -x), -1.0, 1e-15);
  const at::Tensor constant = at::full({6}, 2.0, kDouble);
  EXPECT_EQ(kendall_tau_b(x, constant), 0.0);
  EXPECT_EQ(spearman_rho(constant, x), 0.0);
  EXPECT_THROW(kendall_tau_b(x, values({1, NAN, 2, 3, 4, 5})), std::exception);
}

TEST(Ranking, KendallMatchesTheQuadraticDefinitionOnManyTies) {
  // Values on a coarse grid (many ties in each list and in both) and strongly correlated.
  const at::Tensor z = counter_normal({51, RandomStream::exact_samples}, 0, 2, 400);
  const at::Tensor x = (z[0] * 2).round();
  const at::Tensor y = (z[0] + 0.7 * z[1]).mul(1.5).round();
  EXPECT_NEAR(kendall_tau_b(x, y), brute_force_tau_b(x, y), 1e-14);
}

TEST(Ranking, GradedAveragePrecisionByHand) {
  // Order by prediction: grades 0.5, 0, 1, 0.25; cumulative 0.5, 0.5, 1.5, 1.75; graded
  // precision 0.5, 0.25, 0.5, 0.4375 → gAP = (0.25 + 0 + 0.5 + 0.109375)/1.75 = 0.49107142857…
  const at::Tensor prediction = values({0.9, 0.8, 0.7, 0.1});
  EXPECT_NEAR(graded_average_precision(prediction, values({0.5, 0, 1, 0.25})), 0.859375 / 1.75,
              1e-15);
  // Binary grades give the standard AP: relevant at ranks 1 and 3 → (1/1 + 2/3)/2.
  EXPECT_NEAR(graded_average_precision(prediction, values({1, 0, 1, 0})), 5.0 / 6.0, 1e-15);
  EXPECT_NEAR(graded_average_precision(values({4, 3, 2, 1}), values({1, 1, 0, 0})), 1.0, 1e-15);
  // Grades (−1, 3, 1) normalize to (0, 1, 0.5); prediction order 0, 2, 1 → (0.125 + 0.5)/1.5.
  EXPECT_NEAR(graded_average_precision(values({3, 1, 2}), values({-1, 3, 1})), 0.625 / 1.5, 1e-15);
  EXPECT_EQ(graded_average_precision(values({3, 1, 2}), values({0, 0, 0})), 0.0);
}

TEST(Ranking, GradesNormalizeToTheUnitInterval) {
  EXPECT_TRUE(at::allclose(normalized_grades(values({-2, 0, 2})), values({0, 0.5, 1})));
  EXPECT_TRUE(at::equal(normalized_grades(values({0.1, 0.4})), values({0.1, 0.4})));
  EXPECT_TRUE(at::allclose(normalized_grades(values({1, 4})), values({0.25, 1})));
}

TEST(Ranking, MostConfidentKeepsTheSmallestVariances) {
  const at::Tensor variance = values({0.3, 0.1, 0.2, 0.1, 5.0});
  EXPECT_TRUE(at::equal(most_confident(variance), at::tensor({1, 2, 3}, at::kLong)));  // ⌈2.5⌉
  EXPECT_TRUE(at::equal(most_confident(variance, 0.2), at::tensor({1}, at::kLong)));
  EXPECT_EQ(most_confident(variance, 1.0).numel(), 5);
  EXPECT_THROW(most_confident(variance, 0.0), std::exception);
}

TEST(Ranking, CompareLogWeightsOnTheConfidentHalf) {
  const at::Tensor truth = values({0.0, 1.0, -1.0, 2.0, NAN, 0.5});
  const at::Tensor variance = values({0.1, 0.2, 0.3, 9.0, 0.0, 0.05});
  const at::Tensor estimate = values({0.2, 1.0, -1.0, -3.0, 4.0, 0.5});
  // Finite truth: items 0, 1, 2, 3, 5; the confident half (⌈2.5⌉ = 3): items 5, 0, 1.
  const WeightAccuracy accuracy = compare_log_weights(estimate, truth, variance);
  EXPECT_EQ(accuracy.items, 3);
  EXPECT_NEAR(accuracy.squared_error, 0.04 / 3, 1e-15);
  EXPECT_NEAR(accuracy.kendall_tau_b, 1.0, 1e-15);
  EXPECT_NEAR(accuracy.spearman_rho, 1.0, 1e-15);
  // The estimate orders the three items as the truth does: gAP of the ideal order.
  const at::Tensor chosen_truth = values({0.0, 1.0, 0.5});
  EXPECT_NEAR(accuracy.graded_ap, graded_average_precision(chosen_truth, chosen_truth.exp()),
              1e-15);
}

}  // namespace
}  // namespace jointflow
