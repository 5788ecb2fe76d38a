#include "training/flux_matching_loss.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/error.h"
#include "models/divergence.h"
#include "training/dsm_loss.h"
#include "training/kde_score.h"

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

// 1 − e^{−a} without cancellation for small a.
double one_minus_exp(double a) { return -std::expm1(-a); }

}  // namespace

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

const ChoiceTable<FieldLoss>& field_loss_choices() {
  static const ChoiceTable<FieldLoss> table{{"flux", FieldLoss::flux}, {"dsm", FieldLoss::dsm}};
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

void FieldTrainingOptions::validate(const std::string& section) const {
  noise().validate(section);
  JF_CHECK(std::isfinite(spiral()) && spiral() >= 0, section, ".spiral = ", spiral(),
           " must be non-negative");
  JF_CHECK(spiral() == 0 || (loss() == FieldLoss::flux && !noise().annealed()), section,
           ".spiral needs ", section, ".loss = flux and ", section, ".noise = single");
  JF_CHECK(kde_batch() >= 0, section, ".kde_batch = ", kde_batch(), " must be non-negative");
}

at::Tensor spiral_loss(const at::Tensor& x0, const at::Tensor& f0, double speed) {
  JF_CHECK(x0.dim() == 2 && x0.size(1) == 2 && f0.sizes() == x0.sizes(),
           "the spiral loss needs 2-D samples, got ", x0.sizes());
  const at::Tensor radius = at::clamp_min(x0.norm(2, 1), 1e-12);
  const at::Tensor tangential =
      (f0.select(1, 1) * x0.select(1, 0) - f0.select(1, 0) * x0.select(1, 1)) / radius;
  return (tangential - speed).pow(2).mean();
}

FieldBatchLoss flux_matching_objective(const FluxModelImpl& model, const at::Tensor& x,
                                       const FieldTrainingOptions& options, uint64_t seed,
                                       BatchPosition position) {
  const FieldNetworkImpl& field = *model.field;
  const int64_t b = x.size(0), d = field.dim();
  JF_CHECK(b > 0 && x.numel() == b * d, "Flux Matching: the batch must be [b, ",
           field.sample_shape(), "], got ", x.sizes());
  const BatchDraw draw = batch_draw(options.noise(), seed, position);
  const double sigma = draw.sigma, sigma2 = sigma * sigma;
  const at::Tensor clean = x.detach();

  // Columns of the per-example normals: [start noise | chain step 1 | ... | chain step K].
  const at::Tensor normals =
      example_normals(seed, position, b, (1 + kLangevinSteps) * d).to(x.options());
  const at::Tensor x0 = clean + sigma * normals.narrow(1, 0, d).view(x.sizes());
  std::vector<int64_t> chain_shape{kLangevinSteps};
  for (const int64_t extent : x.sizes()) chain_shape.push_back(extent);
  ChainNoise noise;
  noise.chain = normals.narrow(1, d, kLangevinSteps * d)
                    .reshape({b, kLangevinSteps, d})
                    .transpose(0, 1)
                    .contiguous()
                    .view(chain_shape);
  noise.probe = example_probes(seed, position, b, d).to(x.options()).view(x.sizes());

  HorizonDraw horizon;
  if (options.horizon() == HorizonKind::learned)
    horizon = model.horizon->sample(sigma, draw.horizon_uniform);
  else
    horizon.tau = kHorizon * draw.horizon_uniform;

  const at::Tensor sigma_tensor = at::full({}, sigma, x.options());
  const FieldFunction f = [&](const at::Tensor& z) { return field.forward(z, sigma_tensor); };
  const ScoreFunction score = [&](const at::Tensor& z) { return kde_score(z, clean, sigma2); };
  const at::Tensor loss =
      flux_matching_per_sample(f, score, x0, sigma2, horizon, noise, options.divergence(),
                               options.sensitivity());

  const at::Tensor mean_loss = loss.mean();
  const at::Tensor s =
      options.noise().annealed() ? model.normalizer->forward(sigma) : at::zeros({}, x.options());
  at::Tensor objective = (loss / at::exp(s)).mean() + s;
  if (options.horizon() == HorizonKind::learned) {
    const at::Tensor target = (mean_loss / at::exp(s)).detach();
    objective = objective - target * model.horizon->log_density(horizon.tau, sigma);
  }
  if (options.spiral() > 0) objective = objective + spiral_loss(x0, f(x0), options.spiral());
  return {objective, mean_loss.item<double>(), sigma, horizon.tau};
}

LossClosure field_training_closure(const FluxModelImpl& model, ShardedBatches& batches,
                                   const FieldTrainingOptions& options, uint64_t seed,
                                   FieldBatchLoss* last) {
  options.validate();
  JF_CHECK(options.kde_batch() == 0 || batches.options().unit() == options.kde_batch(),
           "Flux Matching: KDE batches of ", options.kde_batch(),
           " examples need rank blocks of whole KDE batches (ShardedBatchesOptions::unit ",
           batches.options().unit(), ")");
  return [&model, &batches, options, seed, last](int64_t step) {
    const LocalBatch batch = batches.batch(step);
    if (batch.size() == 0) return LocalLoss{at::Tensor(), 0.0};
    const int64_t size = options.kde_batch() > 0 ? options.kde_batch() : batch.size();
    at::Tensor objective;
    for (int64_t first = 0; first < batch.size(); first += size) {
      const at::Tensor x = batch.x.narrow(0, first, size);
      const BatchPosition position{batch.position.step, batch.position.first + first};
      const FieldBatchLoss result =
          options.loss() == FieldLoss::flux
              ? flux_matching_objective(model, x, options, seed, position)
              : dsm_objective(model, x, options, seed, position);
      objective = objective.defined() ? objective + result.objective : result.objective;
      if (first == 0 && last != nullptr) *last = result;
    }
    return LocalLoss{objective * (static_cast<double>(size) / static_cast<double>(batch.size())),
                     static_cast<double>(batch.size())};
  };
}

}  // namespace jointflow
