#include "estimate/ratio_moments.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "io/result_file.h"

namespace jointflow {

void RatioMoments::add(double numerator, double denominator) {
  numerator_.add(numerator);
  denominator_.add(denominator);
  cross_.add(numerator * denominator);
}

void RatioMoments::merge(const RatioMoments& other) {
  numerator_.merge(other.numerator_);
  denominator_.merge(other.denominator_);
  cross_.merge(other.cross_);
}

Metric RatioMoments::metric(const std::string& name) const {
  const int64_t sets = numerator_.count();
  if (sets == 0 || denominator_.sum() == 0) return {name, std::nan(""), std::nan("")};
  const double ratio = numerator_.sum() / denominator_.sum();
  if (sets < 2) return {name, ratio, 0.0};
  const double n = static_cast<double>(sets);
  // Σ(a − R b)² expanded; Σ(a − R b) = 0 by the choice of R.
  const double residual_squares = numerator_.sum_of_squares() - 2 * ratio * cross_.value() +
                                  ratio * ratio * denominator_.sum_of_squares();
  const double mean_denominator = denominator_.sum() / n;
  return {name, ratio,
          std::sqrt(std::max(0.0, residual_squares) / (n * (n - 1))) / std::abs(mean_denominator)};
}

void RatioMoments::save(ResultFile& file, const std::string& prefix) const {
  numerator_.save(file, prefix + "/numerator");
  denominator_.save(file, prefix + "/denominator");
  file.write_tensor(prefix + "/cross", at::tensor(cross_.terms(), at::TensorOptions(at::kDouble)));
}

RatioMoments RatioMoments::load(const ResultReader& reader, const std::string& prefix) {
  RatioMoments moments;
  moments.numerator_ = ExactMoments::load(reader, prefix + "/numerator");
  moments.denominator_ = ExactMoments::load(reader, prefix + "/denominator");
  const at::Tensor terms = reader.read_tensor(prefix + "/cross").to(at::kDouble).contiguous();
  for (int64_t i = 0; i < terms.numel(); ++i) moments.cross_.add(terms.data_ptr<double>()[i]);
  return moments;
}

}  // namespace jointflow
