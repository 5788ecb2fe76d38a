#include "pipeline/run_sample.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "io/sample_shards.h"
#include "pipeline/model_factory.h"
#include "pipeline/report.h"
#include "pipeline/sampling_checks.h"
#include "pipeline/set_loop.h"
#include "sampling/joint_sampler.h"

namespace jointflow {
namespace {

// Keeps every Euler state of the local members whose global id is below `end_member` (the
// first output.paths sets of the task): they are the first rows of the local block.
class PathRecorder final : public StepObserver {
 public:
  PathRecorder(const GroupLayout& layout, int64_t end_member)
      : rows_(std::clamp<int64_t>(end_member - layout.members.begin, 0, layout.local_count())) {}
  void observe(const at::Tensor& x, double, double, const at::Tensor&, const at::Tensor&) override {
    if (rows_ > 0) states_.push_back(x.narrow(0, 0, rows_).clone());
  }
  int64_t rows() const { return rows_; }
  // [rows, steps + 1, *shape] with the final states appended.
  at::Tensor paths(const at::Tensor& x1) {
    states_.push_back(x1.narrow(0, 0, rows_));
    return at::stack(states_, 1);
  }

 private:
  int64_t rows_;
  std::vector<at::Tensor> states_;
};

}  // namespace

void run_sample(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  run_agreed(comm, [&] {
    if (comm.is_root()) check_output_path(config.run.output, "run.output");
  });
  const at::ScalarType dtype = scalar_type(config.run.dtype);
  const auto field = make_agreed_velocity_field(config.model, dtype, context.device, context.comm);
  const SamplerOptions& options = config.sampler;
  const JointSampler sampler(*field, options, comm, dtype, context.device);
  const auto seed = static_cast<uint64_t>(config.run.seed);
  SampleStatistics statistics(config);

  std::optional<ShardWriter> shards;
  const OutputOptions& output = config.output;
  const int64_t first_member = task_sets(config).begin * options.group_size;
  const int64_t path_sets = std::min(output.paths, task_sets(config).size());
  if (output.samples || output.trajectories || path_sets > 0)
    run_agreed(comm, [&] {
      shards.emplace(config.run.output, comm.rank());
      if (output.samples) shards->declare("/samples/x", dtype, field->sample_shape());
      if (output.trajectories) {
        shards->declare("/trajectories/x0", dtype, field->sample_shape());
        shards->declare("/trajectories/x1", dtype, field->sample_shape());
      }
      if (path_sets > 0) {
        std::vector<int64_t> row_shape{options.steps + 1};
        for (int64_t extent : field->sample_shape()) row_shape.push_back(extent);
        shards->declare("/trajectories/paths", dtype, row_shape);
      }
    });

  for_each_set_batch(
      config, context, statistics, "sampling", !shards, [&](int64_t first, int64_t count) {
        const GroupLayout layout =
            make_group_layout(first, count, options.group_size, comm.size(), comm.rank());
        PathRecorder recorder(layout, first_member + path_sets * options.group_size);
        const SampledBlock block = sampler.sample(layout, {seed, RandomStream::initial_noise},
                                                  recorder.rows() > 0 ? &recorder : nullptr);
        const at::Tensor keep = check_finite(comm, layout, block, {}, options.drop_nonfinite);
        if (statistics.quality) statistics.quality->add(comm, block.x1, keep);
        if (statistics.coverage) statistics.coverage->add(comm, block.x1, keep);
        statistics.sets += count;
        // Shards hold this task's rows from 0, in global member order.
        const int64_t row = layout.members.begin - first_member;
        if (output.samples) shards->append("/samples/x", row, block.x1);
        if (output.trajectories) {
          shards->append("/trajectories/x0", row, block.x0);
          shards->append("/trajectories/x1", row, block.x1);
        }
        if (recorder.rows() > 0)
          shards->append("/trajectories/paths", row, recorder.paths(block.x1));
      });

  run_agreed(comm, [&] {
    if (!comm.is_root() || config.run.parts > 1 || !statistics.quality) return;
    JF_CHECK(statistics.quality->sets() > 0 || statistics.sets == 0, "all ", statistics.sets,
             " sets had non-finite states and were dropped (sampler.drop_nonfinite = true), so "
             "there is nothing to report and '",
             config.run.output, "' was not written; lower sampler.lambda or raise sampler.steps");
  });
  const Metrics results =
      finish_set_run(config, context, statistics, shards ? &*shards : nullptr, clock.seconds());
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
