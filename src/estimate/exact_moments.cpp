#include "estimate/exact_moments.h"

#include <algorithm>
#include <cmath>

namespace jointflow {

void ExactMoments::add(double value) {
  sum_.add(value);
  sum_of_squares_.add(value * value);
  ++count_;
}

void ExactMoments::merge(const ExactMoments& other) {
  sum_.merge(other.sum_);
  sum_of_squares_.merge(other.sum_of_squares_);
  count_ += other.count_;
}

Metric ExactMoments::metric(const std::string& name) const {
  if (count_ == 0) return {name, std::nan(""), std::nan("")};
  const double n = static_cast<double>(count_);
  const double mean = sum() / n;
  if (count_ < 2) return {name, mean, 0.0};
  const double variance = std::max(0.0, (sum_of_squares() - sum() * sum() / n) / (n - 1));
  return {name, mean, std::sqrt(variance / n)};
}

}  // namespace jointflow
