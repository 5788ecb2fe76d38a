// Divergence ∇·f of a field, exact or by Hutchinson's estimator (MATH §5.5).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "distributed/counter_rng.h"

namespace jointflow {

struct DivergenceOptions {
  // Throws an Error naming `<section>.exact_divergence_max_dim` or `.hutchinson_probes`.
  void validate(const std::string& section = "estimate") const;

  int64_t exact_max_dim = 64;  // exact (sum of d VJPs) up to this many numbers per sample
  int64_t probes = 1;          // Rademacher probes per sample otherwise
};

// Where Hutchinson's probes come from: probe (sample i, step) is keyed by the global id
// first_id + i, so estimates do not depend on how samples are spread over ranks.
struct ProbeKey {
  RandomKey key;
  int64_t first_id = 0;
  uint64_t step = 0;
};

// ∇·f(x) per row. `output` = f(x) computed from `input` with autograd recording (input requires
// grad); both [n, *shape]. Exact when the sample has at most options.exact_max_dim numbers, else
// (1/P) Σ_p εᵀ (∂f/∂x) ε with P Rademacher probes. Returns [n] detached unless `create_graph`.
at::Tensor divergence(const at::Tensor& output, const at::Tensor& input,
                      const DivergenceOptions& options, const ProbeKey& probes,
                      bool create_graph = false);

}  // namespace jointflow
