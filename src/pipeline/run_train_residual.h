// The `train-residual` stage: r_φ trained on the joint sampler's final states (MATH §5.2).
#pragma once

#include "pipeline/config.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// Collective. Reads /trajectories/x1 of residual.data (each rank its block of rows), trains the
// residual MLP against the frozen base field of `model` with fresh noise, data-parallel, and
// writes residual.checkpoint (and run.output with the loss). Resumes bit for bit when
// train.resume is set and the checkpoint exists.
void run_train_residual(const Config& config, StageContext& context);

}  // namespace jointflow
