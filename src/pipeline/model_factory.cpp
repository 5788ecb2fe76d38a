#include "pipeline/model_factory.h"

#include <ATen/Context.h>

#include "core/error.h"
#include "models/mixture_flow.h"

namespace jointflow {

std::unique_ptr<VelocityField> make_velocity_field(const ModelOptions& model, at::ScalarType dtype,
                                                   at::Device device) {
  switch (model.kind) {
    case ModelKind::gmm:
      return std::make_unique<MixtureFlow>(named_mixture(model.mixture, "model.mixture"), dtype,
                                           device);
  }
  throw Error("internal: unknown model.kind");
}

std::optional<GaussianMixture> evaluation_mixture(const Config& config) {
  if (!config.eval.mixture.empty()) return named_mixture(config.eval.mixture, "eval.mixture");
  if (config.model.kind == ModelKind::gmm) return named_mixture(config.model.mixture, "model.mixture");
  return std::nullopt;
}

at::Device rank_device(const RunOptions& run, int local_rank) {
  if (run.device == DeviceKind::cpu) return at::kCPU;
  JF_CHECK(at::hasCUDA(), "run.device = cuda, but this jointflow was built without CUDA or no GPU ",
           "is visible; use run.device = cpu");
  return {at::kCUDA, static_cast<c10::DeviceIndex>(local_rank)};
}

}  // namespace jointflow
