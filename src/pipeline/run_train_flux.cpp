#include "pipeline/run_train_flux.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>

#include "core/hash.h"
#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "distributed/partition.h"
#include "io/result_file.h"
#include "pipeline/model_factory.h"
#include "pipeline/provenance.h"
#include "pipeline/run_train_flow.h"
#include "pipeline/training_setup.h"
#include "sampling/field_samplers.h"
#include "training/flux_datasets.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

// The grid of the curl statistic and of /field/*: kGridSide² points on [−kGridLimit, kGridLimit]²
// (choice; paper B's notebook uses its own grid).
constexpr double kGridLimit = 4.0;
constexpr int64_t kGridSide = 41;

// A loaded field seen as an RF velocity; owns the model the adapter borrows.
class FieldVelocity final : public VelocityField {
 public:
  FieldVelocity(FluxModel model, double sigma_max)
      : model_(std::move(model)), velocity_(*model_->field, sigma_max) {}
  at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const override {
    return velocity_.velocity(x, t);
  }
  std::vector<int64_t> sample_shape() const override { return velocity_.sample_shape(); }

 private:
  FluxModel model_;
  NoiseConditionalVelocity velocity_;
};

FieldTrainingOptions training_options(const FluxOptions& flux) {
  NoiseLevelOptions noise;
  noise.schedule(flux.noise)
      .sigma(flux.sigma)
      .edm_mean(flux.edm_mean)
      .edm_std(flux.edm_std)
      .sigma_min(flux.sigma_min)
      .sigma_max(flux.sigma_max);
  FieldTrainingOptions options;
  options.loss(flux.loss)
      .noise(noise)
      .horizon(flux.horizon)
      .divergence(flux.divergence)
      .sensitivity(flux.sensitivity)
      .spiral(flux.spiral)
      .kde_batch(flux.kde_batch);
  options.validate("flux");
  return options;
}

FieldSamplerOptions sampler_options(const Config& config) {
  const FluxOptions& flux = config.flux;
  FieldSamplerOptions options;
  options.kind(flux.sampler)
      .steps(flux.sample_steps)
      .step_size(flux.langevin_step)
      .sigma(flux.sigma)
      .initial_std(flux.langevin_init)
      .sigma_min(flux.sample_sigma_min)
      .sigma_max(config.model.field.sigma_max);
  options.validate("flux");
  return options;
}

// training_config_hash extended by everything the field and its objective depend on; train.steps,
// train.resume and the sampling options may change between a run and its resumption.
std::string flux_config_hash(const Config& config, const std::vector<int64_t>& sample_shape) {
  const FlowOptions& flow = config.model.flow;
  const FieldOptions& field = config.model.field;
  const FluxOptions& flux = config.flux;
  const DataOptions& data = config.data;
  const std::string text = detail::concat(
      training_config_hash(config), ";flow.hidden=", flow.hidden,
      ";flow.frequencies=", flow.frequencies, ";flow.channels=", flow.channels,
      ";flow.channel_multipliers=", flow.channel_multipliers,
      ";flow.attention_levels=", flow.attention_levels, ";flow.res_blocks=", flow.res_blocks,
      ";flow.groups=", flow.groups, ";flow.heads=", flow.heads,
      ";field.network=", choice_name(field.network, model_kind_choices()),
      ";field.parameterization=",
      choice_name(field.parameterization, field_parameterization_choices()),
      ";field.sigma_data=", field.sigma_data,
      ";field.symmetry=", choice_name(field.symmetry, field_symmetry_choices()),
      ";flux.dataset=", choice_name(flux.dataset, flux_data_choices()),
      ";flux.ring_examples=", flux.ring_examples,
      ";flux.loss=", choice_name(flux.loss, field_loss_choices()),
      ";flux.noise=", choice_name(flux.noise, noise_schedule_choices()), ";flux.sigma=", flux.sigma,
      ";flux.edm_mean=", flux.edm_mean, ";flux.edm_std=", flux.edm_std,
      ";flux.sigma_min=", flux.sigma_min, ";flux.sigma_max=", flux.sigma_max,
      ";flux.horizon=", choice_name(flux.horizon, horizon_choices()), ";flux.spiral=", flux.spiral,
      ";flux.divergence=", choice_name(flux.divergence, divergence_mode_choices()),
      ";flux.kde_batch=", flux.kde_batch,
      ";flux.sensitivity=", choice_name(flux.sensitivity, chain_sensitivity_choices()),
      ";data.kind=", choice_name(data.kind, dataset_kind_choices()), ";data.path=", data.path,
      ";data.classes=", data.classes, ";data.size=", data.size, ";data.examples=", data.examples,
      ";data.mixture=", data.mixture, ";shape=", shape_text(sample_shape));
  return config_hash(text);
}

// This rank's block of flux.dataset in `dtype` on the CPU.
Dataset load_training_data(const Config& config, const Communicator& comm, at::ScalarType dtype) {
  if (config.flux.dataset == FluxDataKind::data)
    return load_dataset(dataset_options(config), comm, dtype);
  const int64_t total = config.flux.ring_examples;
  JF_CHECK(total > 0, "flux.ring_examples = ", total, " must be positive");
  const IdRange block = block_of(total, comm.size(), comm.rank());
  Dataset data;
  data.x = ring_samples({static_cast<uint64_t>(config.run.seed), RandomStream::exact_samples},
                        block.begin, block.size())
               .to(dtype);
  data.first = block.begin;
  data.total = total;
  data.sample_shape = {2};
  return data;
}

// Unbiased MMD² between x [n, d] and y [m, d] with the sum of Gaussian kernels of bandwidths
// h·{0.5, 1, 2}, h the median distance between the rows of y (a scale-free sample distance).
double mmd2(const at::Tensor& x, const at::Tensor& y) {
  const at::Tensor a = x.reshape({x.size(0), -1}).to(at::kDouble);
  const at::Tensor b = y.reshape({y.size(0), -1}).to(at::kDouble);
  const at::Tensor yy = at::cdist(b, b).pow(2);
  const double h2 = std::pow(at::median(at::cdist(b, b)).item<double>(), 2);
  auto kernel = [&](const at::Tensor& d2) {
    at::Tensor k = at::zeros_like(d2);
    for (const double scale : {0.25, 1.0, 4.0}) k = k + at::exp(-d2 / (2 * scale * h2));
    return k;
  };
  auto off_diagonal_mean = [](const at::Tensor& k) {
    const int64_t n = k.size(0);
    return ((k.sum() - k.diagonal().sum()) / static_cast<double>(n * (n - 1))).item<double>();
  };
  return off_diagonal_mean(kernel(at::cdist(a, a).pow(2))) + off_diagonal_mean(kernel(yy)) -
         2 * kernel(at::cdist(a, b).pow(2)).mean().item<double>();
}

// The field at σ on the grid: points [G², 2], values [G², 2] and curl ∂f₂/∂x₁ − ∂f₁/∂x₂ [G²].
struct GridField {
  at::Tensor points, values, curl;
};

GridField field_on_grid(const NoiseConditionalField& field, double sigma,
                        const at::TensorOptions& options) {
  const at::Tensor axis = at::linspace(-kGridLimit, kGridLimit, kGridSide, options);
  const std::vector<at::Tensor> mesh = at::meshgrid({axis, axis}, "xy");
  const at::Tensor points = at::stack({mesh[0].reshape(-1), mesh[1].reshape(-1)}, 1);
  at::AutoGradMode enable(true);
  const at::Tensor input = points.clone().requires_grad_(true);
  const at::Tensor f = field.field(input, at::full({}, sigma, options));
  const at::Tensor d_f2 =
      torch::autograd::grad({f.select(1, 1).sum()}, {input}, {}, /*retain_graph=*/true)[0];
  const at::Tensor d_f1 = torch::autograd::grad({f.select(1, 0).sum()}, {input})[0];
  return {points, f.detach(), d_f2.select(1, 0) - d_f1.select(1, 1)};
}

}  // namespace

FluxModel make_flux_model(const ModelOptions& model, const std::vector<int64_t>& sample_shape,
                          uint64_t seed, at::ScalarType dtype, at::Device device) {
  const FieldOptions& field = model.field;
  JF_CHECK(field.network == ModelKind::mlp || field.network == ModelKind::unet,
           "field.network = ", choice_name(field.network, model_kind_choices()),
           " must be mlp or unet");
  ModelOptions network_options = model;
  network_options.kind = field.network;
  FlowNetwork network = make_flow_network(network_options, sample_shape, seed, dtype, device);
  FieldNetworkOptions options;
  options.parameterization(field.parameterization)
      .sigma_data(field.sigma_data)
      .symmetry(field.symmetry);
  options.validate("field");
  FluxModel flux(FieldNetwork(std::move(network.module), network.field, options), seed + 1);
  flux->to(device, dtype);
  return flux;
}

std::unique_ptr<VelocityField> load_field_velocity(const ModelOptions& model, at::ScalarType dtype,
                                                   at::Device device) {
  JF_CHECK(!model.path.empty(),
           "model.kind = field needs model.path: the checkpoint written by `jointflow train-flux`");
  const std::vector<int64_t> shape = model_sample_shape(model);
  JF_CHECK(!shape.empty(), "model.kind = field needs model.sample_shape: the shape of the samples ",
           "the field was trained on (e.g. 2 or 1,8,8)");
  FluxModel flux = make_flux_model(model, shape, 0, dtype, device);
  try {
    load_trained_model(model.path, *flux, model.ema);
  } catch (const Error& error) {
    throw Error(detail::concat(error.what(), " (model.kind = field: [flow], [field], ",
                               "model.sample_shape and run.dtype must be those of training",
                               model.ema ? "; model.ema = true needs train.ema_decay > 0" : "",
                               ")"));
  }
  for (at::Tensor parameter : flux->parameters()) parameter.requires_grad_(false);
  return std::make_unique<FieldVelocity>(std::move(flux), model.field.sigma_max);
}

void run_train_flux(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  const std::string& checkpoint = config.model.path;
  const FluxOptions& flux = config.flux;
  FieldTrainingOptions options;
  FieldSamplerOptions sampling;
  run_agreed(comm, [&] {
    JF_CHECK(config.model.kind == ModelKind::field, "train-flux trains model.kind = field, not ",
             choice_name(config.model.kind, model_kind_choices()));
    JF_CHECK(flux.samples >= 2, "flux.samples = ", flux.samples, " must be at least 2");
    JF_CHECK(flux.nll_examples >= 0, "flux.nll_examples = ", flux.nll_examples,
             " must be non-negative");
    options = training_options(flux);
    sampling = sampler_options(config);
    const int64_t batch = config.train.batch_size;
    JF_CHECK(flux.kde_batch == 0 || batch % flux.kde_batch == 0, "flux.kde_batch = ",
             flux.kde_batch, " must divide train.batch_size = ", batch,
             ": each KDE batch lies whole on one rank");
    JF_CHECK(flux.kde_batch == 0 || batch / flux.kde_batch >= comm.size(), "train.batch_size = ",
             batch, " holds ", batch / std::max<int64_t>(flux.kde_batch, 1),
             " KDE batches of flux.kde_batch = ", flux.kde_batch, " for ", comm.size(),
             " ranks; every rank needs one: lower flux.kde_batch or run fewer ranks");
    check_training_setup(config, context, "model.path", checkpoint);
  });
  const at::ScalarType dtype = scalar_type(config.run.dtype);
  const auto seed = static_cast<uint64_t>(config.run.seed);
  Dataset data;
  run_agreed(comm, [&] { data = load_training_data(config, comm, dtype); });
  FluxModel model{nullptr};
  run_agreed(comm, [&] {
    check_model_sample_shape(config.model, data.sample_shape);
    JF_CHECK(flux.spiral == 0 || data.sample_shape == std::vector<int64_t>{2},
             "flux.spiral needs 2-D data (flux.dataset = ring)");
    model = make_flux_model(config.model, data.sample_shape, seed, dtype, context.device);
    const int64_t dim = model->field->dim();
    JF_CHECK(flux.divergence == DivergenceMode::hutchinson || dim <= kExactDivergenceMaxDim,
             "flux.divergence = exact needs ", dim,
             " backward passes a step for samples of shape [", shape_text(data.sample_shape),
             "]; it accepts at most ", kExactDivergenceMaxDim,
             " numbers per sample: use flux.divergence = hutchinson");
  });

  const TrainOptions& train = config.train;
  const int64_t steps = train.steps > 0
                            ? train.steps
                            : (train.epochs * data.total + train.batch_size - 1) / train.batch_size;
  Trainer trainer(*model, comm, trainer_options(config, steps, checkpoint, "train-flux"),
                  flux_config_hash(config, data.sample_shape));
  if (train.resume && std::filesystem::exists(checkpoint)) trainer.resume(checkpoint);

  ShardedBatchesOptions batch_options(data.total, train.batch_size);
  batch_options.seed(seed).unit(std::max<int64_t>(flux.kde_batch, 1));
  ShardedBatches batches(data.x.to(context.device), data.first, batch_options, comm);
  log::info("train-flux: ", choice_name(flux.loss, field_loss_choices()), " (",
            choice_name(flux.noise, noise_schedule_choices()), " σ, ",
            choice_name(flux.horizon, horizon_choices()), " horizon) on ", data.total,
            " examples of shape [", shape_text(data.sample_shape), "], ", steps, " steps of ",
            train.batch_size, ", resuming at step ", trainer.step());

  FieldBatchLoss local;
  const LossClosure closure = field_training_closure(*model, batches, options, seed, &local);
  std::vector<double> losses;
  trainer.run(closure, context.stop_requested, [&](const StepStats& stats) {
    losses.push_back(stats.loss);
    return detail::concat(" (rank 0: σ ", local.sigma, ", τ ", local.tau, ", loss ", local.loss,
                          ")");
  });
  const double train_seconds = clock.seconds();

  // Sample with the checkpoint, as `sample` would (EMA weights when model.ema).
  FluxModel trained = make_flux_model(config.model, data.sample_shape, seed, dtype, context.device);
  run_agreed(comm, [&] { load_trained_model(checkpoint, *trained, config.model.ema); });
  const FieldNetworkImpl& field = *trained->field;
  const at::TensorOptions tensor_options = at::TensorOptions().dtype(dtype).device(context.device);
  const IdRange block = block_of(flux.samples, comm.size(), comm.rank());
  const Stopwatch sampling_clock;
  const at::Tensor samples = comm.allgather(
      sample_field(field, sampling, seed, block.begin, block.size(), tensor_options));
  const double sample_seconds = sampling_clock.seconds();

  at::Tensor nll;
  if (flux.nll_examples > 0) {
    const int64_t count = std::min<int64_t>(
        block_of(flux.nll_examples, comm.size(), comm.rank()).size(), data.x.size(0));
    DivergenceOptions divergence;
    nll = comm.allgather(nll_bits_per_dim(field, data.x.narrow(0, 0, count).to(context.device),
                                          sampling, divergence, {seed, RandomStream::hutchinson},
                                          data.first));
  }

  run_agreed(comm, [&] {
    if (!comm.is_root()) return;
    // Reference: rank 0's examples at the noise level the sampler targets (σ for Langevin on a
    // single-σ field, the data itself for the annealed samplers); the noise uses counter ids from
    // 2^40 on, beyond any data set's draws.
    const int64_t n_ref = std::min<int64_t>(flux.samples, data.x.size(0));
    at::Tensor reference = data.x.narrow(0, 0, n_ref).to(at::kDouble);
    if (sampling.kind() == FieldSamplerKind::langevin)
      reference = reference + flux.sigma * counter_normal({seed, RandomStream::exact_samples},
                                                          int64_t{1} << 40, n_ref, field.dim())
                                               .view(reference.sizes());
    const at::Tensor x = samples.to(at::kCPU, at::kDouble);
    ResultFile file(config.run.output);
    write_provenance(file, context, config, clock.seconds());
    file.set_attribute("checkpoint", checkpoint);
    file.set_attribute("sample_shape", shape_text(data.sample_shape));
    file.write_tensor("/train/loss", at::tensor(losses, at::kDouble));
    file.write_tensor("/samples/x", x);
    file.write_tensor("/reference/x", reference);
    file.write_scalar("/metrics/steps", static_cast<double>(trainer.step()));
    file.write_scalar("/metrics/train_seconds", train_seconds);
    file.write_scalar("/metrics/sample_seconds", sample_seconds);
    file.write_scalar("/metrics/mmd2", mmd2(x, reference));
    file.write_scalar("/metrics/nonfinite", (~at::isfinite(x)).sum().item<double>());
    if (nll.defined()) {
      file.write_tensor("/nll/bits_per_dim", nll.to(at::kCPU, at::kDouble));
      file.write_scalar("/metrics/nll_bpd", nll.mean().item<double>());
    }
    if (data.sample_shape == std::vector<int64_t>{2}) {
      const at::Tensor radius = x.norm(2, 1);
      file.write_scalar("/metrics/radius_mean", radius.mean().item<double>());
      file.write_scalar("/metrics/radius_std", radius.std().item<double>());
      file.write_scalar("/metrics/inner_fraction",
                        (radius < 1.0).to(at::kDouble).mean().item<double>());
      const at::Tensor ref_radius = reference.norm(2, 1);
      file.write_scalar("/metrics/reference_radius_mean", ref_radius.mean().item<double>());
      file.write_scalar("/metrics/reference_radius_std", ref_radius.std().item<double>());
      const double grid_sigma = options.noise().annealed() ? flux.sample_sigma_min : flux.sigma;
      const GridField grid = field_on_grid(field, grid_sigma, tensor_options);
      file.write_tensor("/field/points", grid.points.to(at::kCPU, at::kDouble));
      file.write_tensor("/field/values", grid.values.to(at::kCPU, at::kDouble));
      file.write_tensor("/field/curl", grid.curl.to(at::kCPU, at::kDouble));
      file.write_scalar("/metrics/mean_abs_curl", grid.curl.abs().mean().item<double>());
    }
    file.commit();
  });
  log::info("train-flux: ", trainer.step(), " steps in ", train_seconds, " s, ", flux.samples,
            " samples (", choice_name(flux.sampler, field_sampler_choices()), ") in ",
            sample_seconds, " s -> ", checkpoint, ", ", config.run.output);
}

}  // namespace jointflow
