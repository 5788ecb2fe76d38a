#include "pipeline/run_estimate.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "core/log.h"
#include "core/progress.h"
#include "core/timer.h"
#include "dist/agreement.h"
#include "estimate/estimate_statistics.h"
#include "estimate/mixture_metrics.h"
#include "io/result_file.h"
#include "io/sample_shards.h"
#include "pipeline/model_factory.h"
#include "pipeline/provenance.h"
#include "pipeline/report.h"
#include "pipeline/sampling_checks.h"
#include "pipeline/training_setup.h"
#include "sampling/joint_sampler.h"
#include "sampling/log_weights.h"

namespace jointflow {
namespace {

TestFunction make_test_function(const EstimateOptions& options) {
  TestFunction f;
  f.kind = options.function;
  if (!options.box_low.empty()) f.box_low = parse_real_list("estimate.box_low", options.box_low);
  if (!options.box_high.empty())
    f.box_high = parse_real_list("estimate.box_high", options.box_high);
  f.moment_dim = options.moment_dim;
  f.moment_power = options.moment_power;
  return f;
}

void write_summary(ResultFile& file, const std::string& group, const ImportanceSummary& summary) {
  file.write_tensor(group + "/mean", summary.unbiased);
  file.write_tensor(group + "/stderr", summary.unbiased_se);
  file.write_tensor(group + "/sn_mean", summary.self_normalized);
  file.write_tensor(group + "/sn_stderr", summary.self_normalized_se);
  file.write_scalar(group + "/ess", summary.ess);
  file.write_scalar(group + "/n_sets", static_cast<double>(summary.sets));
}

}  // namespace

Metrics run_estimate(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  run_agreed(comm, [&] {
    if (comm.is_root()) check_output_path(config.run.output, "run.output");
  });
  const at::ScalarType dtype = scalar_type(config.run.dtype);
  const auto field = make_velocity_field(config.model, dtype, context.device);
  const std::optional<GaussianMixture> mixture = evaluation_mixture(config);
  const TestFunction f = make_test_function(config.estimate);
  JF_CHECK(mixture || f.kind != TestFunctionKind::nearest_mean,
           "estimate.function = nearest_mean needs a mixture: set eval.mixture", true);
  const GaussianMixture reference = mixture ? *mixture : GaussianMixture{};
  const int64_t width = mixture ? test_function_width(f, *mixture) : 1;
  const at::Tensor truth = mixture ? exact_expectation(f, *mixture) : at::Tensor();

  const EstimateOptions& estimate = config.estimate;
  std::optional<MlpVelocity> residual;
  if (estimate.weights != WeightKind::none)
    run_agreed(comm, [&] {
      residual = make_residual(config, field->dim(), dtype, context.device);
      load_trained_model(config.residual.checkpoint, **residual);
    });
  const DivergenceOptions divergence{estimate.exact_divergence_max_dim, estimate.hutchinson_probes};

  const SamplerOptions& options = config.sampler;
  const JointSampler sampler(*field, options, comm, dtype, context.device);
  const auto seed = static_cast<uint64_t>(config.run.seed);
  const RandomKey probes{seed, RandomStream::hutchinson};
  EstimateStatistics statistics(width, truth);
  std::optional<MixtureMetrics> quality;
  if (mixture) quality.emplace(*mixture, options.group_size, RandomKey{seed, RandomStream::marginal_regroup});
  std::optional<ShardWriter> shards;
  if (estimate.per_sample)
    run_agreed(comm, [&] {
      shards.emplace(config.run.output, comm.rank());
      shards->declare("/samples/x", dtype, field->sample_shape());
      shards->declare("/samples/log_w", at::kDouble);
    });

  ProgressBar progress("estimate", options.groups, config.run.progress, comm.is_root());
  for (int64_t first = 0; first < options.groups; first += options.batch_groups) {
    const int64_t n_groups = std::min(options.batch_groups, options.groups - first);
    const GroupLayout layout =
        make_group_layout(first, n_groups, options.group_size, comm.size(), comm.rank());
    std::optional<TrajectoryLogWeights> along_paths;
    if (estimate.weights == WeightKind::trajectory)
      along_paths.emplace(**residual, divergence, probes, layout.members.begin);
    const SampledBlock block = sampler.sample(
        layout, {seed, RandomStream::initial_noise}, along_paths ? &*along_paths : nullptr);
    at::Tensor log_w = at::zeros({layout.local_count()}, block.x1.options());
    if (estimate.weights == WeightKind::trajectory) log_w = along_paths->log_w();
    if (estimate.weights == WeightKind::fixed)
      log_w = fixed_position_log_weights(*field, **residual, block.x1, options.steps, divergence,
                                         probes, layout.members.begin);
    check_finite(comm, layout, block, log_w);

    const at::Tensor values = evaluate_test_function(f, reference, block.x1);
    const at::Tensor gathered =
        comm.allgather(at::cat({log_w.detach().to(at::kDouble).cpu().unsqueeze(1), values}, 1));
    if (comm.is_root()) {
      const at::Tensor per_set = gathered.view({n_groups, options.group_size, 1 + width});
      statistics.add(per_set.select(2, 0), per_set.narrow(2, 1, width));
    }
    if (quality) quality->add(comm, block.x1);
    if (shards) {
      shards->append("/samples/x", layout.members.begin, block.x1);
      shards->append("/samples/log_w", layout.members.begin, log_w.detach().to(at::kDouble));
    }
    progress.update(first + n_groups);
  }
  progress.finish();

  Metrics metrics = statistics.metrics();
  if (quality) {
    const Metrics sample_quality = quality->finish();
    metrics.insert(metrics.end(), sample_quality.begin(), sample_quality.end());
  }
  std::unique_ptr<ResultFile> file;
  run_agreed(comm, [&] {
    if (comm.is_root()) file = std::make_unique<ResultFile>(config.run.output);
  });
  if (shards) stitch_shards(comm, file.get(), *shards);
  run_agreed(comm, [&] {
    if (!file) return;
    write_provenance(*file, context, config, clock.seconds());
    write_summary(*file, "/estimate", statistics.weighted());
    write_summary(*file, "/estimate/equal_weights", statistics.equal());
    if (truth.defined()) file->write_tensor("/estimate/exact", truth);
    for (const Metric& metric : metrics) {
      file->write_scalar("/metrics/" + metric.name, metric.value);
      file->write_scalar("/metrics/" + metric.name + "_se", metric.standard_error);
    }
    file->commit();
  });
  print_metrics(detail::concat("estimate: ", choice_name(options.objective, objective_choices()),
                               " + sr ", choice_name(options.sr, score_regularization_choices()),
                               ", weights ", choice_name(estimate.weights, weight_choices()),
                               ", K = ", options.group_size, ", G = ", options.groups, ", ",
                               comm.size(), " rank(s), ", clock.seconds(), " s -> ",
                               config.run.output),
               metrics);
  return comm.is_root() ? metrics : Metrics{};
}

}  // namespace jointflow
