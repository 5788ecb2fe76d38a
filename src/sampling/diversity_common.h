// Constants and helpers shared by the diversity objectives and their closed-form gradients
// (MATH §3, §3.1). Internal to src/sampling/diversity*.cpp.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <vector>

namespace jointflow::detail {

inline constexpr double kDppJitter = 1e-6;       // εI added to L before its Cholesky (MATH §3)
inline constexpr double kPairEpsilon = 1e-8;     // log-barrier and reciprocal (MATH §3)
inline constexpr double kDfQualityFloor = 1e-2;  // ε of DiverseFlow's quality (MATH §3.1)

// Machine epsilon of a floating dtype (1e-2 for half and bfloat16), for the round-off guard of
// the gradients.
double machine_epsilon(at::ScalarType dtype);

// c_j of Σ_{j=0}^{m} c_j T_j(z) interpolating log((b − a)z/2 + (a + b)/2) at the m + 1
// Chebyshev nodes of [−1, 1], [a, b] = [ε, K] (MATH §3).
std::vector<double> chebyshev_coefficients(int64_t degree, double a, double b);

}  // namespace jointflow::detail
