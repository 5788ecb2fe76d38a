// Checks that a file can be created at an output path, before any work is done. Internal to
// src/io; other folders call check_output_path (io/result_file.h).
#pragma once

#include <string>

namespace jointflow::detail {

// "." for a bare file name, else the parent directory of `path`.
std::string directory_of(const std::string& path);

// Why no file can be created at `path`: `what` is empty when one can; `fix` is what the user can
// do besides choosing another path (may be empty).
struct PathProblem {
  std::string what;
  std::string fix;
};

PathProblem output_path_problem(const std::string& path);

// "<what>; <fix> or <alternative>", or "<what>; <alternative>" when there is no fix.
std::string describe(const PathProblem& problem, const std::string& alternative);

}  // namespace jointflow::detail
