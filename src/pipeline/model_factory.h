// Builds the velocity field and the evaluation mixture a config names.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "data/gaussian_mixture.h"
#include "distributed/communicator.h"
#include "models/velocity_field.h"
#include "pipeline/config.h"
#include "training/flux_model.h"

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace jointflow {

// The field of `model` (model.kind) on `dtype` and `device`. mlp | unet: the network of
// [flow] for samples of model.sample_shape, loaded from the train-flow checkpoint model.path
// (its EMA weights when model.ema); torchscript: the module at model.path; field: the train-flux
// checkpoint model.path, frozen, as the RF velocity of MATH §8 with t_min = 1/(1 +
// field.sigma_max).
std::unique_ptr<VelocityField> make_velocity_field(const ModelOptions& model, at::ScalarType dtype,
                                                   at::Device device);

// Collective. make_velocity_field on every rank, then the field on one probe state (zeros,
// t = 1/2) of model.sample_shape, agreed: a model that cannot be loaded or fails on its first
// call ends every rank with one error line, instead of one line per rank and an abort in the
// sampler.
std::unique_ptr<VelocityField> make_agreed_velocity_field(const ModelOptions& model,
                                                          at::ScalarType dtype, at::Device device,
                                                          Communicator& comm);

// A trainable network seen both as a module (for the Trainer) and as a velocity field.
struct FlowNetwork {
  std::shared_ptr<torch::nn::Module> module;
  const VelocityField* field = nullptr;  // the same object as `module`
};

// A fresh network of model.kind = mlp | unet with [flow]'s architecture for samples of
// `sample_shape` ({d} for mlp, {C, H, W} for unet), initialized from `seed`, on dtype/device.
// Errors name the [flow] option at fault.
FlowNetwork make_flow_network(const ModelOptions& model, const std::vector<int64_t>& sample_shape,
                              uint64_t seed, at::ScalarType dtype, at::Device device);

// A fresh FluxModel: the network of field.network (mlp | unet, architecture [flow]) for samples
// of `sample_shape`, parameterized per [field], with the horizon sampler and normalizer; the
// network initialized from `seed`, the auxiliary networks from seed + 1; on dtype and device.
FluxModel make_flux_model(const ModelOptions& model, const std::vector<int64_t>& sample_shape,
                          uint64_t seed, at::ScalarType dtype, at::Device device);

// The mixture whose metrics are computed: eval.mixture, else model.mixture for model.kind = gmm;
// none when neither names one.
std::optional<GaussianMixture> evaluation_mixture(const Config& config);

}  // namespace jointflow
