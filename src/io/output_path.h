// Checks of output paths before any work is done: that a file can be created there
// (check_output_path) and that no output is one of the command's inputs
// (check_outputs_are_not_inputs). The detail namespace is internal to src/io.
#pragma once

#include <string>
#include <vector>

namespace jointflow {

// Throws an Error naming `option_name` and `path` unless a file can be created there: its
// directory exists and is writable, and `path` is not a directory. Creates nothing.
void check_output_path(const std::string& path, const std::string& option_name);

// A file a command reads or writes, and the option that names it (e.g. "model.path").
struct NamedFile {
  std::string key;
  std::string path;
};

// Throws an Error naming both keys when an output is one of the inputs, or two outputs are one
// file, so that no command writes over what it reads or over its own other output. Files are
// compared by identity (device and inode, so links and other spellings of a path count) where
// both exist, else by their absolute, normalized paths. Empty paths are skipped.
void check_outputs_are_not_inputs(const std::vector<NamedFile>& inputs,
                                  const std::vector<NamedFile>& outputs);

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

// Whether the two paths name one file (see check_outputs_are_not_inputs).
bool same_file(const std::string& a, const std::string& b);

}  // namespace detail
}  // namespace jointflow
