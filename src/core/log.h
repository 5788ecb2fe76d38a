// Logging: informational lines from rank 0 only, warnings from any rank with its number.
#pragma once

#include <string>

#include "core/error.h"

namespace jointflow::log {

enum class Level { quiet = 0, info = 1, debug = 2 };

// Called once by the application after MPI is up.
void configure(int rank, Level level);
int rank();
bool enabled(Level level);

void write_info(const std::string& line);
void write_debug(const std::string& line);
void write_warning(const std::string& line);

// Writes text to standard error whole, in as few write(2) calls as the pipe allows. Lines must
// reach mpirun in one piece: glibc's fprintf writes an unbuffered stream in 128-byte pieces, and
// Open MPI 5's output forwarding has been seen to drop the first piece of a failing rank's line.
void write_stderr(const std::string& text);

// Rank 0 prints; other ranks return at once.
template <typename... Parts>
void info(const Parts&... parts) {
  if (enabled(Level::info)) write_info(detail::concat(parts...));
}
template <typename... Parts>
void debug(const Parts&... parts) {
  if (enabled(Level::debug)) write_debug(detail::concat(parts...));
}
// Every rank prints, prefixed with its rank.
template <typename... Parts>
void warning(const Parts&... parts) {
  write_warning(detail::concat(parts...));
}

}  // namespace jointflow::log
