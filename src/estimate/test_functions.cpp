#include "estimate/test_functions.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "distributed/counter_rng.h"

namespace jointflow {
namespace {

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

void check_box(const TestFunction& f, int64_t dim) {
  JF_CHECK(static_cast<int64_t>(f.box_low.size()) == dim &&
               static_cast<int64_t>(f.box_high.size()) == dim,
           "estimate.box_low and estimate.box_high need ", dim,
           " numbers each (one per dimension)");
}

// Σ_k π_k P_{N(μ_k, diag σ_k²)}(x lies in cell j): the probability of each nearest-mean cell, by
// Monte Carlo stratified over the components with the same 2^18 fixed standard normals for every
// component and every run (standard error below 5e-5 for gmm2d).
at::Tensor cell_probabilities(const GaussianMixture& mixture) {
  constexpr int64_t kDraws = int64_t{1} << 18, kChunk = int64_t{1} << 14;
  const GaussianMixture m = mixture.to(at::kDouble, at::kCPU);
  const int64_t components = m.components(), dim = m.dim();
  // argmin_j ‖x − μ_j‖² = argmin_j (‖μ_j‖² − 2 x·μ_j): one matrix product per chunk.
  const at::Tensor half_norms = m.means.pow(2).sum(1) / 2;
  // Bin k·C + j counts the draws of component k that fall in cell j.
  const at::Tensor offsets = at::arange(components, at::kLong).unsqueeze(1) * components;
  at::Tensor counts = at::zeros({components * components}, at::kDouble);
  for (int64_t first = 0; first < kDraws; first += kChunk) {
    const at::Tensor z = counter_normal({0, RandomStream::exact_samples}, first, kChunk, dim);
    const at::Tensor x = m.means.unsqueeze(1) + m.stds.unsqueeze(1) * z.unsqueeze(0);  // [C, n, d]
    const at::Tensor scores = at::addmm(half_norms, x.view({-1, dim}), m.means.t(), 1, -1);
    const at::Tensor cells = scores.argmin(1).view({components, kChunk});
    counts += at::bincount((cells + offsets).flatten(), {}, components * components);
  }
  const at::Tensor fractions = counts.view({components, components}) / static_cast<double>(kDraws);
  return (m.weights.unsqueeze(1) * fractions).sum(0);
}

}  // namespace

void TestFunction::validate(const std::string& section) const {
  if (kind != TestFunctionKind::box) return;
  JF_CHECK_COLLECTIVE(box_low.size() == box_high.size(), section, ".box_low has ", box_low.size(),
                      " numbers but ", section, ".box_high has ", box_high.size(),
                      "; give one of each per dimension");
  for (size_t j = 0; j < box_low.size(); ++j)
    JF_CHECK_COLLECTIVE(box_low[j] < box_high[j], section, ".box_low[", j, "] = ", box_low[j],
                        " is not below ", section, ".box_high[", j, "] = ", box_high[j],
                        ": the box would be empty and every estimate 0; give low < high in "
                        "every dimension");
}

const ChoiceTable<TestFunctionKind>& test_function_choices() {
  static const ChoiceTable<TestFunctionKind> table{{"nearest_mean", TestFunctionKind::nearest_mean},
                                                   {"box", TestFunctionKind::box},
                                                   {"moment", TestFunctionKind::moment}};
  return table;
}

int64_t test_function_width(const TestFunction& f, const GaussianMixture& mixture) {
  return f.kind == TestFunctionKind::nearest_mean ? mixture.components() : 1;
}

at::Tensor evaluate_test_function(const TestFunction& f, const GaussianMixture& mixture,
                                  const at::Tensor& x) {
  const at::Tensor points = x.detach().to(at::kDouble).cpu().flatten(1);
  switch (f.kind) {
    case TestFunctionKind::nearest_mean:
      return at::one_hot(nearest_component(mixture, points), mixture.components()).to(at::kDouble);
    case TestFunctionKind::box: {
      check_box(f, points.size(1));
      const at::Tensor low = at::tensor(f.box_low, points.options());
      const at::Tensor high = at::tensor(f.box_high, points.options());
      return (points.ge(low) & points.le(high)).all(1, /*keepdim=*/true).to(at::kDouble);
    }
    case TestFunctionKind::moment:
      JF_CHECK(f.moment_dim >= 0 && f.moment_dim < points.size(1),
               "estimate.moment_dim = ", f.moment_dim, " is not a coordinate of ", points.size(1),
               "-dimensional samples");
      return points.select(1, f.moment_dim).pow(f.moment_power).unsqueeze(1);
  }
  throw Error("internal: unknown test function");
}

at::Tensor exact_expectation(const TestFunction& f, const GaussianMixture& mixture) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor weights = mixture.weights.to(at::kDouble);
  const at::Tensor means = mixture.means.to(at::kDouble), stds = mixture.stds.to(at::kDouble);
  switch (f.kind) {
    case TestFunctionKind::nearest_mean:
      return cell_probabilities(mixture);
    case TestFunctionKind::box: {
      check_box(f, mixture.dim());
      double total = 0;
      for (int64_t k = 0; k < mixture.components(); ++k) {
        double mass = weights[k].item<double>();
        for (int64_t j = 0; j < mixture.dim(); ++j) {
          const double mu = means[k][j].item<double>(), sd = stds[k][j].item<double>();
          mass *= normal_cdf((f.box_high[j] - mu) / sd) - normal_cdf((f.box_low[j] - mu) / sd);
        }
        total += mass;
      }
      return at::full({1}, total, options);
    }
    case TestFunctionKind::moment: {
      JF_CHECK(f.moment_power >= 1 && f.moment_power <= 2,
               "the exact value of a moment is known for powers 1 and 2, not ", f.moment_power);
      const at::Tensor mu = means.select(1, f.moment_dim), sd = stds.select(1, f.moment_dim);
      const at::Tensor per_component = f.moment_power == 1 ? mu : mu.pow(2) + sd.pow(2);
      return (weights * per_component).sum().reshape({1});
    }
  }
  throw Error("internal: unknown test function");
}

}  // namespace jointflow
