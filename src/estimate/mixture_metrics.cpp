#include "estimate/mixture_metrics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "io/result_file.h"

namespace jointflow {
namespace {

// Number of distinct values in each consecutive run of `group_size` entries.
std::vector<double> distinct_per_group(const int32_t* values, int64_t groups, int64_t group_size,
                                       int64_t components) {
  std::vector<double> counts(groups);
  std::vector<int64_t> seen(components, -1);
  for (int64_t g = 0; g < groups; ++g) {
    int64_t distinct = 0;
    for (int64_t k = 0; k < group_size; ++k) {
      const int32_t mode = values[g * group_size + k];
      if (seen[mode] != g) {
        seen[mode] = g;
        ++distinct;
      }
    }
    counts[g] = static_cast<double>(distinct);
  }
  return counts;
}

// P(a set of K drawn without replacement from n pooled members misses all `a` members of some
// modes) = C(n − a, K) / C(n, K).
double miss_probability(int64_t n, int64_t a, int64_t group_size) {
  double p = 1;
  for (int64_t i = 0; i < group_size; ++i) {
    if (n - a - i <= 0) return 0;
    p *= static_cast<double>(n - a - i) / static_cast<double>(n - i);
  }
  return p;
}

}  // namespace

MixtureMetrics::MixtureMetrics(const GaussianMixture& mixture, int64_t group_size)
    : mixture_(mixture), group_size_(group_size), mode_counts_(mixture.components(), 0) {}

void MixtureMetrics::add(Communicator& comm, const at::Tensor& x_local, const at::Tensor& keep) {
  const at::Tensor x = x_local.detach().to(at::kDouble).cpu().flatten(1);
  const at::Tensor kept =
      keep.defined() ? keep.cpu().to(at::kDouble) : at::ones({x.size(0)}, x.options());
  // Per member: nearest mode, log p_1, squared distance to the nearest mean, kept flag (MATH §6).
  const at::Tensor local =
      at::stack({nearest_component(mixture_, x).to(at::kDouble), mixture_log_prob(mixture_, x),
                 min_squared_distance(mixture_, x), kept},
                1);
  const at::Tensor all = comm.allgather(local);
  if (!comm.is_root()) return;
  const int64_t groups = all.size(0) / group_size_;
  const at::Tensor per_group = all.view({groups, group_size_, 4});
  const at::Tensor group_kept = std::get<0>(per_group.select(2, 3).min(1)).gt(0.5);
  const at::Tensor modes = per_group.select(2, 0).index({group_kept}).to(at::kInt).contiguous();
  const at::Tensor mean_log_p = per_group.select(2, 1).mean(1).index({group_kept}).contiguous();
  const at::Tensor mean_sq = per_group.select(2, 2).mean(1).index({group_kept}).contiguous();
  const int64_t kept_groups = modes.size(0);
  const std::vector<double> coverage = distinct_per_group(modes.data_ptr<int32_t>(), kept_groups,
                                                          group_size_, mixture_.components());
  for (int64_t g = 0; g < kept_groups; ++g) {
    coverage_.add(coverage[g]);
    log_p_.add(mean_log_p.data_ptr<double>()[g]);
    squared_distance_.add(mean_sq.data_ptr<double>()[g]);
  }
  const int32_t* mode = modes.data_ptr<int32_t>();
  for (int64_t i = 0; i < modes.numel(); ++i) ++mode_counts_[mode[i]];
}

// MATH §6 marginal coverage: pool every member, shuffle, regroup into sets of K. We report its
// exact expectation over all shuffles, D = Σ_m (1 − Z_m) with Z_m = [the set misses mode m], and
// the standard error of a mean over the G shuffled sets, sqrt(Var D / G), from the pooled mode
// counts alone (hypergeometric: P(Z_m Z_m') = C(n − n_m − n_m', K) / C(n, K)). No per-member
// state is kept, and the value does not depend on a random shuffle.
Metric MixtureMetrics::marginal_coverage() const {
  int64_t n = 0;
  for (int64_t count : mode_counts_) n += count;
  const int64_t components = static_cast<int64_t>(mode_counts_.size());
  double mean = 0, variance = 0;
  for (int64_t m = 0; m < components; ++m) {
    const double miss_m = miss_probability(n, mode_counts_[m], group_size_);
    mean += 1 - miss_m;
    for (int64_t k = 0; k < components; ++k) {
      const double miss_k = miss_probability(n, mode_counts_[k], group_size_);
      const double both =
          k == m ? miss_m : miss_probability(n, mode_counts_[m] + mode_counts_[k], group_size_);
      variance += both - miss_m * miss_k;
    }
  }
  const int64_t sets = n / group_size_;
  return {"coverage_marginal", mean,
          sets > 0 ? std::sqrt(std::max(variance, 0.0) / static_cast<double>(sets)) : 0.0};
}

Metrics MixtureMetrics::finish() const {
  if (coverage_.count() == 0) return {};
  // RMSE = sqrt(mean squared distance); its standard error by the delta method.
  const Metric squared = squared_distance_.metric("");
  const double rmse = std::sqrt(squared.value);
  const double rmse_se = rmse > 0 ? squared.standard_error / (2 * rmse) : 0.0;
  return {coverage_.metric("coverage_joint"),
          marginal_coverage(),
          log_p_.metric("log_p"),
          {"rmse", rmse, rmse_se}};
}

void MixtureMetrics::merge(const MixtureMetrics& other) {
  coverage_.merge(other.coverage_);
  log_p_.merge(other.log_p_);
  squared_distance_.merge(other.squared_distance_);
  for (size_t m = 0; m < mode_counts_.size(); ++m) mode_counts_[m] += other.mode_counts_[m];
}

void MixtureMetrics::save(ResultFile& file, const std::string& prefix) const {
  coverage_.save(file, prefix + "/coverage");
  log_p_.save(file, prefix + "/log_p");
  squared_distance_.save(file, prefix + "/squared_distance");
  file.write_tensor(prefix + "/mode_counts",
                    at::from_blob(const_cast<int64_t*>(mode_counts_.data()),
                                  {static_cast<int64_t>(mode_counts_.size())}, at::kLong));
}

void MixtureMetrics::load(const ResultReader& reader, const std::string& prefix) {
  coverage_ = ExactMoments::load(reader, prefix + "/coverage");
  log_p_ = ExactMoments::load(reader, prefix + "/log_p");
  squared_distance_ = ExactMoments::load(reader, prefix + "/squared_distance");
  const at::Tensor counts = reader.read_tensor(prefix + "/mode_counts").to(at::kLong).contiguous();
  JF_CHECK(counts.numel() == static_cast<int64_t>(mode_counts_.size()), reader.path(), ": ", prefix,
           "/mode_counts has ", counts.numel(), " modes, the mixture has ", mode_counts_.size());
  mode_counts_.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
}

}  // namespace jointflow
