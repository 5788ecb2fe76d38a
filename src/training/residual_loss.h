// The rectified-flow loss with an optional frozen base velocity: the residual r_φ of MATH §5.2
// (base v given) or a base flow v_θ itself (no base, MATH §1).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "models/velocity_field.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"

namespace jointflow {

// MATH §5.2: L = mean_i ‖x1_i − x0_i − v(x_t,i, t_i) − r(x_t,i, t_i)‖², x_t = (1 − t)x0 + t x1,
// with fresh x0 ~ N(0, I) (RandomStream::training_noise) and t ~ U(0, 1)
// (RandomStream::training_time) drawn for counter id position.first + i at position.step —
// never the sampler's own x0. v is evaluated under no-grad; `base` = nullptr drops it, which is
// the RF loss of MATH §1 for training `model` as a base flow.
// x1: [b, *model.sample_shape()] in the model's dtype and device. Returns a 0-dim tensor,
// differentiable in `model`'s parameters (NaN for b = 0).
at::Tensor residual_flow_loss(const VelocityField& model, const VelocityField* base,
                              const at::Tensor& x1, uint64_t seed, BatchPosition position);

// The Trainer's closure for that loss on `batches`: the local batch of each step, weighted by its
// number of examples so that the ranks' losses combine into the global batch mean. Borrows its
// arguments; `batches` is collective when sharded, so the closure is too.
LossClosure residual_flow_closure(const VelocityField& model, const VelocityField* base,
                                  ShardedBatches& batches, uint64_t seed);

}  // namespace jointflow
