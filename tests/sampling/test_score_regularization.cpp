// The soft and hard rules of MATH §4 on hand-built cases.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "sampling/score_regularization.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

TEST(ScoreRegularization, KeepsMovesThatDoNotLowerTheDensity) {
  // α ≥ 0 (first row: along the score; second: orthogonal) → unchanged by every rule.
  const at::Tensor g = at::tensor({1.0, 2.0, 3.0, 0.0}, kDouble).reshape({2, 2});
  const at::Tensor s = at::tensor({2.0, 0.0, 0.0, 5.0}, kDouble).reshape({2, 2});
  for (auto rule :
       {ScoreRegularization::none, ScoreRegularization::soft, ScoreRegularization::hard})
    EXPECT_TRUE(at::equal(regularize_diversity_gradient(rule, g, s, 0.7, 0.5), g));
}

TEST(ScoreRegularization, HardRemovesTheComponentAgainstTheScore) {
  // g = (−3, 4), ŝ = (1, 0): α = −3 → g̃ = (0, 4).
  const at::Tensor g = at::tensor({-3.0, 4.0}, kDouble).reshape({1, 2});
  const at::Tensor s = at::tensor({0.5, 0.0}, kDouble).reshape({1, 2});
  const at::Tensor hard = regularize_diversity_gradient(ScoreRegularization::hard, g, s, 0.3, 0.5);
  EXPECT_NEAR(hard[0][0].item<double>(), 0.0, 1e-15);
  EXPECT_NEAR(hard[0][1].item<double>(), 4.0, 1e-15);
  // After the hard rule the move never lowers log p: g̃·s ≥ 0.
  at::manual_seed(1);
  const at::Tensor many_g = at::randn({100, 5}, kDouble), many_s = at::randn({100, 5}, kDouble);
  const at::Tensor projected =
      regularize_diversity_gradient(ScoreRegularization::hard, many_g, many_s, 0.5, 0.5);
  EXPECT_GE((projected * many_s).sum(1).min().item<double>(), -1e-12);
}

TEST(ScoreRegularization, SoftRemovesTheFractionTToThePower) {
  const at::Tensor g = at::tensor({-3.0, 4.0}, kDouble).reshape({1, 2});
  const at::Tensor s = at::tensor({2.0, 0.0}, kDouble).reshape({1, 2});
  for (double t : {0.0, 0.25, 0.81, 0.99})
    for (double p : {0.5, 1.0, 2.0}) {
      const at::Tensor soft = regularize_diversity_gradient(ScoreRegularization::soft, g, s, t, p);
      EXPECT_NEAR(soft[0][0].item<double>(), -3.0 + std::pow(t, p) * 3.0, 1e-14);
      EXPECT_NEAR(soft[0][1].item<double>(), 4.0, 1e-15);
    }
}

TEST(ScoreRegularization, ZeroScoreLeavesTheGradient) {
  const at::Tensor g = at::tensor({-3.0, 4.0}, kDouble).reshape({1, 2});
  const at::Tensor s = at::zeros({1, 2}, kDouble);
  EXPECT_TRUE(
      at::equal(regularize_diversity_gradient(ScoreRegularization::hard, g, s, 0.5, 0.5), g));
}

}  // namespace
}  // namespace jointflow
