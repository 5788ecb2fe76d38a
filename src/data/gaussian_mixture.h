// Diagonal Gaussian mixtures and the named mixtures of the experiments (MATH §2).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "distributed/counter_rng.h"

namespace jointflow {

// p(x) = Σ_k π_k N(x; μ_k, diag S_k) with S_k = stds_k².
struct GaussianMixture {
  std::string name;
  at::Tensor weights;  // [C], sums to 1
  at::Tensor means;    // [C, d]
  at::Tensor stds;     // [C, d], per-dimension standard deviations

  int64_t components() const { return weights.size(0); }
  int64_t dim() const { return means.size(1); }
  // The same mixture with its tensors converted (float32/float64, CPU/CUDA).
  GaussianMixture to(at::ScalarType dtype, at::Device device) const;
};

// "gmm8d", "gmm2d" or "gmm2d3" (MATH §2), float64 on the CPU. Throws an Error naming `key`
// and listing the names otherwise.
GaussianMixture named_mixture(const std::string& name, const std::string& key = "model.mixture");
const std::vector<std::string>& mixture_names();

// log p(x) for x: [n, d] → [n] (log-sum-exp over components).
at::Tensor mixture_log_prob(const GaussianMixture& mixture, const at::Tensor& x);
// Index of the nearest mean argmin_k ‖x − μ_k‖ (MATH §6): x [n, d] → [n] int64.
at::Tensor nearest_component(const GaussianMixture& mixture, const at::Tensor& x);
// min_k ‖x − μ_k‖²: x [n, d] → [n].
at::Tensor min_squared_distance(const GaussianMixture& mixture, const at::Tensor& x);

// Exact draws for global ids [first, first + count): [count, d] float64 on the CPU. The
// component comes from one uniform, the offset from d normals, all keyed by id (Invariant R).
at::Tensor sample_mixture(const GaussianMixture& mixture, const RandomKey& key, int64_t first,
                          int64_t count);

}  // namespace jointflow
