// The files each command reads and writes, with the options that name them, so that a command
// can refuse to write over its own inputs before any work is done.
#pragma once

#include <string>
#include <vector>

#include "io/output_path.h"
#include "pipeline/config.h"

namespace jointflow {

struct CommandFiles {
  std::vector<NamedFile> inputs;
  std::vector<NamedFile> outputs;
};

// The files `command` (e.g. "train-flow") reads and writes under `config`; `config_file` is the
// --config file ("" when none). Paths are as the options give them; merge.inputs is expanded.
CommandFiles command_files(const std::string& command, const Config& config,
                           const std::string& config_file);

// merge.inputs: comma-separated paths or glob patterns, each pattern's matches sorted, in the
// order given (a pattern without matches stays as written, so that opening it names it).
std::vector<std::string> merge_input_paths(const std::string& inputs);

}  // namespace jointflow
