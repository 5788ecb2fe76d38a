// MATH §6 metrics against closed forms: coverage of exact mixture samples, and the IID row of
// paper A Table 1 on the 100-step Euler grid.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "data/gaussian_mixture.h"
#include "distributed/local_communicator.h"
#include "estimate/mixture_metrics.h"

namespace jointflow {
namespace {

const Metric& find(const Metrics& metrics, const std::string& name) {
  for (const Metric& metric : metrics)
    if (metric.name == name) return metric;
  throw std::runtime_error("missing metric " + name);
}

TEST(MixtureMetrics, ExactSamplesCoverTheClosedFormNumberOfModes) {
  // K = 10 uniform modes: E[coverage] = 10·(1 − 0.9¹⁰) = 6.5132 (MATH §2 sanity anchor).
  const GaussianMixture mixture = named_mixture("gmm8d");
  LocalCommunicator comm;
  MixtureMetrics metrics(mixture, 10);
  const int64_t sets = 10000;
  for (int64_t first = 0; first < sets * 10; first += 25000)
    metrics.add(comm, sample_mixture(mixture, {3, RandomStream::exact_samples}, first, 25000));
  const Metrics result = metrics.finish();
  const double expected = 10 * (1 - std::pow(0.9, 10));
  const Metric& joint = find(result, "coverage_joint");
  const Metric& marginal = find(result, "coverage_marginal");
  EXPECT_EQ(metrics.sets(), sets);
  EXPECT_NEAR(joint.value, expected, 2 * joint.standard_error);
  EXPECT_NEAR(marginal.value, expected, 2 * marginal.standard_error);
  // Standard error of a count in 0..10 over 10⁴ sets: about 0.01.
  EXPECT_GT(joint.standard_error, 0.005);
  EXPECT_LT(joint.standard_error, 0.02);
  // Exact samples: log p ≈ 18.60 (MATH §6), RMSE = sqrt(E min‖x−μ‖²) ≈ sqrt(2·0.01 + 6·1e-4).
  EXPECT_NEAR(find(result, "log_p").value, 18.60, 0.05);
  EXPECT_NEAR(find(result, "rmse").value, std::sqrt(0.0206), 0.003);
}

TEST(MixtureMetrics, CountsDistinctModesPerSetAndDropsMarkedSets) {
  const GaussianMixture mixture = named_mixture("gmm2d3");
  LocalCommunicator comm;
  MixtureMetrics metrics(mixture, 3);
  // Set 0 hits modes {0, 0, 1}; set 1 hits {0, 1, 2}; set 2 is dropped.
  const at::Tensor modes = at::tensor({0, 0, 1, 0, 1, 2, 2, 2, 2}, at::kLong);
  const at::Tensor x = mixture.means.index_select(0, modes);
  const at::Tensor keep = at::tensor({1, 1, 1, 1, 1, 1, 1, 0, 1}, at::kLong).to(at::kBool);
  metrics.add(comm, x, keep);
  const Metrics result = metrics.finish();
  EXPECT_EQ(metrics.sets(), 2);
  EXPECT_DOUBLE_EQ(find(result, "coverage_joint").value, 2.5);
  EXPECT_DOUBLE_EQ(find(result, "rmse").value, 0.0);
}

TEST(MixtureMetrics, MarginalCoverageIsTheExactMeanOverEveryRegrouping) {
  // Kept sets {0, 0, 1} and {0, 1, 2} pool the modes 0, 0, 0, 1, 1, 2. Every 3-subset of the six
  // pooled members is equally likely after a shuffle: enumerate them for the mean and variance
  // of the distinct count; the standard error is that of a mean over the G = 2 regrouped sets.
  const GaussianMixture mixture = named_mixture("gmm2d3");
  LocalCommunicator comm;
  MixtureMetrics metrics(mixture, 3);
  const std::vector<int64_t> pooled{0, 0, 1, 0, 1, 2};
  metrics.add(comm, mixture.means.index_select(0, at::tensor(pooled, at::kLong)));
  double sum = 0, sum_squares = 0, subsets = 0;
  for (size_t a = 0; a < pooled.size(); ++a)
    for (size_t b = a + 1; b < pooled.size(); ++b)
      for (size_t c = b + 1; c < pooled.size(); ++c) {
        const std::set<int64_t> modes{pooled[a], pooled[b], pooled[c]};
        sum += modes.size();
        sum_squares += modes.size() * modes.size();
        ++subsets;
      }
  const double mean = sum / subsets, variance = sum_squares / subsets - mean * mean;
  const Metrics result = metrics.finish();  // `marginal` refers into it
  const Metric& marginal = find(result, "coverage_marginal");
  EXPECT_NEAR(marginal.value, mean, 1e-12);  // 2.25
  EXPECT_NEAR(marginal.standard_error, std::sqrt(variance / 2), 1e-12);
}

}  // namespace
}  // namespace jointflow
