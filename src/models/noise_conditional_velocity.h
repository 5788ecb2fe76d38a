// Noise-conditional fields f(y, σ) ≈ ∇ log p_σ(y), p_σ = p_data * N(0, σ²I) (paper B §3.4): the
// interface, the network that represents one (MATH §7.1 "Images"), and the rectified-flow
// velocity it defines (MATH §8), so that the joint sampler and the importance weights run on a
// field trained by Flux Matching or DSM.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/choice.h"
#include "models/velocity_field.h"

namespace jointflow {

class NoiseConditionalField {
 public:
  virtual ~NoiseConditionalField() = default;

  // f(y, σ). y: [n, *sample_shape()] in the field's dtype and device; sigma: a 0-dim tensor (one σ
  // for every row) or [n], σ > 0, any dtype (converted). Returns [n, *sample_shape()],
  // differentiable in y (and in the parameters of a network).
  virtual at::Tensor field(const at::Tensor& y, const at::Tensor& sigma) const = 0;
  virtual std::vector<int64_t> sample_shape() const = 0;

  int64_t dim() const {
    int64_t d = 1;
    for (int64_t extent : sample_shape()) d *= extent;
    return d;
  }
};

// How a network F(x, c) represents f(y, σ); c = ln σ / 4 (EDM's c_noise) enters as F's time input.
//   raw: f = F(y, c)
//   edm: f = (D − y)/σ² with D = c_skip·y + c_out·F(c_in·y, c) (MATH §7.1 "Images"), i.e.
//        f = −y/(σ² + σ_d²) + σ_d·F(c_in·y, c) / (σ·√(σ² + σ_d²)), c_in = 1/√(σ² + σ_d²).
enum class FieldParameterization { raw, edm };
const ChoiceTable<FieldParameterization>& field_parameterization_choices();

// none: F as it is; odd: F averaged over y and −y, F_odd(y, c) = (F(y, c) − F(−y, c))/2, so
// that f(−y, σ) = −f(y, σ) in either parameterization. The score of every density with
// p(−x) = p(x) (the ring, a symmetric mixture) is odd; an odd field's stationary density keeps
// that symmetry, so its angular errors have no odd harmonic (no dipole, docs/flux-matching.md).
enum class FieldSymmetry { none, odd };
const ChoiceTable<FieldSymmetry>& field_symmetry_choices();

struct FieldNetworkOptions {
  // Throws an Error naming `<section>.<option>` for an unusable value.
  void validate(const std::string& section = "model") const;

  TORCH_ARG(FieldParameterization, parameterization) = FieldParameterization::raw;
  TORCH_ARG(double, sigma_data) = 0.5;  // σ_d of the edm parameterization (images in [−1, 1])
  TORCH_ARG(FieldSymmetry, symmetry) = FieldSymmetry::none;
};

// f(y, σ) from a network that is a torch module and a VelocityField at once (MlpVelocity, a
// UNet): the module is registered as the submodule "network", so that parameters, devices,
// checkpoints and the trainer see it.
class FieldNetworkImpl : public torch::nn::Module, public NoiseConditionalField {
 public:
  template <typename Holder>
  FieldNetworkImpl(Holder network, FieldNetworkOptions options)
      : FieldNetworkImpl(network.ptr(), network.get(), std::move(options)) {}
  FieldNetworkImpl(std::shared_ptr<torch::nn::Module> module, const VelocityField* network,
                   FieldNetworkOptions options);

  // f(y, σ) as NoiseConditionalField::field.
  at::Tensor forward(const at::Tensor& y, const at::Tensor& sigma) const;
  at::Tensor field(const at::Tensor& y, const at::Tensor& sigma) const override {
    return forward(y, sigma);
  }
  std::vector<int64_t> sample_shape() const override { return network_->sample_shape(); }

  FieldNetworkOptions options;

 private:
  // F(y, c), made odd when options.symmetry() says so (one network call on [y; −y]).
  at::Tensor network(const at::Tensor& y, const at::Tensor& c_noise) const;

  const VelocityField* network_;
};

TORCH_MODULE(FieldNetwork);

// σ as a tensor that broadcasts against y: [] stays [], [n] becomes [n, 1, ..., 1], in y's dtype
// and device.
at::Tensor broadcast_sigma(const at::Tensor& sigma, const at::Tensor& y);

// The RF velocity of a field (MATH §8): with σ = (1 − t)/t and y = x/t,
//   v(x, t) = y + ((1 − t)/t²)·f(y, σ),   so that x̂_1 = y + σ² f(y, σ) and s(x, t) = f(y, σ)/t.
// Times below t_min = 1/(1 + σ_max) are evaluated at t_min (the σ_max the field was trained
// for), so a grid that starts at t = 0 behaves as one that starts at t_min. Borrows `field`.
class NoiseConditionalVelocity final : public VelocityField {
 public:
  NoiseConditionalVelocity(const NoiseConditionalField& field, double sigma_max);

  // x: [n, *sample_shape()]; t: [] or [n], t < 1. Returns v(x, t), differentiable in x.
  at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const override;
  std::vector<int64_t> sample_shape() const override { return field_.sample_shape(); }
  double t_min() const { return t_min_; }

 private:
  const NoiseConditionalField& field_;
  double t_min_;
};

}  // namespace jointflow
