#include "core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/log.h"

namespace jointflow {

std::string format_duration(double seconds) {
  char buffer[32];
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buffer, sizeof buffer, "%dm%02ds", static_cast<int>(seconds / 60),
                  static_cast<int>(std::fmod(seconds, 60)));
  } else {
    std::snprintf(buffer, sizeof buffer, "%dh%02dm", static_cast<int>(seconds / 3600),
                  static_cast<int>(std::fmod(seconds, 3600) / 60));
  }
  return buffer;
}

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressMode mode, bool is_root)
    : label_(std::move(label)),
      total_(total),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(Clock::now()),
      last_draw_(start_) {
  enabled_ = is_root && total > 0 &&
             (mode == ProgressMode::on || (mode == ProgressMode::automatic && terminal_));
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t done, const std::string& note) {
  if (!enabled_ || finished_) return;
  const auto now = Clock::now();
  // Redraw at most 10 times a second on a terminal, every 5 s into a log file.
  const double interval = terminal_ ? 0.1 : 5.0;
  if (done < total_ && std::chrono::duration<double>(now - last_draw_).count() < interval) return;
  last_draw_ = now;
  draw(done, note, done >= total_);
  if (done >= total_) finished_ = true;
}

void ProgressBar::finish() {
  if (enabled_ && !finished_ && terminal_) log::write_stderr("\n");
  finished_ = true;
}

void ProgressBar::draw(int64_t done, const std::string& note, bool final_line) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(total_);
  std::ostringstream line;
  line << label_ << ' ';
  if (terminal_) {
    constexpr int width = 28;
    const int filled = static_cast<int>(fraction * width);
    line << '[' << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
  }
  line << done << '/' << total_ << ' ' << format_duration(elapsed);
  if (done > 0 && done < total_)
    line << " ETA " << format_duration(elapsed * (1 - fraction) / fraction);
  if (!note.empty()) line << "  " << note;
  if (terminal_) {
    log::write_stderr("\r" + line.str() + "\033[K" + (final_line ? "\n" : ""));
  } else {
    log::write_stderr(line.str() + '\n');
  }
}

}  // namespace jointflow
