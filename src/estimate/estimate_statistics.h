// Everything `estimate` reduces over sets, in global set order: weighted and equal-weight
// estimates (MATH §5.1), JSD against a known truth (MATH §6), weights and ESS.
#pragma once

#include <ATen/core/Tensor.h>

#include "estimate/estimators.h"
#include "estimate/exact_moments.h"
#include "estimate/metric.h"

namespace jointflow {

class EstimateStatistics {
 public:
  // `components`: width of f; `truth`: E_{p_1}[f] as [components] float64, or undefined.
  EstimateStatistics(int64_t components, at::Tensor truth);

  // A batch of whole sets in global order. log_w: [G, K]; f: [G, K, c]; float64 CPU.
  void add(const at::Tensor& log_w, const at::Tensor& f);
  // Adds the sets of `other` (same components and truth); exact, in any order.
  void merge(const EstimateStatistics& other);

  int64_t sets() const { return weighted_.sets(); }
  ImportanceSummary weighted() const { return weighted_.finish(); }
  ImportanceSummary equal() const { return equal_.finish(); }
  const at::Tensor& truth() const { return truth_; }
  // mean_weight, ess (per set), and with a truth: jsd_weighted, jsd_equal — each with its
  // standard error over sets.
  Metrics metrics() const;
  // The exact state under `prefix`: checkpoints and partial results.
  void save(ResultFile& file, const std::string& prefix) const;
  void load(const ResultReader& reader, const std::string& prefix);

 private:
  at::Tensor truth_;
  ImportanceAccumulator weighted_, equal_;
  ExactMoments mean_weight_, jsd_weighted_, jsd_equal_;
};

}  // namespace jointflow
