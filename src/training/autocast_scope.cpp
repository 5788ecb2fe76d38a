#include "training/autocast_scope.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "core/error.h"

namespace jointflow {

namespace {

// LibTorch 2.4 made autocast's state per device type; 1.13 has one setter per backend.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool is_enabled(c10::DeviceType device) { return at::autocast::is_autocast_enabled(device); }
void set_enabled(c10::DeviceType device, bool enabled) {
  at::autocast::set_autocast_enabled(device, enabled);
}
c10::ScalarType dtype(c10::DeviceType device) { return at::autocast::get_autocast_dtype(device); }
void set_dtype(c10::DeviceType device, c10::ScalarType type) {
  at::autocast::set_autocast_dtype(device, type);
}
#else
bool is_enabled(c10::DeviceType device) {
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled()
                                         : at::autocast::is_cpu_enabled();
}
void set_enabled(c10::DeviceType device, bool enabled) {
  if (device == c10::DeviceType::CUDA)
    at::autocast::set_enabled(enabled);
  else
    at::autocast::set_cpu_enabled(enabled);
}
c10::ScalarType dtype(c10::DeviceType device) {
  return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
}
void set_dtype(c10::DeviceType device, c10::ScalarType type) {
  if (device == c10::DeviceType::CUDA)
    at::autocast::set_autocast_gpu_dtype(type);
  else
    at::autocast::set_autocast_cpu_dtype(type);
}
#endif

}  // namespace

const ChoiceTable<AutocastMode>& autocast_choices() {
  static const ChoiceTable<AutocastMode> table{{"off", AutocastMode::off},
                                               {"bf16", AutocastMode::bf16}};
  return table;
}

AutocastScope::AutocastScope(c10::DeviceType device, AutocastMode mode) : device_(device) {
  if (mode == AutocastMode::off) return;
  JF_CHECK(device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA,
           "bf16 autocast runs on CPU or CUDA, not on ", c10::DeviceTypeName(device));
  was_enabled_ = is_enabled(device);
  previous_dtype_ = dtype(device);
  set_enabled(device, true);
  set_dtype(device, c10::ScalarType::BFloat16);
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_enabled(device_, was_enabled_);
  set_dtype(device_, previous_dtype_);
}

}  // namespace jointflow
