// Sample quality and diversity of joint sets against a known mixture (MATH §6): joint and
// marginal mode coverage, log p and RMSE, each with its standard error over sets.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "data/gaussian_mixture.h"
#include "distributed/communicator.h"
#include "estimate/exact_moments.h"
#include "estimate/metric.h"

namespace jointflow {

// Accumulates batches of sets in global set order, so the result does not depend on how the
// members were spread over ranks (DESIGN §3, Invariant R). Per-set values are summed exactly
// (ExactMoments): accumulators over consecutive set ranges merge into bitwise one accumulator.
class MixtureMetrics {
 public:
  MixtureMetrics(const GaussianMixture& mixture, int64_t group_size);

  // Collective. `x_local`: this rank's members of the batch, [n, d] in global member order, the
  // batch's members being contiguous across ranks in rank order and made of whole sets. `keep`
  // (bool [n], may be undefined) marks members whose sets count (dropped non-finite sets).
  void add(Communicator& comm, const at::Tensor& x_local, const at::Tensor& keep = {});

  // Rank 0: coverage_joint, coverage_marginal, log_p, rmse. Other ranks: empty.
  Metrics finish() const;
  int64_t sets() const { return coverage_.count(); }

  // Appends the sets of `other`, which must follow this accumulator's sets (rank 0).
  void merge(const MixtureMetrics& other);
  // The exact state under `prefix` (rank 0): checkpoints and partial results.
  void save(ResultFile& file, const std::string& prefix) const;
  void load(const ResultReader& reader, const std::string& prefix);

 private:
  Metric marginal_coverage() const;

  GaussianMixture mixture_;
  int64_t group_size_;
  ExactMoments coverage_, log_p_, squared_distance_;
  std::vector<int64_t> mode_counts_;  // rank 0: kept members nearest to each mode
};

}  // namespace jointflow
