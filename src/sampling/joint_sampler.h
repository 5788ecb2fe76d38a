// The coupled Euler integrator of paper A Definition 2 for one rank's block of members
// (MATH §1, §3, §4; DESIGN §3).
#pragma once

#include <ATen/core/Tensor.h>

#include "distributed/communicator.h"
#include "distributed/counter_rng.h"
#include "models/velocity_field.h"
#include "sampling/diversity.h"
#include "sampling/group_layout.h"
#include "sampling/sampler_options.h"

namespace jointflow {

// Sees every Euler step of the local members, e.g. to accumulate log-weights (MATH §5.3).
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  // State x_k at t_k (before the step), the model velocity v(x_k, t_k) and the coupled velocity
  // ẋ_k; all [n, *sample_shape], detached.
  virtual void observe(const at::Tensor& x, double t, double dt, const at::Tensor& v,
                       const at::Tensor& xdot) = 0;
};

struct SampledBlock {
  at::Tensor x0;  // initial noise: [n, *sample_shape]
  at::Tensor x1;  // final states: [n, *sample_shape]
  // Euler step at which each member first became non-finite, −1 if never: int64 [n].
  at::Tensor nonfinite_step;
};

class JointSampler {
 public:
  // `field` is borrowed and must outlive the sampler; dtype and device are those of its tensors.
  JointSampler(const VelocityField& field, const SamplerOptions& options, Communicator& comm,
               at::ScalarType dtype, at::Device device);

  // Collective (every rank calls it for the same batch). Integrates this rank's members of the
  // batch described by `layout` from x_0 = counter_normal(noise_key, member id) over the N-step
  // grid t_k = k/N; `observer` (may be null) sees every step.
  SampledBlock sample(const GroupLayout& layout, const RandomKey& noise_key,
                      StepObserver* observer = nullptr) const;

  // Collective. The coupled velocity ẋ = v + v_div of the local members at time t (MATH §4);
  // x: [n, *sample_shape]; `v` receives the model velocity.
  at::Tensor coupled_velocity(const GroupLayout& layout, const at::Tensor& x, double t,
                              at::Tensor& v) const;

 private:
  // φ(x̂_1): [n, *sample_shape] → [n, f] (MATH §3).
  at::Tensor features(const at::Tensor& endpoint) const;
  // Rows of the touched groups, local and gathered from other ranks: [n, w] → [n_touched, K, w].
  at::Tensor assemble_groups(const GroupLayout& layout, const at::Tensor& local) const;
  // γ(t)·‖V_g‖/‖G̃_g‖ of each touched group (0 where ‖G̃_g‖ = 0) from the members' squared
  // norms [n, 2] (MATH §4 step 2) → [n_touched], double on the host.
  at::Tensor group_scales(const GroupLayout& layout, const at::Tensor& squared_norms,
                          double t) const;

  const VelocityField& field_;
  SamplerOptions options_;
  DiversitySpec spec_;
  Communicator& comm_;
  at::TensorOptions tensor_options_;
};

}  // namespace jointflow
