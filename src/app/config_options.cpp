#include "app/config_options.h"

namespace jointflow {

void register_config_options(OptionRegistry& registry, Config& config) {
  registry.describe_section("run", "the whole run");
  RunOptions& run = config.run;
  registry.add("run", "seed", run.seed,
               "seed of every random stream; results do not depend on the number of ranks",
               at_least<int64_t>(0));
  registry.add("run", "output", run.output, "HDF5 results file (written atomically)");
  registry.add_choice("run", "device", run.device, device_choices(),
                      "where tensors live; cuda: one GPU per rank, chosen by node-local rank");
  registry.add_choice("run", "comm", run.comm, comm_backend_choices(),
                      "collective backend; auto: nccl on GPUs when built, else mpi");
  registry.add_choice("run", "dtype", run.dtype, precision_choices(), "floating-point precision");
  registry.add("run", "threads", run.threads,
               "intra-op threads per rank; 0 shares the node's cores among its ranks",
               at_least<int64_t>(0));
  registry.add_choice("run", "progress", run.progress, progress_choices(),
                      "progress bar with ETA on rank 0; auto: only on a terminal");

  registry.describe_section("model", "the velocity field");
  registry.add_choice("model", "kind", config.model.kind, model_kind_choices(),
                      "gmm: the exact flow of a named Gaussian mixture (MATH §2)");
  registry.add("model", "mixture", config.model.mixture,
               "named mixture for model.kind = gmm (gmm8d|gmm2d|gmm2d3)");

  registry.describe_section("sampler", "joint sampling (coupled Euler ODE)");
  SamplerOptions& sampler = config.sampler;
  registry.add("sampler", "steps", sampler.steps, "Euler steps N on t_k = k/N",
               at_least<int64_t>(1));
  registry.add("sampler", "group_size", sampler.group_size, "members K of each joint set",
               at_least<int64_t>(2));
  registry.add("sampler", "groups", sampler.groups, "joint sets G", at_least<int64_t>(1));
  registry.add("sampler", "batch_groups", sampler.batch_groups,
               "sets integrated at once over all ranks (bounds memory)", at_least<int64_t>(1));
  registry.add_choice("sampler", "objective", sampler.objective, objective_choices(),
                      "diversity objective D (MATH §3); iid: independent samples");
  registry.add_choice("sampler", "sr", sampler.sr, score_regularization_choices(),
                      "score regularization of the diversity gradient (MATH §4)");
  registry.add("sampler", "soft_power", sampler.soft_power,
               "p of soft SR: the removed fraction is t^p", at_least(0.0));
  registry.add("sampler", "lambda", sampler.lambda, "diversity strength: γ(t) = λ(1 − t)",
               at_least(0.0));
  registry.add_choice("sampler", "grad_through", sampler.grad_through, grad_through_choices(),
                      "∂D/∂x_t through the identity Jacobian or the model's VJP");
  registry.add_choice("sampler", "features", sampler.features, feature_map_choices(),
                      "feature map φ of the endpoints (images: spatial_mean or avg_pool)");
  registry.add("sampler", "pool_size", sampler.pool_size, "side of the average pool",
               at_least<int64_t>(1));
  registry.add("sampler", "chebyshev_degree", sampler.chebyshev_degree,
               "degree m of the Chebyshev log-det", in_range<int64_t>(2, 64));
  registry.add("sampler", "df_quality_radius2", sampler.df_quality_radius2,
               "ρ² of DiverseFlow's quality; 0: the 99.5 % quantile of χ²_d", at_least(0.0));
  registry.add("sampler", "drop_nonfinite", sampler.drop_nonfinite,
               "drop sets with NaN/Inf states (counted) instead of stopping");

  registry.describe_section("eval", "evaluation");
  registry.add("eval", "mixture", config.eval.mixture,
               "mixture for log p, RMSE, coverage; empty: model.mixture when model.kind = gmm");

  registry.describe_section("output", "what is written besides the metrics");
  registry.add("output", "samples", config.output.samples,
               "write /samples/x (per-rank shards stitched by a virtual dataset)");
}

}  // namespace jointflow
