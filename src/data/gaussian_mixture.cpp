#include "data/gaussian_mixture.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace jointflow {
namespace {

GaussianMixture make_mixture(std::string name, std::vector<double> weights,
                             std::vector<std::vector<double>> means,
                             std::vector<std::vector<double>> stds) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const int64_t components = static_cast<int64_t>(weights.size());
  const int64_t dim = static_cast<int64_t>(means.front().size());
  at::Tensor w = at::tensor(weights, options);
  at::Tensor mu = at::empty({components, dim}, options);
  at::Tensor sd = at::empty({components, dim}, options);
  for (int64_t k = 0; k < components; ++k)
    for (int64_t j = 0; j < dim; ++j) {
      mu[k][j] = means[k][j];
      sd[k][j] = stds[k][j];
    }
  return {std::move(name), w / w.sum(), mu, sd};
}

// Ten modes on a unit circle shifted by +1 along x; stds 0.1, 0.1 then 0.01 (MATH §2, `gmm8d`).
GaussianMixture gmm8d() {
  std::vector<double> weights(10, 1.0);
  std::vector<std::vector<double>> means, stds;
  for (int k = 0; k < 10; ++k) {
    std::vector<double> mean(8, 0.0), sd(8, 0.01);
    mean[0] = std::cos(2 * M_PI * k / 10) + 1;
    mean[1] = std::sin(2 * M_PI * k / 10);
    sd[0] = sd[1] = 0.1;
    means.push_back(mean);
    stds.push_back(sd);
  }
  return make_mixture("gmm8d", weights, means, stds);
}

// Ten modes on a circle of radius 2 with weights ∝ k (MATH §2, `gmm2d`).
GaussianMixture gmm2d() {
  std::vector<double> weights;
  std::vector<std::vector<double>> means, stds;
  for (int k = 1; k <= 10; ++k) {
    weights.push_back(k);
    means.push_back({2 * std::cos(2 * M_PI * k / 10), 2 * std::sin(2 * M_PI * k / 10)});
    stds.push_back({0.25, 0.25});
  }
  return make_mixture("gmm2d", weights, means, stds);
}

// Three modes on an equilateral triangle of circumradius 2.3, first vertex up (MATH §2, `gmm2d3`).
GaussianMixture gmm2d3() {
  std::vector<std::vector<double>> means, stds;
  for (int k = 0; k < 3; ++k) {
    const double angle = M_PI / 2 + 2 * M_PI * k / 3;
    means.push_back({2.3 * std::cos(angle), 2.3 * std::sin(angle)});
    stds.push_back({0.35, 0.35});
  }
  return make_mixture("gmm2d3", {0.7, 0.2, 0.1}, means, stds);
}

at::Tensor squared_distances(const GaussianMixture& mixture, const at::Tensor& x) {
  const at::Tensor means = mixture.means.to(x.options());
  return (x.unsqueeze(1) - means.unsqueeze(0)).pow(2).sum(-1);  // [n, C]
}

}  // namespace

GaussianMixture GaussianMixture::to(at::ScalarType dtype, at::Device device) const {
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  return {name, weights.to(options), means.to(options), stds.to(options)};
}

const std::vector<std::string>& mixture_names() {
  static const std::vector<std::string> names{"gmm8d", "gmm2d", "gmm2d3"};
  return names;
}

GaussianMixture named_mixture(const std::string& name, const std::string& key) {
  if (name == "gmm8d") return gmm8d();
  if (name == "gmm2d") return gmm2d();
  if (name == "gmm2d3") return gmm2d3();
  throw Error(detail::concat(key, " = '", name, "' is not a named mixture (gmm8d|gmm2d|gmm2d3)"));
}

at::Tensor mixture_log_prob(const GaussianMixture& mixture, const at::Tensor& x) {
  const at::Tensor log_weights = mixture.weights.to(x.options()).log();
  const at::Tensor means = mixture.means.to(x.options());
  const at::Tensor variances = mixture.stds.to(x.options()).pow(2);
  const at::Tensor z = (x.unsqueeze(1) - means.unsqueeze(0)).pow(2) / variances;  // [n, C, d]
  const at::Tensor log_normal =
      -0.5 * (z.sum(-1) + variances.log().sum(-1) + mixture.dim() * std::log(2 * M_PI));
  return at::logsumexp(log_weights + log_normal, 1);
}

at::Tensor nearest_component(const GaussianMixture& mixture, const at::Tensor& x) {
  return squared_distances(mixture, x).argmin(1);
}

at::Tensor min_squared_distance(const GaussianMixture& mixture, const at::Tensor& x) {
  return std::get<0>(squared_distances(mixture, x).min(1));
}

at::Tensor sample_mixture(const GaussianMixture& mixture, const RandomKey& key, int64_t first,
                          int64_t count) {
  const at::Tensor uniforms = counter_uniform(key, first, count, 1).squeeze(1);
  const at::Tensor normals = counter_normal(key, first, count, mixture.dim(), /*step=*/1);
  const at::Tensor cdf = mixture.weights.cumsum(0);
  // The last edge is clamped so that round-off in the cumulative sum cannot select C.
  const at::Tensor component = at::searchsorted(cdf, uniforms).clamp_max(mixture.components() - 1);
  return mixture.means.index_select(0, component) +
         mixture.stds.index_select(0, component) * normals;
}

}  // namespace jointflow
