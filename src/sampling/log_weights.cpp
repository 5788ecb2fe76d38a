#include "sampling/log_weights.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

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

namespace {

at::Tensor base_velocity(const VelocityField& base, const at::Tensor& x, double t) {
  at::NoGradGuard no_grad;
  return base.velocity(x, at::scalar_tensor(t, x.options()));
}

}  // namespace

TrajectoryLogWeights::TrajectoryLogWeights(const VelocityField& base, const VelocityField& residual,
                                           Quadrature quadrature, DivergenceOptions divergence,
                                           RandomKey probe_key, int64_t first_member)
    : base_(base),
      residual_(residual),
      quadrature_(quadrature),
      divergence_(divergence),
      probe_key_(probe_key),
      first_member_(first_member) {}

void TrajectoryLogWeights::observe(const at::Tensor& x, double t, double dt, const at::Tensor& v,
                                   const at::Tensor& xdot) {
  const ProbeKey probes{probe_key_, first_member_, static_cast<uint64_t>(step_)};
  at::Tensor rate;
  if (quadrature_ == Quadrature::left) {
    rate = log_weight_rate(residual_, x, t, v, xdot, divergence_, probes);
  } else {
    const double t_mid = t + 0.5 * dt;
    const at::Tensor x_mid = at::add(x, xdot, 0.5 * dt).detach();
    rate = log_weight_rate(residual_, x_mid, t_mid, base_velocity(base_, x_mid, t_mid), xdot,
                           divergence_, probes);
  }
  log_w_ = log_w_.defined() ? log_w_ + dt * rate : dt * rate;
  ++step_;
}

at::Tensor fixed_position_log_weights(const VelocityField& base, const VelocityField& residual,
                                      const at::Tensor& x, int64_t steps, Quadrature quadrature,
                                      const DivergenceOptions& divergence, RandomKey probe_key,
                                      int64_t first_member) {
  const double dt = 1.0 / static_cast<double>(steps);
  const double offset = quadrature == Quadrature::midpoint ? 0.5 : 0.0;
  at::Tensor log_w = at::zeros({x.size(0)}, x.options());
  for (int64_t k = 0; k < steps; ++k) {
    const double t = (static_cast<double>(k) + offset) * dt;
    log_w += dt * log_weight_rate(residual, x, t, base_velocity(base, x, t), at::Tensor(),
                                  divergence, {probe_key, first_member, static_cast<uint64_t>(k)});
  }
  return log_w;
}

}  // namespace jointflow
