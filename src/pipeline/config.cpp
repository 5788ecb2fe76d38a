#include "pipeline/config.h"

namespace jointflow {

const ChoiceTable<ModelKind>& model_kind_choices() {
  static const ChoiceTable<ModelKind> table{{"gmm", ModelKind::gmm}};
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

at::ScalarType scalar_type(Precision precision) {
  return precision == Precision::float32 ? at::kFloat : at::kDouble;
}

}  // namespace jointflow
