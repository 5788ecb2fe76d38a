// What every results file records about the run that wrote it (DESIGN §6, §8).
#pragma once

#include <string>

#include "dist/communicator.h"
#include "io/result_file.h"

namespace jointflow {

constexpr int64_t kSchemaVersion = 1;

struct Provenance {
  std::string command;      // e.g. "sample"
  std::string config_text;  // the resolved INI text
  int64_t seed = 0;
};

// Root attributes: config, version, git_revision, command, library versions, world_size, seed,
// schema_version and wall_time (seconds).
void write_provenance(ResultFile& file, const Provenance& provenance, const Communicator& comm,
                      double wall_time);

}  // namespace jointflow
