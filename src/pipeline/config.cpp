#include "pipeline/config.h"

#include "core/error.h"

namespace jointflow {

const ChoiceTable<ModelKind>& model_kind_choices() {
  static const ChoiceTable<ModelKind> table{{"gmm", ModelKind::gmm},
                                            {"mlp", ModelKind::mlp},
                                            {"unet", ModelKind::unet},
                                            {"torchscript", ModelKind::torchscript},
                                            {"field", ModelKind::field}};
  return table;
}

const ChoiceTable<FluxDataKind>& flux_data_choices() {
  static const ChoiceTable<FluxDataKind> table{{"ring", FluxDataKind::ring},
                                               {"data", FluxDataKind::data}};
  return table;
}

const ChoiceTable<DeviceKind>& device_choices() {
  static const ChoiceTable<DeviceKind> table{{"cpu", DeviceKind::cpu}, {"cuda", DeviceKind::cuda}};
  return table;
}

const ChoiceTable<Precision>& precision_choices() {
  static const ChoiceTable<Precision> table{{"float32", Precision::float32},
                                            {"float64", Precision::float64}};
  return table;
}

const ChoiceTable<ProgressMode>& progress_choices() {
  static const ChoiceTable<ProgressMode> table{
      {"auto", ProgressMode::automatic}, {"on", ProgressMode::on}, {"off", ProgressMode::off}};
  return table;
}

const ChoiceTable<WeightKind>& weight_choices() {
  static const ChoiceTable<WeightKind> table{{"trajectory", WeightKind::trajectory},
                                             {"fixed", WeightKind::fixed},
                                             {"none", WeightKind::none}};
  return table;
}

const ChoiceTable<Quadrature>& quadrature_choices() {
  static const ChoiceTable<Quadrature> table{{"midpoint", Quadrature::midpoint},
                                             {"left", Quadrature::left}};
  return table;
}

const ChoiceTable<BaselinePool>& baseline_pool_choices() {
  static const ChoiceTable<BaselinePool> table{{"per_set", BaselinePool::per_set},
                                               {"pooled", BaselinePool::pooled}};
  return table;
}

void validate_config(const Config& config) {
  config.sampler.validate("sampler");
  config.estimate.divergence.validate("estimate");
  config.estimate.function.validate("estimate");
  JF_CHECK_COLLECTIVE(config.run.part < config.run.parts, "run.part = ", config.run.part,
                      " must be below run.parts = ", config.run.parts,
                      " (parts are numbered from 0)");
  JF_CHECK_COLLECTIVE(config.run.parts <= config.sampler.groups, "run.parts = ", config.run.parts,
                      " exceeds sampler.groups = ", config.sampler.groups,
                      ": some parts would be empty");
}

at::ScalarType scalar_type(Precision precision) {
  return precision == Precision::float32 ? at::kFloat : at::kDouble;
}

}  // namespace jointflow
