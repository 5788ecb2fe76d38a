#include "models/noise_conditional_velocity.h"

#include <ATen/ATen.h>

#include <cmath>
#include <utility>

#include "core/error.h"
#include "models/rectified_flow.h"

namespace jointflow {

const ChoiceTable<FieldParameterization>& field_parameterization_choices() {
  static const ChoiceTable<FieldParameterization> table{{"raw", FieldParameterization::raw},
                                                        {"edm", FieldParameterization::edm}};
  return table;
}

const ChoiceTable<FieldSymmetry>& field_symmetry_choices() {
  static const ChoiceTable<FieldSymmetry> table{{"none", FieldSymmetry::none},
                                                {"odd", FieldSymmetry::odd}};
  return table;
}

void FieldNetworkOptions::validate(const std::string& section) const {
  JF_CHECK(std::isfinite(sigma_data()) && sigma_data() > 0, section, ".sigma_data = ", sigma_data(),
           " must be positive");
}

FieldNetworkImpl::FieldNetworkImpl(std::shared_ptr<torch::nn::Module> module,
                                   const VelocityField* network, FieldNetworkOptions options_)
    : options(std::move(options_)), network_(network) {
  options.validate();
  JF_CHECK(module != nullptr && network_ != nullptr,
           "internal: a field network needs a module that is a VelocityField");
  register_module("network", std::move(module));
}

at::Tensor broadcast_sigma(const at::Tensor& sigma, const at::Tensor& y) {
  return broadcast_time(sigma.to(y.options()), y);
}

// MATH §7.1 "Images": EDM preconditioning with c_noise = ln σ / 4.
at::Tensor FieldNetworkImpl::forward(const at::Tensor& y, const at::Tensor& sigma) const {
  const at::Tensor s = sigma.to(y.options());
  JF_CHECK(s.dim() == 0 || (s.dim() == 1 && s.size(0) == y.size(0)),
           "field network: sigma must be a scalar or one value per row of y, got shape ",
           s.sizes());
  const at::Tensor c_noise = at::log(s) / 4;
  if (options.parameterization() == FieldParameterization::raw) return network(y, c_noise);
  const double sd = options.sigma_data();
  const at::Tensor sb = broadcast_time(s, y);
  const at::Tensor total = sb * sb + sd * sd;  // σ² + σ_d²
  return -y / total + sd * network(y * at::rsqrt(total), c_noise) / (sb * at::sqrt(total));
}

at::Tensor FieldNetworkImpl::network(const at::Tensor& y, const at::Tensor& c_noise) const {
  if (options.symmetry() == FieldSymmetry::none) return network_->velocity(y, c_noise);
  const int64_t n = y.size(0);
  const at::Tensor c = c_noise.dim() == 0 ? c_noise : at::cat({c_noise, c_noise});
  const at::Tensor both = network_->velocity(at::cat({y, -y}), c);
  return (both.narrow(0, 0, n) - both.narrow(0, n, n)) / 2;
}

NoiseConditionalVelocity::NoiseConditionalVelocity(const NoiseConditionalField& field,
                                                   double sigma_max)
    : field_(field), t_min_(1.0 / (1.0 + sigma_max)) {
  JF_CHECK(std::isfinite(sigma_max) && sigma_max > 0, "model.sigma_max = ", sigma_max,
           " must be positive");
}

// MATH §8: v = y + ((1 − t)/t²)·f(y, σ), σ = (1 − t)/t, y = x/t, t clamped below at t_min.
at::Tensor NoiseConditionalVelocity::velocity(const at::Tensor& x, const at::Tensor& t) const {
  const at::Tensor time = at::clamp_min(t.to(x.options()), t_min_);
  const at::Tensor sigma = (1 - time) / time;
  const at::Tensor tb = broadcast_time(time, x);
  const at::Tensor y = x / tb;
  return y + ((1 - tb) / (tb * tb)) * field_.field(y, sigma);
}

}  // namespace jointflow
