// Smoke test of paper B's 2-D example (MATH §7.1): a few hundred steps of Flux Matching and of
// DSM on the ring (radius 2.5, width 0.5, σ² = 0.05) already give Langevin samples on the ring.
// jobs/flux_ring.sh runs the full-length comparison (docs/flux-matching.md).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/log.h"
#include "distributed/local_communicator.h"
#include "models/mlp_velocity.h"
#include "sampling/field_samplers.h"
#include "training/field_training.h"
#include "training/field_training_closure.h"
#include "training/flux_datasets.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

TEST(FluxRing, ShortTrainingPutsLangevinSamplesOnTheRing) {
  log::configure(0, log::Level::quiet);
  const at::Tensor data = ring_samples({1, RandomStream::exact_samples}, 0, 4096).to(at::kFloat);
  for (const FieldLoss loss : {FieldLoss::flux, FieldLoss::dsm}) {
    SCOPED_TRACE(choice_name(loss, field_loss_choices()));
    MlpVelocity mlp(MlpVelocityOptions(2).hidden({64, 64}).seed(1));
    FluxModel model(FieldNetwork(mlp, FieldNetworkOptions()), 2);
    LocalCommunicator comm;
    ShardedBatches batches(data, 0, ShardedBatchesOptions(4096, 256).seed(3), comm);
    Trainer trainer(*model, comm,
                    TrainerOptions()
                        .optimizer(OptimizerKind::adam)
                        .lr(2e-3)
                        .weight_decay(0)
                        .clip_norm(1.0)
                        .steps(300)
                        .log_every(0)
                        .progress(ProgressMode::off),
                    "flux-ring");
    FieldTrainingOptions options;
    options.loss(loss).horizon(HorizonKind::uniform);
    trainer.run(field_training_closure(*model, batches, options, 5));

    FieldSamplerOptions sampling;
    sampling.steps(1000).step_size(0.01).sigma(options.noise().sigma());
    const at::Tensor x = sample_field(*model->field, sampling, 7, 0, 500, at::kFloat);
    ASSERT_TRUE(at::isfinite(x).all().item<bool>());
    const at::Tensor radius = x.norm(2, 1);
    // The noised ring has radius 2.50 ± 0.35.
    EXPECT_NEAR(radius.mean().item<double>(), 2.5, 0.2);
    EXPECT_LT(radius.std().item<double>(), 0.6);
    EXPECT_LT((radius < 1.0).to(at::kDouble).mean().item<double>(), 0.02);
  }
}

}  // namespace
}  // namespace jointflow
