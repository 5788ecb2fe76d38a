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
#include "pipeline/report.h"
#include "sampling/joint_sampler.h"

namespace jointflow {
namespace {

// Stops every rank with the first non-finite member, unless sampler.drop_nonfinite: then the
// sets holding such members are marked (returned mask is false for their members).
at::Tensor check_finite(Communicator& comm, const SamplerOptions& options,
                        const GroupLayout& layout, const SampledBlock& block) {
  const at::Tensor bad = block.nonfinite_step.ge(0);
  run_agreed(comm, [&] {
    if (options.drop_nonfinite || !bad.any().item<bool>()) return;
    const int64_t row = bad.nonzero()[0][0].item<int64_t>();
    const int64_t member = layout.members.begin + row;
    throw Error(detail::concat("non-finite state at Euler step ",
                               block.nonfinite_step[row].item<int64_t>(), " in member ", member,
                               " (set ", member / layout.group_size,
                               "); lower sampler.lambda, use sampler.sr = hard, or set "
                               "sampler.drop_nonfinite = true to drop such sets"));
  });
  if (!options.drop_nonfinite) return {};
  return bad.logical_not();
}

}  // namespace

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
  if (config.output.samples)
    run_agreed(comm, [&] {
      shards.emplace(config.run.output, comm.rank());
      shards->declare("/samples/x", dtype, field->sample_shape());
    });

  ProgressBar progress("sampling", options.groups, config.run.progress, comm.is_root());
  for (int64_t first = 0; first < options.groups; first += options.batch_groups) {
    const int64_t n_groups = std::min(options.batch_groups, options.groups - first);
    const GroupLayout layout =
        make_group_layout(first, n_groups, options.group_size, comm.size(), comm.rank());
    const SampledBlock block = sampler.sample(layout, {seed, RandomStream::initial_noise});
    const at::Tensor keep = check_finite(comm, options, layout, block);
    if (metrics) metrics->add(comm, block.x1, keep);
    if (shards) shards->append("/samples/x", layout.members.begin, block.x1);
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
    write_provenance(*file, context.provenance, comm, clock.seconds());
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
