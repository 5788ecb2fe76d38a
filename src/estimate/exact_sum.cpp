#include "estimate/exact_sum.h"

#include <cmath>
#include <utility>

namespace jointflow {

// Shewchuk (1997) grow-expansion: every two-sum keeps its rounding error as a new partial.
void ExactSum::add(double value) {
  if (!std::isfinite(value)) {
    special_ += value;
    return;
  }
  double x = value;
  size_t kept = 0;
  for (size_t i = 0; i < partials_.size(); ++i) {
    double y = partials_[i];
    if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
    const double hi = x + y;
    const double lo = y - (hi - x);
    if (!std::isfinite(hi)) {
      special_ += hi;
      return;
    }
    if (lo != 0.0) partials_[kept++] = lo;
    x = hi;
  }
  partials_.resize(kept);
  partials_.push_back(x);
}

void ExactSum::merge(const ExactSum& other) {
  const std::vector<double> terms = other.partials_;  // a copy: `other` may be *this
  const double special = other.special_;
  for (double partial : terms) add(partial);
  special_ += special;
}

std::vector<double> ExactSum::terms() const {
  std::vector<double> all = partials_;
  if (special_ != 0.0 || std::isnan(special_)) all.push_back(special_);
  return all;
}

// Rounds the expansion from the top, with the half-way correction of CPython's math.fsum.
double ExactSum::value() const {
  if (special_ != 0.0) return special_;
  size_t n = partials_.size();
  if (n == 0) return 0.0;
  double hi = partials_[--n];
  double lo = 0.0;
  while (n > 0) {
    const double x = hi;
    const double y = partials_[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo != 0.0) break;
  }
  if (n > 0 && ((lo < 0.0 && partials_[n - 1] < 0.0) || (lo > 0.0 && partials_[n - 1] > 0.0))) {
    const double y = lo * 2.0;
    const double x = hi + y;
    if (y == x - hi) hi = x;
  }
  return hi;
}

}  // namespace jointflow
