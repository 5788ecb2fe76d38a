// Where a command writes when run.output is not given: a fresh run folder per run, never the
// working directory's loose files.
#pragma once

#include <string>

#include "distributed/communicator.h"

namespace jointflow {

// The default parent of run folders, relative to the working directory (ignored by git).
inline constexpr const char* kRunsDirectory = "runs";

// Collective. Creates runs/<command>-<UTC yyyymmdd-HHMMSS>[-n]/ on rank 0 (n counts up past
// folders that already exist) and returns <that folder>/<command>.h5, the same on every rank.
std::string make_run_folder_output(const std::string& command, Communicator& comm);

}  // namespace jointflow
