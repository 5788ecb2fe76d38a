// jointflow: joint sampling with importance weights and Flux Matching on MPI ranks.
#include <mpi.h>

#include <exception>
#include <string>
#include <vector>

#include "app/commands.h"
#include "core/error.h"
#include "core/log.h"

int main(int argc, char** argv) {
  namespace log = jointflow::log;
  namespace detail = jointflow::detail;
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  log::configure(rank, log::Level::info);

  int status = 1;
  bool collective = true;
  std::string message;
  try {
    status = jointflow::run_command({argv + 1, argv + argc}, MPI_COMM_WORLD);
  } catch (const jointflow::Interrupted& stopped) {
    if (rank == 0) log::write_stderr(std::string("jointflow: stopped: ") + stopped.what() + '\n');
    MPI_Finalize();
    return jointflow::kInterruptedStatus;
  } catch (const jointflow::Error& error) {
    message = error.what();
    collective = error.collective();
  } catch (const std::exception& error) {
    message = std::string("unexpected failure: ") + error.what();
    collective = false;
  }
  if (!message.empty()) {
    // Errors raised identically on every rank end cleanly; any other error on one rank cannot be
    // agreed on (the others may wait in a collective), so it aborts the whole job.
    if (collective) {
      if (rank == 0) log::write_stderr("jointflow: error: " + message + '\n');
    } else {
      log::write_stderr(detail::concat("jointflow: error on rank ", rank, ": ", message, '\n'));
      if (size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    }
    status = 1;
  }
  MPI_Finalize();
  return status;
}
