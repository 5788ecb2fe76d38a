#include "models/rectified_flow.h"

#include <ATen/ATen.h>

namespace jointflow {

at::Tensor broadcast_time(const at::Tensor& t, const at::Tensor& x) {
  if (t.dim() == 0) return t;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = t.size(0);
  return t.reshape(shape);
}

at::Tensor score_from_velocity(const at::Tensor& x, const at::Tensor& v, const at::Tensor& t) {
  const at::Tensor tb = broadcast_time(t, x);
  return (tb * v - x) / (1 - tb);
}

at::Tensor endpoint_from_velocity(const at::Tensor& x, const at::Tensor& v, const at::Tensor& t) {
  return x + (1 - broadcast_time(t, x)) * v;
}

at::Tensor interpolate(const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& t) {
  const at::Tensor tb = broadcast_time(t, x0);
  return (1 - tb) * x0 + tb * x1;
}

}  // namespace jointflow
