// Closed-form ∂D/∂y of the diversity objectives on the CPU, one group at a time in double
// precision (MATH §3, §3.1); other devices use diversity_gradient_by_autograd.
#include "sampling/diversity.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/error.h"
#include "sampling/diversity_common.h"

namespace jointflow {
namespace {

using detail::chebyshev_coefficients;
using detail::kDfQualityFloor;
using detail::kDppJitter;
using detail::kPairEpsilon;
using detail::machine_epsilon;

// d_j with f'(z) = Σ_{j=0}^{m−1} d_j T_j(z) for f(z) = Σ_{j=0}^{m} c_j T_j(z): e_{j−1} = e_{j+1} +
// 2j c_j downwards from e_m = e_{m+1} = 0, d_0 = e_0/2, d_j = e_j.
std::vector<double> chebyshev_derivative(const std::vector<double>& c) {
  const int64_t m = static_cast<int64_t>(c.size()) - 1;
  std::vector<double> e(m + 2, 0.0);
  for (int64_t j = m; j >= 1; --j) e[j - 1] = e[j + 1] + 2.0 * static_cast<double>(j) * c[j];
  e.resize(std::max<int64_t>(m, 1));
  e[0] /= 2;
  return e;
}

// Closed-form ∂D/∂y of one group at a time (MATH §3), in double whatever the input dtype. With
// h the median and w_p = ∂D/∂D̃_ij for the pair p = (i < j) (D̃ symmetric, both orders summed),
//   ∂D/∂y_i = (2/h) Σ_j w_ij (y_i − y_j),
// which replaces the batched autograd through Cholesky factors and [B, K, K, f] temporaries.
class GroupGradient {
 public:
  GroupGradient(const DiversitySpec& spec, int64_t k, int64_t f, double resolution)
      : spec_(spec),
        k_(k),
        f_(f),
        resolution2_(resolution * resolution),
        diff_(k * (k - 1) / 2 * f),
        dist_(k * (k - 1) / 2),
        sorted_(dist_.size()),
        weight_(dist_.size()),
        kernel_(k * k),
        inverse_(k * k),
        second_(k * k),
        factor_(k * k) {
    if (spec.objective == Objective::chebyshev) {
      const double a = kDppJitter, b = static_cast<double>(k);
      derivative_ = chebyshev_derivative(chebyshev_coefficients(spec.chebyshev_degree, a, b));
      clenshaw_.assign(3 * k * k, 0.0);
    }
  }

  // y: [K, f] row-major; radius2: [K] (df) or null. Writes grad_y [K, f] and grad_radius2 [K]
  // (df; may be null otherwise). A failed Cholesky factorization gives NaN (the sampler then
  // reports the member as non-finite).
  void operator()(const double* y, const double* radius2, double* grad_y, double* grad_radius2) {
    const int64_t k = k_, f = f_, pairs = static_cast<int64_t>(dist_.size());
    for (int64_t e = 0; e < k * f; ++e) grad_y[e] = 0;
    if (grad_radius2 != nullptr)
      for (int64_t i = 0; i < k; ++i) grad_radius2[i] = 0;
    double scale = 0;  // mean squared norm of the members, for the round-off guard
    for (int64_t e = 0; e < k * f; ++e) scale += y[e] * y[e];
    scale /= static_cast<double>(k);
    for (int64_t i = 0, p = 0; i < k; ++i)
      for (int64_t j = i + 1; j < k; ++j, ++p) {
        double* diff = &diff_[p * f];
        double d = 0;
        for (int64_t l = 0; l < f; ++l) {
          diff[l] = y[i * f + l] - y[j * f + l];
          d += diff[l] * diff[l];
        }
        dist_[p] = sorted_[p] = d;
      }
    const double h = std::max(median(), 1e-30);
    // Coinciding features (the t = 0 endpoints): no diversity direction (diversity_gradient).
    if (!(h > resolution2_ * scale)) return;
    const double inverse_h = 1 / h;
    for (int64_t p = 0; p < pairs; ++p) dist_[p] *= inverse_h;  // D̃
    pair_weights(radius2, grad_radius2);
    for (int64_t i = 0, p = 0; i < k; ++i)
      for (int64_t j = i + 1; j < k; ++j, ++p) {
        const double w = 2 * inverse_h * weight_[p];
        const double* diff = &diff_[p * f];
        for (int64_t l = 0; l < f; ++l) {
          grad_y[i * f + l] += w * diff[l];
          grad_y[j * f + l] -= w * diff[l];
        }
      }
  }

 private:
  // at::quantile(pairs, 0.5) with its linear interpolation (and its lerp rounding).
  double median() {
    const int64_t n = static_cast<int64_t>(sorted_.size());
    const double rank = 0.5 * static_cast<double>(n - 1);
    const int64_t below = static_cast<int64_t>(std::floor(rank));
    std::nth_element(sorted_.begin(), sorted_.begin() + below, sorted_.end());
    const double low = sorted_[below];
    const double weight = rank - static_cast<double>(below);
    if (weight == 0) return low;
    const double high = *std::min_element(sorted_.begin() + below + 1, sorted_.end());
    return weight < 0.5 ? low + weight * (high - low) : high - (high - low) * (1 - weight);
  }

  // kernel_ = the symmetric [K, K] matrix with unit diagonal and value(D̃_p) off it.
  template <typename Value>
  void fill_kernel(Value value) {
    const int64_t k = k_;
    for (int64_t i = 0, p = 0; i < k; ++i) {
      kernel_[i * k + i] = 1;
      for (int64_t j = i + 1; j < k; ++j, ++p)
        kernel_[i * k + j] = kernel_[j * k + i] = value(dist_[p]);
    }
  }

  // inverse = (A + shift·I)⁻¹ for symmetric positive definite A [K, K], by Cholesky.
  void spd_inverse(const std::vector<double>& a, double shift, std::vector<double>& inverse) {
    const int64_t k = k_;
    std::vector<double>& r = factor_;  // lower factor, then its inverse in place
    for (int64_t j = 0; j < k; ++j) {
      double diagonal = a[j * k + j] + shift;
      for (int64_t q = 0; q < j; ++q) diagonal -= r[j * k + q] * r[j * k + q];
      r[j * k + j] = std::sqrt(diagonal);
      for (int64_t i = j + 1; i < k; ++i) {
        double sum = a[i * k + j];
        for (int64_t q = 0; q < j; ++q) sum -= r[i * k + q] * r[j * k + q];
        r[i * k + j] = sum / r[j * k + j];
      }
    }
    for (int64_t j = 0; j < k; ++j) {  // R⁻¹, lower, column by column
      r[j * k + j] = 1 / r[j * k + j];
      for (int64_t i = j + 1; i < k; ++i) {
        double sum = 0;
        for (int64_t q = j; q < i; ++q) sum += r[i * k + q] * r[q * k + j];
        r[i * k + j] = -sum / r[i * k + i];
      }
    }
    for (int64_t i = 0; i < k; ++i)  // (R Rᵀ)⁻¹ = R⁻ᵀ R⁻¹
      for (int64_t j = 0; j <= i; ++j) {
        double sum = 0;
        for (int64_t q = i; q < k; ++q) sum += r[q * k + i] * r[q * k + j];
        inverse[i * k + j] = inverse[j * k + i] = sum;
      }
  }

  // weight_ = w_p of the objective from D̃ = dist_; for df also ∂D/∂‖x̂_0‖² (MATH §3, §3.1).
  void pair_weights(const double* radius2, double* grad_radius2) {
    const int64_t k = k_, pairs = static_cast<int64_t>(dist_.size());
    switch (spec_.objective) {
      case Objective::pg:  // D = −Σ_{i≠j} exp(−D̃_ij)
        for (int64_t p = 0; p < pairs; ++p) weight_[p] = 2 * std::exp(-dist_[p]);
        return;
      case Objective::logbarrier:  // D = Σ_{i<j} log(D̃_ij + ε)
        for (int64_t p = 0; p < pairs; ++p) weight_[p] = 1 / (dist_[p] + kPairEpsilon);
        return;
      case Objective::reciprocal:  // D = −Σ_{i<j} 1/(D̃_ij + ε)
        for (int64_t p = 0; p < pairs; ++p) {
          const double inverse = 1 / (dist_[p] + kPairEpsilon);
          weight_[p] = inverse * inverse;
        }
        return;
      case Objective::dpp:  // ∂ log det(L + εI)/∂L = (L + εI)⁻¹, L = exp(−D̃), ∂L/∂D̃ = −L
        fill_kernel([](double d) { return std::exp(-d); });
        spd_inverse(kernel_, kDppJitter, inverse_);
        for (int64_t i = 0, p = 0; i < k; ++i)
          for (int64_t j = i + 1; j < k; ++j, ++p)
            weight_[p] = -2 * inverse_[i * k + j] * kernel_[i * k + j];
        return;
      case Objective::hdpp:  // L = 1/(1 + D̃), ∂L/∂D̃ = −L²
        fill_kernel([](double d) { return 1 / (1 + d); });
        spd_inverse(kernel_, kDppJitter, inverse_);
        for (int64_t i = 0, p = 0; i < k; ++i)
          for (int64_t j = i + 1; j < k; ++j, ++p) {
            const double value = kernel_[i * k + j];
            weight_[p] = -2 * inverse_[i * k + j] * value * value;
          }
        return;
      case Objective::chebyshev:
        chebyshev_weights();
        return;
      case Objective::df:
        diverse_flow_weights(radius2, grad_radius2);
        return;
      case Objective::iid:
        break;
    }
    throw Error("internal: diversity_gradient called for the iid sampler");
  }

  // ∂/∂L̃ Σ_j c_j tr T_j(L̃) = f'(L̃) = Σ_j d_j T_j(L̃) by Clenshaw's recurrence on matrices:
  // B_j = d_j I + 2 L̃ B_{j+1} − B_{j+2}, f'(L̃) = d_0 I + L̃ B_1 − B_2; ∂L̃/∂L = 2/(b − a).
  void chebyshev_weights() {
    const int64_t k = k_, kk = k * k;
    const double a = kDppJitter, b = static_cast<double>(k);
    fill_kernel([](double d) { return std::exp(-d); });
    std::vector<double>& scaled = second_;  // L̃ = (2L − (a + b)I)/(b − a)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        scaled[i * k + j] = (2 * kernel_[i * k + j] - (i == j ? a + b : 0.0)) / (b - a);
    // Three rotating matrices: B_{j+2}, B_{j+1} and the new B_j (row-major, rows contiguous in
    // the inner loop).
    double* next2 = clenshaw_.data();
    double* next1 = next2 + kk;
    double* current = next1 + kk;
    std::fill(clenshaw_.begin(), clenshaw_.end(), 0.0);
    const int64_t m = static_cast<int64_t>(derivative_.size());  // d_0 .. d_{m−1}
    for (int64_t j = m - 1; j >= 0; --j) {
      const double two = j == 0 ? 1.0 : 2.0;
      for (int64_t e = 0; e < kk; ++e) current[e] = -next2[e];
      for (int64_t r = 0; r < k; ++r) {
        current[r * k + r] += derivative_[j];
        if (j == m - 1) continue;  // B_m = 0
        for (int64_t q = 0; q < k; ++q) {
          const double factor = two * scaled[r * k + q];
          for (int64_t c = 0; c < k; ++c) current[r * k + c] += factor * next1[q * k + c];
        }
      }
      std::swap(next2, next1);    // B_{j+1} becomes B_{j+2}
      std::swap(next1, current);  // B_j becomes B_{j+1}
    }
    const double chain = 2 / (b - a);
    for (int64_t i = 0, p = 0; i < k; ++i)
      for (int64_t j = i + 1; j < k; ++j, ++p)
        weight_[p] = -chain * (next1[i * k + j] + next1[j * k + i]) * kernel_[i * k + j];
  }

  // D = log det(L_q + εI) − log det(L_q + (1 + ε)I), L_q = L ⊙ q qᵀ, L = exp(−D̃): with
  // N = (L_q + εI)⁻¹ − (L_q + (1 + ε)I)⁻¹, w_ij = −2 N_ij (L_q)_ij and ∂D/∂q_i = 2 Σ_j N_ij
  // (L_q)_ij / q_i, q_i = max(ε_q, exp(−(r_i − ρ²))) outside the radius, 1 inside.
  void diverse_flow_weights(const double* radius2, double* grad_radius2) {
    const int64_t k = k_;
    quality_.resize(k);
    fill_kernel([](double d) { return std::exp(-d); });
    for (int64_t i = 0; i < k; ++i) {
      const double excess = radius2[i] - spec_.df_quality_radius2;
      quality_[i] = excess <= 0 ? 1.0 : std::max(std::exp(-excess), kDfQualityFloor);
    }
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) kernel_[i * k + j] *= quality_[i] * quality_[j];
    spd_inverse(kernel_, kDppJitter, inverse_);
    spd_inverse(kernel_, 1 + kDppJitter, second_);
    for (int64_t i = 0, p = 0; i < k; ++i)
      for (int64_t j = i + 1; j < k; ++j, ++p)
        weight_[p] = -2 * (inverse_[i * k + j] - second_[i * k + j]) * kernel_[i * k + j];
    for (int64_t i = 0; i < k; ++i) {
      const double excess = radius2[i] - spec_.df_quality_radius2;
      const double decay = std::exp(-excess);
      if (excess <= 0 || decay < kDfQualityFloor) continue;  // q is constant there
      double dq = 0;
      for (int64_t j = 0; j < k; ++j)
        dq += 2 * (inverse_[i * k + j] - second_[i * k + j]) * kernel_[i * k + j] / quality_[i];
      grad_radius2[i] = -decay * dq;
    }
  }

  const DiversitySpec& spec_;
  int64_t k_, f_;
  double resolution2_;
  std::vector<double> diff_;                    // y_i − y_j per pair: [P, f]
  std::vector<double> dist_, sorted_, weight_;  // per pair: ‖y_i − y_j‖² then D̃, w: [P]
  std::vector<double> kernel_, inverse_, second_, factor_;  // [K, K]
  std::vector<double> derivative_, clenshaw_, quality_;
};

}  // namespace

DiversityGradient diversity_gradient(const DiversitySpec& spec, const at::Tensor& features,
                                     const at::Tensor& quality_input) {
  JF_CHECK(features.dim() == 3 && features.size(1) >= 2,
           "diversity objectives need features of shape [groups, K >= 2, f], got ",
           features.sizes());
  JF_CHECK(spec.objective != Objective::iid, "internal: diversity_gradient called for iid");
  const bool with_quality = spec.objective == Objective::df;
  JF_CHECK(!with_quality || quality_input.defined(), "the df objective needs ‖x̂_0‖² per member");
  if (!features.device().is_cpu())
    return diversity_gradient_by_autograd(spec, features, quality_input);
  const int64_t k = features.size(1), f = features.size(2);
  const at::Tensor y = features.detach().to(at::kDouble).contiguous();
  const at::Tensor radius2 =
      with_quality ? quality_input.detach().to(at::kDouble).contiguous() : at::Tensor();
  at::Tensor grad_y = at::empty_like(y);
  at::Tensor grad_radius2 = with_quality ? at::empty_like(radius2) : at::Tensor();
  const double resolution = 1e3 * machine_epsilon(features.scalar_type());
  at::parallel_for(0, features.size(0), 16, [&](int64_t begin, int64_t end) {
    GroupGradient group(spec, k, f, resolution);
    for (int64_t g = begin; g < end; ++g)
      group(y.data_ptr<double>() + g * k * f,
            with_quality ? radius2.data_ptr<double>() + g * k : nullptr,
            grad_y.data_ptr<double>() + g * k * f,
            with_quality ? grad_radius2.data_ptr<double>() + g * k : nullptr);
  });
  DiversityGradient result;
  result.features = grad_y.to(features.scalar_type());
  if (with_quality) result.quality_input = grad_radius2.to(quality_input.scalar_type());
  return result;
}

}  // namespace jointflow
