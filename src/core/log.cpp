#include "core/log.h"

#include <iostream>

namespace jointflow::log {
namespace {
int g_rank = 0;
Level g_level = Level::info;
}  // namespace

void configure(int rank, Level level) {
  g_rank = rank;
  g_level = level;
}
int rank() { return g_rank; }
bool enabled(Level level) {
  return g_rank == 0 && static_cast<int>(g_level) >= static_cast<int>(level);
}

void write_info(const std::string& line) { std::cout << line << '\n' << std::flush; }
void write_debug(const std::string& line) { std::cerr << "[debug] " << line << '\n' << std::flush; }
void write_warning(const std::string& line) {
  std::cerr << "jointflow: warning (rank " << g_rank << "): " << line << '\n' << std::flush;
}

}  // namespace jointflow::log
