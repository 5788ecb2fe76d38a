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
#include "core/list_text.h"
#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "distributed/partition.h"
#include "io/result_file.h"
#include "pipeline/field_metrics.h"
#include "pipeline/model_factory.h"
#include "pipeline/provenance.h"
#include "pipeline/training_setup.h"
#include "sampling/field_samplers.h"
#include "training/field_training_closure.h"
#include "training/flux_datasets.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

// training_config_hash extended by everything the field and its objective depend on; train.steps,
// train.resume and the sampling options may change between a run and its resumption.
std::string flux_config_hash(const Config& config, const std::vector<int64_t>& sample_shape) {
  const FieldOptions& field = config.model.field;
  const FieldNetworkOptions& network = field.network_options;
  const FluxOptions& flux = config.flux;
  const FieldTrainingOptions& objective = flux.objective;
  const NoiseLevelOptions& noise = objective.noise();
  const DatasetOptions& data = config.data;
  const std::string text = detail::concat(
      training_config_hash(config), flow_architecture_text(config.model.flow),
      ";field.network=", choice_name(field.network, model_kind_choices()),
      ";field.parameterization=",
      choice_name(network.parameterization(), field_parameterization_choices()),
      ";field.sigma_data=", network.sigma_data(),
      ";field.symmetry=", choice_name(network.symmetry(), field_symmetry_choices()),
      ";flux.dataset=", choice_name(flux.dataset, flux_data_choices()),
      ";flux.ring_examples=", flux.ring_examples,
      ";flux.loss=", choice_name(objective.loss(), field_loss_choices()),
      ";flux.noise=", choice_name(noise.schedule(), noise_schedule_choices()),
      ";flux.sigma=", noise.sigma(), ";flux.edm_mean=", noise.edm_mean(),
      ";flux.edm_std=", noise.edm_std(), ";flux.sigma_min=", noise.sigma_min(),
      ";flux.sigma_max=", noise.sigma_max(),
      ";flux.horizon=", choice_name(objective.horizon(), horizon_choices()),
      ";flux.spiral=", objective.spiral(),
      ";flux.divergence=", choice_name(objective.divergence(), divergence_mode_choices()),
      ";flux.kde_batch=", objective.kde_batch(),
      ";flux.sensitivity=", choice_name(objective.sensitivity(), chain_sensitivity_choices()),
      ";data.kind=", choice_name(data.kind, dataset_kind_choices()), ";data.path=", data.path,
      ";data.classes=", list_text(data.classes), ";data.size=", data.size,
      ";data.examples=", data.examples, ";data.mixture=", data.mixture,
      ";shape=", list_text(sample_shape));
  return config_hash(text);
}

// This rank's block of flux.dataset in `dtype` on the CPU.
Dataset load_training_data(const Config& config, const Communicator& comm, at::ScalarType dtype) {
  if (config.flux.dataset == FluxDataKind::data)
    return load_dataset(training_dataset(config), comm, dtype);
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

// The sampler of the samples drawn after training: [flux]'s, with the Langevin σ of the single
// noise level and the annealed samplers' largest σ of the field.
FieldSamplerOptions field_sampler_options(const Config& config) {
  FieldSamplerOptions options = config.flux.sampler;
  options.sigma(config.flux.objective.noise().sigma()).sigma_max(config.model.field.sigma_max);
  options.validate("flux");
  return options;
}

}  // namespace

void run_train_flux(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  const std::string& checkpoint = config.model.path;
  const FluxOptions& flux = config.flux;
  const FieldTrainingOptions& options = flux.objective;
  const int64_t kde_batch = options.kde_batch();
  FieldSamplerOptions sampling;
  run_agreed(comm, [&] {
    JF_CHECK(config.model.kind == ModelKind::field, "train-flux trains model.kind = field, not ",
             choice_name(config.model.kind, model_kind_choices()));
    JF_CHECK(flux.samples >= 2, "flux.samples = ", flux.samples, " must be at least 2");
    JF_CHECK(flux.nll_examples >= 0, "flux.nll_examples = ", flux.nll_examples,
             " must be non-negative");
    options.validate("flux");
    sampling = field_sampler_options(config);
    const int64_t batch = config.train.batch_size;
    JF_CHECK(kde_batch == 0 || batch % kde_batch == 0, "flux.kde_batch = ", kde_batch,
             " must divide train.batch_size = ", batch, ": each KDE batch lies whole on one rank");
    JF_CHECK(kde_batch == 0 || batch / kde_batch >= comm.size(), "train.batch_size = ", batch,
             " holds ", batch / std::max<int64_t>(kde_batch, 1),
             " KDE batches of flux.kde_batch = ", kde_batch, " for ", comm.size(),
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
    JF_CHECK(options.spiral() == 0 || data.sample_shape == std::vector<int64_t>{2},
             "flux.spiral needs 2-D data (flux.dataset = ring)");
    model = make_flux_model(config.model, data.sample_shape, seed, dtype, context.device);
    const int64_t dim = model->field->dim();
    JF_CHECK(options.divergence() == DivergenceMode::hutchinson || dim <= kExactDivergenceMaxDim,
             "flux.divergence = exact needs ", dim,
             " backward passes a step for samples of shape [", list_text(data.sample_shape),
             "]; it accepts at most ", kExactDivergenceMaxDim,
             " numbers per sample: use flux.divergence = hutchinson");
  });

  const TrainOptions& train = config.train;
  const int64_t steps = training_steps(train, data.total);
  Trainer trainer(*model, comm, trainer_options(config, steps, checkpoint, "train-flux"),
                  flux_config_hash(config, data.sample_shape));
  if (train.resume && std::filesystem::exists(checkpoint)) trainer.resume(checkpoint);

  ShardedBatchesOptions batch_options(data.total, train.batch_size);
  batch_options.seed(seed).unit(std::max<int64_t>(kde_batch, 1));
  ShardedBatches batches(data.x.to(context.device), data.first, batch_options, comm);
  log::info("train-flux: ", choice_name(options.loss(), field_loss_choices()), " (",
            choice_name(options.noise().schedule(), noise_schedule_choices()), " σ, ",
            choice_name(options.horizon(), horizon_choices()), " horizon) on ", data.total,
            " examples of shape [", list_text(data.sample_shape), "], ", steps, " steps of ",
            train.batch_size, ", resuming at step ", trainer.step());

  FieldBatchLoss local;
  const LossClosure closure = field_training_closure(*model, batches, options, seed, &local);
  trainer.run(closure, context.stop_requested, [&](const StepStats&) {
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
      reference =
          reference + sampling.sigma() * counter_normal({seed, RandomStream::exact_samples},
                                                        int64_t{1} << 40, n_ref, field.dim())
                                             .view(reference.sizes());
    const at::Tensor x = samples.to(at::kCPU, at::kDouble);
    ResultFile file(config.run.output);
    write_provenance(file, context, config, clock.seconds());
    file.set_attribute("checkpoint", checkpoint);
    file.set_attribute("sample_shape", list_text(data.sample_shape));
    file.write_tensor("/train/loss", at::tensor(trainer.loss_history(), at::kDouble));
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
      const double grid_sigma =
          options.noise().annealed() ? sampling.sigma_min() : options.noise().sigma();
      const GridField grid = field_on_grid(field, grid_sigma, tensor_options);
      file.write_tensor("/field/points", grid.points.to(at::kCPU, at::kDouble));
      file.write_tensor("/field/values", grid.values.to(at::kCPU, at::kDouble));
      file.write_tensor("/field/curl", grid.curl.to(at::kCPU, at::kDouble));
      file.write_scalar("/metrics/mean_abs_curl", grid.curl.abs().mean().item<double>());
    }
    file.commit();
  });
  log::info("train-flux: ", trainer.step(), " steps in ", train_seconds, " s, ", flux.samples,
            " samples (", choice_name(sampling.kind(), field_sampler_choices()), ") in ",
            sample_seconds, " s -> ", checkpoint, ", ", config.run.output);
}

}  // namespace jointflow
