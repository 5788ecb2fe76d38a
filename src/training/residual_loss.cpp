#include "training/residual_loss.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "distributed/counter_rng.h"
#include "models/rectified_flow.h"

namespace jointflow {

at::Tensor residual_flow_loss(const VelocityField& model, const VelocityField* base,
                              const at::Tensor& x1, uint64_t seed, BatchPosition position) {
  JF_CHECK(x1.dim() >= 2 && x1.numel() == x1.size(0) * model.dim(),
           "residual flow loss: x1 must be [b, *sample_shape] with ", model.dim(),
           " numbers per sample, got ", x1.sizes());
  const int64_t rows = x1.size(0);
  const auto step = static_cast<uint64_t>(position.step);
  const at::Tensor x0 =
      counter_normal({seed, RandomStream::training_noise}, position.first, rows, model.dim(), step)
          .to(x1.options())
          .view(x1.sizes());
  const at::Tensor t =
      counter_uniform({seed, RandomStream::training_time}, position.first, rows, 1, step)
          .to(x1.options())
          .view({rows});
  const at::Tensor x_t = interpolate(x0, x1, t);
  at::Tensor target = x1 - x0;
  if (base != nullptr) {
    at::NoGradGuard no_grad;
    target = target - base->velocity(x_t, t);
  }
  return (target - model.velocity(x_t, t)).pow(2).flatten(1).sum(1).mean();
}

LossClosure residual_flow_closure(const VelocityField& model, const VelocityField* base,
                                  ShardedBatches& batches, uint64_t seed) {
  return [&model, base, &batches, seed](int64_t step) {
    const LocalBatch batch = batches.batch(step);
    if (batch.size() == 0) return LocalLoss{at::Tensor(), 0.0};
    return LocalLoss{residual_flow_loss(model, base, batch.x, seed, batch.position),
                     static_cast<double>(batch.size())};
  };
}

}  // namespace jointflow
