#include "training/flux_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"

namespace jointflow {
namespace {

// A Linear layer with LibTorch's initialization U(−1/√fan_in, 1/√fan_in) drawn from `generator`.
torch::nn::Linear seeded_linear(int64_t in, int64_t out, at::Generator& generator) {
  torch::nn::Linear layer(in, out);
  at::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  layer->weight.uniform_(-bound, bound, generator);
  layer->bias.uniform_(-bound, bound, generator);
  return layer;
}

// The two affine layers of the auxiliary networks applied to ln σ / 4: a 0-dim tensor.
at::Tensor affine_of_log_sigma(const torch::nn::Linear& input, const torch::nn::Linear& output,
                               double sigma) {
  JF_CHECK(std::isfinite(sigma) && sigma > 0, "Flux Matching: σ = ", sigma, " must be positive");
  const at::Tensor c = at::full({1, 1}, std::log(sigma) / 4, input->weight.options());
  return at::linear(at::linear(c, input->weight, input->bias), output->weight, output->bias)
      .reshape({});
}

}  // namespace

HorizonSamplerImpl::HorizonSamplerImpl(int64_t hidden, uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  input_ = register_module("input", seeded_linear(1, hidden, generator));
  output_ = register_module("output", seeded_linear(hidden, 1, generator));
}

at::Tensor HorizonSamplerImpl::rate(double sigma) const {
  return 1 + at::softplus(affine_of_log_sigma(input_, output_, sigma));
}

// B-Eq. 49 by inverse CDF; the reference code clamps τ to [0, 4] against rounding.
HorizonDraw HorizonSamplerImpl::sample(double sigma, double uniform) const {
  at::NoGradGuard no_grad;
  const double lambda = rate(sigma).item<double>();
  const double mass = one_minus_exp(lambda * kHorizon);
  HorizonDraw draw;
  draw.tau = std::clamp(-std::log1p(-uniform * mass) / lambda, 0.0, kHorizon);
  draw.density = lambda * std::exp(-lambda * draw.tau) / mass;
  return draw;
}

at::Tensor HorizonSamplerImpl::log_density(double tau, double sigma) const {
  const at::Tensor lambda = rate(sigma);
  return at::log(lambda) - lambda * tau - at::log(-at::expm1(-lambda * kHorizon));
}

LossNormalizerImpl::LossNormalizerImpl(int64_t hidden, uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  input_ = register_module("input", seeded_linear(1, hidden, generator));
  output_ = register_module("output", seeded_linear(hidden, 1, generator));
}

at::Tensor LossNormalizerImpl::forward(double sigma) const {
  return affine_of_log_sigma(input_, output_, sigma);
}

FluxModelImpl::FluxModelImpl(FieldNetwork field_, uint64_t seed)
    : field(register_module("field", std::move(field_))),
      horizon(register_module("horizon", HorizonSampler(kAuxiliaryHidden, seed))),
      normalizer(register_module("normalizer", LossNormalizer(kAuxiliaryHidden, seed + 1))) {}

}  // namespace jointflow
