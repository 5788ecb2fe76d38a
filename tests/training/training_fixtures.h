// Small models, data and options shared by the training suites.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/gaussian_mixture.h"
#include "distributed/counter_rng.h"
#include "models/mlp_velocity.h"
#include "training/trainer.h"

namespace jointflow::testing_support {

// n exact draws of a named mixture (MATH §2), float64 on the CPU.
inline at::Tensor mixture_data(const std::string& name, int64_t n, uint64_t seed = 11) {
  return sample_mixture(named_mixture(name), {seed, RandomStream::exact_samples}, 0, n);
}

// A 2 + 1 → width → width → 2 float64 MLP (paper A's shape, narrower for speed).
inline MlpVelocity small_mlp(uint64_t seed, int64_t width = 16) {
  MlpVelocity model(MlpVelocityOptions(2).hidden({width, width}).seed(seed));
  model->to(at::kDouble);
  return model;
}

// Options with every mechanism of a step switched on: warm-up, clipping and EMA.
inline TrainerOptions busy_options(int64_t steps) {
  return TrainerOptions()
      .lr(1e-2)
      .warmup_steps(std::min<int64_t>(3, steps - 1))
      .clip_norm(2.0)
      .ema_decay(0.9)
      .steps(steps)
      .log_every(0)
      .progress(ProgressMode::off);
}

// The trained parameters concatenated: [P].
inline at::Tensor flat_parameters(torch::nn::Module& model) {
  std::vector<at::Tensor> pieces;
  for (const at::Tensor& p : model.parameters()) pieces.push_back(p.detach().reshape(-1));
  return at::cat(pieces);
}

}  // namespace jointflow::testing_support
