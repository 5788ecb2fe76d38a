// A sum of doubles kept exactly (Shewchuk's non-overlapping partials, as in Python's math.fsum),
// so that partial sums over any split of the terms merge to bitwise the same result.
#pragma once

#include <vector>

namespace jointflow {

class ExactSum {
 public:
  // Adds `value` exactly. Infinities and NaNs are summed apart and dominate value(), as does an
  // intermediate overflow past ±DBL_MAX.
  void add(double value);
  // Adds every term of `other` exactly: the result does not depend on how terms were split.
  void merge(const ExactSum& other);
  // The exact sum rounded once to the nearest double (ties to even).
  double value() const;
  // Doubles whose exact sum is this sum (the partials, and the non-finite part if any): adding
  // them to an empty ExactSum restores it.
  std::vector<double> terms() const;

 private:
  std::vector<double> partials_;  // non-overlapping, increasing magnitude
  double special_ = 0.0;          // sum of the non-finite terms
};

}  // namespace jointflow
