// What a set-by-set stage (sample, estimate) accumulates on rank 0, in a form that checkpoints,
// partial files of job-array tasks and `merge` share (DESIGN §3: sums in global set order).
#pragma once

#include <memory>
#include <string>

#include <optional>

#include "estimate/coverage_radius.h"
#include "estimate/estimate_statistics.h"
#include "estimate/metric.h"
#include "estimate/mixture_metrics.h"
#include "io/result_file.h"
#include "pipeline/config.h"

namespace jointflow {

class SetStatistics {
 public:
  virtual ~SetStatistics() = default;
  // Appends the sets of `other` (same stage and config), which follow this object's sets.
  virtual void merge(const SetStatistics& other) = 0;
  // The exact state under /state, and back.
  virtual void save(ResultFile& file) const = 0;
  virtual void load(const ResultReader& reader) = 0;
  // The final results: /metrics (and /estimate) of the whole set range; the metrics printed.
  virtual Metrics write_results(ResultFile& file) const = 0;
};

// `sample`: the sample quality of MATH §6 when an evaluation mixture is known; the set count.
class SampleStatistics final : public SetStatistics {
 public:
  explicit SampleStatistics(const Config& config);
  void merge(const SetStatistics& other) override;
  void save(ResultFile& file) const override;
  void load(const ResultReader& reader) override;
  Metrics write_results(ResultFile& file) const override;

  std::optional<MixtureMetrics> quality;
  std::optional<CoverageRadiusMetrics> coverage;  // when eval.reference is set
  int64_t sets = 0;                               // sets sampled (dropped ones included)
};

// `estimate`: the estimators of MATH §5.1 and, when a mixture is known, the sample quality.
class EstimateStageStatistics final : public SetStatistics {
 public:
  explicit EstimateStageStatistics(const Config& config);
  void merge(const SetStatistics& other) override;
  void save(ResultFile& file) const override;
  void load(const ResultReader& reader) override;
  Metrics write_results(ResultFile& file) const override;

  EstimateStatistics estimate;
  std::optional<MixtureMetrics> quality;
};

// Empty statistics of the stage `command` ("sample" or "estimate") for `config`.
std::unique_ptr<SetStatistics> make_set_statistics(const std::string& command,
                                                   const Config& config);

}  // namespace jointflow
