#include "sampling/field_samplers.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <vector>

#include "core/error.h"

namespace jointflow {

namespace {

constexpr double kLog2Pi = 1.8378770664093454836;

// Standard normals of samples [first, first + n) at `step`, shaped like x.
at::Tensor step_noise(const at::Tensor& x, const RandomKey& key, int64_t first, int64_t step) {
  const int64_t n = x.size(0);
  return counter_normal(key, first, n, x.numel() / n, static_cast<uint64_t>(step))
      .to(x.options())
      .view(x.sizes());
}

at::Tensor sigma_tensor(double sigma, const at::Tensor& x) {
  return at::full({}, sigma, x.options());
}

// EDM's grid σ_0 = σ_max, ..., σ_{N−1} = σ_min (ρ-spaced), followed by σ_N = 0.
std::vector<double> edm_grid(const FieldSamplerOptions& options) {
  const int64_t n = options.steps();
  const double inverse_rho = 1.0 / options.rho();
  const double high = std::pow(options.sigma_max(), inverse_rho);
  const double low = std::pow(options.sigma_min(), inverse_rho);
  std::vector<double> grid;
  for (int64_t i = 0; i < n; ++i) {
    const double fraction = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
    grid.push_back(std::pow(high + fraction * (low - high), options.rho()));
  }
  grid.push_back(0.0);
  return grid;
}

// −σ f(x, σ) and σ ∇·f(x, σ) per row (the pf-ODE drift and the log-density rate).
struct DriftAndRate {
  at::Tensor drift;
  at::Tensor rate;
};

DriftAndRate drift_and_rate(const NoiseConditionalField& field, const at::Tensor& x, double sigma,
                            const DivergenceOptions& divergence_options, const ProbeKey& probes) {
  at::AutoGradMode enable(true);
  const at::Tensor input = x.detach().requires_grad_(true);
  const at::Tensor f = field.field(input, sigma_tensor(sigma, x));
  const at::Tensor div = divergence(f, input, divergence_options, probes);
  return {(-sigma) * f.detach(), sigma * div};
}

}  // namespace

const ChoiceTable<FieldSamplerKind>& field_sampler_choices() {
  static const ChoiceTable<FieldSamplerKind> table{{"langevin", FieldSamplerKind::langevin},
                                                   {"reverse_ve", FieldSamplerKind::reverse_ve},
                                                   {"pf_ode", FieldSamplerKind::pf_ode},
                                                   {"rf_euler", FieldSamplerKind::rf_euler}};
  return table;
}

void FieldSamplerOptions::validate(const std::string& section) const {
  JF_CHECK(steps() >= 1, section, ".sample_steps = ", steps(), " must be at least 1");
  JF_CHECK(std::isfinite(step_size()) && step_size() > 0, section, ".langevin_step = ", step_size(),
           " must be positive");
  JF_CHECK(std::isfinite(sigma()) && sigma() > 0, section, ".sigma = ", sigma(),
           " must be positive");
  JF_CHECK(std::isfinite(initial_std()) && initial_std() > 0, section,
           ".langevin_init = ", initial_std(), " must be positive");
  JF_CHECK(std::isfinite(sigma_max()) && sigma_min() > 0 && sigma_min() < sigma_max(), section,
           ".sample_sigma_min = ", sigma_min(), " must lie in (0, field.sigma_max = ", sigma_max(),
           ")");
  JF_CHECK(std::isfinite(rho()) && rho() > 0, "the pf_ode schedule exponent ρ = ", rho(),
           " must be positive");
}

at::Tensor langevin_sample(const NoiseConditionalField& field, at::Tensor x,
                           const FieldSamplerOptions& options, const RandomKey& key,
                           int64_t first) {
  at::NoGradGuard no_grad;
  const double epsilon = options.step_size();
  const at::Tensor sigma = sigma_tensor(options.sigma(), x);
  for (int64_t k = 0; k < options.steps(); ++k)
    x = x + (0.5 * epsilon) * field.field(x, sigma) +
        std::sqrt(epsilon) * step_noise(x, key, first, k);
  return x;
}

at::Tensor reverse_ve_sample(const NoiseConditionalField& field, at::Tensor x,
                             const FieldSamplerOptions& options, const RandomKey& key,
                             int64_t first) {
  at::NoGradGuard no_grad;
  const int64_t n = options.steps();
  const double ratio = std::log(options.sigma_min() / options.sigma_max());
  auto level = [&](int64_t i) {
    return n == 1 ? options.sigma_min()
                  : options.sigma_max() *
                        std::exp(ratio * static_cast<double>(i) / static_cast<double>(n - 1));
  };
  for (int64_t i = 0; i + 1 < n; ++i) {
    const double current = level(i), next = level(i + 1);
    const double variance = current * current - next * next;
    x = x + variance * field.field(x, sigma_tensor(current, x)) +
        std::sqrt(variance) * step_noise(x, key, first, i);
  }
  const double last = options.sigma_min();
  return x + (last * last) * field.field(x, sigma_tensor(last, x));
}

at::Tensor probability_flow_sample(const NoiseConditionalField& field, at::Tensor x,
                                   const FieldSamplerOptions& options) {
  at::NoGradGuard no_grad;
  const std::vector<double> grid = edm_grid(options);
  for (size_t i = 0; i + 1 < grid.size(); ++i) {
    const double current = grid[i], next = grid[i + 1];
    const at::Tensor d = (-current) * field.field(x, sigma_tensor(current, x));
    const at::Tensor euler = x + (next - current) * d;
    if (next == 0.0) {
      x = euler;
      continue;
    }
    const at::Tensor d_next = (-next) * field.field(euler, sigma_tensor(next, x));
    x = x + (0.5 * (next - current)) * (d + d_next);
  }
  return x;
}

at::Tensor rf_euler_sample(const VelocityField& velocity, at::Tensor x, int64_t steps,
                           double t_start) {
  JF_CHECK(steps >= 1 && t_start >= 0 && t_start < 1, "RF Euler sampler: ", steps,
           " steps from t = ", t_start, " need steps ≥ 1 and 0 ≤ t < 1");
  at::NoGradGuard no_grad;
  const double dt = (1.0 - t_start) / static_cast<double>(steps);
  for (int64_t k = 0; k < steps; ++k) {
    const double t = t_start + static_cast<double>(k) * dt;
    x = x + dt * velocity.velocity(x, at::full({}, t, x.options()));
  }
  return x;
}

at::Tensor sample_field(const NoiseConditionalField& field, const FieldSamplerOptions& options,
                        uint64_t seed, int64_t first, int64_t count,
                        const at::TensorOptions& tensor_options) {
  options.validate();
  std::vector<int64_t> shape{count};
  for (const int64_t extent : field.sample_shape()) shape.push_back(extent);
  const at::Tensor noise =
      counter_normal({seed, RandomStream::initial_noise}, first, count, field.dim())
          .to(tensor_options)
          .view(shape);
  const RandomKey step_key{seed, RandomStream::langevin};
  switch (options.kind()) {
    case FieldSamplerKind::langevin:
      return langevin_sample(field, options.initial_std() * noise, options, step_key, first);
    case FieldSamplerKind::reverse_ve:
      return reverse_ve_sample(field, options.sigma_max() * noise, options, step_key, first);
    case FieldSamplerKind::pf_ode:
      return probability_flow_sample(field, options.sigma_max() * noise, options);
    case FieldSamplerKind::rf_euler: {
      const NoiseConditionalVelocity velocity(field, options.sigma_max());
      return rf_euler_sample(velocity, (1.0 - velocity.t_min()) * noise, options.steps(),
                             velocity.t_min());
    }
  }
  throw Error("internal: field sampler kind missing from sample_field");
}

at::Tensor nll_bits_per_dim(const NoiseConditionalField& field, const at::Tensor& x,
                            const FieldSamplerOptions& options, const DivergenceOptions& divergence,
                            const RandomKey& probe_key, int64_t first) {
  options.validate();
  const int64_t n = x.size(0), d = field.dim();
  std::vector<double> grid = edm_grid(options);
  grid.pop_back();  // σ_N = 0: integrate from σ_min up to σ_max
  const ProbeKey probes{probe_key, first, 0};
  at::Tensor state = x.detach();
  at::Tensor integral = at::zeros({n}, x.options());
  for (size_t i = grid.size() - 1; i > 0; --i) {
    const double current = grid[i], next = grid[i - 1], h = next - current;
    const DriftAndRate k1 = drift_and_rate(field, state, current, divergence, probes);
    const at::Tensor euler = state + h * k1.drift;
    const DriftAndRate k2 = drift_and_rate(field, euler, next, divergence, probes);
    state = state + (0.5 * h) * (k1.drift + k2.drift);
    integral = integral + (0.5 * h) * (k1.rate + k2.rate);
  }
  const double sigma_max = grid.front();
  const at::Tensor prior = -0.5 * state.reshape({n, -1}).pow(2).sum(1) / (sigma_max * sigma_max) -
                           0.5 * static_cast<double>(d) * (kLog2Pi + 2 * std::log(sigma_max));
  const at::Tensor log_p = prior - integral;
  return -log_p / (static_cast<double>(d) * std::log(2.0));
}

}  // namespace jointflow
