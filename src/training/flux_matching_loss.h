// The Flux Matching loss (paper B Eq. 6–11) as the authors' reference code computes it
// (MATH §7, §7.1): minibatch KDE score, exponential-integrator Langevin chains, cross-chain
// weights, the Langevin–Stein operator r_θ with a Hutchinson divergence, the learned horizon
// sampler and the learned normalizer of the noise-annealed objective.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>

#include "core/choice.h"
#include "models/noise_conditional_velocity.h"
#include "training/flux_noise.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"

namespace jointflow {

// Horizon τ ∈ [0, kHorizon] in σ²-rescaled time, simulated by kLangevinSteps steps of τ/4
// (MATH §7.1 point 1).
constexpr double kHorizon = 4.0;
constexpr int64_t kLangevinSteps = 4;
// Width of the hidden layer of the horizon sampler and of the normalizer (the reference code's).
constexpr int64_t kAuxiliaryHidden = 256;

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
at::Tensor flux_matching_per_sample(
    const FieldFunction& field, const ScoreFunction& score, const at::Tensor& x0, double sigma2,
    HorizonDraw horizon, const ChainNoise& noise, DivergenceMode mode,
    ChainSensitivity sensitivity = ChainSensitivity::cross_chain);

// λ(σ) = 1 + softplus(Linear(Linear(ln σ / 4))) (MATH §7.1 point 5; no activation between).
class HorizonSamplerImpl : public torch::nn::Module {
 public:
  // Initial parameters come from a CPU generator seeded with `seed` (LibTorch's Linear bounds).
  HorizonSamplerImpl(int64_t hidden, uint64_t seed);

  // λ(σ): 0-dim tensor, differentiable in the parameters.
  at::Tensor rate(double sigma) const;
  // τ = −ln(1 − u(1 − e^{−4λ}))/λ by inverse CDF of u ∈ (0, 1), and q_λ(τ) (B-Eq. 49).
  HorizonDraw sample(double sigma, double uniform) const;
  // ln q_λ(σ)(τ) = ln λ − λτ − ln(1 − e^{−4λ}): 0-dim, differentiable in the parameters.
  at::Tensor log_density(double tau, double sigma) const;

 private:
  torch::nn::Linear input_{nullptr}, output_{nullptr};
};
TORCH_MODULE(HorizonSampler);

// s_η(σ) = Linear(Linear(ln σ / 4)) (MATH §7.1 point 5), the learned normalizer of B-Eq. 11.
class LossNormalizerImpl : public torch::nn::Module {
 public:
  LossNormalizerImpl(int64_t hidden, uint64_t seed);
  // s_η(σ): 0-dim tensor, differentiable in the parameters.
  at::Tensor forward(double sigma) const;

 private:
  torch::nn::Linear input_{nullptr}, output_{nullptr};
};
TORCH_MODULE(LossNormalizer);

// Everything `train-flux` trains and checkpoints: the field and, always present so that every
// checkpoint loads the same way, the horizon sampler and the normalizer (they receive no gradient
// where the objective does not use them).
class FluxModelImpl : public torch::nn::Module {
 public:
  // `seed` initializes the horizon sampler and normalizer (the field brings its own).
  FluxModelImpl(FieldNetwork field, uint64_t seed);

  FieldNetwork field;
  HorizonSampler horizon{nullptr};
  LossNormalizer normalizer{nullptr};
};
TORCH_MODULE(FluxModel);

enum class FieldLoss { flux, dsm };
const ChoiceTable<FieldLoss>& field_loss_choices();

struct FieldTrainingOptions {
  // Throws an Error naming `<section>.<option>` for an unusable value.
  void validate(const std::string& section = "flux") const;

  TORCH_ARG(FieldLoss, loss) = FieldLoss::flux;
  TORCH_ARG(NoiseLevelOptions, noise);
  TORCH_ARG(HorizonKind, horizon) = HorizonKind::learned;
  TORCH_ARG(DivergenceMode, divergence) = DivergenceMode::hutchinson;
  TORCH_ARG(ChainSensitivity, sensitivity) = ChainSensitivity::cross_chain;
  // Flux Matching on 2-D data with the single schedule: c > 0 adds the application loss
  // mean_i (f(x0_i)·J x0_i/‖x0_i‖ − c)² (paper B §3.6 (1)), J the 90° rotation. On a rotation-
  // invariant density (the ring) f = ∇log p + c·J x/‖x‖ generates the same samples, so the
  // loss selects a spiralling field among the generative ones. 0 = off.
  TORCH_ARG(double, spiral) = 0.0;
  // Examples that share one KDE, σ and horizon: the local batch is cut into KDE batches of this
  // size, each drawing its own (keyed by its first global position), and the objective is their
  // mean. With the rank blocks made of whole KDE batches (ShardedBatchesOptions::unit) training
  // is then the same at any rank count. 0 = the whole local batch (the reference code's
  // convention: one KDE per GPU).
  TORCH_ARG(int64_t, kde_batch) = 0;
};

// The spiral application loss above: x0 [b, 2], f0 = f(x0) [b, 2]. Returns a 0-dim tensor.
at::Tensor spiral_loss(const at::Tensor& x0, const at::Tensor& f0, double speed);

// One local batch's objective and what it was made of.
struct FieldBatchLoss {
  at::Tensor objective;  // 0-dim, what the trainer differentiates
  double loss = 0.0;     // mean per-sample Flux Matching (or DSM) loss, before normalization
  double sigma = 0.0;
  double tau = 0.0;  // Flux Matching's horizon (0 for DSM)
};

// The Flux Matching objective of one local batch x ([b, *field.sample_shape()]), randomness
// keyed by (seed, position) (flux_noise.h): x0 = x + σξ; ŝ the KDE of x at σ²; per-sample loss
// ℓ_i as flux_matching_per_sample; with the normalizer s = s_η(σ) when the schedule is annealed
// (else s = 0) and, for the learned horizon, REINFORCE R = −sg(mean(ℓ)/e^s)·ln q_λ(τ):
//   objective = mean(ℓ_i/e^s + s + R)  (B-Eqs. 6, 11, 51; MATH §7.1 point 5),
// plus the spiral loss when options.spiral() > 0.
FieldBatchLoss flux_matching_objective(const FluxModelImpl& model, const at::Tensor& x,
                                       const FieldTrainingOptions& options, uint64_t seed,
                                       BatchPosition position);

// The trainer's closure for options.loss() (Flux Matching, or DSM as dsm_loss.h) on `batches`:
// each KDE batch of the local batch (options.kde_batch(); the whole local batch for 0) with its
// own σ, horizon and KDE, the rank weighted by its number of examples. The batches' unit must be
// options.kde_batch() when that is set. `last` (may be null) receives the first KDE batch's
// FieldBatchLoss of each step. Borrows everything.
LossClosure field_training_closure(const FluxModelImpl& model, ShardedBatches& batches,
                                   const FieldTrainingOptions& options, uint64_t seed,
                                   FieldBatchLoss* last = nullptr);

}  // namespace jointflow
