#include "app/config_options.h"

namespace jointflow {

void register_config_options(OptionRegistry& registry, Config& config) {
  registry.describe_section("run", "the whole run");
  RunOptions& run = config.run;
  registry.add("run", "seed", run.seed,
               "seed of every random stream; results do not depend on the number of ranks",
               at_least<int64_t>(0));
  registry.add("run", "output", run.output,
               "HDF5 results file (written atomically); empty: a new run folder "
               "runs/<command>-<UTC time>/<command>.h5");
  registry.add_choice("run", "device", run.device, device_choices(),
                      "where tensors live; cuda: one GPU per rank, chosen by node-local rank");
  registry.add_choice("run", "comm", run.comm, comm_backend_choices(),
                      "collective backend; auto: nccl on GPUs when built, else mpi");
  registry.add_choice("run", "dtype", run.dtype, precision_choices(), "floating-point precision");
  registry.add("run", "threads", run.threads,
               "intra-op threads per rank; 0 shares the node's cores among its ranks",
               at_least<int64_t>(0));
  registry.add_choice("run", "progress", run.progress, progress_choices(),
                      "progress with rate and ETA on rank 0: a bar on a terminal, else a log line "
                      "every 30 s (on: every 5 s)");
  registry.add("run", "parts", run.parts,
               "split the sets into this many job-array tasks (partial files for `merge`)",
               at_least<int64_t>(1));
  registry.add("run", "part", run.part, "this task's part, 0 .. run.parts − 1",
               at_least<int64_t>(0));
  registry.add("run", "checkpoint_every", run.checkpoint_every,
               "batches between checkpoints <run.output>.checkpoint; 0: off", at_least<int64_t>(0));
  registry.add("run", "resume", run.resume, "continue from <run.output>.checkpoint when it exists");

  registry.describe_section("model", "the velocity field");
  registry.add_choice("model", "kind", config.model.kind, model_kind_choices(),
                      "gmm: the exact flow of a named Gaussian mixture (MATH §2); mlp, unet: a "
                      "flow trained by train-flow; torchscript: a PyTorch module forward(x, t)");
  registry.add("model", "mixture", config.model.mixture,
               "named mixture for model.kind = gmm (gmm8d|gmm2d|gmm2d3)");
  registry.add("model", "path", config.model.path,
               "mlp, unet: the train-flow checkpoint; torchscript: the torch.jit.save file");
  registry.add_list(
      "model", "sample_shape", config.model.sample_shape,
      "shape of one sample, e.g. 8 or 1,28,28; empty: from [data] (train-flow) or the "
      "TorchScript module's sample_shape attribute",
      /*empty_allowed=*/true, at_least<int64_t>(1));
  registry.add("model", "ema", config.model.ema,
               "mlp, unet: sample with the checkpoint's EMA weights (train.ema_decay > 0)");

  registry.describe_section("flow", "architecture of model.kind = mlp | unet (train-flow)");
  FlowOptions& flow = config.model.flow;
  registry.add_list("flow", "hidden", flow.mlp.hidden(), "mlp: widths of the hidden layers (SiLU)",
                    /*empty_allowed=*/false, at_least<int64_t>(1));
  registry.add("flow", "frequencies", flow.frequencies,
               "mlp: Fourier features sin/cos(2^k π t) of the time; 0: t as one input",
               in_range<int64_t>(0, 30));
  UNetVelocityOptions& unet = flow.unet;
  registry.add("flow", "channels", unet.channels(), "unet: width of the first level",
               at_least<int64_t>(1));
  registry.add_list("flow", "channel_multipliers", unet.channel_multipliers(),
                    "unet: width of level l = channels · m_l; each further level halves the side",
                    /*empty_allowed=*/false, at_least<int64_t>(1));
  registry.add_list("flow", "attention_levels", unet.attention_levels(),
                    "unet: levels (0 = full resolution) with self-attention; the middle always has "
                    "it",
                    /*empty_allowed=*/true, at_least<int64_t>(0));
  registry.add("flow", "res_blocks", unet.res_blocks(), "unet: residual blocks per level",
               at_least<int64_t>(1));
  registry.add("flow", "groups", unet.groups(), "unet: GroupNorm groups (divides flow.channels)",
               at_least<int64_t>(1));
  registry.add("flow", "heads", unet.heads(), "unet: attention heads", at_least<int64_t>(1));

  registry.describe_section("field",
                            "the field f(y, σ) of model.kind = field (train-flux writes "
                            "model.path; sample and estimate use it as an RF velocity, MATH §8)");
  FieldOptions& field = config.model.field;
  static const ChoiceTable<ModelKind> field_networks{{"mlp", ModelKind::mlp},
                                                     {"unet", ModelKind::unet}};
  registry.add_choice("field", "network", field.network, field_networks,
                      "the network (architecture [flow]) that represents the field");
  FieldNetworkOptions& network = field.network_options;
  registry.add_choice("field", "parameterization", network.parameterization(),
                      field_parameterization_choices(),
                      "raw: f = F(y, ln σ/4); edm: f = (D − y)/σ² with EDM preconditioning");
  registry.add("field", "sigma_data", network.sigma_data(), "edm: σ_d of the preconditioning",
               at_least(0.0));
  registry.add_choice("field", "symmetry", network.symmetry(), field_symmetry_choices(),
                      "none, or odd: the network averaged over y and −y, f(−y, σ) = −f(y, σ) "
                      "(data with p(−x) = p(x))");
  registry.add("field", "sigma_max", field.sigma_max,
               "largest σ: annealed samplers start there, the RF grid at t = 1/(1 + σ_max)",
               at_least(0.0));

  registry.describe_section("flux", "train-flux: Flux Matching or DSM (MATH §7, §7.1)");
  FluxOptions& flux = config.flux;
  registry.add_choice("flux", "dataset", flux.dataset, flux_data_choices(),
                      "ring: paper B's ring (radius 2.5, width 0.5); data: the set of [data]");
  registry.add("flux", "ring_examples", flux.ring_examples, "ring: number of examples",
               at_least<int64_t>(1));
  FieldTrainingOptions& objective = flux.objective;
  NoiseLevelOptions& noise = objective.noise();
  registry.add_choice("flux", "loss", objective.loss(), field_loss_choices(),
                      "Flux Matching (B-Eq. 6/11) or the DSM baseline of the reference code");
  registry.add_choice("flux", "noise", noise.schedule(), noise_schedule_choices(),
                      "single σ; edm: ln σ ~ N(edm_mean, edm_std²); ve: log-uniform σ");
  registry.add("flux", "sigma", noise.sigma(), "single: σ (and the Langevin sampler's σ)",
               at_least(0.0));
  registry.add("flux", "edm_mean", noise.edm_mean(), "edm: mean of ln σ");
  registry.add("flux", "edm_std", noise.edm_std(), "edm: standard deviation of ln σ",
               at_least(0.0));
  registry.add("flux", "sigma_min", noise.sigma_min(), "ve: smallest training σ", at_least(0.0));
  registry.add("flux", "sigma_max", noise.sigma_max(), "ve: largest training σ", at_least(0.0));
  registry.add_choice("flux", "horizon", objective.horizon(), horizon_choices(),
                      "horizon sampler: U[0, 4] or the learned truncated exponential");
  registry.add_choice("flux", "divergence", objective.divergence(), divergence_mode_choices(),
                      "∇·(f − ŝ) in r_θ: one Rademacher probe, or exact (d ≤ 16 only)");
  registry.add_choice("flux", "sensitivity", objective.sensitivity(), chain_sensitivity_choices(),
                      "∂x_t/∂x_0 of the stop-gradient term: the reference code's cross-chain "
                      "weights with ρI, or each chain's own by a backward through its steps");
  registry.add("flux", "spiral", objective.spiral(),
               "ring: tangential speed c of the spiral application loss; 0: off", at_least(0.0));
  registry.add("flux", "kde_batch", objective.kde_batch(),
               "examples sharing one KDE, σ and horizon, whole on one rank (training then does not "
               "depend on the rank count); 0: each rank's local batch, as the reference code",
               at_least<int64_t>(0));
  FieldSamplerOptions& field_sampler = flux.sampler;
  registry.add_choice("flux", "sampler", field_sampler.kind(), field_sampler_choices(),
                      "sampler of the samples drawn after training");
  registry.add("flux", "samples", flux.samples, "samples drawn after training",
               at_least<int64_t>(2));
  registry.add("flux", "sample_steps", field_sampler.steps(), "steps of the sampler",
               at_least<int64_t>(1));
  registry.add("flux", "langevin_step", field_sampler.step_size(), "langevin: step size ε",
               at_least(0.0));
  registry.add("flux", "langevin_init", field_sampler.initial_std(),
               "langevin: standard deviation of the initial N(0, s²)", at_least(0.0));
  registry.add("flux", "sample_sigma_min", field_sampler.sigma_min(),
               "annealed samplers and NLL: the smallest σ", at_least(0.0));
  registry.add("flux", "nll_examples", flux.nll_examples,
               "training examples whose NLL in bits/dim is computed (pf-ODE); 0: none",
               at_least<int64_t>(0));

  registry.describe_section("data", "training data of train-flow");
  DatasetOptions& data = config.data;
  registry.add_choice("data", "kind", data.kind, dataset_kind_choices(),
                      "draws of a named mixture, Fashion-MNIST (IDX files) or the 8x8 digits");
  registry.add("data", "path", data.path,
               "fashion_mnist: directory of the IDX files; digits: the CSV; empty: Debian's "
               "dataset-fashion-mnist / python3-sklearn location");
  registry.add_list("data", "classes", data.classes, "images: labels to keep, e.g. 0,7; empty: all",
                    /*empty_allowed=*/true, at_least<int64_t>(0));
  registry.add("data", "size", data.size, "images: side after area resizing; 0: native",
               at_least<int64_t>(0));
  registry.add("data", "examples", data.examples,
               "number of examples (mixture: draws, required); 0: all", at_least<int64_t>(0));
  registry.add("data", "mixture", data.mixture, "mixture: the named mixture (gmm8d|gmm2d|gmm2d3)");
  registry.add_choice("data", "split", data.split, data_split_choices(),
                      "fashion_mnist: the training or the test file");

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
  registry.add("eval", "reference", config.eval.reference,
               "sample: results file whose /samples/x are the reference z_m of the coverage "
               "radius (MATH §6, spatial means); empty: off");

  registry.describe_section("residual", "the residual velocity r_φ of MATH §5.2");
  ResidualOptions& residual = config.residual;
  registry.add("residual", "data", residual.data,
               "results file of `sample` with /trajectories/x1 (output.trajectories = true)");
  registry.add("residual", "checkpoint", residual.checkpoint,
               "checkpoint written by train-residual and read by estimate");
  registry.add_list("residual", "hidden", residual.hidden,
                    "widths of r_φ's hidden layers (input x and t, SiLU)", /*empty_allowed=*/false,
                    at_least<int64_t>(1));
  registry.add("residual", "groups", residual.groups,
               "sets drawn as training data by `jointflow run` (seed run.seed + 1)",
               at_least<int64_t>(1));

  registry.describe_section("train", "data-parallel training");
  TrainOptions& train = config.train;
  TrainerOptions& trainer = train.trainer;
  registry.add_choice("train", "optimizer", trainer.optimizer(), optimizer_choices(),
                      "LibTorch optimizer");
  registry.add("train", "lr", trainer.lr(), "peak learning rate", at_least(0.0));
  registry.add("train", "weight_decay", trainer.weight_decay(), "weight decay", at_least(0.0));
  registry.add("train", "batch_size", train.batch_size, "global batch over all ranks",
               at_least<int64_t>(1));
  registry.add("train", "epochs", train.epochs, "passes over the data (when train.steps = 0)",
               at_least<int64_t>(1));
  registry.add("train", "steps", train.steps, "optimizer steps; 0: from train.epochs",
               at_least<int64_t>(0));
  registry.add("train", "warmup_steps", trainer.warmup_steps(), "linear learning-rate warm-up",
               at_least<int64_t>(0));
  registry.add_choice("train", "schedule", trainer.schedule(), lr_schedule_choices(),
                      "after the warm-up: the peak rate, or a half cosine down to 0 at the "
                      "last step");
  registry.add("train", "clip_norm", trainer.clip_norm(), "clip the global gradient norm; 0: off",
               at_least(0.0));
  registry.add("train", "ema_decay", trainer.ema_decay(),
               "d of the bias-corrected EMA of the parameters (step i's weights weighted dᵗ⁻ⁱ, "
               "the initial ones not at all); 0: off",
               in_range(0.0, 1.0));
  registry.add_choice("train", "autocast", trainer.autocast(), autocast_choices(),
                      "forward pass in float32 (off) or bfloat16 autocast (GPU; needs "
                      "run.dtype = float32); backward, all-reduce and optimizer stay float32");
  registry.add("train", "checkpoint_every", trainer.checkpoint_every(),
               "steps between checkpoints; 0: only at the end", at_least<int64_t>(0));
  registry.add("train", "resume", train.resume,
               "continue from the checkpoint when it exists (bit-exact)");

  registry.describe_section("estimate", "importance-weighted estimation (MATH §5)");
  EstimateOptions& estimate = config.estimate;
  TestFunction& function = estimate.function;
  registry.add_choice("estimate", "function", function.kind, test_function_choices(),
                      "f: one-hot of the nearest mixture mean, a box indicator or x_j^p");
  registry.add_list("estimate", "box_low", function.box_low, "box: lower bounds, one per dimension",
                    /*empty_allowed=*/true);
  registry.add_list("estimate", "box_high", function.box_high,
                    "box: upper bounds, one per dimension", /*empty_allowed=*/true);
  registry.add("estimate", "moment_dim", function.moment_dim, "moment: coordinate j",
               at_least<int64_t>(0));
  registry.add("estimate", "moment_power", function.moment_power, "moment: power p",
               at_least<int64_t>(1));
  registry.add_choice("estimate", "weights", estimate.weights, weight_choices(),
                      "log-weights along trajectories (MATH §5.3), at the final position "
                      "(§5.4), or none (equal weights)");
  registry.add_choice("estimate", "quadrature", estimate.quadrature, quadrature_choices(),
                      "log-weight rate per Euler step at the segment's midpoint (second order) "
                      "or at its start (MATH §5.3's sum, first order)");
  registry.add("estimate", "exact_divergence_max_dim", estimate.divergence.exact_max_dim,
               "exact ∇·r up to this dimension, Hutchinson above (MATH §5.5)",
               at_least<int64_t>(0));
  registry.add("estimate", "hutchinson_probes", estimate.divergence.probes,
               "Rademacher probes per sample and step", at_least<int64_t>(1));
  registry.add("estimate", "per_sample", estimate.per_sample,
               "write /samples/x and /samples/log_w (otherwise only sums are kept)");

  registry.describe_section("evaluate", "weights against a local-likelihood ground truth");
  EvaluateOptions& evaluate = config.evaluate;
  registry.add("evaluate", "samples", evaluate.samples,
               "`estimate` output with /samples/x and /samples/log_w (estimate.per_sample); its "
               "sets keep the K it was drawn with");
  registry.add(
      "evaluate", "pool", evaluate.pool,
      "`sample` output with /samples/x of the same sampler, for the ground truth (MATH §5.7)");
  registry.add("evaluate", "iid", evaluate.iid,
               "optional `estimate` output of IID sets (estimate.per_sample) for the IID column");
  registry.add("evaluate", "confident_fraction", evaluate.confident_fraction,
               "fraction of each set with the most confident ground truth that is compared",
               in_range(0.0, 1.0));
  registry.add_choice("evaluate", "baselines", evaluate.baselines, baseline_pool_choices(),
                      "samples the kNN, KDE and MGF baselines fit q_1 to: each set's members or "
                      "all evaluated samples");

  registry.describe_section("merge", "combining the partial files of a job array");
  registry.add("merge", "inputs", config.merge.inputs,
               "partial files: comma-separated paths or glob patterns (\"out/part-*.h5\")");

  registry.describe_section("output", "what is written besides the metrics");
  registry.add("output", "samples", config.output.samples,
               "write /samples/x (per-rank shards stitched by a virtual dataset)");
  registry.add("output", "trajectories", config.output.trajectories,
               "write /trajectories/x0 and /x1: start and end of every path (train-residual data)");
  registry.add("output", "paths", config.output.paths,
               "sample: the first this many sets write every Euler state of their members to "
               "/trajectories/paths [members, steps + 1, *sample shape]; 0: off",
               at_least<int64_t>(0));
}

}  // namespace jointflow
