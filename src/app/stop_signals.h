// SIGTERM and SIGUSR1 as a polite request to stop: stages checkpoint at the next batch or step
// boundary and exit with status 75 (docs/slurm.md).
#pragma once

namespace jointflow {

// Installs the handlers (idempotent).
void install_stop_signal_handlers();
// Whether SIGTERM or SIGUSR1 arrived since the start.
bool stop_signal_received();

}  // namespace jointflow
