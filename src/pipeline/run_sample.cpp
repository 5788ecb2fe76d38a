#include "pipeline/run_sample.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "core/log.h"
#include "core/progress.h"
#include "core/timer.h"
#include "dist/agreement.h"
#include "estimate/mixture_metrics.h"
#include "io/result_file.h"
#include "io/sample_shards.h"
#include "pipeline/model_factory.h"
#include "pipeline/provenance.h"
#include "pipeline/report.h"
#include "pipeline/sampling_checks.h"
#include "sampling/joint_sampler.h"

namespace jointflow {
void run_sample(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  run_agreed(comm, [&] {
    if (comm.is_root()) check_output_path(config.run.output, "run.output");
  });
  const at::ScalarType dtype = scalar_type(config.run.dtype);
  const auto field = make_velocity_field(config.model, dtype, context.device);
  const SamplerOptions& options = config.sampler;
  const JointSampler sampler(*field, options, comm, dtype, context.device);
  const auto seed = static_cast<uint64_t>(config.run.seed);
  const std::optional<GaussianMixture> mixture = evaluation_mixture(config);
  std::optional<MixtureMetrics> metrics;
  if (mixture) metrics.emplace(*mixture, options.group_size, RandomKey{seed, RandomStream::marginal_regroup});

  std::optional<ShardWriter> shards;
  const OutputOptions& output = config.output;
  if (output.samples || output.trajectories)
    run_agreed(comm, [&] {
      shards.emplace(config.run.output, comm.rank());
      if (output.samples) shards->declare("/samples/x", dtype, field->sample_shape());
      if (output.trajectories) {
        shards->declare("/trajectories/x0", dtype, field->sample_shape());
        shards->declare("/trajectories/x1", dtype, field->sample_shape());
      }
    });

  ProgressBar progress("sampling", options.groups, config.run.progress, comm.is_root());
  for (int64_t first = 0; first < options.groups; first += options.batch_groups) {
    const int64_t n_groups = std::min(options.batch_groups, options.groups - first);
    const GroupLayout layout =
        make_group_layout(first, n_groups, options.group_size, comm.size(), comm.rank());
    const SampledBlock block = sampler.sample(layout, {seed, RandomStream::initial_noise});
    const at::Tensor keep = check_finite(comm, layout, block, {}, options.drop_nonfinite);
    if (metrics) metrics->add(comm, block.x1, keep);
    if (output.samples) shards->append("/samples/x", layout.members.begin, block.x1);
    if (output.trajectories) {
      shards->append("/trajectories/x0", layout.members.begin, block.x0);
      shards->append("/trajectories/x1", layout.members.begin, block.x1);
    }
    progress.update(first + n_groups);
  }
  progress.finish();

  const Metrics results = metrics ? metrics->finish() : Metrics{};
  const int64_t kept_sets = metrics ? metrics->sets() : options.groups;
  std::unique_ptr<ResultFile> file;
  run_agreed(comm, [&] {
    if (comm.is_root()) file = std::make_unique<ResultFile>(config.run.output);
  });
  if (shards) stitch_shards(comm, file.get(), *shards);
  run_agreed(comm, [&] {
    if (!file) return;
    write_provenance(*file, context, config, clock.seconds());
    for (const Metric& metric : results) {
      file->write_scalar("/metrics/" + metric.name, metric.value);
      file->write_scalar("/metrics/" + metric.name + "_se", metric.standard_error);
    }
    file->write_scalar("/metrics/n_sets", static_cast<double>(kept_sets));
    file->commit();
  });
  if (comm.is_root() && kept_sets < options.groups)
    log::info("dropped ", options.groups - kept_sets, " set(s) with non-finite states");
  print_metrics(detail::concat("sample: ", choice_name(options.objective, objective_choices()),
                               " + sr ", choice_name(options.sr, score_regularization_choices()),
                               ", K = ", options.group_size, ", G = ", options.groups, ", ",
                               options.steps, " steps, ", comm.size(), " rank(s), ",
                               clock.seconds(), " s -> ", config.run.output),
               results);
}

}  // namespace jointflow
