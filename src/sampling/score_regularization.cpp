#include "sampling/score_regularization.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "models/rectified_flow.h"

namespace jointflow {

at::Tensor regularize_diversity_gradient(ScoreRegularization rule, const at::Tensor& g,
                                         const at::Tensor& score, double t, double soft_power) {
  if (rule == ScoreRegularization::none) return g;
  const at::Tensor norm = score.norm(2, 1, /*keepdim=*/true);
  const at::Tensor unit = score / at::where(norm > 0, norm, at::ones_like(norm));
  const at::Tensor alpha = (g * unit).sum(1, /*keepdim=*/true);
  const double fraction = rule == ScoreRegularization::hard ? 1.0 : std::pow(t, soft_power);
  return g - fraction * alpha.clamp_max(0) * unit;
}

RegularizedGradient regularize_with_norms(ScoreRegularization rule, const at::Tensor& x,
                                          const at::Tensor& v, const at::Tensor& g, double t,
                                          double soft_power) {
  RegularizedGradient result;
  const bool regularized = rule != ScoreRegularization::none;
  if (!x.device().is_cpu()) {
    const at::Tensor time = at::scalar_tensor(t, x.options());
    result.g_tilde =
        regularize_diversity_gradient(rule, g, score_from_velocity(x, v, time), t, soft_power);
    result.squared_norms = at::stack({v.pow(2).sum(1), result.g_tilde.pow(2).sum(1)}, 1);
    return result;
  }
  const at::Tensor xc = x.contiguous(), vc = v.contiguous(), gc = g.contiguous();
  result.g_tilde = regularized ? at::empty_like(gc) : gc;
  result.squared_norms = at::empty({x.size(0), 2}, x.options());
  const double fraction = rule == ScoreRegularization::hard ? 1.0 : std::pow(t, soft_power);
  const int64_t d = x.size(1);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "regularize_with_norms", [&] {
    const scalar_t *xp = xc.data_ptr<scalar_t>(), *vp = vc.data_ptr<scalar_t>(),
                   *gp = gc.data_ptr<scalar_t>();
    scalar_t* out = result.g_tilde.data_ptr<scalar_t>();
    scalar_t* norms = result.squared_norms.data_ptr<scalar_t>();
    at::parallel_for(0, x.size(0), 1024, [&](int64_t begin, int64_t end) {
      std::vector<double> score(d);
      for (int64_t row = begin; row < end; ++row) {
        const scalar_t *xr = xp + row * d, *vr = vp + row * d, *gr = gp + row * d;
        double v2 = 0;
        for (int64_t j = 0; j < d; ++j) v2 += static_cast<double>(vr[j]) * vr[j];
        norms[2 * row] = static_cast<scalar_t>(v2);
        if (!regularized) {
          double g2 = 0;
          for (int64_t j = 0; j < d; ++j) g2 += static_cast<double>(gr[j]) * gr[j];
          norms[2 * row + 1] = static_cast<scalar_t>(g2);
          continue;
        }
        // s = (t·v − x)/(1 − t); α‖s‖ = g·s; remove fraction·min(α, 0)·ŝ.
        double s2 = 0, gs = 0;
        for (int64_t j = 0; j < d; ++j) {
          score[j] = (t * vr[j] - xr[j]) / (1 - t);
          s2 += score[j] * score[j];
          gs += gr[j] * score[j];
        }
        const double coefficient = gs < 0 && s2 > 0 ? fraction * gs / s2 : 0.0;
        double g2 = 0;
        scalar_t* outr = out + row * d;
        for (int64_t j = 0; j < d; ++j) {
          const double value = gr[j] - coefficient * score[j];
          outr[j] = static_cast<scalar_t>(value);
          g2 += value * value;
        }
        norms[2 * row + 1] = static_cast<scalar_t>(g2);
      }
    });
  });
  return result;
}

}  // namespace jointflow
