#include "estimate/exact_moments.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "io/result_file.h"

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

void ExactMoments::save(ResultFile& file, const std::string& prefix) const {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  file.write_scalar(prefix + "/count", static_cast<double>(count_));
  file.write_tensor(prefix + "/sum", at::tensor(sum_.terms(), options));
  file.write_tensor(prefix + "/sum_of_squares", at::tensor(sum_of_squares_.terms(), options));
}

ExactMoments ExactMoments::load(const ResultReader& reader, const std::string& prefix) {
  ExactMoments moments;
  moments.count_ = static_cast<int64_t>(reader.read_scalar(prefix + "/count"));
  for (auto [dataset, sum] :
       {std::pair{"/sum", &moments.sum_}, {"/sum_of_squares", &moments.sum_of_squares_}}) {
    const at::Tensor terms = reader.read_tensor(prefix + dataset).to(at::kDouble).contiguous();
    for (int64_t i = 0; i < terms.numel(); ++i) sum->add(terms.data_ptr<double>()[i]);
  }
  return moments;
}

}  // namespace jointflow
