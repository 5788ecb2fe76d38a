// From a Config to the pieces of a training run: networks, trainer options, config hash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/stage_context.h"
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

// The checks of every trainer (call inside run_agreed): `checkpoint`, the value of option
// `key`, must name a file, rank 0 must be able to write it and run.output, and
// train.autocast = bf16 needs run.dtype = float32.
void check_training_setup(const Config& config, const StageContext& context,
                          const std::string& key, const std::string& checkpoint);

// "1,28,28" for the shape {1, 28, 28}.
std::string shape_text(const std::vector<int64_t>& shape);

// model.sample_shape, when given, must equal the data set's sample shape.
void check_model_sample_shape(const ModelOptions& model, const std::vector<int64_t>& data_shape);

// Identifies what a checkpoint was trained on and with (model, data, network, optimizer, seed,
// dtype), so that a resume with another configuration is refused.
std::string training_config_hash(const Config& config);

}  // namespace jointflow
