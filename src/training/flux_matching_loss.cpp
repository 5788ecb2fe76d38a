#include "training/flux_matching_loss.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/error.h"
#include "models/divergence.h"
#include "training/kde_score.h"

namespace jointflow {

const ChoiceTable<HorizonKind>& horizon_choices() {
  static const ChoiceTable<HorizonKind> table{{"uniform", HorizonKind::uniform},
                                              {"learned", HorizonKind::learned}};
  return table;
}

const ChoiceTable<DivergenceMode>& divergence_mode_choices() {
  static const ChoiceTable<DivergenceMode> table{{"hutchinson", DivergenceMode::hutchinson},
                                                 {"exact", DivergenceMode::exact}};
  return table;
}

const ChoiceTable<ChainSensitivity>& chain_sensitivity_choices() {
  static const ChoiceTable<ChainSensitivity> table{{"cross_chain", ChainSensitivity::cross_chain},
                                                   {"pathwise", ChainSensitivity::pathwise}};
  return table;
}

at::Tensor langevin_step(const at::Tensor& z, const at::Tensor& score, double sigma2, double h,
                         const at::Tensor& noise) {
  return z + (one_minus_exp(h) * sigma2) * score + std::sqrt(sigma2 * one_minus_exp(2 * h)) * noise;
}

// ‖μ_i − x_j‖² = ‖μ_i‖² − 2μ_i·x_j + ‖x_j‖²; the last term is the same down a column, so the
// softmax over i needs only 2μ_i·x_j − ‖μ_i‖².
at::Tensor cross_chain_weights(const at::Tensor& x0, const at::Tensor& score0,
                               const at::Tensor& x_t, double sigma2, double tau) {
  const int64_t b = x0.size(0);
  const double variance = std::max(sigma2 * one_minus_exp(2 * tau), 1e-300);
  const at::Tensor mu = (x0 + (one_minus_exp(tau) * sigma2) * score0).reshape({b, -1});
  const at::Tensor logits =
      (2 * at::matmul(mu, x_t.reshape({b, -1}).t()) - mu.pow(2).sum(1).unsqueeze(1)) /
      (2 * variance);
  return at::softmax(logits, 0);
}

at::Tensor langevin_stein(const FieldFunction& field, const ScoreFunction& score,
                          const at::Tensor& z, const at::Tensor& probe, DivergenceMode mode) {
  const int64_t b = z.size(0);
  const at::Tensor s = score(z);
  const at::Tensor u = field(z) - s;
  at::Tensor divergence_u;
  if (mode == DivergenceMode::hutchinson) {
    const at::Tensor gradient = torch::autograd::grad({u}, {z}, {probe}, /*retain_graph=*/true,
                                                      /*create_graph=*/true)[0];
    divergence_u = (gradient * probe).reshape({b, -1}).sum(1);
  } else {
    DivergenceOptions exact;
    exact.exact_max_dim = z.numel() / std::max<int64_t>(b, 1);
    divergence_u = divergence(u, z, exact, ProbeKey{}, /*create_graph=*/true);
  }
  return divergence_u + (u * s).reshape({b, -1}).sum(1);
}

at::Tensor flux_matching_per_sample(const FieldFunction& field, const ScoreFunction& score,
                                    const at::Tensor& x0, double sigma2, HorizonDraw horizon,
                                    const ChainNoise& noise, DivergenceMode mode,
                                    ChainSensitivity sensitivity) {
  JF_CHECK(horizon.tau > 0 && horizon.tau <= kHorizon && horizon.density > 0,
           "Flux Matching: horizon τ = ", horizon.tau, " with density ", horizon.density,
           " must lie in (0, ", kHorizon, "] with a positive density");
  JF_CHECK(noise.chain.dim() == x0.dim() + 1 && noise.chain.size(0) == kLangevinSteps,
           "Flux Matching: chain noise must be [", kLangevinSteps, ", ", x0.sizes(), "], got ",
           noise.chain.sizes());
  const int64_t b = x0.size(0);
  const double h = horizon.tau / kLangevinSteps;
  const bool pathwise = sensitivity == ChainSensitivity::pathwise;
  // The chains carry no gradient to the parameters (MATH §7): ŝ only. The pathwise sensitivity
  // keeps their graph w.r.t. the starting points.
  const at::Tensor start = pathwise ? x0.detach().requires_grad_(true) : x0;
  at::Tensor score0, x_t = start;
  {
    at::AutoGradMode chain_graph(pathwise);
    at::Tensor s = score(start);
    score0 = s.detach();
    for (int64_t k = 0; k < kLangevinSteps; ++k) {
      x_t = langevin_step(x_t, s, sigma2, h, noise.chain[k]);
      if (k + 1 < kLangevinSteps) s = score(x_t);
    }
  }
  // ∇r(x_t^j): the divergence's graph (create_graph) is differentiated once more, w.r.t. the
  // input only.
  const at::Tensor z = x_t.detach().requires_grad_(true);
  const at::Tensor r = langevin_stein(field, score, z, noise.probe, mode);
  const at::Tensor grad_r = torch::autograd::grad({r.sum()}, {z})[0].detach();
  at::Tensor g_hat;
  if (pathwise) {
    // (∂x_t^i/∂x0_i)ᵀ∇r(x_t^i) / q(τ): each chain depends on its own start only.
    g_hat = torch::autograd::grad({x_t}, {start}, {grad_r})[0].reshape({b, -1}) / horizon.density;
  } else {
    const at::Tensor weights = cross_chain_weights(x0, score0, x_t, sigma2, horizon.tau);
    const double scale = std::exp(-horizon.tau) / horizon.density;  // ρ / q(τ)
    g_hat = scale * at::matmul(weights, grad_r.reshape({b, -1}));
  }
  g_hat = g_hat.detach();
  const at::Tensor u0 = (field(x0) - score0).reshape({b, -1});
  return -2 * (u0 * g_hat).sum(1);
}

}  // namespace jointflow
