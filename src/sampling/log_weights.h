// Importance log-weights of jointly sampled members (MATH §5.3, §5.4; paper A Theorems 1–2).
#pragma once

#include <ATen/core/Tensor.h>

#include "models/divergence.h"
#include "models/velocity_field.h"
#include "sampling/joint_sampler.h"

namespace jointflow {

// d/dt log ρ_t along a path, ρ_t = p_t/q_t (MATH §5.3):
//   ∇·r + r·[t(u + v) − x − t·ẋ] / (1 − t),  r = u − v the residual, u = v + r.
// x, v, xdot: [n, *shape] detached; `residual` evaluates r(x, t). Pass xdot undefined for the
// fixed-position rate of MATH §5.4 (the −t·ẋ term dropped). Returns [n].
at::Tensor log_weight_rate(const VelocityField& residual, const at::Tensor& x, double t,
                           const at::Tensor& v, const at::Tensor& xdot,
                           const DivergenceOptions& divergence, const ProbeKey& probes);

// Accumulates log w_i = Σ_k Δ · rate along each member's Euler path, the coupled velocity
// included (MATH §5.3). Attach to JointSampler::sample for one batch.
class TrajectoryLogWeights final : public StepObserver {
 public:
  // `base` (v) and `residual` (r) are borrowed. With `left` quadrature the rate uses the velocity
  // the sampler reports, so the sampler must be driven by `base`; `midpoint` evaluates `base`
  // itself and accepts any driver. Hutchinson probes of member m at step k are keyed by
  // (probe_key, m, k) with members numbered from `first_member`.
  TrajectoryLogWeights(const VelocityField& base, const VelocityField& residual,
                       Quadrature quadrature, DivergenceOptions divergence, RandomKey probe_key,
                       int64_t first_member);
  void observe(const at::Tensor& x, double t, double dt, const at::Tensor& v,
               const at::Tensor& xdot) override;
  // log w of every member after the last step: [n].
  const at::Tensor& log_w() const { return log_w_; }

 private:
  const VelocityField& base_;
  const VelocityField& residual_;
  Quadrature quadrature_;
  DivergenceOptions divergence_;
  RandomKey probe_key_;
  int64_t first_member_;
  int64_t step_ = 0;
  at::Tensor log_w_;
};

// log w(x) = Σ_k Δ · [∇·r + r·(t(u + v) − x)/(1 − t)] at the fixed final positions x, at
// t_k = k/N (left) or (k + ½)/N (midpoint) (MATH §5.4; N extra evaluations of v and r).
// x: [n, *shape] → [n].
at::Tensor fixed_position_log_weights(const VelocityField& base, const VelocityField& residual,
                                      const at::Tensor& x, int64_t steps, Quadrature quadrature,
                                      const DivergenceOptions& divergence, RandomKey probe_key,
                                      int64_t first_member);

}  // namespace jointflow
