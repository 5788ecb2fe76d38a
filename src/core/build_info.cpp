#include "core/build_info.h"

#include <torch/version.h>

namespace jointflow {

const char* version() { return JF_VERSION; }
const char* torch_version() { return TORCH_VERSION; }

}  // namespace jointflow
