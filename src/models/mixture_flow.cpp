#include "models/mixture_flow.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace jointflow {

// The component quantities at time t. With one time for all rows they are [C, d] and every
// formula is a matrix product with [n, C] responsibilities (the sampler's fast path); with one
// time per row they are [n, C, d] and the products become broadcast sums.
struct MixtureFlow::Terms {
  at::Tensor t;                   // [] or [n, 1]: broadcasts against x [n, d]
  at::Tensor t_component;         // [] or [n, 1, 1]: broadcasts against [C, d]
  at::Tensor inverse_covariance;  // 1 / C_k(t), C_k = t² S_k + (1 − t)²
  at::Tensor log_joint;           // log π_k + log N(x; t μ_k, C_k): [n, C]
  at::Tensor gamma;               // responsibilities γ_k(x, t): [n, C]

  // Σ_k γ_k A_k for A [C, d] or [n, C, d] → [n, d].
  at::Tensor mix(const at::Tensor& a) const {
    return a.dim() == 2 ? at::matmul(gamma, a) : (gamma.unsqueeze(-1) * a).sum(1);
  }
};

// x·A_k over the feature axis for A [C, d] or [n, C, d] → [n, C].
static at::Tensor contract_features(const at::Tensor& x, const at::Tensor& a) {
  return a.dim() == 2 ? at::matmul(x, a.t()) : (x.unsqueeze(1) * a).sum(-1);
}

// A tensor's values as host doubles, row-major.
static std::vector<double> host_values(const at::Tensor& values) {
  const at::Tensor host = values.detach().to(at::kCPU, at::kDouble).contiguous();
  return {host.data_ptr<double>(), host.data_ptr<double>() + host.numel()};
}

namespace {

// The mixture at one time t, in double, for the fused velocity: per component k and dimension j
// the shift tμ_kj, 1/C_kj, the slope a_kj = (t S_kj − (1 − t))/C_kj and the intercept
// μ_kj − a_kj tμ_kj (so that μ + a(x − tμ) = intercept + a·x), and per component the offset
// log π_k − ½(Σ_j log C_kj + d log 2π). Row-major [C, d] and [C].
struct VelocityTables {
  int64_t components = 0, dim = 0;
  std::vector<double> shift, inverse_covariance, slope, intercept, offset;
};

// v for rows [begin, end) of x [n, d] (MATH §2): log-joint of each component, softmax and the
// γ-weighted affine maps, all in registers for a row. kDim > 0 fixes d at compile time (the
// common sizes); kDim = 0 reads it from the tables (d ≤ kMaxFusedDim).
constexpr int64_t kMaxFusedDim = 64;
template <int kDim, typename scalar_t>
void velocity_block(const VelocityTables& tables, const scalar_t* x, scalar_t* v, int64_t begin,
                    int64_t end) {
  const int64_t d = kDim > 0 ? kDim : tables.dim, components = tables.components;
  std::vector<double> log_joint(components);
  double sum[kDim > 0 ? kDim : kMaxFusedDim];
  for (int64_t row = begin; row < end; ++row) {
    const scalar_t* xr = x + row * d;
    double largest = -INFINITY;
    for (int64_t k = 0; k < components; ++k) {  // log π_k + log N(x; tμ_k, C_k)
      const double* shift = &tables.shift[k * d];
      const double* inverse_covariance = &tables.inverse_covariance[k * d];
      double quadratic = 0;
      for (int64_t j = 0; j < d; ++j) {
        const double diff = xr[j] - shift[j];
        quadratic += diff * diff * inverse_covariance[j];
      }
      log_joint[k] = tables.offset[k] - 0.5 * quadratic;
      largest = std::max(largest, log_joint[k]);
    }
    for (int64_t j = 0; j < d; ++j) sum[j] = 0;
    double total = 0;
    for (int64_t k = 0; k < components; ++k) {
      // exp underflows to exactly 0 below −746: such a component adds nothing (as in softmax).
      const double exponent = log_joint[k] - largest;
      if (exponent < -746) continue;
      const double weight = std::exp(exponent);
      const double* slope = &tables.slope[k * d];
      const double* intercept = &tables.intercept[k * d];
      total += weight;
      for (int64_t j = 0; j < d; ++j) sum[j] += weight * (intercept[j] + slope[j] * xr[j]);
    }
    for (int64_t j = 0; j < d; ++j) v[row * d + j] = static_cast<scalar_t>(sum[j] / total);
  }
}

}  // namespace

MixtureFlow::MixtureFlow(const GaussianMixture& mixture, at::ScalarType dtype, at::Device device)
    : mixture_(mixture.to(dtype, device)),
      variances_(mixture_.stds.pow(2)),
      log_weights_(mixture_.weights.log()),
      host_means_(host_values(mixture_.means)),
      host_variances_(host_values(variances_)),
      host_log_weights_(host_values(log_weights_)) {}

MixtureFlow::Terms MixtureFlow::terms(const at::Tensor& x, const at::Tensor& t) const {
  JF_CHECK(x.dim() == 2 && x.size(1) == mixture_.dim(), "mixture flow '", mixture_.name,
           "' expects x of shape [n, ", mixture_.dim(), "], got ", x.sizes());
  JF_CHECK(t.dim() == 0 || (t.dim() == 1 && t.size(0) == x.size(0)),
           "time must be a scalar or one value per row");
  Terms k;
  const at::Tensor time = t.to(x.options());
  k.t = time.dim() == 0 ? time : time.unsqueeze(1);
  k.t_component = time.dim() == 0 ? time : time.view({-1, 1, 1});
  const at::Tensor covariance = k.t_component.pow(2) * variances_ + (1 - k.t_component).pow(2);
  k.inverse_covariance = 1 / covariance;
  // −½‖x − tμ_k‖²_{C⁻¹} expanded, so that one time for all rows needs only matrix products.
  const at::Tensor mean = k.t_component * mixture_.means;
  const at::Tensor quadratic = contract_features(x.pow(2), k.inverse_covariance) -
                               2 * contract_features(x, mean * k.inverse_covariance) +
                               (mean.pow(2) * k.inverse_covariance).sum(-1);
  const at::Tensor log_normalizer = covariance.log().sum(-1) + mixture_.dim() * std::log(2 * M_PI);
  k.log_joint = log_weights_ - 0.5 * (quadratic + log_normalizer);
  k.gamma = at::softmax(k.log_joint, 1);
  return k;
}

at::Tensor MixtureFlow::velocity(const at::Tensor& x, const at::Tensor& t) const {
  const bool records_graph = at::GradMode::is_enabled() && (x.requires_grad() || t.requires_grad());
  if (!records_graph && t.dim() == 0 && x.dim() == 2 && x.size(1) == mixture_.dim() &&
      mixture_.dim() <= kMaxFusedDim && x.device().is_cpu() &&
      (x.scalar_type() == at::kDouble || x.scalar_type() == at::kFloat))
    return velocity_rows(x.contiguous(), t.item<double>());
  // v = Σ γ_k [μ_k + a_k ⊙ (x − t μ_k)], a_k = (t S_k − (1 − t)) / C_k.
  const Terms k = terms(x, t);
  const at::Tensor a = (k.t_component * variances_ - (1 - k.t_component)) * k.inverse_covariance;
  return k.mix(mixture_.means) + x * k.mix(a) - k.t * k.mix(a * mixture_.means);
}

at::Tensor MixtureFlow::velocity_rows(const at::Tensor& x, double t) const {
  VelocityTables tables;
  const int64_t components = tables.components = mixture_.components();
  const int64_t d = tables.dim = mixture_.dim();
  for (auto* table : {&tables.shift, &tables.inverse_covariance, &tables.slope, &tables.intercept})
    table->resize(components * d);
  tables.offset.resize(components);
  for (int64_t k = 0; k < components; ++k) {
    double log_det = 0;
    for (int64_t j = 0; j < d; ++j) {
      const int64_t e = k * d + j;
      const double covariance = t * t * host_variances_[e] + (1 - t) * (1 - t);
      tables.shift[e] = t * host_means_[e];
      tables.inverse_covariance[e] = 1 / covariance;
      tables.slope[e] = (t * host_variances_[e] - (1 - t)) / covariance;
      tables.intercept[e] = host_means_[e] - tables.slope[e] * tables.shift[e];
      log_det += std::log(covariance);
    }
    tables.offset[k] =
        host_log_weights_[k] - 0.5 * (log_det + static_cast<double>(d) * std::log(2 * M_PI));
  }
  at::Tensor v = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "mixture_velocity_rows", [&] {
    const scalar_t* input = x.data_ptr<scalar_t>();
    scalar_t* output = v.data_ptr<scalar_t>();
    at::parallel_for(0, x.size(0), 256, [&](int64_t begin, int64_t end) {
      if (d == 2)
        velocity_block<2>(tables, input, output, begin, end);
      else if (d == 8)
        velocity_block<8>(tables, input, output, begin, end);
      else
        velocity_block<0>(tables, input, output, begin, end);
    });
  });
  return v;
}

at::Tensor MixtureFlow::score(const at::Tensor& x, const at::Tensor& t) const {
  // s = −Σ γ_k (x − t μ_k) / C_k.
  const Terms k = terms(x, t);
  return k.t * k.mix(mixture_.means * k.inverse_covariance) - x * k.mix(k.inverse_covariance);
}

at::Tensor MixtureFlow::log_prob(const at::Tensor& x, const at::Tensor& t) const {
  return at::logsumexp(terms(x, t).log_joint, 1);
}

at::Tensor MixtureFlow::endpoint(const at::Tensor& x, const at::Tensor& t) const {
  // E[x_1 | x_t = x] = Σ γ_k [μ_k + b_k ⊙ (x − t μ_k)], b_k = t S_k / C_k.
  const Terms k = terms(x, t);
  const at::Tensor b = k.t_component * variances_ * k.inverse_covariance;
  return k.mix(mixture_.means) + x * k.mix(b) - k.t * k.mix(b * mixture_.means);
}

}  // namespace jointflow
