// Samplers and likelihoods of noise-conditional fields f(y, σ) (paper B §3.5, MATH §7.1, §8):
// a field trained by Flux Matching replaces the score in every score-based sampler unchanged.
// Noise is counter-based, keyed by (key, global sample id, step), so samples do not depend on
// how ids are spread over ranks (DESIGN §3).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "core/choice.h"
#include "distributed/counter_rng.h"
#include "models/divergence.h"
#include "models/noise_conditional_velocity.h"
#include "models/velocity_field.h"

namespace jointflow {

// langevin: unadjusted Langevin at one σ; reverse_ve: reverse-VE Euler–Maruyama; pf_ode: the
// probability-flow ODE by Heun; rf_euler: the field's RF velocity (MATH §8) by Euler from t_min.
enum class FieldSamplerKind { langevin, reverse_ve, pf_ode, rf_euler };
const ChoiceTable<FieldSamplerKind>& field_sampler_choices();

struct FieldSamplerOptions {
  // Throws an Error naming `<section>.<option>` for an unusable value.
  void validate(const std::string& section = "flux") const;

  TORCH_ARG(FieldSamplerKind, kind) = FieldSamplerKind::langevin;
  TORCH_ARG(int64_t, steps) = 1000;
  TORCH_ARG(double, step_size) = 0.01;       // langevin: ε
  TORCH_ARG(double, sigma) = 0.22360679775;  // langevin: the field's σ (√0.05)
  TORCH_ARG(double, initial_std) = 3.0;      // langevin: x ~ N(0, initial_std² I)
  TORCH_ARG(double, sigma_min) = 0.002;      // annealed samplers: the last noise level
  TORCH_ARG(double, sigma_max) = 80.0;       // annealed samplers: the first noise level
  TORCH_ARG(double, rho) = 7.0;              // pf_ode: EDM's schedule exponent
};

// Unadjusted Langevin x ← x + ½ε f(x, σ) + √ε η for `steps` steps (MATH §7.1 "2-D examples"),
// η of sample first + i at step k from (key, first + i, k). x: [n, *shape]. Returns [n, *shape].
at::Tensor langevin_sample(const NoiseConditionalField& field, at::Tensor x,
                           const FieldSamplerOptions& options, const RandomKey& key, int64_t first);

// Reverse-VE Euler–Maruyama (Song et al. 2021, Eq. 47) on the geometric grid σ_0 = σ_max >
// ... > σ_{N−1} = σ_min: x ← x + (σ_i² − σ_{i+1}²) f(x, σ_i) + √(σ_i² − σ_{i+1}²) z, then the
// denoised x + σ_min² f(x, σ_min). x: [n, *shape] at σ_max. Returns [n, *shape].
at::Tensor reverse_ve_sample(const NoiseConditionalField& field, at::Tensor x,
                             const FieldSamplerOptions& options, const RandomKey& key,
                             int64_t first);

// The probability-flow ODE dx/dσ = −σ f(x, σ) by Heun on EDM's grid σ_i = (σ_max^{1/ρ} +
// i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, σ_N = 0 (the last step Euler). Deterministic.
// x: [n, *shape] at σ_max. Returns [n, *shape].
at::Tensor probability_flow_sample(const NoiseConditionalField& field, at::Tensor x,
                                   const FieldSamplerOptions& options);

// Euler on the grid t_k = t_start + k(1 − t_start)/N of an RF velocity (MATH §1, §8); nothing is
// evaluated at t = 1. x: [n, *shape] at t_start. Returns the states at t = 1.
at::Tensor rf_euler_sample(const VelocityField& velocity, at::Tensor x, int64_t steps,
                           double t_start);

// `count` samples for global ids [first, first + count) with options.kind(), from their initial
// noise (key.seed, RandomStream::initial_noise): N(0, initial_std²) for langevin, N(0, σ_max²)
// for reverse_ve and pf_ode, (1 − t_min)·N(0, I) for rf_euler (t_min = 1/(1 + σ_max), MATH §8).
// Step noise comes from (key.seed, RandomStream::langevin). Returns [count, *field.sample_shape()]
// in `tensor_options`.
at::Tensor sample_field(const NoiseConditionalField& field, const FieldSamplerOptions& options,
                        uint64_t seed, int64_t first, int64_t count,
                        const at::TensorOptions& tensor_options);

// −log p(x) / (d ln 2) by the probability-flow ODE (paper B §3.5): integrate x from σ_min to
// σ_max on the reversed pf_ode grid by Heun, accumulating ∫ σ ∇·f dσ, and
//   log p_{σ_min}(x) = log N(x(σ_max); 0, σ_max² I) − ∫_{σ_min}^{σ_max} σ ∇·f(x(σ), σ) dσ.
// ∇·f is exact up to divergence.exact_max_dim numbers per sample, else Hutchinson with the same
// probes along a whole path (probes of sample first + i keyed by (probe_key, first + i, 0)).
// For images scaled to [−1, 1] from 8 bits, add 7 to get bits per dimension of the 8-bit data.
// x: [n, *shape] detached. Returns [n].
at::Tensor nll_bits_per_dim(const NoiseConditionalField& field, const at::Tensor& x,
                            const FieldSamplerOptions& options, const DivergenceOptions& divergence,
                            const RandomKey& probe_key, int64_t first);

}  // namespace jointflow
