#include "estimate/mixture_metrics.h"

#include <ATen/ATen.h>

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

}  // namespace

MixtureMetrics::MixtureMetrics(const GaussianMixture& mixture, int64_t group_size,
                               RandomKey regroup_key)
    : mixture_(mixture), group_size_(group_size), regroup_key_(regroup_key) {}

void MixtureMetrics::add(Communicator& comm, const at::Tensor& x_local, const at::Tensor& keep) {
  const at::Tensor x = x_local.detach().to(at::kDouble).cpu().flatten(1);
  const at::Tensor kept = keep.defined() ? keep.cpu().to(at::kDouble)
                                         : at::ones({x.size(0)}, x.options());
  // Per member: nearest mode, log p_1, squared distance to the nearest mean, kept flag (MATH §6).
  const at::Tensor local = at::stack({nearest_component(mixture_, x).to(at::kDouble),
                                      mixture_log_prob(mixture_, x),
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
  const std::vector<double> coverage = distinct_per_group(
      modes.data_ptr<int32_t>(), kept_groups, group_size_, mixture_.components());
  for (int64_t g = 0; g < kept_groups; ++g) {
    coverage_.add(coverage[g]);
    log_p_.add(mean_log_p.data_ptr<double>()[g]);
    squared_distance_.add(mean_sq.data_ptr<double>()[g]);
  }
  const int32_t* mode = modes.data_ptr<int32_t>();
  nearest_.insert(nearest_.end(), mode, mode + modes.numel());
}

Metrics MixtureMetrics::finish() const {
  if (nearest_.empty() && coverage_.count() == 0) return {};
  // Marginal coverage: pool every member, shuffle, regroup into sets of K (MATH §6).
  const int64_t n = static_cast<int64_t>(nearest_.size());
  const at::Tensor order = counter_permutation(regroup_key_, n);
  std::vector<int32_t> shuffled(n);
  const int64_t* index = order.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) shuffled[i] = nearest_[index[i]];
  ExactMoments marginal;
  for (double c : distinct_per_group(shuffled.data(), n / group_size_, group_size_,
                                     mixture_.components()))
    marginal.add(c);
  // RMSE = sqrt(mean squared distance); its standard error by the delta method.
  const Metric squared = squared_distance_.metric("");
  const double rmse = std::sqrt(squared.value);
  const double rmse_se = rmse > 0 ? squared.standard_error / (2 * rmse) : 0.0;
  return {coverage_.metric("coverage_joint"), marginal.metric("coverage_marginal"),
          log_p_.metric("log_p"), {"rmse", rmse, rmse_se}};
}

void MixtureMetrics::merge(const MixtureMetrics& other) {
  coverage_.merge(other.coverage_);
  log_p_.merge(other.log_p_);
  squared_distance_.merge(other.squared_distance_);
  nearest_.insert(nearest_.end(), other.nearest_.begin(), other.nearest_.end());
}

void MixtureMetrics::save(ResultFile& file, const std::string& prefix) const {
  coverage_.save(file, prefix + "/coverage");
  log_p_.save(file, prefix + "/log_p");
  squared_distance_.save(file, prefix + "/squared_distance");
  file.write_tensor(prefix + "/nearest",
                    at::from_blob(const_cast<int32_t*>(nearest_.data()),
                                  {static_cast<int64_t>(nearest_.size())}, at::kInt));
}

void MixtureMetrics::load(const ResultReader& reader, const std::string& prefix) {
  coverage_ = ExactMoments::load(reader, prefix + "/coverage");
  log_p_ = ExactMoments::load(reader, prefix + "/log_p");
  squared_distance_ = ExactMoments::load(reader, prefix + "/squared_distance");
  const at::Tensor nearest = reader.read_tensor(prefix + "/nearest").to(at::kInt).contiguous();
  nearest_.assign(nearest.data_ptr<int32_t>(), nearest.data_ptr<int32_t>() + nearest.numel());
}

}  // namespace jointflow
