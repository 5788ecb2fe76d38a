// The joint normalization of MATH §4 step 2 in JointSampler::coupled_velocity: over each set of
// K members, v_div = γ(t)·‖V‖/‖G̃‖·g̃ with γ(t) = λ(1 − t), V and G̃ the concatenations of the
// members' model velocities and regularized gradients. So, in closed form, whatever the objective
// and the regularization: ‖ẋ − v‖ over a set equals λ(1 − t)‖V‖, and ẋ − v is linear in λ.
// Dropping the (1 − t), or the ratio ‖V‖/‖G̃‖, makes these tests fail.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "distributed/local_communicator.h"
#include "models/mixture_flow.h"
#include "sampling/group_layout.h"
#include "sampling/joint_sampler.h"
#include "sampling/sampler_options.h"

namespace jointflow {
namespace {

struct Case {
  Objective objective;
  ScoreRegularization sr;
  double t;
};

class JointNormalization : public testing::TestWithParam<Case> {};

TEST_P(JointNormalization, EachSetMovesByLambdaOneMinusTTimesItsVelocityNorm) {
  const Case c = GetParam();
  const MixtureFlow flow(named_mixture("gmm8d"), at::kDouble, at::kCPU);
  SamplerOptions options;
  options.objective = c.objective;
  options.sr = c.sr;
  options.group_size = 5;
  options.groups = 3;
  options.lambda = 1.7;
  LocalCommunicator comm;
  const JointSampler sampler(flow, options, comm, at::kDouble, at::kCPU);
  const GroupLayout layout = make_group_layout(0, options.groups, options.group_size, 1, 0);

  at::manual_seed(7);
  const at::Tensor x = at::randn({options.groups * options.group_size, 8}, at::kDouble);
  at::Tensor v;
  const at::Tensor x_dot = sampler.coupled_velocity(layout, x, c.t, v);
  const at::Tensor v_div = (x_dot - v).view({options.groups, -1});
  const at::Tensor v_set = v.reshape({options.groups, -1});
  for (int64_t g = 0; g < options.groups; ++g) {
    const double velocity_norm = v_set[g].norm().item<double>();
    const double expected = options.lambda * (1 - c.t) * velocity_norm;
    EXPECT_NEAR(v_div[g].norm().item<double>(), expected, 1e-12 * expected) << "set " << g;
  }
}

TEST_P(JointNormalization, TheMoveIsLinearInLambda) {
  const Case c = GetParam();
  const MixtureFlow flow(named_mixture("gmm8d"), at::kDouble, at::kCPU);
  SamplerOptions options;
  options.objective = c.objective;
  options.sr = c.sr;
  options.group_size = 4;
  options.groups = 2;
  LocalCommunicator comm;
  const JointSampler sampler(flow, options, comm, at::kDouble, at::kCPU);
  SamplerOptions doubled = options;
  doubled.lambda = 2 * options.lambda;
  const JointSampler twice(flow, doubled, comm, at::kDouble, at::kCPU);
  const GroupLayout layout = make_group_layout(0, options.groups, options.group_size, 1, 0);

  at::manual_seed(11);
  const at::Tensor x = at::randn({options.groups * options.group_size, 8}, at::kDouble);
  at::Tensor v;
  const at::Tensor once = sampler.coupled_velocity(layout, x, c.t, v) - v;
  const at::Tensor doubled_move = twice.coupled_velocity(layout, x, c.t, v) - v;
  // Linear in λ: the objective's gradient does not depend on λ, only its scale does.
  EXPECT_TRUE(at::allclose(doubled_move, 2 * once, 1e-12, 1e-14));
}

// At t = 0 every endpoint x + v(x, 0) of the exact flow is E[x_1]: the members coincide, D has
// no direction, and the coupled velocity is the model's (MATH §4: ‖G̃‖ = 0 gives no v_div).
TEST(JointNormalizationAtTimeZero, TheExactFlowHasNoDiversityVelocity) {
  const MixtureFlow flow(named_mixture("gmm8d"), at::kDouble, at::kCPU);
  SamplerOptions options;
  options.objective = Objective::dpp;
  options.group_size = 5;
  options.groups = 2;
  LocalCommunicator comm;
  const JointSampler sampler(flow, options, comm, at::kDouble, at::kCPU);
  const GroupLayout layout = make_group_layout(0, options.groups, options.group_size, 1, 0);
  at::manual_seed(3);
  const at::Tensor x = at::randn({options.groups * options.group_size, 8}, at::kDouble);
  at::Tensor v;
  const at::Tensor x_dot = sampler.coupled_velocity(layout, x, 0.0, v);
  EXPECT_TRUE(at::equal(x_dot, v));
}

INSTANTIATE_TEST_SUITE_P(ObjectivesRegularizationsAndTimes, JointNormalization,
                         testing::Values(Case{Objective::dpp, ScoreRegularization::none, 0.1},
                                         Case{Objective::dpp, ScoreRegularization::none, 0.6},
                                         Case{Objective::dpp, ScoreRegularization::hard, 0.3},
                                         Case{Objective::dpp, ScoreRegularization::soft, 0.8},
                                         Case{Objective::pg, ScoreRegularization::hard, 0.5},
                                         Case{Objective::reciprocal, ScoreRegularization::none,
                                              0.9}));

}  // namespace
}  // namespace jointflow
