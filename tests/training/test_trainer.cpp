// The trainer on one process: bit-exact resume, checkpoint errors, EMA, warm-up, clipping and
// option checks.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <type_traits>

#include "core/error.h"
#include "core/log.h"
#include "distributed/local_communicator.h"
#include "support/expect_error.h"
#include "support/tempdir.h"
#include "training/residual_loss.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"
#include "training_fixtures.h"

namespace jointflow {
namespace {

using testing_support::expect_error;

using testing_support::busy_options;
using testing_support::flat_parameters;
using testing_support::mixture_data;
using testing_support::small_mlp;
using testing_support::TempDir;

// An RF-trained MLP on gmm2d draws (MATH §1), the loop every later trainer runs.
class TrainerTest : public testing::Test {
 protected:
  void SetUp() override { log::configure(0, log::Level::quiet); }

  // Trains a model initialized with `seed` for options.steps() steps, optionally resuming from
  // `resume_from` first; returns the trainer's final state through the callbacks.
  void train(MlpVelocity& model, const TrainerOptions& options, const std::string& resume_from,
             const std::function<void(Trainer&)>& inspect) {
    ShardedBatches batches(data_, 0, ShardedBatchesOptions(data_.size(0), 32).seed(3), comm_);
    Trainer trainer(*model, comm_, options, "hash-a");
    if (!resume_from.empty()) trainer.resume(resume_from);
    trainer.run(residual_flow_closure(*model, nullptr, batches, 9));
    inspect(trainer);
  }

  LocalCommunicator comm_;
  at::Tensor data_ = mixture_data("gmm2d", 200);
  TempDir dir_;
};

// A parameter's AdamW state: LibTorch 1.13 keys the state by the printed TensorImpl address,
// 2.x by the address itself.
template <typename StateMap>
const torch::optim::AdamWParamState& adamw_state(const StateMap& state, const at::Tensor& p) {
  using Key = std::decay_t<decltype(state.begin()->first)>;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;
    key << p.unsafeGetTensorImpl();
    return static_cast<const torch::optim::AdamWParamState&>(*state.at(key.str()));
  } else {
    return static_cast<const torch::optim::AdamWParamState&>(*state.at(p.unsafeGetTensorImpl()));
  }
}

TEST_F(TrainerTest, ResumeIsBitIdenticalToAnUninterruptedRun) {
  const std::string path = dir_.file("train.ckpt");
  MlpVelocity straight = small_mlp(1);
  std::vector<at::Tensor> straight_ema;
  std::vector<torch::optim::AdamWParamState> straight_state;
  std::vector<double> straight_losses;
  train(straight, busy_options(12), "", [&](Trainer& trainer) {
    straight_ema = trainer.ema_parameters();
    straight_losses = trainer.loss_history();
    for (const at::Tensor& p : straight->parameters())
      straight_state.push_back(adamw_state(trainer.optimizer().state(), p));
  });

  MlpVelocity first_half = small_mlp(1);
  train(first_half, busy_options(5).checkpoint(path), "", [](Trainer&) {});
  ASSERT_TRUE(std::filesystem::exists(path));

  // Another initialization: everything must come from the checkpoint.
  MlpVelocity resumed = small_mlp(2);
  train(resumed, busy_options(12), path, [&](Trainer& trainer) {
    EXPECT_EQ(trainer.step(), 12);
    // The per-step losses of the steps before the checkpoint come back with it.
    ASSERT_EQ(straight_losses.size(), 12u);
    EXPECT_EQ(trainer.loss_history(), straight_losses);
    ASSERT_EQ(trainer.ema_parameters().size(), straight_ema.size());
    for (size_t i = 0; i < straight_ema.size(); ++i)
      EXPECT_TRUE(at::equal(trainer.ema_parameters()[i], straight_ema[i])) << "EMA " << i;
    const auto parameters = resumed->parameters();
    for (size_t i = 0; i < parameters.size(); ++i) {
      const auto& state = adamw_state(trainer.optimizer().state(), parameters[i]);
      EXPECT_EQ(state.step(), straight_state[i].step());
      EXPECT_TRUE(at::equal(state.exp_avg(), straight_state[i].exp_avg())) << "m " << i;
      EXPECT_TRUE(at::equal(state.exp_avg_sq(), straight_state[i].exp_avg_sq())) << "v " << i;
    }
  });
  EXPECT_TRUE(at::equal(flat_parameters(*resumed), flat_parameters(*straight)));
}

TEST_F(TrainerTest, ResumingPastTheLastStepIsAnError) {
  const std::string path = dir_.file("train.ckpt");
  MlpVelocity model = small_mlp(1);
  train(model, busy_options(5).checkpoint(path), "", [](Trainer&) {});
  MlpVelocity resumed = small_mlp(1);
  expect_error([&] { train(resumed, busy_options(3).warmup_steps(1), path, [](Trainer&) {}); },
               {path, "is at step 5", "past the 3 steps"});
  // Resuming a finished run takes no step and reports the checkpoint's last loss.
  MlpVelocity finished = small_mlp(1);
  ShardedBatches batches(data_, 0, ShardedBatchesOptions(data_.size(0), 32).seed(3), comm_);
  Trainer trainer(*finished, comm_, busy_options(5), "hash-a");
  trainer.resume(path);
  const StepStats last = trainer.run(residual_flow_closure(*finished, nullptr, batches, 9));
  EXPECT_EQ(last.step, 4);
  ASSERT_EQ(trainer.loss_history().size(), 5u);
  EXPECT_EQ(last.loss, trainer.loss_history().back());
}

TEST_F(TrainerTest, TruncatedCheckpointIsAnErrorNamingTheFile) {
  const std::string path = dir_.file("cut.ckpt");
  MlpVelocity model = small_mlp(1);
  train(model, busy_options(2).checkpoint(path), "", [](Trainer&) {});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  MlpVelocity fresh = small_mlp(1);
  const at::Tensor before = flat_parameters(*fresh);
  Trainer trainer(*fresh, comm_, busy_options(4), "hash-a");
  expect_error([&] { trainer.resume(path); }, {path, "truncated"});
  EXPECT_EQ(trainer.step(), 0);
  EXPECT_TRUE(at::equal(flat_parameters(*fresh), before));
  expect_error([&] { trainer.resume(dir_.file("missing.ckpt")); },
               {dir_.file("missing.ckpt"), "does not exist"});
}

// One changed byte inside a parameter's stored values (not the zip structure).
TEST_F(TrainerTest, CorruptedValuesAreAnErrorNamingTheFile) {
  const std::string path = dir_.file("flipped.ckpt");
  MlpVelocity model = small_mlp(1);
  train(model, busy_options(2).checkpoint(path), "", [](Trainer&) {});
  const at::Tensor weight = model->named_parameters()["linear1.weight"].detach().contiguous();
  const std::string pattern(static_cast<const char*>(weight.data_ptr()), 64);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] = static_cast<char>(bytes[at + 3] ^ 0x10);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  MlpVelocity fresh = small_mlp(1);
  Trainer trainer(*fresh, comm_, busy_options(4), "hash-a");
  expect_error([&] { trainer.resume(path); }, {path, "corrupt"});
}

TEST_F(TrainerTest, ConfigHashMismatchIsAnError) {
  const std::string path = dir_.file("other.ckpt");
  MlpVelocity model = small_mlp(1);
  train(model, busy_options(2).checkpoint(path), "", [](Trainer&) {});
  MlpVelocity fresh = small_mlp(1);
  Trainer trainer(*fresh, comm_, busy_options(4), "hash-b");
  expect_error([&] { trainer.resume(path); }, {path, "hash-a", "hash-b"});
}

TEST_F(TrainerTest, CheckpointOfAnotherModelIsAnError) {
  const std::string path = dir_.file("wide.ckpt");
  MlpVelocity model = small_mlp(1, 16);
  train(model, busy_options(1).checkpoint(path), "", [](Trainer&) {});
  MlpVelocity narrow = small_mlp(1, 8);
  Trainer trainer(*narrow, comm_, busy_options(4), "hash-a");
  expect_error([&] { trainer.resume(path); }, {path, "linear0.weight"});
}

// With the parameters set to θ_k before step k (a zero gradient leaves Adam's parameters where
// they are), the EMA after k steps is the bias-corrected average Σᵢ d^{k−i} θᵢ (1 − d)/(1 − d^k):
// the initial weights θ0 carry no weight, from the first step on.
TEST_F(TrainerTest, EmaIsTheBiasCorrectedAverageOfTheIterates) {
  MlpVelocity model = small_mlp(4, 4);
  const double decay = 0.8;
  Trainer trainer(*model, comm_, busy_options(6).ema_decay(decay).weight_decay(0), "h");
  const at::Tensor theta0 = flat_parameters(*model);
  const LossClosure zero = [&](int64_t) {
    at::Tensor loss = at::zeros({}, at::kDouble);
    for (const at::Tensor& p : model->parameters()) loss = loss + (p * 0).sum();
    return LocalLoss{loss};
  };
  std::vector<at::Tensor> iterates;
  for (int k = 1; k <= 6; ++k) {
    {
      at::NoGradGuard no_grad;
      for (at::Tensor p : model->parameters()) p.mul_(-0.5).add_(0.25 * k);
    }
    iterates.push_back(flat_parameters(*model));
    trainer.step(zero);
    EXPECT_TRUE(at::equal(flat_parameters(*model), iterates.back())) << "step " << k;
    at::Tensor expected = at::zeros_like(theta0);
    for (int i = 1; i <= k; ++i) expected += std::pow(decay, k - i) * iterates[i - 1];
    expected *= (1 - decay) / (1 - std::pow(decay, k));
    std::vector<at::Tensor> pieces;
    for (const at::Tensor& e : trainer.ema_parameters()) pieces.push_back(e.reshape(-1));
    EXPECT_TRUE(at::allclose(at::cat(pieces), expected, 1e-13, 1e-15)) << "step " << k;
  }
  MlpVelocity copy = small_mlp(5, 4);
  trainer.copy_ema_to(*copy);
  std::vector<at::Tensor> pieces;
  for (const at::Tensor& e : trainer.ema_parameters()) pieces.push_back(e.reshape(-1));
  EXPECT_TRUE(at::equal(flat_parameters(*copy), at::cat(pieces)));
}

TEST(LearningRate, CosineFallsFromThePeakToZeroAtTheLastStep) {
  // Warm-up 4 of 12 steps: peak at step 3, half the peak halfway through the remaining 8
  // (step 7), 0 after the last step (11); symmetric about the middle.
  const TrainerOptions options =
      TrainerOptions().lr(0.4).warmup_steps(4).steps(12).schedule(LrSchedule::cosine);
  EXPECT_DOUBLE_EQ(learning_rate(options, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(options, 3), 0.4);
  EXPECT_NEAR(learning_rate(options, 7), 0.2, 1e-15);
  EXPECT_NEAR(learning_rate(options, 11), 0.0, 1e-15);
  EXPECT_NEAR(learning_rate(options, 5) + learning_rate(options, 9), 0.4, 1e-15);
  EXPECT_GT(learning_rate(options, 4), learning_rate(options, 5));
  // Without warm-up the first step already decays.
  const TrainerOptions plain = TrainerOptions().lr(1.0).steps(4).schedule(LrSchedule::cosine);
  EXPECT_NEAR(learning_rate(plain, 0), 0.5 * (1 + std::sqrt(0.5)), 1e-15);  // cos(π/4)
}

TEST_F(TrainerTest, WarmupRampsLinearlyToThePeakRate) {
  const TrainerOptions options = TrainerOptions().lr(0.4).warmup_steps(4);
  EXPECT_DOUBLE_EQ(learning_rate(options, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(options, 1), 0.2);
  EXPECT_DOUBLE_EQ(learning_rate(options, 3), 0.4);
  EXPECT_DOUBLE_EQ(learning_rate(options, 50), 0.4);
  EXPECT_DOUBLE_EQ(learning_rate(TrainerOptions().lr(0.4), 0), 0.4);
  // The optimizer uses it.
  MlpVelocity model = small_mlp(1, 4);
  ShardedBatches batches(data_, 0, ShardedBatchesOptions(200, 8), comm_);
  Trainer trainer(*model, comm_, busy_options(8).lr(0.4).warmup_steps(4), "h");
  const LossClosure loss = residual_flow_closure(*model, nullptr, batches, 1);
  for (int s = 0; s < 3; ++s) {
    const StepStats stats = trainer.step(loss);
    EXPECT_DOUBLE_EQ(stats.learning_rate, 0.1 * (s + 1));
    EXPECT_DOUBLE_EQ(trainer.optimizer().param_groups()[0].options().get_lr(), 0.1 * (s + 1));
  }
}

TEST_F(TrainerTest, ClippingScalesTheGlobalNormToTheLimit) {
  MlpVelocity model = small_mlp(1, 8);
  // 1000 × the RF loss has a gradient norm far above 0.5.
  ShardedBatches batches(data_, 0, ShardedBatchesOptions(200, 64), comm_);
  const LossClosure rf = residual_flow_closure(*model, nullptr, batches, 1);
  const LossClosure steep = [&](int64_t s) {
    LocalLoss local = rf(s);
    local.loss = local.loss * 1000.0;
    return local;
  };
  const auto norm_of_gradients = [&] {
    double sum = 0;
    for (const at::Tensor& p : model->parameters()) sum += p.grad().pow(2).sum().item<double>();
    return std::sqrt(sum);
  };
  Trainer clipped(*model, comm_, busy_options(2).clip_norm(0.5), "h");
  const StepStats stats = clipped.step(steep);
  EXPECT_GT(stats.grad_norm, 0.5);
  EXPECT_NEAR(norm_of_gradients(), 0.5, 1e-12);
  // Below the limit the gradient is left alone.
  Trainer loose(*model, comm_, busy_options(2).clip_norm(1e12), "h");
  const StepStats unclipped = loose.step(steep);
  EXPECT_NEAR(norm_of_gradients(), unclipped.grad_norm, 1e-9 * unclipped.grad_norm);
}

TEST_F(TrainerTest, NonFiniteLossStopsWithTheStep) {
  MlpVelocity model = small_mlp(1, 4);
  Trainer trainer(*model, comm_, busy_options(2), "h");
  const LossClosure bad = [&](int64_t) {
    return LocalLoss{(model->parameters()[0].sum() * 0) + std::nan("")};
  };
  expect_error([&] { trainer.step(bad); }, {"step 0", "nan"});
}

TEST_F(TrainerTest, OptionsNameTheOffendingKey) {
  expect_error([] { TrainerOptions().lr(0).validate(); }, {"train.lr"});
  expect_error([] { TrainerOptions().weight_decay(-1).validate(); }, {"train.weight_decay"});
  expect_error([] { TrainerOptions().beta2(1.0).validate(); }, {"train.beta2"});
  expect_error([] { TrainerOptions().warmup_steps(-1).validate(); }, {"train.warmup_steps"});
  expect_error([] { TrainerOptions().warmup_steps(10).steps(10).validate(); },
               {"train.warmup_steps = 10", "not below the 10 training steps"});
  expect_error([] { TrainerOptions().clip_norm(-1).validate(); }, {"train.clip_norm"});
  expect_error([] { TrainerOptions().ema_decay(1.0).validate(); }, {"train.ema_decay"});
  expect_error([] { TrainerOptions().steps(-1).validate("residual"); }, {"residual.steps"});
  expect_error([] { TrainerOptions().checkpoint_every(10).validate(); },
               {"train.checkpoint_every", "train.checkpoint"});
  expect_error([] { ShardedBatchesOptions(10, 0).validate(); }, {"train.batch_size"});
  EXPECT_EQ(parse_choice("train.optimizer", "adam", optimizer_choices()), OptimizerKind::adam);
  TrainerOptions().validate();
}

// Inside the scope LibTorch's autocast list runs in bfloat16 on the CPU, other operations and
// everything outside stay float32, and nested scopes restore the state they found.
TEST(AutocastScope, MatmulRunsInBfloat16OnlyInsideTheScope) {
  const at::Tensor a = at::randn({4, 4}), b = at::randn({4, 4});
  {
    const AutocastScope outer(at::kCPU, AutocastMode::bf16);
    EXPECT_EQ(at::matmul(a, b).scalar_type(), at::kBFloat16);
    EXPECT_EQ((a + b).scalar_type(), at::kFloat);
    {
      const AutocastScope off(at::kCPU, AutocastMode::off);
      EXPECT_EQ(at::matmul(a, b).scalar_type(), at::kBFloat16);
    }
    { const AutocastScope inner(at::kCPU, AutocastMode::bf16); }
    EXPECT_EQ(at::matmul(a, b).scalar_type(), at::kBFloat16);
  }
  EXPECT_EQ(at::matmul(a, b).scalar_type(), at::kFloat);
}

// One step with the forward pass in bfloat16: the loss the trainer reports differs from the
// float32 step's by bfloat16 rounding (8 mantissa bits), not more and not zero, and so does the
// gradient norm; parameters stay float32.
TEST_F(TrainerTest, Bf16AutocastStepsCloseToFloat32) {
  const at::Tensor data = data_.to(at::kFloat);
  auto one_step = [&](AutocastMode mode, at::ScalarType* inner_type) {
    MlpVelocity model = small_mlp(7, 32);
    model->to(at::kFloat);
    ShardedBatches batches(data, 0, ShardedBatchesOptions(data.size(0), 64).seed(3), comm_);
    Trainer trainer(*model, comm_, busy_options(1).autocast(mode), "h");
    const LossClosure rf = residual_flow_closure(*model, nullptr, batches, 9);
    const StepStats stats = trainer.step([&](int64_t step) {
      *inner_type = model->forward(data.narrow(0, 0, 2), at::zeros({2}, at::kFloat)).scalar_type();
      return rf(step);
    });
    return std::make_tuple(stats.loss, stats.grad_norm, flat_parameters(*model));
  };
  at::ScalarType type32 = at::kDouble, type16 = at::kDouble;
  const auto [loss32, norm32, theta32] = one_step(AutocastMode::off, &type32);
  const auto [loss16, norm16, theta16] = one_step(AutocastMode::bf16, &type16);
  EXPECT_EQ(type32, at::kFloat);
  EXPECT_EQ(type16, at::kBFloat16);
  EXPECT_EQ(theta16.scalar_type(), at::kFloat);
  EXPECT_NE(loss16, loss32);
  EXPECT_NEAR(loss16, loss32, 2e-2 * std::abs(loss32));
  EXPECT_NE(norm16, norm32);
  EXPECT_NEAR(norm16, norm32, 2e-2 * norm32);
}

TEST_F(TrainerTest, Bf16AutocastNeedsFloat32Parameters) {
  MlpVelocity model = small_mlp(7, 8);
  expect_error([&] { Trainer(*model, comm_, busy_options(1).autocast(AutocastMode::bf16), "h"); },
               {"float32", "train.autocast"});
}

}  // namespace
}  // namespace jointflow
