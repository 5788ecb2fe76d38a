// Mixed precision for one region of code, as torch.autocast: while an AutocastScope lives, the
// operations LibTorch's autocast lists (matmul, linear, convolution, …) run on `device` in a lower
// precision, the rest in float32; parameters, gradients and optimizer state stay float32.
#pragma once

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include "core/choice.h"

namespace jointflow {

// off: float32 throughout; bf16: autocast to bfloat16 (GPU; on CPU where LibTorch has kernels).
enum class AutocastMode { off, bf16 };
const ChoiceTable<AutocastMode>& autocast_choices();

class AutocastScope {
 public:
  // Enables autocast on `device` (CPU or CUDA) for `mode` = bf16 and remembers the previous
  // state; does nothing for off. Throws an Error for another device type.
  AutocastScope(c10::DeviceType device, AutocastMode mode);
  // Restores the previous state and, leaving the outermost scope, clears autocast's weight cache.
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

}  // namespace jointflow
