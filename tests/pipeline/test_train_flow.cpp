// The train-flow stage on one process: a tiny UNet on the 8×8 digits resumes bit for bit, the
// trained checkpoint loads through make_velocity_field (model.kind = unet) for sampling, an MLP
// on a mixture learns, and configuration mistakes are Errors naming the option.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "data/digits_file.h"
#include "distributed/local_communicator.h"
#include "io/result_file.h"
#include "pipeline/model_factory.h"
#include "pipeline/run_train_flow.h"
#include "support/tempdir.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

using testing_support::TempDir;

class TrainFlow : public testing::Test {
 protected:
  void SetUp() override { log::configure(0, log::Level::quiet); }

  // A tiny UNet on 64 digits of classes 0 and 1, float32, EMA on.
  Config digits_config(const std::string& name, int64_t steps) const {
    Config config;
    config.run.output = dir_.file(name + ".h5");
    config.run.dtype = Precision::float32;
    config.run.progress = ProgressMode::off;
    config.run.seed = 7;
    config.model.kind = ModelKind::unet;
    config.model.path = dir_.file(name + ".ckpt");
    config.model.flow.unet.channels(8);
    config.model.flow.unet.groups(4);
    config.model.flow.unet.channel_multipliers({1, 2});
    config.model.flow.unet.attention_levels({1});
    config.data.kind = DatasetKind::digits;
    config.data.classes = {0, 1};
    config.data.examples = 64;
    config.train.batch_size = 16;
    config.train.steps = steps;
    config.train.trainer.lr(2e-3);
    config.train.trainer.ema_decay(0.9);
    return config;
  }

  void run(const Config& config) {
    StageContext context{
        comm_, at::kCPU, "train-flow", [](const Config&) { return "test"; },
        [](const std::string&) -> Config { throw Error("train-flow does not read configs back"); }};
    run_train_flow(config, context);
  }

  // The parameters (or EMA shadow) stored in `path`, concatenated.
  at::Tensor stored(const Config& config, bool ema) const {
    FlowNetwork network = make_flow_network(config.model, {1, 8, 8}, 0, at::kFloat, at::kCPU);
    load_trained_model(config.model.path, *network.module, ema);
    std::vector<at::Tensor> flat;
    for (const at::Tensor& p : network.module->parameters()) flat.push_back(p.reshape(-1));
    return at::cat(flat);
  }

  LocalCommunicator comm_;
  TempDir dir_;
};

TEST_F(TrainFlow, ResumeIsBitIdenticalAndTheCheckpointSamples) {
  if (!std::filesystem::exists(default_digits_path()))
    GTEST_SKIP() << "python3-sklearn (the 8x8 digits) is not installed";
  const Config straight = digits_config("straight", 6);
  run(straight);
  Config interrupted = digits_config("interrupted", 3);
  run(interrupted);
  interrupted.train.steps = 6;
  interrupted.train.resume = true;
  run(interrupted);
  EXPECT_TRUE(at::equal(stored(straight, false), stored(interrupted, false)));
  EXPECT_TRUE(at::equal(stored(straight, true), stored(interrupted, true)));
  EXPECT_FALSE(at::equal(stored(straight, true), stored(straight, false)));
  const ResultReader results(straight.run.output);
  EXPECT_TRUE(std::isfinite(results.read_scalar("/metrics/final_loss")));
  EXPECT_EQ(results.read_scalar("/metrics/steps"), 6.0);

  // Resuming a finished run trains nothing and keeps the results of the run that trained.
  const double final_loss = ResultReader(interrupted.run.output).read_scalar("/metrics/final_loss");
  run(interrupted);
  EXPECT_EQ(ResultReader(interrupted.run.output).read_scalar("/metrics/final_loss"), final_loss);
  EXPECT_TRUE(at::equal(stored(straight, false), stored(interrupted, false)));

  // Another architecture refuses to resume: the config hash covers [flow].
  Config changed = interrupted;
  changed.model.flow.unet.attention_levels({});
  changed.train.steps = 8;
  EXPECT_THROW(run(changed), Error);

  // model.kind = unet with the same [flow] loads the EMA weights for sampling.
  ModelOptions model = straight.model;
  model.sample_shape = {1, 8, 8};
  const auto field = make_velocity_field(model, at::kFloat, at::kCPU);
  EXPECT_EQ(field->sample_shape(), (std::vector<int64_t>{1, 8, 8}));
  FlowNetwork reference = make_flow_network(model, {1, 8, 8}, 0, at::kFloat, at::kCPU);
  load_trained_model(model.path, *reference.module, /*use_ema=*/true);
  const at::Tensor x = at::randn({3, 1, 8, 8});
  EXPECT_TRUE(at::equal(field->velocity(x, at::scalar_tensor(0.4)),
                        reference.field->velocity(x, at::scalar_tensor(0.4))));
  model.sample_shape = {};
  EXPECT_THROW(make_velocity_field(model, at::kFloat, at::kCPU), Error);
  model.sample_shape = {1, 8, 8};
  model.flow.unet.channels(16);
  EXPECT_THROW(make_velocity_field(model, at::kFloat, at::kCPU), Error);
}

TEST_F(TrainFlow, MlpLearnsAMixture) {
  Config config;
  config.run.output = dir_.file("mlp.h5");
  config.run.progress = ProgressMode::off;
  config.model.kind = ModelKind::mlp;
  config.model.path = dir_.file("mlp.ckpt");
  config.model.flow.mlp.hidden({64, 64});
  config.data.mixture = "gmm2d";
  config.data.examples = 4096;
  config.train.batch_size = 256;
  config.train.steps = 300;
  config.train.trainer.lr(3e-3);
  run(config);
  // An untrained v ≈ 0 has loss E‖x_1 − x_0‖² ≈ 4 + 2·0.0625 + 2 ≈ 6.1.
  EXPECT_LT(ResultReader(config.run.output).read_scalar("/metrics/final_loss"), 4.5);

  config.model.sample_shape = {3};
  EXPECT_THROW(run(config), Error);
  config.model.sample_shape = {};
  config.model.kind = ModelKind::gmm;
  EXPECT_THROW(run(config), Error);
  config.model.kind = ModelKind::mlp;
  config.model.path = "";
  EXPECT_THROW(run(config), Error);
}

}  // namespace
}  // namespace jointflow
