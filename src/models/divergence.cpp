#include "models/divergence.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>

#include "core/error.h"

namespace jointflow {

void DivergenceOptions::validate(const std::string& section) const {
  JF_CHECK_COLLECTIVE(exact_max_dim >= 0, section, ".exact_divergence_max_dim = ", exact_max_dim,
                      " must be non-negative");
  JF_CHECK_COLLECTIVE(probes >= 1, section, ".hutchinson_probes = ", probes, " must be at least 1");
}

at::Tensor divergence(const at::Tensor& output, const at::Tensor& input,
                      const DivergenceOptions& options, const ProbeKey& probes, bool create_graph) {
  const int64_t n = input.size(0);
  const int64_t d = input.numel() / std::max<int64_t>(n, 1);
  const at::Tensor flat_output = output.reshape({n, d});
  at::Tensor total = at::zeros({n}, input.options());
  if (d <= options.exact_max_dim) {
    // Σ_j ∂f_j/∂x_j: one VJP per coordinate with the unit cotangent e_j.
    for (int64_t j = 0; j < d; ++j) {
      const at::Tensor row_sum = flat_output.select(1, j).sum();
      const at::Tensor gradient =
          torch::autograd::grad({row_sum}, {input}, {}, /*retain_graph=*/true, create_graph)[0];
      total = total + gradient.reshape({n, d}).select(1, j);
    }
    return total;
  }
  for (int64_t p = 0; p < options.probes; ++p) {
    const at::Tensor epsilon =
        counter_rademacher(probes.key, probes.first_id, n, d, probes.step * options.probes + p)
            .to(input.options());
    const at::Tensor gradient = torch::autograd::grad({flat_output}, {input}, {epsilon},
                                                      /*retain_graph=*/true, create_graph)[0];
    total = total + (gradient.reshape({n, d}) * epsilon).sum(1);
  }
  return total / static_cast<double>(options.probes);
}

}  // namespace jointflow
