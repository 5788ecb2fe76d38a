// The subcommands of the jointflow executable (DESIGN §8).
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

namespace jointflow {

// Collective over `world`. Runs `jointflow <args...>` and returns the exit status; errors are
// thrown as jointflow::Error.
int run_command(const std::vector<std::string>& args, MPI_Comm world);

}  // namespace jointflow
