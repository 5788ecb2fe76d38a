// Runs a Python script that checks a file with h5py, the way analysis/ reads results.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace jointflow::testing_support {

struct CommandResult {
  int status = -1;     // exit status, -1 when the command could not run
  std::string output;  // stdout and stderr
};

inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    result.output.append(buffer, count);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Empty when /usr/bin/python3 with h5py can run; otherwise the reason to skip.
inline std::string h5py_unavailable() {
  if (access("/usr/bin/python3", X_OK) != 0) return "/usr/bin/python3 is missing";
  if (run_command("/usr/bin/python3 -c 'import h5py'").status != 0)
    return "h5py is not installed for /usr/bin/python3";
  return "";
}

// Writes `script` to `script_path` and runs it as `cd <working_directory> && python3 script
// <argument>`.
inline CommandResult run_python(const std::string& script_path, const std::string& script,
                                const std::string& argument,
                                const std::string& working_directory = ".") {
  std::ofstream(script_path) << script;
  return run_command("cd '" + working_directory + "' && /usr/bin/python3 '" + script_path + "' '" +
                     argument + "'");
}

}  // namespace jointflow::testing_support
