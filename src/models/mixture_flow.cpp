#include "models/mixture_flow.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace jointflow {

// The component quantities at time t. With one time for all rows they are [C, d] and every
// formula is a matrix product with [n, C] responsibilities (the sampler's fast path); with one
// time per row they are [n, C, d] and the products become broadcast sums.
struct MixtureFlow::Terms {
  at::Tensor t;           // [] or [n, 1]: broadcasts against x [n, d]
  at::Tensor t_component; // [] or [n, 1, 1]: broadcasts against [C, d]
  at::Tensor inverse_covariance;  // 1 / C_k(t), C_k = t² S_k + (1 − t)²
  at::Tensor log_joint;   // log π_k + log N(x; t μ_k, C_k): [n, C]
  at::Tensor gamma;       // responsibilities γ_k(x, t): [n, C]

  // Σ_k γ_k A_k for A [C, d] or [n, C, d] → [n, d].
  at::Tensor mix(const at::Tensor& a) const {
    return a.dim() == 2 ? at::matmul(gamma, a) : (gamma.unsqueeze(-1) * a).sum(1);
  }
};

// x·A_k over the feature axis for A [C, d] or [n, C, d] → [n, C].
static at::Tensor contract_features(const at::Tensor& x, const at::Tensor& a) {
  return a.dim() == 2 ? at::matmul(x, a.t()) : (x.unsqueeze(1) * a).sum(-1);
}

MixtureFlow::MixtureFlow(const GaussianMixture& mixture, at::ScalarType dtype, at::Device device)
    : mixture_(mixture.to(dtype, device)),
      variances_(mixture_.stds.pow(2)),
      log_weights_(mixture_.weights.log()) {}

MixtureFlow::Terms MixtureFlow::terms(const at::Tensor& x, const at::Tensor& t) const {
  JF_CHECK(x.dim() == 2 && x.size(1) == mixture_.dim(), "mixture flow '", mixture_.name,
           "' expects x of shape [n, ", mixture_.dim(), "], got ", x.sizes());
  JF_CHECK(t.dim() == 0 || (t.dim() == 1 && t.size(0) == x.size(0)),
           "time must be a scalar or one value per row");
  Terms k;
  const at::Tensor time = t.to(x.options());
  k.t = time.dim() == 0 ? time : time.unsqueeze(1);
  k.t_component = time.dim() == 0 ? time : time.view({-1, 1, 1});
  const at::Tensor covariance =
      k.t_component.pow(2) * variances_ + (1 - k.t_component).pow(2);
  k.inverse_covariance = 1 / covariance;
  // −½‖x − tμ_k‖²_{C⁻¹} expanded, so that one time for all rows needs only matrix products.
  const at::Tensor mean = k.t_component * mixture_.means;
  const at::Tensor quadratic = contract_features(x.pow(2), k.inverse_covariance) -
                               2 * contract_features(x, mean * k.inverse_covariance) +
                               (mean.pow(2) * k.inverse_covariance).sum(-1);
  const at::Tensor log_normalizer =
      covariance.log().sum(-1) + mixture_.dim() * std::log(2 * M_PI);
  k.log_joint = log_weights_ - 0.5 * (quadratic + log_normalizer);
  k.gamma = at::softmax(k.log_joint, 1);
  return k;
}

at::Tensor MixtureFlow::velocity(const at::Tensor& x, const at::Tensor& t) const {
  // v = Σ γ_k [μ_k + a_k ⊙ (x − t μ_k)], a_k = (t S_k − (1 − t)) / C_k.
  const Terms k = terms(x, t);
  const at::Tensor a = (k.t_component * variances_ - (1 - k.t_component)) * k.inverse_covariance;
  return k.mix(mixture_.means) + x * k.mix(a) - k.t * k.mix(a * mixture_.means);
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
