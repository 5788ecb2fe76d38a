#include "estimate/estimators.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "io/result_file.h"

#include "core/error.h"

namespace jointflow {
namespace {

void check_weights_and_values(const at::Tensor& w, const at::Tensor& f) {
  JF_CHECK(w.dim() == 2, "importance weights must be [G, K], got ", w.sizes());
  JF_CHECK(f.dim() == 3 && f.size(0) == w.size(0) && f.size(1) == w.size(1),
           "function values must be [G, K, c] with [G, K] = ", w.sizes(), ", got ", f.sizes());
}

}  // namespace

at::Tensor importance_estimate(const at::Tensor& w, const at::Tensor& f) {
  check_weights_and_values(w, f);
  return (w.unsqueeze(2) * f).mean(1);
}

at::Tensor kish_ess(const at::Tensor& w) {
  JF_CHECK(w.dim() == 2, "importance weights must be [G, K], got ", w.sizes());
  return w.sum(1).pow(2) / w.pow(2).sum(1);
}

ImportanceAccumulator::ImportanceAccumulator(int64_t components)
    : components_(components), unbiased_(components), self_normalized_(components) {
  JF_CHECK(components > 0, "ImportanceAccumulator needs at least one component, got ", components);
}

void ImportanceAccumulator::add(const at::Tensor& w, const at::Tensor& f) {
  JF_CHECK(f.dim() == 3 && f.size(2) == components_, "function values must be [G, K, ", components_,
           "], got ", f.sizes());
  const at::Tensor w64 = w.to(at::kDouble).cpu();
  const at::Tensor f64 = f.to(at::kDouble).cpu();
  const at::Tensor unbiased = importance_estimate(w64, f64).contiguous();
  const at::Tensor mean_weight = w64.mean(1).contiguous();
  const at::Tensor ess = kish_ess(w64).contiguous();
  const double* u = unbiased.data_ptr<double>();
  const double* m = mean_weight.data_ptr<double>();
  const double* e = ess.data_ptr<double>();
  const int64_t groups = ess.size(0);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t j = 0; j < components_; ++j) {
      unbiased_[j].add(u[g * components_ + j]);
      self_normalized_[j].add(u[g * components_ + j], m[g]);
    }
    ess_.add(e[g]);
  }
  sets_ += groups;
}

void ImportanceAccumulator::merge(const ImportanceAccumulator& other) {
  JF_CHECK(other.components_ == components_, "cannot merge accumulators of ", other.components_,
           " and ", components_, " components");
  for (int64_t j = 0; j < components_; ++j) {
    unbiased_[j].merge(other.unbiased_[j]);
    self_normalized_[j].merge(other.self_normalized_[j]);
  }
  ess_.merge(other.ess_);
  sets_ += other.sets_;
}

ImportanceSummary ImportanceAccumulator::finish() const {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  ImportanceSummary summary{at::empty({components_}, options), at::empty({components_}, options),
                            at::empty({components_}, options), at::empty({components_}, options)};
  for (int64_t j = 0; j < components_; ++j) {
    const Metric u = unbiased_[j].metric("");
    const Metric s = self_normalized_[j].metric("");
    summary.unbiased.data_ptr<double>()[j] = u.value;
    summary.unbiased_se.data_ptr<double>()[j] = u.standard_error;
    summary.self_normalized.data_ptr<double>()[j] = s.value;
    summary.self_normalized_se.data_ptr<double>()[j] = s.standard_error;
  }
  const Metric ess = ess_.metric("");
  summary.ess = ess.value;
  summary.ess_se = ess.standard_error;
  summary.sets = sets_;
  return summary;
}

void ImportanceAccumulator::save(ResultFile& file, const std::string& prefix) const {
  for (int64_t j = 0; j < components_; ++j) {
    unbiased_[j].save(file, detail::concat(prefix, "/unbiased/", j));
    self_normalized_[j].save(file, detail::concat(prefix, "/self_normalized/", j));
  }
  ess_.save(file, prefix + "/ess");
}

void ImportanceAccumulator::load(const ResultReader& reader, const std::string& prefix) {
  for (int64_t j = 0; j < components_; ++j) {
    unbiased_[j] = ExactMoments::load(reader, detail::concat(prefix, "/unbiased/", j));
    self_normalized_[j] =
        RatioMoments::load(reader, detail::concat(prefix, "/self_normalized/", j));
  }
  ess_ = ExactMoments::load(reader, prefix + "/ess");
  sets_ = ess_.count();
}

// MATH §6: JSD(P, Q) = ½ KL(P‖M) + ½ KL(Q‖M), M = (P + Q)/2, with 0·log 0 = 0.
at::Tensor jensen_shannon(const at::Tensor& estimate, const at::Tensor& truth) {
  JF_CHECK(estimate.dim() == 2, "the estimated distributions must be [G, c], got ",
           estimate.sizes());
  const int64_t c = estimate.size(1);
  JF_CHECK(truth.size(-1) == c && (truth.dim() == 1 || truth.sizes() == estimate.sizes()),
           "the truth must be [", c, "] or ", estimate.sizes(), ", got ", truth.sizes());
  const at::Tensor q_raw = truth.to(at::kDouble).expand_as(estimate);
  JF_CHECK(q_raw.ge(0).all().item<bool>() && q_raw.sum(1).gt(0).all().item<bool>(),
           "the true distribution must be non-negative with a positive sum");
  const at::Tensor q = q_raw / q_raw.sum(1, /*keepdim=*/true);
  const at::Tensor clipped = estimate.to(at::kDouble).clamp_min(0.0);
  const at::Tensor total = clipped.sum(1, /*keepdim=*/true);
  const at::Tensor p = at::where(total.gt(0), clipped / total, at::full_like(clipped, 1.0 / c));
  const at::Tensor m = (p + q) / 2;
  const auto kl_to_m = [&m](const at::Tensor& a) {
    return (at::xlogy(a, a) - at::xlogy(a, m)).sum(1);
  };
  return ((kl_to_m(p) + kl_to_m(q)) / 2).clamp_min(0.0);
}

Metric mean_jensen_shannon(const at::Tensor& estimate, const at::Tensor& truth) {
  const at::Tensor per_set = jensen_shannon(estimate, truth);
  const int64_t sets = per_set.size(0);
  const double mean = sets > 0 ? per_set.mean().item<double>() : 0.0;
  const double error =
      sets > 1 ? (per_set.std() / std::sqrt(static_cast<double>(sets))).item<double>() : 0.0;
  return {"jsd", mean, error};
}

}  // namespace jointflow
