// Data-parallel Flux Matching and DSM at 1, 2 and 3 ranks (DESIGN §3, MATH §7.1 point 2): every
// rank builds its KDE from its own local batch and draws its own σ and horizon, the trainer
// all-reduces the gradients once per step, and the parameters stay identical on every rank.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <string>

#include "core/log.h"
#include "dist/mpi_communicator.h"
#include "models/mlp_velocity.h"
#include "training/flux_datasets.h"
#include "training/flux_matching_loss.h"
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

}  // namespace
}  // namespace jointflow
