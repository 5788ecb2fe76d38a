// The CUDA path end to end (ctest label gpu; skipped without a GPU): the device of each rank from
// its node-local rank, the UNet and its double backward, train-flow and joint sampling on the
// GPU against the same runs on the CPU, bf16 autocast of the Flux Matching objective, and the
// NCCL backend where it is built. At 2 ranks on one GPU both ranks share it and run.comm = auto
// falls back to MPI.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/module.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "data/digits_file.h"
#include "distributed/local_communicator.h"
#include "distributed/world.h"
#include "io/result_file.h"
#include "models/divergence.h"
#include "models/unet_velocity.h"
#include "pipeline/model_factory.h"
#include "pipeline/run_sample.h"
#include "pipeline/run_train_flow.h"
#include "pipeline/run_train_flux.h"
#include "support/tempdir.h"
#include "training/autocast_scope.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

using testing_support::TempDir;

class CudaFlow : public testing::Test {
 protected:
  void SetUp() override {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    log::configure(rank_, log::Level::quiet);
    if (!at::hasCUDA()) GTEST_SKIP() << "needs LibTorch with CUDA and a visible GPU";
    device_ = rank_device(/*cuda=*/true, node_placement(MPI_COMM_WORLD).local_rank);
    comm_ = make_communicator(CommBackend::automatic, MPI_COMM_WORLD, device_);
  }

  StageContext context(Communicator& comm, at::Device device) const {
    return {comm, device, "test", [](const Config&) { return "test"; },
            [](const std::string&) { return Config{}; }};
  }

  int rank_ = 0;
  at::Device device_{at::kCPU};
  std::unique_ptr<Communicator> comm_;
  LocalCommunicator alone_;
};

TEST_F(CudaFlow, EachRankDrivesTheGpuOfItsNodeLocalRank) {
  EXPECT_TRUE(device_.is_cuda());
  const auto gpus = static_cast<int>(at::getNumGPUs());
  EXPECT_EQ(static_cast<int>(device_.index()), node_placement(MPI_COMM_WORLD).local_rank % gpus);
#ifdef JF_WITH_NCCL
  // NCCL when every rank of a node has a GPU of its own, MPI when they share one.
  const bool own_gpu = node_placement(MPI_COMM_WORLD).local_size <= gpus;
  EXPECT_EQ(comm_->backend(), own_gpu ? "nccl" : "mpi");
  if (own_gpu) {
    const auto nccl = make_communicator(CommBackend::nccl, MPI_COMM_WORLD, device_);
    at::Tensor x = at::full({3}, rank_ + 1.0, at::TensorOptions().device(device_));
    nccl->allreduce_sum(x);
    const int n = nccl->size();
    EXPECT_TRUE(at::equal(x.cpu(), at::full({3}, n * (n + 1) / 2.0)));
  }
#endif
}

TEST_F(CudaFlow, UNetAndItsDoubleBackwardMatchTheCpu) {
  UNetVelocity model(UNetVelocityOptions({1, 9, 9})
                         .channels(8)
                         .groups(4)
                         .channel_multipliers({1, 2})
                         .attention_levels({1})
                         .seed(4));
  model->to(at::kDouble);
  const at::Tensor x = at::randn({3, 1, 9, 9}, at::kDouble);
  const at::Tensor t = at::tensor({0.2, 0.5, 0.9}, at::kDouble);
  const DivergenceOptions options{0, 1};
  const ProbeKey probes{{2, RandomStream::hutchinson}, 0, 0};
  const auto gradient_of_divergence = [&](at::Device device) {
    model->to(device);
    const at::Tensor input = x.to(device).requires_grad_(true);
    const at::Tensor v = model->velocity(input, t.to(device));
    const at::Tensor div = divergence(v, input, options, probes, /*create_graph=*/true);
    return std::make_pair(v.detach().cpu(), torch::autograd::grad({div.sum()}, {input})[0].cpu());
  };
  const auto [v_cpu, g_cpu] = gradient_of_divergence(at::kCPU);
  const auto [v_gpu, g_gpu] = gradient_of_divergence(device_);
  EXPECT_TRUE(at::allclose(v_gpu, v_cpu, 1e-9, 1e-10));
  EXPECT_TRUE(at::allclose(g_gpu, g_cpu, 1e-7, 1e-9));
}

TEST_F(CudaFlow, TrainFlowOnTheGpuMatchesTheCpu) {
  if (!std::filesystem::exists(default_digits_path()))
    GTEST_SKIP() << "python3-sklearn (the 8x8 digits) is not installed";
  TempDir shared(/*shared=*/true), own;
  Config config;
  config.run.progress = ProgressMode::off;
  config.model.kind = ModelKind::unet;
  config.model.flow.unet.channels(8);
  config.model.flow.unet.groups(4);
  config.model.flow.unet.channel_multipliers({1, 2});
  config.model.flow.unet.attention_levels({1});
  config.data.kind = DatasetKind::digits;
  config.data.examples = 96;
  config.train.batch_size = 32;
  config.train.steps = 4;
  config.train.trainer.ema_decay(0.9);

  Config gpu = config;
  gpu.run.device = DeviceKind::cuda;
  gpu.run.output = shared.file("gpu.h5");
  gpu.model.path = shared.file("gpu.ckpt");
  StageContext on_gpu = context(*comm_, device_);
  run_train_flow(gpu, on_gpu);
  Config cpu = config;
  cpu.run.output = own.file("cpu.h5");
  cpu.model.path = own.file("cpu.ckpt");
  StageContext on_cpu = context(alone_, at::kCPU);
  run_train_flow(cpu, on_cpu);

  for (const bool ema : {false, true}) {
    FlowNetwork a = make_flow_network(config.model, {1, 8, 8}, 0, at::kDouble, at::kCPU);
    FlowNetwork b = make_flow_network(config.model, {1, 8, 8}, 0, at::kDouble, at::kCPU);
    load_trained_model(gpu.model.path, *a.module, ema);
    load_trained_model(cpu.model.path, *b.module, ema);
    const auto pa = a.module->parameters(), pb = b.module->parameters();
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(at::allclose(pa[i], pb[i], 1e-7, 1e-9));
  }
}

// train.autocast = bf16 as the trainer applies it: the forward pass (with the double backward
// inside r_θ) under autocast, the backward outside. Matmuls run in bfloat16 inside the scope
// only; the objective and every gradient stay finite and near the float32 ones for the same
// draws (bfloat16 keeps 8 mantissa bits).
TEST_F(CudaFlow, Bf16AutocastFluxObjectiveStaysNearFloat32) {
  ModelOptions model;
  model.kind = ModelKind::field;
  model.field.network = ModelKind::unet;
  model.field.network_options.parameterization(FieldParameterization::edm);
  model.flow.unet.channels(8).groups(4).channel_multipliers({1, 2}).attention_levels({1});
  FluxModel flux = make_flux_model(model, {1, 8, 8}, 3, at::kFloat, device_);
  const at::Tensor x = (at::rand({16, 1, 8, 8}) * 2 - 1).to(device_);
  FieldTrainingOptions options;
  options.noise(NoiseLevelOptions().schedule(NoiseSchedule::edm));
  const auto objective_and_gradient_norm = [&](AutocastMode mode) {
    flux->zero_grad();
    at::Tensor objective;
    {
      const AutocastScope autocast(at::kCUDA, mode);
      const at::Tensor a = at::randn({4, 4}, at::TensorOptions().device(device_));
      EXPECT_EQ(at::matmul(a, a).scalar_type(),
                mode == AutocastMode::bf16 ? at::kBFloat16 : at::kFloat);
      objective = flux_matching_objective(*flux, x, options, 5, {0, 0}).objective;
    }
    objective.backward();
    double squares = 0;
    for (const at::Tensor& p : flux->parameters())
      if (p.grad().defined()) squares += p.grad().to(at::kDouble).pow(2).sum().item<double>();
    return std::make_pair(objective.item<double>(), std::sqrt(squares));
  };
  const auto [objective32, norm32] = objective_and_gradient_norm(AutocastMode::off);
  const auto [objective16, norm16] = objective_and_gradient_norm(AutocastMode::bf16);
  ASSERT_TRUE(std::isfinite(objective16) && std::isfinite(norm16));
  EXPECT_NEAR(objective16, objective32, 0.25 * std::abs(objective32) + 0.1);
  EXPECT_NEAR(norm16, norm32, 0.25 * norm32 + 0.1);
}

TEST_F(CudaFlow, JointSamplingOnTheGpuMatchesTheCpu) {
  TempDir shared(/*shared=*/true), own;
  Config config;
  config.run.progress = ProgressMode::off;
  config.sampler.objective = Objective::dpp;
  config.sampler.sr = ScoreRegularization::hard;
  config.sampler.groups = 40;
  config.sampler.steps = 50;
  Config gpu = config;
  gpu.run.device = DeviceKind::cuda;
  gpu.run.output = shared.file("gpu.h5");
  StageContext on_gpu = context(*comm_, device_);
  run_sample(gpu, on_gpu);
  Config cpu = config;
  cpu.run.output = own.file("cpu.h5");
  StageContext on_cpu = context(alone_, at::kCPU);
  run_sample(cpu, on_cpu);
  const ResultReader a(gpu.run.output), b(cpu.run.output);
  EXPECT_NEAR(a.read_scalar("/metrics/log_p"), b.read_scalar("/metrics/log_p"), 1e-4);
  EXPECT_NEAR(a.read_scalar("/metrics/coverage_joint"), b.read_scalar("/metrics/coverage_joint"),
              0.05);
}

}  // namespace
}  // namespace jointflow
