// The binding of every Config field to its option name, default, range and help text.
#pragma once

#include "app/option_registry.h"
#include "pipeline/config.h"

namespace jointflow {

// Registers every option of `config` (which must outlive `registry`).
void register_config_options(OptionRegistry& registry, Config& config);

}  // namespace jointflow
