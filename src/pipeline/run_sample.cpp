#include "pipeline/run_sample.h"

#include <ATen/ATen.h>

#include <memory>
#include <optional>

#include "core/log.h"
#include "core/timer.h"
#include "dist/agreement.h"
#include "io/result_file.h"
#include "io/sample_shards.h"
#include "pipeline/model_factory.h"
#include "pipeline/report.h"
#include "pipeline/sampling_checks.h"
#include "pipeline/set_loop.h"
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
  SampleStatistics statistics(config);

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

  for_each_set_batch(config, context, statistics, "sampling", !shards, [&](int64_t first, int64_t count) {
    const GroupLayout layout =
        make_group_layout(first, count, options.group_size, comm.size(), comm.rank());
    const SampledBlock block = sampler.sample(layout, {seed, RandomStream::initial_noise});
    const at::Tensor keep = check_finite(comm, layout, block, {}, options.drop_nonfinite);
    if (statistics.quality) statistics.quality->add(comm, block.x1, keep);
    statistics.sets += count;
    // Shards hold this task's rows from 0, in global member order.
    const int64_t row = layout.members.begin - task_sets(config).begin * options.group_size;
    if (output.samples) shards->append("/samples/x", row, block.x1);
    if (output.trajectories) {
      shards->append("/trajectories/x0", row, block.x0);
      shards->append("/trajectories/x1", row, block.x1);
    }
  });

  std::unique_ptr<ResultFile> file;
  run_agreed(comm, [&] {
    if (comm.is_root()) file = std::make_unique<ResultFile>(config.run.output);
  });
  if (shards) stitch_shards(comm, file.get(), *shards);
  Metrics results;
  run_agreed(comm, [&] {
    if (!file) return;
    results = write_set_results(*file, config, context, statistics, clock.seconds());
    file->commit();
    remove_checkpoint(config);
  });
  if (comm.is_root() && statistics.quality && statistics.quality->sets() < statistics.sets)
    log::info("dropped ", statistics.sets - statistics.quality->sets(),
              " set(s) with non-finite states");
  print_metrics(detail::concat("sample: ", choice_name(options.objective, objective_choices()),
                               " + sr ", choice_name(options.sr, score_regularization_choices()),
                               ", K = ", options.group_size, ", G = ", options.groups, ", ",
                               options.steps, " steps, ", comm.size(), " rank(s), ",
                               clock.seconds(), " s -> ", config.run.output),
               results);
}

}  // namespace jointflow
