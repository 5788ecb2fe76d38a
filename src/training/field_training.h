// The train-flux objective of one local batch (paper B Eq. 6, 11; MATH §7.1): its options, and
// Flux Matching with its noise level, horizon, normalizer and optional spiral loss (the DSM
// baseline is dsm_loss.h; the trainer's closure over both is field_training_closure.h).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "core/choice.h"
#include "training/flux_matching_loss.h"
#include "training/flux_model.h"
#include "training/flux_noise.h"
#include "training/sharded_batches.h"

namespace jointflow {

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

}  // namespace jointflow
