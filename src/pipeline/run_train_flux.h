// The `train-flux` stage: a noise-conditional field f(y, σ) trained by Flux Matching or by the
// DSM baseline (MATH §7, §7.1) on paper B's ring or the data set of [data], data-parallel over
// the ranks; and model.kind = field, which loads such a field as an RF velocity (MATH §8).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/velocity_field.h"
#include "pipeline/config.h"
#include "pipeline/stage_context.h"
#include "training/flux_matching_loss.h"

namespace jointflow {

// A fresh FluxModel: the network of field.network (mlp | unet, architecture [flow]) for samples
// of `sample_shape`, parameterized per [field], with the horizon sampler and normalizer; the
// network initialized from `seed`, the auxiliary networks from seed + 1; on dtype and device.
FluxModel make_flux_model(const ModelOptions& model, const std::vector<int64_t>& sample_shape,
                          uint64_t seed, at::ScalarType dtype, at::Device device);

// model.kind = field: the train-flux checkpoint model.path (EMA weights when model.ema) for
// samples of model.sample_shape, frozen, as the RF velocity of MATH §8 with t_min =
// 1/(1 + field.sigma_max). The returned field owns the model.
std::unique_ptr<VelocityField> load_field_velocity(const ModelOptions& model, at::ScalarType dtype,
                                                   at::Device device);

// Collective. Trains model.kind = field on flux.dataset with flux.loss (each rank its local
// batch, σ, horizon and KDE; the trainer's one all-reduce per step), writes the checkpoint
// model.path, then draws flux.samples samples with flux.sampler from the checkpoint (its EMA
// weights when model.ema) and writes run.output: /train/loss (the objective of every step),
// /samples/x, /reference/x (data at the sampled noise level), /metrics/mmd2 and, for 2-D data,
// radius statistics, /metrics/mean_abs_curl and the field on a grid (/field/*); /metrics/nll_bpd
// when flux.nll_examples > 0. Resumes when train.resume is set and model.path exists.
void run_train_flux(const Config& config, StageContext& context);

}  // namespace jointflow
