// What every pipeline stage receives besides its Config.
#pragma once

#include <functional>
#include <string>

#include <c10/core/Device.h>

#include "dist/communicator.h"
#include "pipeline/config.h"

namespace jointflow {

struct StageContext {
  Communicator& comm;
  c10::Device device;
  std::string command;  // the subcommand the user ran, e.g. "sample"
  // The resolved INI text of a config (every option), recorded in each results file.
  std::function<std::string(const Config&)> describe;
};

}  // namespace jointflow
