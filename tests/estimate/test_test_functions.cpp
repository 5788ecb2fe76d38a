// Exact expectations of the test functions (MATH §6): nearest-mean cell probabilities against
// the closed form of a two-component mixture, whose cells are half-planes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "estimate/test_functions.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// P(n·x < c) for x ~ N(μ, diag σ²) with ‖n‖ = 1.
double half_plane_mass(const at::Tensor& n, double c, const at::Tensor& mu, const at::Tensor& sd) {
  return normal_cdf((c - (n * mu).sum().item<double>()) /
                    (n * sd).pow(2).sum().sqrt().item<double>());
}

TEST(ExactExpectation, NearestMeanCellsOfTwoComponentsAreHalfPlaneMasses) {
  const GaussianMixture mixture{"two", at::tensor({0.3, 0.7}, kDouble),
                                at::tensor({-0.5, 0.0, 0.7, 0.4}, kDouble).view({2, 2}),
                                at::tensor({0.6, 0.3, 0.4, 0.9}, kDouble).view({2, 2})};
  // Cell 0 is n·x < c with n the unit vector from μ_0 to μ_1 and c = n·(μ_0 + μ_1)/2.
  const at::Tensor d = mixture.means[1] - mixture.means[0];
  const at::Tensor n = d / d.norm();
  const double c = (n * (mixture.means[0] + mixture.means[1])).sum().item<double>() / 2;
  double cell0 = 0;
  for (int k = 0; k < 2; ++k)
    cell0 += mixture.weights[k].item<double>() *
             half_plane_mass(n, c, mixture.means[k], mixture.stds[k]);
  const at::Tensor exact = exact_expectation(TestFunction{}, mixture);
  // 2^18 draws per component: standard error below 0.5 · 2^-9 ≈ 1e-3 per component.
  EXPECT_NEAR(exact[0].item<double>(), cell0, 3e-3);
  EXPECT_NEAR(exact.sum().item<double>(), 1.0, 1e-12);
  EXPECT_GT(std::abs(cell0 - 0.3), 5 * 3e-3);  // the test tells the cell from the weight
}

TEST(ExactExpectation, LightestModeOfGmm2dGainsWhatItsHeavyNeighbourLeaks) {
  // gmm2d: adjacent means 4 sin(π/10) apart, σ = 0.25. Mode 10 (weight 10/55) leaks
  // Φ(−2 sin(π/10)/0.25) of its mass across each bisector; mode 1 (weight 1/55) gains that from
  // mode 10 and trades equal amounts with mode 2 (2/55 in, 2 · 1/55 out). The half-plane
  // approximation of the cells gives 1.23e-3; the wedges differ from it by less than 1e-4.
  const GaussianMixture mixture = named_mixture("gmm2d");
  const double leak = normal_cdf(-2 * std::sin(M_PI / 10) / 0.25);
  const double gain = (10.0 + 2.0 - 2.0) / 55 * leak;
  const at::Tensor exact = exact_expectation(TestFunction{}, mixture);
  EXPECT_NEAR(exact[0].item<double>() - 1.0 / 55, gain, 1.5e-4);
  EXPECT_NEAR(exact.sum().item<double>(), 1.0, 1e-12);
}

}  // namespace
}  // namespace jointflow
