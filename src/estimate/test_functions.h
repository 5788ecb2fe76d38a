// Functions f whose expectation E_{p_1}[f] an estimate targets (paper A §4.2), with their exact
// values under a Gaussian mixture for checks.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/choice.h"
#include "data/gaussian_mixture.h"

namespace jointflow {

enum class TestFunctionKind { nearest_mean, box, moment };
const ChoiceTable<TestFunctionKind>& test_function_choices();

struct TestFunction {
  // Throws a collective Error naming `<section>.<option>` for unusable box bounds.
  void validate(const std::string& section = "estimate") const;

  TestFunctionKind kind = TestFunctionKind::nearest_mean;
  std::vector<double> box_low, box_high;  // box: per-dimension bounds (inclusive low, high)
  int64_t moment_dim = 0;                 // moment: coordinate j of x_j^p
  int64_t moment_power = 1;
};

// Number of components of f: C for nearest_mean (the mixture's components), 1 otherwise.
int64_t test_function_width(const TestFunction& f, const GaussianMixture& mixture);

// f(x) for samples x [n, d] → [n, width] float64: one-hot of argmin_k ‖x − μ_k‖ (MATH §6),
// the indicator of the box, or x_j^p.
at::Tensor evaluate_test_function(const TestFunction& f, const GaussianMixture& mixture,
                                  const at::Tensor& x);

// E_{p_1}[f]: [width] float64. nearest_mean: each nearest-mean cell's probability, by a fixed
// stratified Monte Carlo of 2^18 draws per component. MATH §6 prescribes the mixture weights,
// but components leak mass into neighbouring cells: for gmm2d the lightest mode's cell holds
// 1.3e-3 more than its weight and the heaviest's 1.5e-3 less, which 100 runs of 2 500 samples
// resolve. box: Σ_k π_k Π_j [Φ((b_j − μ_kj)/σ_kj) − Φ((a_j − μ_kj)/σ_kj)]; moment:
// Σ_k π_k E_k[x_j^p] for p ≤ 2.
at::Tensor exact_expectation(const TestFunction& f, const GaussianMixture& mixture);

}  // namespace jointflow
