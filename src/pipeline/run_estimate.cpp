#include "pipeline/run_estimate.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <optional>

#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "estimate/estimate_statistics.h"
#include "estimate/mixture_metrics.h"
#include "io/sample_shards.h"
#include "pipeline/model_factory.h"
#include "pipeline/provenance.h"
#include "pipeline/report.h"
#include "pipeline/sampling_checks.h"
#include "pipeline/set_loop.h"
#include "pipeline/training_setup.h"
#include "sampling/joint_sampler.h"
#include "sampling/log_weights.h"

namespace jointflow {
Metrics run_estimate(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  run_agreed(comm, [&] {
    if (comm.is_root()) check_output_path(config.run.output, "run.output");
  });
  const at::ScalarType dtype = scalar_type(config.run.dtype);
  const auto field = make_agreed_velocity_field(config.model, dtype, context.device, context.comm);
  const std::optional<GaussianMixture> mixture = evaluation_mixture(config);
  const TestFunction& f = config.estimate.function;
  JF_CHECK_COLLECTIVE(mixture || f.kind != TestFunctionKind::nearest_mean,
                      "estimate.function = nearest_mean needs a mixture: set eval.mixture");
  const GaussianMixture reference = mixture ? *mixture : GaussianMixture{};
  const int64_t width = mixture ? test_function_width(f, *mixture) : 1;

  const EstimateOptions& estimate = config.estimate;
  std::optional<MlpVelocity> residual;
  if (estimate.weights != WeightKind::none)
    run_agreed(comm, [&] {
      residual = make_residual(config, field->dim(), dtype, context.device);
      load_trained_model(config.residual.checkpoint, **residual);
    });
  const DivergenceOptions& divergence = estimate.divergence;

  const SamplerOptions& options = config.sampler;
  const JointSampler sampler(*field, options, comm, dtype, context.device);
  const auto seed = static_cast<uint64_t>(config.run.seed);
  const RandomKey probes{seed, RandomStream::hutchinson};
  EstimateStageStatistics statistics(config);
  std::optional<ShardWriter> shards;
  if (estimate.per_sample)
    run_agreed(comm, [&] {
      shards.emplace(config.run.output, comm.rank());
      shards->declare("/samples/x", dtype, field->sample_shape());
      shards->declare("/samples/log_w", at::kDouble);
    });

  for_each_set_batch(
      config, context, statistics, "estimate", !shards, [&](int64_t first, int64_t count) {
        const GroupLayout layout =
            make_group_layout(first, count, options.group_size, comm.size(), comm.rank());
        std::optional<TrajectoryLogWeights> along_paths;
        if (estimate.weights == WeightKind::trajectory)
          along_paths.emplace(*field, **residual, estimate.quadrature, divergence, probes,
                              layout.members.begin);
        const SampledBlock block = sampler.sample(layout, {seed, RandomStream::initial_noise},
                                                  along_paths ? &*along_paths : nullptr);
        at::Tensor log_w = at::zeros({layout.local_count()}, block.x1.options());
        if (estimate.weights == WeightKind::trajectory) log_w = along_paths->log_w();
        if (estimate.weights == WeightKind::fixed)
          log_w = fixed_position_log_weights(*field, **residual, block.x1, options.steps,
                                             estimate.quadrature, divergence, probes,
                                             layout.members.begin);
        check_finite(comm, layout, block, log_w);

        const at::Tensor values = evaluate_test_function(f, reference, block.x1);
        const at::Tensor gathered =
            comm.allgather(at::cat({log_w.detach().to(at::kDouble).cpu().unsqueeze(1), values}, 1));
        if (comm.is_root()) {
          const at::Tensor per_set = gathered.view({count, options.group_size, 1 + width});
          statistics.estimate.add(per_set.select(2, 0), per_set.narrow(2, 1, width));
        }
        if (statistics.quality) statistics.quality->add(comm, block.x1);
        if (shards) {
          const int64_t row = layout.members.begin - task_sets(config).begin * options.group_size;
          shards->append("/samples/x", row, block.x1);
          shards->append("/samples/log_w", row, log_w.detach().to(at::kDouble));
        }
      });

  const Metrics metrics =
      finish_set_run(config, context, statistics, shards ? &*shards : nullptr, clock.seconds());
  print_metrics(
      detail::concat("estimate: ", choice_name(options.objective, objective_choices()), " + sr ",
                     choice_name(options.sr, score_regularization_choices()), ", weights ",
                     choice_name(estimate.weights, weight_choices()), ", K = ", options.group_size,
                     ", G = ", options.groups, ", ", comm.size(), " rank(s), ", clock.seconds(),
                     " s -> ", config.run.output),
      metrics);
  return comm.is_root() ? metrics : Metrics{};
}

}  // namespace jointflow
