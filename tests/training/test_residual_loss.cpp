// The residual / rectified-flow loss of MATH §5.2 and §1: its value against a hand-computed
// closed form with the exact mixture flow, its counter keying, the frozen base, and a short run
// in which a residual learns the difference between two mixtures.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/log.h"
#include "data/gaussian_mixture.h"
#include "distributed/counter_rng.h"
#include "distributed/local_communicator.h"
#include "models/mixture_flow.h"
#include "training/residual_loss.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"
#include "training_fixtures.h"

namespace jointflow {
namespace {

using testing_support::mixture_data;
using testing_support::small_mlp;

// r ≡ 0.
class ZeroField final : public VelocityField {
 public:
  at::Tensor velocity(const at::Tensor& x, const at::Tensor&) const override {
    return at::zeros_like(x);
  }
  std::vector<int64_t> sample_shape() const override { return {2}; }
};

double value(const at::Tensor& scalar) { return scalar.item<double>(); }

TEST(ResidualLoss, ZeroResidualOnTheExactFlowIsTheRfLossOfTheExactVelocity) {
  const GaussianMixture mixture = named_mixture("gmm2d");
  const MixtureFlow exact(mixture, at::kDouble, at::kCPU);
  const ZeroField zero;
  const at::Tensor x1 = mixture_data("gmm2d", 256);
  const BatchPosition position{7, 40};
  const double residual = value(residual_flow_loss(zero, &exact, x1, 5, position));
  const double rf = value(residual_flow_loss(exact, nullptr, x1, 5, position));
  // By hand: fresh x0 and t for counter ids 40.. at step 7 (MATH §5.2).
  const at::Tensor x0 = counter_normal({5, RandomStream::training_noise}, 40, 256, 2, 7);
  const at::Tensor t = counter_uniform({5, RandomStream::training_time}, 40, 256, 1, 7).view(-1);
  const at::Tensor x_t = (1 - t.unsqueeze(1)) * x0 + t.unsqueeze(1) * x1;
  const double expected = value((x1 - x0 - exact.velocity(x_t, t)).pow(2).sum(1).mean());
  EXPECT_NEAR(residual, expected, 1e-13 * expected);
  EXPECT_NEAR(rf, expected, 1e-13 * expected);
  // The exact velocity beats no velocity at all, and each step draws fresh noise.
  EXPECT_LT(rf, value(residual_flow_loss(zero, nullptr, x1, 5, position)));
  EXPECT_NE(rf, value(residual_flow_loss(exact, nullptr, x1, 5, {8, 40})));
}

TEST(ResidualLoss, SplitBatchesSeeTheSameDraws) {
  const MixtureFlow base(named_mixture("gmm2d"), at::kDouble, at::kCPU);
  MlpVelocity residual = small_mlp(3);
  const at::Tensor x1 = mixture_data("gmm2d3", 100);
  const double whole = value(residual_flow_loss(*residual, &base, x1, 2, {4, 0}));
  const double head = value(residual_flow_loss(*residual, &base, x1.narrow(0, 0, 37), 2, {4, 0}));
  const double tail = value(residual_flow_loss(*residual, &base, x1.narrow(0, 37, 63), 2, {4, 37}));
  EXPECT_NEAR((37 * head + 63 * tail) / 100, whole, 1e-13 * whole);
}

TEST(ResidualLoss, TheBaseIsFrozen) {
  MlpVelocity base = small_mlp(1);
  MlpVelocity residual = small_mlp(2);
  const at::Tensor x1 = mixture_data("gmm2d", 16);
  residual_flow_loss(*residual, &*base, x1, 0, {0, 0}).backward();
  for (const at::Tensor& p : base->parameters()) EXPECT_FALSE(p.grad().defined());
  for (const at::Tensor& p : residual->parameters()) EXPECT_TRUE(p.grad().defined());
}

// Base: the exact gmm2d flow; data: gmm2d3. r must learn the difference (MATH §5.2).
TEST(ResidualLoss, TrainingTheResidualOnAnotherMixtureLowersTheLoss) {
  log::configure(0, log::Level::quiet);
  const MixtureFlow base(named_mixture("gmm2d"), at::kDouble, at::kCPU);
  const at::Tensor data = mixture_data("gmm2d3", 2048);
  MlpVelocity residual = small_mlp(4, 32);
  LocalCommunicator comm;
  ShardedBatches batches(data, 0, ShardedBatchesOptions(2048, 256).seed(1), comm);
  const auto held_out = [&] {
    at::NoGradGuard no_grad;
    return value(residual_flow_loss(*residual, &base, data, 99, {1000000, 0}));
  };
  const double before = held_out();
  Trainer trainer(
      *residual, comm,
      TrainerOptions().lr(1e-2).warmup_steps(10).clip_norm(10).steps(150).log_every(0).progress(
          ProgressMode::off),
      "residual");
  trainer.run(residual_flow_closure(*residual, &base, batches, 6));
  const double after = held_out();
  EXPECT_LT(after, 0.8 * before) << "before " << before << ", after " << after;
}

}  // namespace
}  // namespace jointflow
