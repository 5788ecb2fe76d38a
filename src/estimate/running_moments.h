// Mean and standard error of a stream of values, accumulated in a fixed order (Welford).
#pragma once

#include <cmath>
#include <cstdint>

namespace jointflow {

class RunningMoments {
 public:
  void add(double value) {
    ++count_;
    const double delta = value - mean_;
    mean_ += delta / static_cast<double>(count_);
    m2_ += delta * (value - mean_);
  }
  int64_t count() const { return count_; }
  double mean() const { return mean_; }
  // Sample variance (n − 1 in the denominator); 0 for fewer than two values.
  double variance() const { return count_ > 1 ? m2_ / static_cast<double>(count_ - 1) : 0.0; }
  // Standard error of the mean.
  double standard_error() const {
    return count_ > 0 ? std::sqrt(variance() / static_cast<double>(count_)) : 0.0;
  }

 private:
  int64_t count_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;
};

}  // namespace jointflow
