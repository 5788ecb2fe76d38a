// The `train-flux` stage: a noise-conditional field f(y, σ) trained by Flux Matching or by the
// DSM baseline (MATH §7, §7.1) on paper B's ring or the data set of [data], data-parallel over
// the ranks (model_factory.h loads such a field as an RF velocity, MATH §8).
#pragma once

#include "pipeline/config.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// Collective. Trains model.kind = field on flux.dataset with flux.loss (each rank its local
// batch, σ, horizon and KDE; the trainer's one all-reduce per step), writes the checkpoint
// model.path, then draws flux.samples samples with flux.sampler from the checkpoint (its EMA
// weights when model.ema) and writes run.output: /train/loss (the objective of every step),
// /samples/x, /reference/x (data at the sampled noise level), /metrics/mmd2 and, for 2-D data,
// radius statistics, /metrics/mean_abs_curl and the field on a grid (/field/*); /metrics/nll_bpd
// when flux.nll_examples > 0. Resumes when train.resume is set and model.path exists.
void run_train_flux(const Config& config, StageContext& context);

}  // namespace jointflow
