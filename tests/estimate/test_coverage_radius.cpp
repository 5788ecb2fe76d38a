// Coverage radius (MATH §6, paper A Eq. 26) against hand-computed values and its invariants.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "distributed/local_communicator.h"
#include "estimate/coverage_radius.h"

namespace jointflow {
namespace {

at::Tensor column(std::vector<double> values) {
  return at::tensor(values, at::kDouble).unsqueeze(1);
}

TEST(CoverageRadius, WorstReferenceToItsNearestMember) {
  // References 0, 3, 10 against members {1, 9}: nearest distances 1, 2, 1 → R = 2.
  // Against {0, 3, 10}: every reference is a member → R = 0. Against {5}: R = max(5, 2, 5) = 5.
  const at::Tensor reference = column({0, 3, 10});
  EXPECT_DOUBLE_EQ(coverage_radius(reference, column({1, 9}).unsqueeze(0)).item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(coverage_radius(reference, column({0, 3, 10}).unsqueeze(0)).item<double>(), 0.0);
  // Euclidean in 2-D: reference (3, 4) and member (0, 0) → 5.
  const at::Tensor radius = coverage_radius(at::tensor({3.0, 4.0}, at::kDouble).view({1, 2}),
                                            at::zeros({1, 1, 2}, at::kDouble));
  EXPECT_DOUBLE_EQ(radius.item<double>(), 5.0);
}

TEST(CoverageRadius, MoreMembersNeverWidenTheRadiusAndOrderDoesNotMatter) {
  const at::Tensor reference = at::randn({200, 3}, at::kDouble);
  const at::Tensor members = at::randn({1, 12, 3}, at::kDouble);
  const double all = coverage_radius(reference, members).item<double>();
  const double fewer = coverage_radius(reference, members.narrow(1, 0, 6)).item<double>();
  const double reversed = coverage_radius(reference, members.flip({1})).item<double>();
  EXPECT_LE(all, fewer);
  EXPECT_DOUBLE_EQ(all, reversed);
}

TEST(CoverageRadius, SpatialMeanFeaturesAverageEachChannel) {
  // [n, C, H, W] → [n, C]; channel c of image n filled with n + 10c (plus a zero-mean pattern).
  at::Tensor images = at::zeros({2, 3, 4, 4}, at::kFloat);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c) images[n][c].fill_(static_cast<double>(n + 10 * c));
  images.select(3, 0).add_(1.0);
  images.select(3, 1).sub_(1.0);
  const at::Tensor features = spatial_mean_features(images);
  ASSERT_EQ(features.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_DOUBLE_EQ(features[1][2].item<double>(), 21.0);
  EXPECT_DOUBLE_EQ(features[0][1].item<double>(), 10.0);
  // Vectors are their own features.
  const at::Tensor vectors = at::randn({5, 4}, at::kDouble);
  EXPECT_TRUE(at::equal(spatial_mean_features(vectors), vectors));
}

TEST(CoverageRadius, AccumulatesMeanOverSetsMergesAndDropsUnkeptSets) {
  // Images [n, 1, 2, 2] whose spatial mean is the member's value; references 0, 3, 10.
  const at::Tensor reference = column({0, 3, 10}).view({3, 1, 1, 1}).expand({3, 1, 2, 2});
  const auto images = [](std::vector<double> values) {
    return column(values).view({-1, 1, 1, 1}).expand({-1, 1, 2, 2}).contiguous();
  };
  LocalCommunicator comm;
  // Sets of K = 2: {1, 9} → 2, {0, 10} → 3, {5, 5} → 5.
  CoverageRadiusMetrics whole(reference, 2);
  whole.add(comm, images({1, 9, 0, 10, 5, 5}));
  const Metric metric = whole.finish().at(0);
  EXPECT_EQ(metric.name, "coverage_radius");
  EXPECT_NEAR(metric.value, 10.0 / 3, 1e-15);
  // Standard error sqrt(s²/n) with s² = ((2−10/3)² + (3−10/3)² + (5−10/3)²)/2 = 7/3.
  EXPECT_NEAR(metric.standard_error, std::sqrt(7.0 / 9), 1e-14);

  CoverageRadiusMetrics first(reference, 2), second(reference, 2);
  first.add(comm, images({1, 9}));
  second.add(comm, images({0, 10, 5, 5}));
  first.merge(second);
  EXPECT_EQ(first.finish().at(0).value, metric.value);

  CoverageRadiusMetrics kept(reference, 2);
  const at::Tensor keep = at::tensor({1, 1, 1, 0, 1, 1}, at::kInt).to(at::kBool);
  kept.add(comm, images({1, 9, 0, 10, 5, 5}), keep);
  EXPECT_NEAR(kept.finish().at(0).value, 3.5, 1e-15);
}

TEST(CoverageRadius, FeatureCountMismatchIsAnError) {
  LocalCommunicator comm;
  CoverageRadiusMetrics metrics(at::zeros({4, 2, 3, 3}), 2);
  EXPECT_THROW(metrics.add(comm, at::zeros({2, 3, 3, 3})), std::exception);
}

}  // namespace
}  // namespace jointflow
