#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "data/gaussian_mixture.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

TEST(NamedMixtures, HaveTheShapesOfMathSection2) {
  const GaussianMixture g8 = named_mixture("gmm8d");
  EXPECT_EQ(g8.components(), 10);
  EXPECT_EQ(g8.dim(), 8);
  EXPECT_NEAR(g8.weights.sum().item<double>(), 1.0, 1e-15);
  EXPECT_NEAR(g8.means[3][0].item<double>(), std::cos(2 * M_PI * 3 / 10) + 1, 1e-15);
  EXPECT_NEAR(g8.stds[0][1].item<double>(), 0.1, 1e-15);
  EXPECT_NEAR(g8.stds[0][7].item<double>(), 0.01, 1e-15);
  const GaussianMixture g2 = named_mixture("gmm2d");
  EXPECT_NEAR(g2.weights[9].item<double>() / g2.weights[0].item<double>(), 10.0, 1e-12);
  EXPECT_NEAR(g2.means.norm(2, 1).min().item<double>(), 2.0, 1e-14);
  const GaussianMixture g3 = named_mixture("gmm2d3");
  EXPECT_NEAR(g3.weights[0].item<double>(), 0.7, 1e-15);
  // Equilateral: all pairwise distances equal the side 2.3·√3.
  const at::Tensor side = (g3.means[0] - g3.means[1]).norm();
  EXPECT_NEAR(side.item<double>(), 2.3 * std::sqrt(3.0), 1e-12);
  EXPECT_NEAR((g3.means[1] - g3.means[2]).norm().item<double>(), side.item<double>(), 1e-12);
}

TEST(NamedMixtures, UnknownNameIsAnErrorNamingTheKey) {
  try {
    named_mixture("gmm9d", "eval.mixture");
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("eval.mixture = 'gmm9d'"), std::string::npos);
  }
}

TEST(MixtureLogProb, MatchesTheDefiningSum) {
  const GaussianMixture mixture = named_mixture("gmm2d3");
  const at::Tensor x = at::tensor({0.3, -1.2, 2.0, 0.5, -2.0, -1.0}, kDouble).reshape({3, 2});
  const at::Tensor log_p = mixture_log_prob(mixture, x);
  for (int64_t i = 0; i < 3; ++i) {
    double density = 0;
    for (int64_t k = 0; k < 3; ++k) {
      double component = mixture.weights[k].item<double>();
      for (int64_t j = 0; j < 2; ++j) {
        const double sd = mixture.stds[k][j].item<double>();
        const double z = (x[i][j].item<double>() - mixture.means[k][j].item<double>()) / sd;
        component *= std::exp(-0.5 * z * z) / (sd * std::sqrt(2 * M_PI));
      }
      density += component;
    }
    EXPECT_NEAR(log_p[i].item<double>(), std::log(density), 1e-12);
  }
}

TEST(NearestComponent, PicksTheClosestMean) {
  const GaussianMixture mixture = named_mixture("gmm8d");
  const at::Tensor x = mixture.means.index({at::tensor({4, 0, 9}, at::kLong)}) + 0.01;
  const at::Tensor nearest = nearest_component(mixture, x);
  EXPECT_EQ(nearest[0].item<int64_t>(), 4);
  EXPECT_EQ(nearest[1].item<int64_t>(), 0);
  EXPECT_EQ(nearest[2].item<int64_t>(), 9);
  EXPECT_NEAR(min_squared_distance(mixture, x)[0].item<double>(), 8 * 1e-4, 1e-15);
}

TEST(SampleMixture, MomentsMatchTheMixture) {
  const GaussianMixture mixture = named_mixture("gmm2d");
  const int64_t n = 200000;
  const at::Tensor x = sample_mixture(mixture, {11, RandomStream::exact_samples}, 0, n);
  const at::Tensor mean = (mixture.weights.unsqueeze(1) * mixture.means).sum(0);
  // Per-dimension variance of the mixture: Σ π (S + μ²) − mean².
  const at::Tensor second =
      (mixture.weights.unsqueeze(1) * (mixture.stds.pow(2) + mixture.means.pow(2))).sum(0);
  const at::Tensor variance = second - mean.pow(2);
  const at::Tensor sample_mean = x.mean(0);
  for (int64_t j = 0; j < 2; ++j) {
    const double se = std::sqrt(variance[j].item<double>() / n);
    EXPECT_NEAR(sample_mean[j].item<double>(), mean[j].item<double>(), 5 * se);
  }
  // Component frequencies follow the weights (5 standard errors).
  const at::Tensor counts = at::bincount(nearest_component(mixture, x), {}, 10).to(at::kDouble);
  for (int64_t k = 0; k < 10; ++k) {
    const double p = mixture.weights[k].item<double>();
    EXPECT_NEAR(counts[k].item<double>() / n, p, 5 * std::sqrt(p * (1 - p) / n) + 2e-3);
  }
}

TEST(SampleMixture, DrawsDependOnlyOnTheGlobalId) {
  const GaussianMixture mixture = named_mixture("gmm8d");
  const RandomKey key{5, RandomStream::exact_samples};
  const at::Tensor whole = sample_mixture(mixture, key, 0, 100);
  const at::Tensor part = sample_mixture(mixture, key, 37, 20);
  EXPECT_TRUE(at::equal(whole.narrow(0, 37, 20), part));
}

}  // namespace
}  // namespace jointflow
