// Importance-weighted estimators of E_{p_1}[f] from joint sets (MATH §5.1), their accumulation
// over sets with standard errors, and the Jensen–Shannon divergence to a known truth (MATH §6).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "estimate/exact_moments.h"
#include "estimate/metric.h"
#include "estimate/ratio_moments.h"

namespace jointflow {

// Per set g: μ̂_g = (1/K) Σ_i w_gi f_gi (unbiased, MATH §5.1).
// w: [G, K] weights, f: [G, K, c] function values, float64 CPU → [G, c].
at::Tensor importance_estimate(const at::Tensor& w, const at::Tensor& f);
// Per set: Kish's ESS = (Σ_i w_gi)² / Σ_i w_gi². w: [G, K] → [G]; NaN where all w = 0.
at::Tensor kish_ess(const at::Tensor& w);

// Over G sets: the mean of the per-set unbiased estimates with standard error sqrt(s²/G) (s² with
// G − 1; 0 for one set); the self-normalized estimate Σ_g Σ_i w_gi f_gi / Σ_g Σ_i w_gi pooled over
// all sets (MATH §5.1 for one set; pooled, its bias falls as 1/(GK), where the mean of per-set
// ratios keeps a bias of order 1/K) with its delta-method standard error; the mean Kish ESS.
// Tensors are float64 CPU [c]; c is the number of components of f.
struct ImportanceSummary {
  at::Tensor unbiased, unbiased_se;
  at::Tensor self_normalized, self_normalized_se;
  double ess = 0.0, ess_se = 0.0;
  int64_t sets = 0;
};

// Accumulates batches of sets. It stores exact sums (ExactMoments) of each per-set value and of
// its square, not running means, so accumulators over disjoint set ranges merge into bitwise the
// result of one accumulator over all sets, in any order and at any split — also through a file
// (save/load: checkpoints and partial results). The variance comes from the rounded sums as
// (Σx² − (Σx)²/G)/(G − 1): it loses relative accuracy only when the spread over sets is below
// about 1e-8 of the mean.
class ImportanceAccumulator {
 public:
  explicit ImportanceAccumulator(int64_t components);

  // w: [G, K], f: [G, K, c] float64 CPU (c = components). A set with Σ w = 0 has a NaN ESS,
  // which then propagates to the mean: drop such sets first.
  void add(const at::Tensor& w, const at::Tensor& f);
  // Adds the sets of `other` (same number of components).
  void merge(const ImportanceAccumulator& other);
  ImportanceSummary finish() const;
  int64_t sets() const { return sets_; }
  // The exact state under `prefix` ("/state/weighted"); load() expects the same components.
  void save(ResultFile& file, const std::string& prefix) const;
  void load(const ResultReader& reader, const std::string& prefix);

 private:
  int64_t components_;
  int64_t sets_ = 0;
  std::vector<ExactMoments> unbiased_;         // one per component
  std::vector<RatioMoments> self_normalized_;  // one per component: (mean w f, mean w) per set
  ExactMoments ess_;
};

// Per set: JSD (natural log) between the estimate, clipped at 0 and renormalized, and the truth
// (normalized); an estimate that is zero everywhere after clipping counts as uniform (MATH §6).
// estimate: [G, c]; truth: [c] or [G, c], non-negative with a positive sum → [G], in [0, ln 2].
at::Tensor jensen_shannon(const at::Tensor& estimate, const at::Tensor& truth);
// Mean of jensen_shannon over sets with its standard error, named "jsd".
Metric mean_jensen_shannon(const at::Tensor& estimate, const at::Tensor& truth);

}  // namespace jointflow
