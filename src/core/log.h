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
