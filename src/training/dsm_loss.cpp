#include "training/dsm_loss.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "core/error.h"
#include "training/flux_noise.h"
#include "training/kde_score.h"

namespace jointflow {

at::Tensor dsm_per_sample(const NoiseConditionalField& field, const at::Tensor& x,
                          const at::Tensor& noisy, double sigma, double sigma_data) {
  const int64_t b = x.size(0);
  const double sigma2 = sigma * sigma;
  at::Tensor target;
  {
    at::NoGradGuard no_grad;
    target = kde_posterior_mean(noisy, x, sigma2);
  }
  const at::Tensor denoised =
      noisy + sigma2 * field.field(noisy, at::full({}, sigma, noisy.options()));
  const double weight = (sigma2 + sigma_data * sigma_data) / std::pow(sigma * sigma_data, 2);
  return weight * (target - denoised).pow(2).reshape({b, -1}).mean(1);
}

FieldBatchLoss dsm_objective(const FluxModelImpl& model, const at::Tensor& x,
                             const FieldTrainingOptions& options, uint64_t seed,
                             BatchPosition position) {
  const FieldNetworkImpl& field = *model.field;
  const int64_t b = x.size(0), d = field.dim();
  JF_CHECK(b > 0 && x.numel() == b * d, "DSM: the batch must be [b, ", field.sample_shape(),
           "], got ", x.sizes());
  const double sigma = batch_draw(options.noise(), seed, position).sigma;
  const at::Tensor clean = x.detach();
  const at::Tensor noise = example_normals(seed, position, b, d).to(x.options()).view(x.sizes());
  const at::Tensor loss =
      dsm_per_sample(field, clean, clean + sigma * noise, sigma, field.options.sigma_data());
  const at::Tensor objective = loss.mean();
  return {objective, objective.item<double>(), sigma, 0.0};
}

}  // namespace jointflow
