// The velocity of a rectified flow (MATH §1): everything the samplers, weights and trainers need.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace jointflow {

class VelocityField {
 public:
  virtual ~VelocityField() = default;

  // v(x, t) ≈ E[x_1 − x_0 | x_t = x] (MATH §1).
  // x: [n, *sample_shape()], the field's dtype and device; t: a 0-dim tensor (one time for all)
  // or [n] (one per row), t ∈ [0, 1). Returns [n, *sample_shape()], differentiable in x.
  virtual at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const = 0;
  // Shape of one sample, e.g. {8} or {1, 28, 28}.
  virtual std::vector<int64_t> sample_shape() const = 0;

  int64_t dim() const {
    int64_t d = 1;
    for (int64_t extent : sample_shape()) d *= extent;
    return d;
  }
};

}  // namespace jointflow
