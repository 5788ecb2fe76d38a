#include "app/run_folder.h"

#include <ATen/ATen.h>

#include <ctime>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "distributed/agreement.h"

namespace jointflow {
namespace {

namespace fs = std::filesystem;

std::string folder_name(const std::string& command, int64_t seconds, int64_t suffix) {
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &utc);
  std::string name = command + "-" + stamp;
  if (suffix > 0) name += "-" + std::to_string(suffix + 1);
  return (fs::path(kRunsDirectory) / name).string();
}

}  // namespace

std::string make_run_folder_output(const std::string& command, Communicator& comm) {
  // Rank 0 picks the time and the first free suffix and creates the folder; every rank then
  // forms the same name from the broadcast pair.
  at::Tensor chosen = at::zeros({2}, at::kLong);
  run_agreed(comm, [&] {
    if (!comm.is_root()) return;
    const int64_t seconds = static_cast<int64_t>(std::time(nullptr));
    int64_t suffix = 0;
    std::error_code error;
    while (!fs::create_directories(folder_name(command, seconds, suffix), error)) {
      JF_CHECK(!error, "cannot create the run folder '", folder_name(command, seconds, suffix),
               "': ", error.message(), "; give run.output or make '", kRunsDirectory, "' writable");
      ++suffix;
    }
    chosen[0] = seconds;
    chosen[1] = suffix;
  });
  comm.broadcast(chosen, 0);
  const std::string folder =
      folder_name(command, chosen[0].item<int64_t>(), chosen[1].item<int64_t>());
  return (fs::path(folder) / (command + ".h5")).string();
}

}  // namespace jointflow
