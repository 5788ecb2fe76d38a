// The per-sample Flux Matching loss (paper B Eq. 6–9) as the authors' reference code computes it
// (MATH §7, §7.1): exponential-integrator Langevin chains on the minibatch KDE score, cross-chain
// weights and the Langevin–Stein operator r_θ with a Hutchinson divergence. The learned horizon
// sampler and normalizer are in flux_model.h, the batch objective and its closure in
// field_training.h.
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <functional>

#include "core/choice.h"

namespace jointflow {

// Horizon τ ∈ [0, kHorizon] in σ²-rescaled time, simulated by kLangevinSteps steps of τ/4
// (MATH §7.1 point 1).
constexpr double kHorizon = 4.0;
constexpr int64_t kLangevinSteps = 4;
// uniform: τ ~ U[0, 4]; learned: τ ~ the truncated exponential of rate λ(σ) (B-Eqs. 49–51).
enum class HorizonKind { uniform, learned };
const ChoiceTable<HorizonKind>& horizon_choices();
// hutchinson: one Rademacher probe (MATH §7); exact: the sum of d VJPs (the oracle, and low-
// dimensional data, where the probe's noise is a large part of the gradient's).
enum class DivergenceMode { hutchinson, exact };
const ChoiceTable<DivergenceMode>& divergence_mode_choices();
// Largest sample dimension for which `exact` is accepted: d VJPs per step.
constexpr int64_t kExactDivergenceMaxDim = 16;
// How ĝ_i, the stop-gradient term of B-Eq. 6, is estimated. cross_chain: the reference code's
// (ρ/q(τ))·Σ_j w_ij ∇r(x_t^j), which takes ∂x_t/∂x_0 ≈ ρI, the sensitivity inside one KDE kernel
// (B-Eq. 9, MATH §7.1 point 3); pathwise: (1/q(τ))·(∂x_t^i/∂x0_i)ᵀ∇r(x_t^i), each chain's own
// sensitivity by a backward through its KDE steps (B-Eq. 6 as written, paper B §3.3).
enum class ChainSensitivity { cross_chain, pathwise };
const ChoiceTable<ChainSensitivity>& chain_sensitivity_choices();

// 1 − e^{−a} without cancellation for small a.
inline double one_minus_exp(double a) { return -std::expm1(-a); }

// One exponential-integrator Langevin step on p̂_σ (MATH §7.1 point 1):
//   z + (1 − e^{−h})·σ²·ŝ(z) + √(σ²(1 − e^{−2h}))·ξ.
// z, score (ŝ(z)), noise (ξ): [b, ...] alike. Returns [b, ...].
at::Tensor langevin_step(const at::Tensor& z, const at::Tensor& score, double sigma2, double h,
                         const at::Tensor& noise);

// Cross-chain weights (MATH §7.1 point 3, B-Eq. 52 with the code's normalization):
// μ_i = x0_i + (1 − ρ)σ²ŝ(x0_i), var = σ²(1 − ρ²), ρ = e^{−τ},
// w_ij = softmax_i(−‖μ_i − x_t^j‖² / (2 var)), normalized over the sources i.
// x0, score0 (ŝ(x0)), x_t: [b, ...] detached. Returns [b (sources i), b (chains j)].
at::Tensor cross_chain_weights(const at::Tensor& x0, const at::Tensor& score0,
                               const at::Tensor& x_t, double sigma2, double tau);

// z ↦ f(z) (the field at the batch's σ) and z ↦ ŝ(z) (the KDE score, or an analytic score); both
// [b, ...] → [b, ...], differentiable in z.
using FieldFunction = std::function<at::Tensor(const at::Tensor&)>;
using ScoreFunction = std::function<at::Tensor(const at::Tensor&)>;

// The Langevin–Stein operator r(z) = ∇·u(z) + u(z)·ŝ(z), u = f − ŝ (MATH §7.1 point 4), with
// ∇·u = εᵀ(∂u/∂z)ε for one probe ε ([b, ...], ±1) or exact. z: [b, ...] requiring grad. Returns
// [b] with the graph kept (create_graph), so that ∇_z r can be taken.
at::Tensor langevin_stein(const FieldFunction& field, const ScoreFunction& score,
                          const at::Tensor& z, const at::Tensor& probe, DivergenceMode mode);

// τ and the density q(τ) of the sampler that drew it.
struct HorizonDraw {
  double tau = 0.0;
  double density = 1.0 / kHorizon;
};

// The random inputs of one batch besides σ and τ: chain noise [kLangevinSteps, b, ...] and one
// Rademacher probe per chain [b, ...] (ignored by DivergenceMode::exact).
struct ChainNoise {
  at::Tensor chain;
  at::Tensor probe;
};

// Per-sample Flux Matching loss (MATH §7.1 points 1, 3, 4): chains x0 → x_t with ŝ, ∇r(x_t^j)
// by a second backward w.r.t. the input only, ĝ_i detached as `sensitivity` says, and
// −2⟨f(x0_i) − ŝ(x0_i), ĝ_i⟩. x0: [b, ...] the chains' detached starting points. Returns [b],
// differentiable in the field's parameters through f(x0) only.
at::Tensor flux_matching_per_sample(const FieldFunction& field, const ScoreFunction& score,
                                    const at::Tensor& x0, double sigma2, HorizonDraw horizon,
                                    const ChainNoise& noise, DivergenceMode mode,
                                    ChainSensitivity sensitivity = ChainSensitivity::cross_chain);

}  // namespace jointflow
