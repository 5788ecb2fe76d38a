#include "pipeline/set_statistics.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "pipeline/model_factory.h"

namespace jointflow {
namespace {

std::optional<MixtureMetrics> quality_metrics(const Config& config) {
  const std::optional<GaussianMixture> mixture = evaluation_mixture(config);
  if (!mixture) return std::nullopt;
  return MixtureMetrics(*mixture, config.sampler.group_size);
}

std::optional<CoverageRadiusMetrics> coverage_metrics(const Config& config) {
  if (config.eval.reference.empty()) return std::nullopt;
  return CoverageRadiusMetrics(read_reference_samples(config.eval.reference, "eval.reference"),
                               config.sampler.group_size);
}

void write_metrics(ResultFile& file, const Metrics& metrics) {
  for (const Metric& metric : metrics) {
    file.write_scalar("/metrics/" + metric.name, metric.value);
    file.write_scalar("/metrics/" + metric.name + "_se", metric.standard_error);
  }
}

void write_summary(ResultFile& file, const std::string& group, const ImportanceSummary& summary) {
  file.write_tensor(group + "/mean", summary.unbiased);
  file.write_tensor(group + "/stderr", summary.unbiased_se);
  file.write_tensor(group + "/sn_mean", summary.self_normalized);
  file.write_tensor(group + "/sn_stderr", summary.self_normalized_se);
  file.write_scalar(group + "/ess", summary.ess);
  file.write_scalar(group + "/n_sets", static_cast<double>(summary.sets));
}

// The estimator's width: the components of estimate.function.
EstimateStatistics empty_estimate(const Config& config) {
  const std::optional<GaussianMixture> mixture = evaluation_mixture(config);
  const TestFunction& f = config.estimate.function;
  if (!mixture) return EstimateStatistics(1, at::Tensor());
  return EstimateStatistics(test_function_width(f, *mixture), exact_expectation(f, *mixture));
}

}  // namespace

SampleStatistics::SampleStatistics(const Config& config)
    : quality(quality_metrics(config)), coverage(coverage_metrics(config)) {}

void SampleStatistics::merge(const SetStatistics& other) {
  const auto& more = dynamic_cast<const SampleStatistics&>(other);
  if (quality) quality->merge(*more.quality);
  if (coverage) coverage->merge(*more.coverage);
  sets += more.sets;
}

void SampleStatistics::save(ResultFile& file) const {
  file.write_scalar("/state/sets", static_cast<double>(sets));
  if (quality) quality->save(file, "/state/quality");
  if (coverage) coverage->save(file, "/state/coverage");
}

void SampleStatistics::load(const ResultReader& reader) {
  sets = static_cast<int64_t>(reader.read_scalar("/state/sets"));
  if (quality) quality->load(reader, "/state/quality");
  if (coverage) coverage->load(reader, "/state/coverage");
}

Metrics SampleStatistics::write_results(ResultFile& file) const {
  Metrics metrics = quality ? quality->finish() : Metrics{};
  if (coverage) {
    const Metrics radius = coverage->finish();
    metrics.insert(metrics.end(), radius.begin(), radius.end());
  }
  write_metrics(file, metrics);
  file.write_scalar("/metrics/n_sets", static_cast<double>(quality ? quality->sets() : sets));
  return metrics;
}

EstimateStageStatistics::EstimateStageStatistics(const Config& config)
    : estimate(empty_estimate(config)), quality(quality_metrics(config)) {}

void EstimateStageStatistics::merge(const SetStatistics& other) {
  const auto& more = dynamic_cast<const EstimateStageStatistics&>(other);
  estimate.merge(more.estimate);
  if (quality) quality->merge(*more.quality);
}

void EstimateStageStatistics::save(ResultFile& file) const {
  estimate.save(file, "/state/estimate");
  if (quality) quality->save(file, "/state/quality");
}

void EstimateStageStatistics::load(const ResultReader& reader) {
  estimate.load(reader, "/state/estimate");
  if (quality) quality->load(reader, "/state/quality");
}

Metrics EstimateStageStatistics::write_results(ResultFile& file) const {
  write_summary(file, "/estimate", estimate.weighted());
  write_summary(file, "/estimate/equal_weights", estimate.equal());
  if (estimate.truth().defined()) file.write_tensor("/estimate/exact", estimate.truth());
  Metrics metrics = estimate.metrics();
  if (quality) {
    const Metrics sample_quality = quality->finish();
    metrics.insert(metrics.end(), sample_quality.begin(), sample_quality.end());
  }
  write_metrics(file, metrics);
  return metrics;
}

std::unique_ptr<SetStatistics> make_set_statistics(const std::string& command,
                                                   const Config& config) {
  if (command == "sample") return std::make_unique<SampleStatistics>(config);
  if (command == "estimate") return std::make_unique<EstimateStageStatistics>(config);
  throw Error("internal: no set statistics for command '" + command + "'");
}

}  // namespace jointflow
