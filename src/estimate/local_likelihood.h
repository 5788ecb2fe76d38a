// Ground-truth density of the non-IID marginal by multi-scale local likelihood (MATH §5.7, paper A
// App. F): a local quadratic log-density fitted by kernel-weighted moments at several kNN
// bandwidths, combined by inverse variance.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace jointflow {

struct LocalLikelihoodOptions {
  std::vector<int64_t> scales{16, 32, 64, 128, 256};  // k of r_k, h_k = r_k/√d (choice)
  int64_t neighbours_per_scale = 10;  // m = 10·k neighbours enter the moments (choice)
  double ridge = 1e-9;                // Σ̂ += ridge·tr(Σ̂)/d·I
  int64_t query_chunk = 64;           // queries per neighbour search (bounds memory)

  // Throws an Error naming the offending option.
  void validate() const;
};

struct LocalLikelihood {
  at::Tensor log_q;     // [q] float64; NaN where no scale was valid
  at::Tensor variance;  // [q] float64, 1/Σ_k ESS_k; +inf where no scale was valid
};

// log q̂ at `queries` from the samples in `pool`. pool: [n, d], queries: [q, d], float64 CPU.
// `members` (int64 [q], may be undefined) gives the pool row of each query that is itself a
// sample (leave-one-out: that row is not its own neighbour, and n − 1 samples count in S0/n);
// −1 marks a query outside the pool. A scale k is used when the pool has k neighbours to offer;
// its moments then use the min(10k, available) nearest.
LocalLikelihood local_likelihood(const at::Tensor& pool, const at::Tensor& queries,
                                 const at::Tensor& members = {},
                                 const LocalLikelihoodOptions& options = {});

}  // namespace jointflow
