// What every pipeline stage receives besides its Config.
#pragma once

#include <functional>
#include <string>

#include <c10/core/Device.h>

#include "distributed/communicator.h"
#include "pipeline/config.h"

namespace jointflow {

struct StageContext {
  Communicator& comm;
  c10::Device device;
  std::string command;  // the subcommand the user ran, e.g. "sample"
  // The resolved INI text of a config (every option), recorded in each results file.
  std::function<std::string(const Config&)> describe;
  // The Config of a resolved INI text (as `describe` writes it), options checked as usual.
  std::function<Config(const std::string&)> parse_config;
  // Whether this process was asked to stop (SIGTERM, SIGUSR1); stages agree on it collectively
  // at batch and step boundaries, checkpoint and raise Interrupted.
  std::function<bool()> stop_requested = [] { return false; };
};

}  // namespace jointflow
