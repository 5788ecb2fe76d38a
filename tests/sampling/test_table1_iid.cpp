// Paper A Table 1, IID row, on the analytic gmm8d flow: 10 000 sets of K = 10 on the 100-step
// Euler grid give coverage 6.51, log p 20.31, RMSE 0.139 (MATH §6).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "distributed/local_communicator.h"
#include "estimate/mixture_metrics.h"
#include "models/mixture_flow.h"
#include "sampling/joint_sampler.h"

namespace jointflow {
namespace {

TEST(Table1, IidRowOfPaperA) {
  const GaussianMixture mixture = named_mixture("gmm8d");
  const MixtureFlow flow(mixture, at::kDouble, at::kCPU);
  LocalCommunicator comm;
  SamplerOptions options;  // K = 10, 100 steps, iid
  options.groups = 10000;
  const JointSampler sampler(flow, options, comm, at::kDouble, at::kCPU);
  MixtureMetrics metrics(mixture, options.group_size);
  const GroupLayout layout = make_group_layout(0, options.groups, options.group_size, 1, 0);
  const SampledBlock block = sampler.sample(layout, {1, RandomStream::initial_noise});
  metrics.add(comm, block.x1);
  const Metrics result = metrics.finish();
  ASSERT_EQ(result.size(), 4u);
  EXPECT_NEAR(result[0].value, 6.51, 0.03) << "coverage_joint";
  EXPECT_NEAR(result[1].value, 6.51, 0.03) << "coverage_marginal";
  EXPECT_NEAR(result[2].value, 20.31, 0.05) << "log_p";
  EXPECT_NEAR(result[3].value, 0.139, 0.003) << "rmse";
}

}  // namespace
}  // namespace jointflow
