#include "sampling/log_weights.h"

#include <ATen/ATen.h>

namespace jointflow {

at::Tensor log_weight_rate(const VelocityField& residual, const at::Tensor& x, double t,
                           const at::Tensor& v, const at::Tensor& xdot,
                           const DivergenceOptions& divergence_options, const ProbeKey& probes) {
  at::AutoGradMode enable_grad(true);
  const at::Tensor input = x.detach().requires_grad_(true);
  const at::Tensor time = at::scalar_tensor(t, x.options());
  const at::Tensor r_graph = residual.velocity(input, time);
  const at::Tensor div = divergence(r_graph, input, divergence_options, probes);
  at::NoGradGuard no_grad;
  const int64_t n = x.size(0);
  const at::Tensor r = r_graph.detach().reshape({n, -1});
  const at::Tensor flat_x = x.reshape({n, -1}), flat_v = v.reshape({n, -1});
  at::Tensor bracket = t * (2 * flat_v + r) - flat_x;  // t(u + v) − x with u = v + r
  if (xdot.defined()) bracket = bracket - t * xdot.reshape({n, -1});
  return div + (r * bracket).sum(1) / (1 - t);
}

TrajectoryLogWeights::TrajectoryLogWeights(const VelocityField& residual,
                                           DivergenceOptions divergence, RandomKey probe_key,
                                           int64_t first_member)
    : residual_(residual),
      divergence_(divergence),
      probe_key_(probe_key),
      first_member_(first_member) {}

void TrajectoryLogWeights::observe(const at::Tensor& x, double t, double dt, const at::Tensor& v,
                                   const at::Tensor& xdot) {
  const at::Tensor rate = log_weight_rate(residual_, x, t, v, xdot, divergence_,
                                          {probe_key_, first_member_, static_cast<uint64_t>(step_)});
  log_w_ = log_w_.defined() ? log_w_ + dt * rate : dt * rate;
  ++step_;
}

at::Tensor fixed_position_log_weights(const VelocityField& base, const VelocityField& residual,
                                      const at::Tensor& x, int64_t steps,
                                      const DivergenceOptions& divergence, RandomKey probe_key,
                                      int64_t first_member) {
  const double dt = 1.0 / static_cast<double>(steps);
  at::Tensor log_w = at::zeros({x.size(0)}, x.options());
  for (int64_t k = 0; k < steps; ++k) {
    const double t = static_cast<double>(k) * dt;
    at::Tensor v;
    {
      at::NoGradGuard no_grad;
      v = base.velocity(x, at::scalar_tensor(t, x.options()));
    }
    log_w += dt * log_weight_rate(residual, x, t, v, at::Tensor(), divergence,
                                  {probe_key, first_member, static_cast<uint64_t>(k)});
  }
  return log_w;
}

}  // namespace jointflow
