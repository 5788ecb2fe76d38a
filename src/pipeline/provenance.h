// What every results file records about the run that wrote it (DESIGN §6, §8).
#pragma once

#include "io/result_file.h"
#include "pipeline/stage_context.h"

namespace jointflow {

constexpr int64_t kSchemaVersion = 1;

// Root attributes: config (resolved INI of `config`), command, version, git_revision, library
// versions and backends, world_size, seed, schema_version and wall_time (seconds).
void write_provenance(ResultFile& file, const StageContext& context, const Config& config,
                      double wall_time);

}  // namespace jointflow
