// Mean and standard error of per-set values from exact sums, mergeable across set ranges.
#pragma once

#include <cstdint>
#include <string>

#include "estimate/exact_sum.h"
#include "estimate/metric.h"

namespace jointflow {

class ResultFile;
class ResultReader;

// Σx and Σx² kept exactly (ExactSum), so that moments over disjoint set ranges merge into
// bitwise the moments of all sets, in any order (what `merge` of partial files relies on).
class ExactMoments {
 public:
  void add(double value);
  void merge(const ExactMoments& other);
  int64_t count() const { return count_; }
  double sum() const { return sum_.value(); }
  double sum_of_squares() const { return sum_of_squares_.value(); }
  // Mean and its standard error sqrt(s²/n), s² = (Σx² − (Σx)²/n)/(n − 1); 0 for n < 2.
  Metric metric(const std::string& name) const;

  // The exact state as datasets under `prefix` (count, and the non-overlapping terms of each
  // sum), so that a checkpoint or a partial file restores it bit for bit.
  void save(ResultFile& file, const std::string& prefix) const;
  static ExactMoments load(const ResultReader& reader, const std::string& prefix);

 private:
  ExactSum sum_, sum_of_squares_;
  int64_t count_ = 0;
};

}  // namespace jointflow
