// Data-parallel Flux Matching and DSM at 1, 2 and 3 ranks (DESIGN §3, MATH §7.1 point 2): every
// rank builds its KDE from its own local batch and draws its own σ and horizon, the trainer
// all-reduces the gradients once per step, and the parameters stay identical on every rank;
// with fixed-size KDE batches the training is that of one process.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "distributed/local_communicator.h"
#include "distributed/mpi_communicator.h"
#include "models/mlp_velocity.h"
#include "training/field_training.h"
#include "training/field_training_closure.h"
#include "training/flux_datasets.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"
#include "training_fixtures.h"

namespace jointflow {
namespace {

using testing_support::busy_options;
using testing_support::flat_parameters;

class FluxRanks : public testing::Test {
 protected:
  void SetUp() override { log::configure(comm_.rank(), log::Level::quiet); }

  // Whether `local` ([P]) is bitwise the same on every rank.
  bool same_on_every_rank(const at::Tensor& local) {
    const at::Tensor all = comm_.allgather(local.unsqueeze(0));
    bool same = true;
    for (int r = 1; r < comm_.size(); ++r) same = same && at::equal(all[r], all[0]);
    return same;
  }

  MpiCommunicator comm_{MPI_COMM_WORLD};
};

// Rank r starts from seed 100 + r: the trainer's broadcast makes them all rank 0's model.
FluxModel small_field(uint64_t seed) {
  MlpVelocity mlp(MlpVelocityOptions(2).hidden({16, 16}).seed(seed));
  FluxModel model(FieldNetwork(mlp, FieldNetworkOptions()), seed);
  model->to(at::kDouble);
  return model;
}

TEST_F(FluxRanks, EveryRankTrainsTheSameFieldFromItsOwnBatchSigmaAndHorizon) {
  const at::Tensor data = ring_samples({3, RandomStream::exact_samples}, 0, 300);
  NoiseLevelOptions ve;
  ve.schedule(NoiseSchedule::ve).sigma_min(0.05).sigma_max(2.0);
  for (const FieldLoss loss : {FieldLoss::flux, FieldLoss::dsm}) {
    SCOPED_TRACE(choice_name(loss, field_loss_choices()));
    FluxModel model = small_field(100 + comm_.rank());
    ShardedBatches batches(data, 0, ShardedBatchesOptions(300, 96).seed(4), comm_);
    Trainer trainer(*model, comm_, busy_options(6), "flux-ranks");
    FieldTrainingOptions options;
    options.loss(loss).noise(ve).horizon(HorizonKind::learned);
    FieldBatchLoss local;
    const LossClosure closure = field_training_closure(*model, batches, options, 8, &local);
    for (int64_t s = 0; s < 6; ++s) {
      const StepStats stats = trainer.step(closure);
      EXPECT_TRUE(std::isfinite(stats.loss)) << "step " << s;
    }
    EXPECT_TRUE(same_on_every_rank(flat_parameters(*model)));
    // Each rank's σ of the last step: its own draw, keyed by its block of the global batch.
    const at::Tensor sigmas = comm_.allgather(at::full({1}, local.sigma, at::kDouble));
    for (int r = 1; r < comm_.size(); ++r)
      EXPECT_NE(sigmas[r].item<double>(), sigmas[0].item<double>()) << "rank " << r;
    for (int r = 0; r < comm_.size(); ++r) {
      EXPECT_GE(sigmas[r].item<double>(), 0.05);
      EXPECT_LE(sigmas[r].item<double>(), 2.0);
    }
  }
}

// Global batch 96 in KDE batches of 32: one process holds all three, 2 ranks two and one, 3 ranks
// one each. Every KDE batch keys its σ, horizon and noise by its global position, so R ranks
// train the same field as one process, up to the order of the gradient sums.
TEST_F(FluxRanks, KdeBatchesTrainTheSameFieldAtAnyRankCount) {
  const at::Tensor data = ring_samples({5, RandomStream::exact_samples}, 0, 300);
  NoiseLevelOptions ve;
  ve.schedule(NoiseSchedule::ve).sigma_min(0.05).sigma_max(2.0);
  const ShardedBatchesOptions batching = ShardedBatchesOptions(300, 96).seed(6).unit(32);
  for (const FieldLoss loss : {FieldLoss::flux, FieldLoss::dsm}) {
    SCOPED_TRACE(choice_name(loss, field_loss_choices()));
    FieldTrainingOptions options;
    options.loss(loss).noise(ve).horizon(HorizonKind::learned).kde_batch(32);
    // The run on `comm` from rank 0's initial field: its parameters and per-step losses.
    auto train = [&](Communicator& comm) {
      FluxModel model = small_field(100 + comm.rank());
      ShardedBatches batches(data, 0, batching, comm);
      Trainer trainer(*model, comm, busy_options(5), "flux-kde-batches");
      const LossClosure closure = field_training_closure(*model, batches, options, 9);
      std::vector<double> losses;
      for (int64_t s = 0; s < 5; ++s) losses.push_back(trainer.step(closure).loss);
      return std::make_pair(flat_parameters(*model), at::tensor(losses, at::kDouble));
    };
    LocalCommunicator one;
    const auto [parameters, losses] = train(comm_);
    const auto [single_parameters, single_losses] = train(one);
    EXPECT_TRUE(at::allclose(losses, single_losses, 1e-10, 1e-12))
        << losses << " against one process's " << single_losses;
    EXPECT_TRUE(at::allclose(parameters, single_parameters, 1e-10, 1e-12))
        << "largest difference " << (parameters - single_parameters).abs().max().item<double>();
    EXPECT_FALSE(at::equal(parameters, flat_parameters(*small_field(100))));  // it trained
  }
}

// Without KDE batches each rank's KDE is its local batch (the reference code's convention), so
// at several ranks the objective is another one than at one rank with the same global batch.
TEST_F(FluxRanks, PerRankKdesMakeTheObjectiveDependOnTheRankCount) {
  if (comm_.size() == 1) GTEST_SKIP() << "needs several ranks";
  const at::Tensor data = ring_samples({5, RandomStream::exact_samples}, 0, 300);
  FieldTrainingOptions options;
  options.horizon(HorizonKind::uniform);
  auto first_loss = [&](Communicator& comm) {
    FluxModel model = small_field(100);
    ShardedBatches batches(data, 0, ShardedBatchesOptions(300, 96).seed(6), comm);
    Trainer trainer(*model, comm, busy_options(1), "flux-per-rank-kde");
    return trainer.step(field_training_closure(*model, batches, options, 9)).loss;
  };
  LocalCommunicator one;
  EXPECT_GT(std::abs(first_loss(comm_) - first_loss(one)), 1e-6);
}

}  // namespace
}  // namespace jointflow
