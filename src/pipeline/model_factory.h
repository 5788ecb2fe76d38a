// Builds the velocity field and the evaluation mixture a config names.
#pragma once

#include <memory>
#include <optional>

#include "data/gaussian_mixture.h"
#include "models/velocity_field.h"
#include "pipeline/config.h"

namespace jointflow {

// The field of `model` (model.kind) on `dtype` and `device`.
std::unique_ptr<VelocityField> make_velocity_field(const ModelOptions& model, at::ScalarType dtype,
                                                   at::Device device);

// The mixture whose metrics are computed: eval.mixture, else model.mixture for model.kind = gmm;
// none when neither names one.
std::optional<GaussianMixture> evaluation_mixture(const Config& config);

// The device of this rank: cuda:<local rank> for run.device = cuda, else the CPU.
at::Device rank_device(const RunOptions& run, int local_rank);

}  // namespace jointflow
