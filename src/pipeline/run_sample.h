// The `sample` stage: joint sets drawn on every rank, metrics reduced into one HDF5 file.
#pragma once

#include "pipeline/config.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// Collective. Draws sampler.groups sets of sampler.group_size members with the configured
// objective and score regularization, computes the metrics of MATH §6 when an evaluation
// mixture is known, writes run.output and prints a table on rank 0.
void run_sample(const Config& config, StageContext& context);

}  // namespace jointflow
