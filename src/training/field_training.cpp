#include "training/field_training.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "training/kde_score.h"

namespace jointflow {

const ChoiceTable<FieldLoss>& field_loss_choices() {
  static const ChoiceTable<FieldLoss> table{{"flux", FieldLoss::flux}, {"dsm", FieldLoss::dsm}};
  return table;
}

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
  const at::Tensor loss = flux_matching_per_sample(f, score, x0, sigma2, horizon, noise,
                                                   options.divergence(), options.sensitivity());

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

}  // namespace jointflow
