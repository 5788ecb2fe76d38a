#include "pipeline/model_factory.h"

#include <ATen/Context.h>
#include <torch/nn/module.h>

#include <utility>

#include "core/error.h"
#include "models/mixture_flow.h"
#include "models/mlp_velocity.h"
#include "models/torchscript_velocity.h"
#include "models/unet_velocity.h"
#include "pipeline/run_train_flux.h"
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

// "1,2,2" → {1, 2, 2}; "" → {}.
std::vector<int64_t> optional_list(const std::string& key, const std::string& text) {
  return text.empty() ? std::vector<int64_t>{} : parse_integer_list(key, text);
}

// The checkpoint of train-flow loaded into the network that [flow] and model.sample_shape
// describe, its parameters frozen.
std::unique_ptr<VelocityField> load_trained_flow(const ModelOptions& model, at::ScalarType dtype,
                                                 at::Device device) {
  const std::string kind = choice_name(model.kind, model_kind_choices());
  JF_CHECK(!model.path.empty(), "model.kind = ", kind,
           " needs model.path: the checkpoint written by `jointflow train-flow`");
  const std::vector<int64_t> shape = model_sample_shape(model);
  JF_CHECK(!shape.empty(), "model.kind = ", kind,
           " needs model.sample_shape: the shape of the samples the flow was trained on (e.g. 8 "
           "or 1,28,28)");
  FlowNetwork network = make_flow_network(model, shape, 0, dtype, device);
  try {
    load_trained_model(model.path, *network.module, model.ema);
  } catch (const Error& error) {
    throw Error(detail::concat(error.what(), " (model.kind = ", kind,
                               ": [flow], model.sample_shape and run.dtype must be those of "
                               "training", model.ema ? "; model.ema = true needs "
                                                       "train.ema_decay > 0 in training" : "",
                               ")"));
  }
  for (at::Tensor parameter : network.module->parameters()) parameter.requires_grad_(false);
  return std::make_unique<TrainedFlow>(std::move(network));
}

}  // namespace

std::vector<int64_t> model_sample_shape(const ModelOptions& model) {
  const std::vector<int64_t> shape = optional_list("model.sample_shape", model.sample_shape);
  for (const int64_t extent : shape)
    JF_CHECK(extent > 0, "model.sample_shape = '", model.sample_shape,
             "' must hold positive extents");
  return shape;
}

FlowNetwork make_flow_network(const ModelOptions& model, const std::vector<int64_t>& sample_shape,
                              uint64_t seed, at::ScalarType dtype, at::Device device) {
  const FlowOptions& flow = model.flow;
  FlowNetwork network;
  switch (model.kind) {
    case ModelKind::mlp: {
      JF_CHECK(sample_shape.size() == 1, "model.kind = mlp needs vector samples, got a shape of ",
               sample_shape.size(), " extents; use model.kind = unet for images");
      MlpVelocityOptions options(sample_shape[0]);
      options.hidden(parse_integer_list("flow.hidden", flow.hidden))
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
      UNetVelocityOptions options(sample_shape);
      options.channels(flow.channels)
          .channel_multipliers(parse_integer_list("flow.channel_multipliers",
                                                  flow.channel_multipliers))
          .attention_levels(optional_list("flow.attention_levels", flow.attention_levels))
          .res_blocks(flow.res_blocks)
          .groups(flow.groups)
          .heads(flow.heads)
          .seed(seed);
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
      return std::make_unique<TorchScriptVelocity>(model.path, model_sample_shape(model), dtype,
                                                   device);
    case ModelKind::field:
      return load_field_velocity(model, dtype, device);
  }
  throw Error("internal: unknown model.kind");
}

std::optional<GaussianMixture> evaluation_mixture(const Config& config) {
  if (!config.eval.mixture.empty()) return named_mixture(config.eval.mixture, "eval.mixture");
  if (config.model.kind == ModelKind::gmm) return named_mixture(config.model.mixture, "model.mixture");
  return std::nullopt;
}

TestFunction make_test_function(const EstimateOptions& options) {
  TestFunction f;
  f.kind = options.function;
  if (!options.box_low.empty()) f.box_low = parse_real_list("estimate.box_low", options.box_low);
  if (!options.box_high.empty())
    f.box_high = parse_real_list("estimate.box_high", options.box_high);
  f.moment_dim = options.moment_dim;
  f.moment_power = options.moment_power;
  return f;
}

at::Device rank_device(const RunOptions& run, int local_rank) {
  if (run.device == DeviceKind::cpu) return at::kCPU;
  JF_CHECK(at::hasCUDA(), "run.device = cuda, but this jointflow was built without CUDA or no GPU ",
           "is visible; use run.device = cpu");
  // More ranks than GPUs on a node share them round-robin (then run.comm = auto picks MPI).
  return {at::kCUDA, static_cast<c10::DeviceIndex>(local_rank % at::getNumGPUs())};
}

}  // namespace jointflow
