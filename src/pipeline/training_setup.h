// From a Config to the pieces of a training run: networks, trainer options, config hash.
#pragma once

#include <string>

#include "models/mlp_velocity.h"
#include "pipeline/config.h"
#include "training/trainer.h"

namespace jointflow {

// The residual r_φ (MATH §5.2): an MLP on (x, t) with residual.hidden, seeded by run.seed.
MlpVelocity make_residual(const Config& config, int64_t dim, at::ScalarType dtype,
                          at::Device device);

// Trainer options from [train] for `steps` optimizer steps, checkpointing to `checkpoint`.
TrainerOptions trainer_options(const Config& config, int64_t steps, const std::string& checkpoint,
                               const std::string& label);

// Identifies what a checkpoint was trained on and with (model, data, network, optimizer, seed,
// dtype), so that a resume with another configuration is refused.
std::string training_config_hash(const Config& config);

}  // namespace jointflow
