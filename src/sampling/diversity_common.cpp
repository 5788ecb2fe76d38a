// Constants and helpers shared by the diversity objectives and their closed-form gradients.
#include "sampling/diversity_common.h"

#include <cmath>
#include <limits>

namespace jointflow::detail {

double machine_epsilon(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return std::numeric_limits<double>::epsilon();
    case at::kFloat:
      return std::numeric_limits<float>::epsilon();
    default:
      return 1e-2;  // half and bfloat16
  }
}

std::vector<double> chebyshev_coefficients(int64_t degree, double a, double b) {
  std::vector<double> coefficients(degree + 1, 0.0);
  for (int64_t node = 0; node <= degree; ++node) {
    const double theta = M_PI * (node + 0.5) / (degree + 1);
    const double value = std::log((b - a) / 2 * std::cos(theta) + (a + b) / 2);
    for (int64_t j = 0; j <= degree; ++j)
      coefficients[j] += (j == 0 ? 1.0 : 2.0) / (degree + 1) * value * std::cos(j * theta);
  }
  return coefficients;
}

}  // namespace jointflow::detail
