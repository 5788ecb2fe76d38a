// Failing together: turn an error seen on some ranks into the same error on every rank.
#pragma once

#include <functional>

#include "distributed/communicator.h"

namespace jointflow {

// Collective. Runs `action` on every rank. If it throws a jointflow::Error (or std::exception) on
// any rank, every rank throws a collective jointflow::Error carrying the message of the lowest
// failing rank (prefixed "rank r: " when the world has more than one rank), so that all ranks
// exit cleanly instead of hanging in the next collective. Exceptions not derived from
// std::exception propagate unchanged, without agreement.
void run_agreed(Communicator& comm, const std::function<void()>& action);

}  // namespace jointflow
