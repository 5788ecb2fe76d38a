// The DSM baseline of paper B Table 1 as the reference code computes it (MATH §7.1, last
// paragraph): the same field network and noise schedule as Flux Matching, regressing the
// denoiser on the batch-KDE posterior mean with EDM's weighting.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "models/noise_conditional_velocity.h"
#include "training/field_training.h"
#include "training/sharded_batches.h"

namespace jointflow {

// Per-sample DSM loss: λ(σ)·mean_k (E_KDE[x | x̃]_k − D(x̃, σ)_k)², with x̃ = noisy, the KDE of the
// clean batch `x` at bandwidth σ², D = x̃ + σ² f(x̃, σ) and λ(σ) = (σ² + σ_d²)/(σ σ_d)².
// x, noisy: [b, *field.sample_shape()]. Returns [b], differentiable in the field's parameters.
at::Tensor dsm_per_sample(const NoiseConditionalField& field, const at::Tensor& x,
                          const at::Tensor& noisy, double sigma, double sigma_data);

// DSM on one local batch with the randomness of flux_noise.h (the same σ per rank and step as
// Flux Matching; x̃ = x + σξ from the same start-noise columns); σ_d is the field's sigma_data.
// objective = mean_i of dsm_per_sample; tau is 0.
FieldBatchLoss dsm_objective(const FluxModelImpl& model, const at::Tensor& x,
                             const FieldTrainingOptions& options, uint64_t seed,
                             BatchPosition position);

}  // namespace jointflow
