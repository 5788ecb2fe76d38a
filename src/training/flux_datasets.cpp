#include "training/flux_datasets.h"

#include <ATen/ATen.h>

namespace jointflow {

at::Tensor ring_samples(const RandomKey& key, int64_t first, int64_t count, double radius,
                        double width_std) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  // The angle's uniform at counter step 0, the radius's normal at step 1 (another Philox block).
  const at::Tensor angle = kTwoPi * counter_uniform(key, first, count, 1, 0);
  const at::Tensor r = radius + width_std * counter_normal(key, first, count, 1, 1);
  return at::cat({r * at::cos(angle), r * at::sin(angle)}, 1);
}

}  // namespace jointflow
