#include "estimate/estimate_statistics.h"

#include <ATen/ATen.h>

#include "io/result_file.h"

namespace jointflow {

EstimateStatistics::EstimateStatistics(int64_t components, at::Tensor truth)
    : truth_(std::move(truth)), weighted_(components), equal_(components) {}

void EstimateStatistics::add(const at::Tensor& log_w, const at::Tensor& f) {
  const at::Tensor w = log_w.exp();
  const at::Tensor ones = at::ones_like(w);
  weighted_.add(w, f);
  equal_.add(ones, f);
  const at::Tensor mean_w = w.mean(1).contiguous();
  const at::Tensor jsd_w = truth_.defined()
                               ? jensen_shannon(importance_estimate(w, f), truth_).contiguous()
                               : at::Tensor();
  const at::Tensor jsd_e = truth_.defined()
                               ? jensen_shannon(importance_estimate(ones, f), truth_).contiguous()
                               : at::Tensor();
  for (int64_t g = 0; g < w.size(0); ++g) {
    mean_weight_.add(mean_w.data_ptr<double>()[g]);
    if (truth_.defined()) {
      jsd_weighted_.add(jsd_w.data_ptr<double>()[g]);
      jsd_equal_.add(jsd_e.data_ptr<double>()[g]);
    }
  }
}

void EstimateStatistics::merge(const EstimateStatistics& other) {
  weighted_.merge(other.weighted_);
  equal_.merge(other.equal_);
  mean_weight_.merge(other.mean_weight_);
  jsd_weighted_.merge(other.jsd_weighted_);
  jsd_equal_.merge(other.jsd_equal_);
}

void EstimateStatistics::save(ResultFile& file, const std::string& prefix) const {
  weighted_.save(file, prefix + "/weighted");
  equal_.save(file, prefix + "/equal");
  mean_weight_.save(file, prefix + "/mean_weight");
  jsd_weighted_.save(file, prefix + "/jsd_weighted");
  jsd_equal_.save(file, prefix + "/jsd_equal");
}

void EstimateStatistics::load(const ResultReader& reader, const std::string& prefix) {
  weighted_.load(reader, prefix + "/weighted");
  equal_.load(reader, prefix + "/equal");
  mean_weight_ = ExactMoments::load(reader, prefix + "/mean_weight");
  jsd_weighted_ = ExactMoments::load(reader, prefix + "/jsd_weighted");
  jsd_equal_ = ExactMoments::load(reader, prefix + "/jsd_equal");
}

Metrics EstimateStatistics::metrics() const {
  const ImportanceSummary summary = weighted_.finish();
  Metrics metrics{mean_weight_.metric("mean_weight"), {"ess", summary.ess, summary.ess_se}};
  if (truth_.defined()) {
    metrics.push_back(jsd_weighted_.metric("jsd_weighted"));
    metrics.push_back(jsd_equal_.metric("jsd_equal"));
  }
  return metrics;
}

}  // namespace jointflow
