#include "pipeline/model_factory.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>

#include <utility>

#include "core/error.h"
#include "core/list_text.h"
#include "distributed/agreement.h"
#include "models/mixture_flow.h"
#include "models/mlp_velocity.h"
#include "models/noise_conditional_velocity.h"
#include "models/torchscript_velocity.h"
#include "models/unet_velocity.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

// A trained network behind the VelocityField interface; owns it.
class TrainedFlow final : public VelocityField {
 public:
  explicit TrainedFlow(FlowNetwork network) : network_(std::move(network)) {}
  at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const override {
    return network_.field->velocity(x, t);
  }
  std::vector<int64_t> sample_shape() const override { return network_.field->sample_shape(); }

 private:
  FlowNetwork network_;
};

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

// model.kind = field: the train-flux checkpoint as the RF velocity of MATH §8.
std::unique_ptr<VelocityField> load_field_velocity(const ModelOptions& model, at::ScalarType dtype,
                                                   at::Device device) {
  JF_CHECK(!model.path.empty(),
           "model.kind = field needs model.path: the checkpoint written by `jointflow train-flux`");
  JF_CHECK(!model.sample_shape.empty(),
           "model.kind = field needs model.sample_shape: the shape of the samples ",
           "the field was trained on (e.g. 2 or 1,8,8)");
  FluxModel flux = make_flux_model(model, model.sample_shape, 0, dtype, device);
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

// The checkpoint of train-flow loaded into the network that [flow] and model.sample_shape
// describe, its parameters frozen.
std::unique_ptr<VelocityField> load_trained_flow(const ModelOptions& model, at::ScalarType dtype,
                                                 at::Device device) {
  const std::string kind = choice_name(model.kind, model_kind_choices());
  JF_CHECK(!model.path.empty(), "model.kind = ", kind,
           " needs model.path: the checkpoint written by `jointflow train-flow`");
  const std::vector<int64_t>& shape = model.sample_shape;
  JF_CHECK(!shape.empty(), "model.kind = ", kind,
           " needs model.sample_shape: the shape of the samples the flow was trained on (e.g. 8 "
           "or 1,28,28)");
  FlowNetwork network = make_flow_network(model, shape, 0, dtype, device);
  try {
    load_trained_model(model.path, *network.module, model.ema);
  } catch (const Error& error) {
    throw Error(detail::concat(error.what(), " (model.kind = ", kind,
                               ": [flow], model.sample_shape and run.dtype must be those of "
                               "training",
                               model.ema ? "; model.ema = true needs "
                                           "train.ema_decay > 0 in training"
                                         : "",
                               ")"));
  }
  for (at::Tensor parameter : network.module->parameters()) parameter.requires_grad_(false);
  return std::make_unique<TrainedFlow>(std::move(network));
}

}  // namespace

FlowNetwork make_flow_network(const ModelOptions& model, const std::vector<int64_t>& sample_shape,
                              uint64_t seed, at::ScalarType dtype, at::Device device) {
  const FlowOptions& flow = model.flow;
  FlowNetwork network;
  switch (model.kind) {
    case ModelKind::mlp: {
      JF_CHECK(sample_shape.size() == 1, "model.kind = mlp needs vector samples, got a shape of ",
               sample_shape.size(), " extents; use model.kind = unet for images");
      MlpVelocityOptions options = flow.mlp;
      options.dim(sample_shape[0])
          .time_embedding(flow.frequencies > 0 ? TimeEmbedding::sinusoidal : TimeEmbedding::input)
          .frequencies(flow.frequencies > 0 ? flow.frequencies : 1)
          .seed(seed);
      options.validate("flow");
      auto mlp = std::make_shared<MlpVelocityImpl>(options);
      network.field = mlp.get();
      network.module = std::move(mlp);
      break;
    }
    case ModelKind::unet: {
      JF_CHECK(sample_shape.size() == 3,
               "model.kind = unet needs image samples {channels, height, width}, got a shape of ",
               sample_shape.size(), " extents; use model.kind = mlp for vectors");
      UNetVelocityOptions options = flow.unet;
      options.sample_shape(sample_shape).seed(seed);
      auto unet = std::make_shared<UNetVelocityImpl>(options);
      network.field = unet.get();
      network.module = std::move(unet);
      break;
    }
    default:
      throw Error(detail::concat("model.kind = ", choice_name(model.kind, model_kind_choices()),
                                 " is not a trainable flow; train-flow trains mlp or unet"),
                  /*collective=*/true);
  }
  network.module->to(device, dtype);
  return network;
}

FluxModel make_flux_model(const ModelOptions& model, const std::vector<int64_t>& sample_shape,
                          uint64_t seed, at::ScalarType dtype, at::Device device) {
  const FieldOptions& field = model.field;
  JF_CHECK(field.network == ModelKind::mlp || field.network == ModelKind::unet,
           "field.network = ", choice_name(field.network, model_kind_choices()),
           " must be mlp or unet");
  ModelOptions network_options = model;
  network_options.kind = field.network;
  FlowNetwork network = make_flow_network(network_options, sample_shape, seed, dtype, device);
  field.network_options.validate("field");
  FluxModel flux(FieldNetwork(std::move(network.module), network.field, field.network_options),
                 seed + 1);
  flux->to(device, dtype);
  return flux;
}

std::unique_ptr<VelocityField> make_velocity_field(const ModelOptions& model, at::ScalarType dtype,
                                                   at::Device device) {
  switch (model.kind) {
    case ModelKind::gmm:
      return std::make_unique<MixtureFlow>(named_mixture(model.mixture, "model.mixture"), dtype,
                                           device);
    case ModelKind::mlp:
    case ModelKind::unet:
      return load_trained_flow(model, dtype, device);
    case ModelKind::torchscript:
      JF_CHECK(!model.path.empty(),
               "model.kind = torchscript needs model.path: a file saved with torch.jit.save");
      return std::make_unique<TorchScriptVelocity>(model.path, model.sample_shape, dtype, device);
    case ModelKind::field:
      return load_field_velocity(model, dtype, device);
  }
  throw Error("internal: unknown model.kind");
}

std::unique_ptr<VelocityField> make_agreed_velocity_field(const ModelOptions& model,
                                                          at::ScalarType dtype, at::Device device,
                                                          Communicator& comm) {
  std::unique_ptr<VelocityField> field;
  run_agreed(comm, [&] {
    field = make_velocity_field(model, dtype, device);
    std::vector<int64_t> shape{1};
    for (int64_t extent : field->sample_shape()) shape.push_back(extent);
    const at::NoGradGuard no_grad;
    const at::TensorOptions options = at::TensorOptions().dtype(dtype).device(device);
    const at::Tensor probe = at::zeros(shape, options);
    const at::Tensor v = field->velocity(probe, at::scalar_tensor(0.5, options));
    JF_CHECK(v.sizes() == probe.sizes(), "model.path = '", model.path, "': the field returned ",
             v.sizes(), " for a state of shape ", probe.sizes());
  });
  return field;
}

std::optional<GaussianMixture> evaluation_mixture(const Config& config) {
  if (!config.eval.mixture.empty()) return named_mixture(config.eval.mixture, "eval.mixture");
  if (config.model.kind == ModelKind::gmm)
    return named_mixture(config.model.mixture, "model.mixture");
  return std::nullopt;
}

}  // namespace jointflow
