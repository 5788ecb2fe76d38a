#include "io/output_path.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "core/error.h"

namespace jointflow {

namespace fs = std::filesystem;

namespace detail {

std::string directory_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

PathProblem output_path_problem(const std::string& path) {
  if (path.empty()) return {"no file name given", ""};
  std::error_code error;
  if (fs::is_directory(fs::status(path, error)))
    return {concat("'", path, "' is a directory"), "add a file name"};
  const std::string directory = directory_of(path);
  const fs::file_status status = fs::status(directory, error);
  if (!fs::exists(status))
    return {concat("directory '", directory, "' does not exist"), "create it"};
  if (!fs::is_directory(status)) return {concat("'", directory, "' is not a directory"), ""};
  if (access(directory.c_str(), W_OK) != 0)
    return {concat("directory '", directory, "' is not writable"), "fix its permissions"};
  return {};
}

std::string describe(const PathProblem& problem, const std::string& alternative) {
  return concat(problem.what, "; ", problem.fix.empty() ? "" : problem.fix + " or ", alternative);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  if (fs::exists(a, error) && fs::exists(b, error)) return fs::equivalent(a, b, error);
  const fs::path normal_a = fs::weakly_canonical(fs::absolute(a), error);
  const fs::path normal_b = fs::weakly_canonical(fs::absolute(b), error);
  return normal_a == normal_b;
}

}  // namespace detail

void check_output_path(const std::string& path, const std::string& option_name) {
  const detail::PathProblem problem = detail::output_path_problem(path);
  JF_CHECK(problem.what.empty(), option_name, " = '", path,
           "': ", detail::describe(problem, "change " + option_name));
}

void check_outputs_are_not_inputs(const std::vector<NamedFile>& inputs,
                                  const std::vector<NamedFile>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NamedFile& output = outputs[i];
    if (output.path.empty()) continue;
    for (const NamedFile& input : inputs)
      JF_CHECK(input.path.empty() || !detail::same_file(output.path, input.path), output.key,
               " = '", output.path, "' is the same file as ", input.key, " = '", input.path,
               "', which this command reads: writing it would destroy its input; change ",
               output.key);
    for (size_t j = 0; j < i; ++j)
      JF_CHECK(outputs[j].path.empty() || !detail::same_file(output.path, outputs[j].path),
               output.key, " = '", output.path, "' is the same file as ", outputs[j].key, " = '",
               outputs[j].path, "', which this command also writes; change one of them");
  }
}

}  // namespace jointflow
