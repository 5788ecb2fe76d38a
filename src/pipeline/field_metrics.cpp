#include "pipeline/field_metrics.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <vector>

namespace jointflow {
namespace {

// The grid of the curl statistic and of /field/*: kGridSide² points on [−kGridLimit, kGridLimit]²
// (choice; paper B's notebook uses its own grid).
constexpr double kGridLimit = 4.0;
constexpr int64_t kGridSide = 41;

}  // namespace

double mmd2(const at::Tensor& x, const at::Tensor& y) {
  const at::Tensor a = x.reshape({x.size(0), -1}).to(at::kDouble);
  const at::Tensor b = y.reshape({y.size(0), -1}).to(at::kDouble);
  const at::Tensor yy = at::cdist(b, b).pow(2);
  const double h2 = std::pow(at::median(at::cdist(b, b)).item<double>(), 2);
  auto kernel = [&](const at::Tensor& d2) {
    at::Tensor k = at::zeros_like(d2);
    for (const double scale : {0.25, 1.0, 4.0}) k = k + at::exp(-d2 / (2 * scale * h2));
    return k;
  };
  auto off_diagonal_mean = [](const at::Tensor& k) {
    const int64_t n = k.size(0);
    return ((k.sum() - k.diagonal().sum()) / static_cast<double>(n * (n - 1))).item<double>();
  };
  return off_diagonal_mean(kernel(at::cdist(a, a).pow(2))) + off_diagonal_mean(kernel(yy)) -
         2 * kernel(at::cdist(a, b).pow(2)).mean().item<double>();
}

GridField field_on_grid(const NoiseConditionalField& field, double sigma,
                        const at::TensorOptions& options) {
  const at::Tensor axis = at::linspace(-kGridLimit, kGridLimit, kGridSide, options);
  const std::vector<at::Tensor> mesh = at::meshgrid({axis, axis}, "xy");
  const at::Tensor points = at::stack({mesh[0].reshape(-1), mesh[1].reshape(-1)}, 1);
  at::AutoGradMode enable(true);
  const at::Tensor input = points.clone().requires_grad_(true);
  const at::Tensor f = field.field(input, at::full({}, sigma, options));
  const at::Tensor d_f2 =
      torch::autograd::grad({f.select(1, 1).sum()}, {input}, {}, /*retain_graph=*/true)[0];
  const at::Tensor d_f1 = torch::autograd::grad({f.select(1, 0).sum()}, {input})[0];
  return {points, f.detach(), d_f2.select(1, 0) - d_f1.select(1, 1)};
}

}  // namespace jointflow
