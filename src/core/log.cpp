#include "core/log.h"

#include <unistd.h>

#include <cerrno>
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
void write_debug(const std::string& line) { write_stderr("[debug] " + line + '\n'); }
void write_warning(const std::string& line) {
  write_stderr(detail::concat("jointflow: warning (rank ", g_rank, "): ", line, '\n'));
}

void write_stderr(const std::string& text) {
  std::cerr.flush();
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t count = ::write(STDERR_FILENO, text.data() + written, text.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return;  // standard error is gone: nothing else can report it
    written += static_cast<size_t>(count);
  }
}

}  // namespace jointflow::log
