// A ratio of two sums over sets with its delta-method standard error, mergeable across set ranges.
#pragma once

#include <string>

#include "estimate/exact_moments.h"
#include "estimate/exact_sum.h"
#include "estimate/metric.h"

namespace jointflow {

class ResultFile;
class ResultReader;

// Σa/Σb over pairs (a_g, b_g), one per set, with Σa, Σa², Σb, Σb² and Σab kept exactly, so that
// parts over disjoint set ranges merge into bitwise the whole (like ExactMoments).
class RatioMoments {
 public:
  void add(double numerator, double denominator);
  void merge(const RatioMoments& other);
  // R = Σa/Σb and its standard error sqrt(Σ(a − R b)² / (G(G − 1))) / b̄, the delta method for a
  // ratio of means over G independent sets (MATH §5.1); 0 for G < 2, NaN when Σb = 0.
  Metric metric(const std::string& name) const;

  void save(ResultFile& file, const std::string& prefix) const;
  static RatioMoments load(const ResultReader& reader, const std::string& prefix);

 private:
  ExactMoments numerator_, denominator_;
  ExactSum cross_;  // Σ a_g b_g
};

}  // namespace jointflow
