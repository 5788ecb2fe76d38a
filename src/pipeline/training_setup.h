// From a Config to the pieces of a training run: networks, data, trainer options, config hash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/datasets.h"
#include "models/mlp_velocity.h"
#include "pipeline/config.h"
#include "pipeline/stage_context.h"
#include "training/trainer.h"

namespace jointflow {

// The residual r_φ (MATH §5.2): an MLP on (x, t) with residual.hidden, seeded by run.seed.
MlpVelocity make_residual(const Config& config, int64_t dim, at::ScalarType dtype,
                          at::Device device);

// The [data] section as loader options, mixture draws keyed by run.seed.
DatasetOptions training_dataset(const Config& config);

// Optimizer steps of a run over `examples`: train.steps, else train.epochs passes of
// train.batch_size (the last batch of a pass may wrap).
int64_t training_steps(const TrainOptions& train, int64_t examples);

// The Trainer options of [train] for `steps` optimizer steps, checkpointing to `checkpoint`.
TrainerOptions trainer_options(const Config& config, int64_t steps, const std::string& checkpoint,
                               const std::string& label);

// The checks of every trainer (call inside run_agreed): `checkpoint`, the value of option
// `key`, must name a file, rank 0 must be able to write it and run.output, and
// train.autocast = bf16 needs run.dtype = float32.
void check_training_setup(const Config& config, const StageContext& context, const std::string& key,
                          const std::string& checkpoint);

// model.sample_shape, when given, must equal the data set's sample shape.
void check_model_sample_shape(const ModelOptions& model, const std::vector<int64_t>& data_shape);

// The [flow] architecture as config-hash text: ";flow.hidden=256,256,256;flow.frequencies=8;…".
std::string flow_architecture_text(const FlowOptions& flow);

// Identifies what a checkpoint was trained on and with (model, data, network, optimizer, seed,
// dtype), so that a resume with another configuration is refused.
std::string training_config_hash(const Config& config);

}  // namespace jointflow
