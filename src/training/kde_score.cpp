#include "training/kde_score.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"

namespace jointflow {

// ‖z_i − x_j‖² = ‖z_i‖² − 2 z_i·x_j + ‖x_j‖²; the first term is the same along a row, so the
// row softmax needs only 2 z_i·x_j − ‖x_j‖² (one matrix product, no cancellation in ‖z_i‖²).
at::Tensor kde_weights(const at::Tensor& z, const at::Tensor& data, double sigma2) {
  JF_CHECK(sigma2 > 0, "KDE score: the bandwidth σ² = ", sigma2, " must be positive");
  JF_CHECK(z.dim() >= 1 && data.dim() >= 1 && data.size(0) > 0 &&
               z.numel() / std::max<int64_t>(z.size(0), 1) == data.numel() / data.size(0),
           "KDE score: points ", z.sizes(), " and data ", data.sizes(),
           " must hold the same numbers per sample");
  const at::Tensor flat_z = z.reshape({z.size(0), -1});
  const at::Tensor flat_data = data.reshape({data.size(0), -1});
  const at::Tensor logits =
      (2 * at::matmul(flat_z, flat_data.t()) - flat_data.pow(2).sum(1).unsqueeze(0)) / (2 * sigma2);
  return at::softmax(logits, 1);
}

at::Tensor kde_posterior_mean(const at::Tensor& z, const at::Tensor& data, double sigma2) {
  return at::matmul(kde_weights(z, data, sigma2), data.reshape({data.size(0), -1})).view(z.sizes());
}

at::Tensor kde_score(const at::Tensor& z, const at::Tensor& data, double sigma2) {
  return (kde_posterior_mean(z, data, sigma2) - z) / sigma2;
}

}  // namespace jointflow
