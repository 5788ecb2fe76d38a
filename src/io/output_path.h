// Checks that a file can be created at an output path, before any work is done
// (check_output_path; the detail namespace is internal to src/io).
#pragma once

#include <string>

namespace jointflow {

// Throws an Error naming `option_name` and `path` unless a file can be created there: its
// directory exists and is writable, and `path` is not a directory. Creates nothing.
void check_output_path(const std::string& path, const std::string& option_name);

namespace detail {

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

}  // namespace detail
}  // namespace jointflow
