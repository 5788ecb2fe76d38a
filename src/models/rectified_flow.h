// Quantities every rectified-flow velocity defines (MATH §1).
#pragma once

#include <ATen/core/Tensor.h>

namespace jointflow {

// t as a tensor that broadcasts against x: [] stays [], [n] becomes [n, 1, ..., 1].
at::Tensor broadcast_time(const at::Tensor& t, const at::Tensor& x);

// Score s(x,t) = (t·v − x)/(1 − t) (MATH §1, paper A Eq. 10). Shapes as x; t as in velocity().
at::Tensor score_from_velocity(const at::Tensor& x, const at::Tensor& v, const at::Tensor& t);

// Predicted endpoint x̂_1 = x + (1 − t)·v = E[x_1 | x_t = x] (MATH §1).
at::Tensor endpoint_from_velocity(const at::Tensor& x, const at::Tensor& v, const at::Tensor& t);

// Interpolant x_t = (1 − t)·x_0 + t·x_1 (MATH §1); t: [n] or [].
at::Tensor interpolate(const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& t);

}  // namespace jointflow
