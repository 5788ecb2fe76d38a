// Everything train-flux trains and checkpoints besides the loss (MATH §7.1 point 5): the field,
// the learned horizon sampler λ(σ) of B-Eqs. 49–51 and the learned normalizer s_η(σ) of B-Eq. 11.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "models/noise_conditional_velocity.h"
#include "training/flux_matching_loss.h"

namespace jointflow {

// Width of the hidden layer of the horizon sampler and of the normalizer (the reference code's).
constexpr int64_t kAuxiliaryHidden = 256;

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

}  // namespace jointflow
