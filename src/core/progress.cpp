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

std::string format_rate(double per_second) {
  char buffer[32];
  if (per_second >= 1.0)
    std::snprintf(buffer, sizeof buffer, "%.3g/s", per_second);
  else
    std::snprintf(buffer, sizeof buffer, "%.3gs each", 1.0 / per_second);
  return buffer;
}

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressMode mode, bool is_root)
    : label_(std::move(label)),
      total_(total),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(Clock::now()),
      last_draw_(start_) {
  enabled_ = is_root && total > 0 && mode != ProgressMode::off;
  // A bar redrawn 10 times a second on a terminal; plain lines into a log file, every 5 s when
  // asked for, every 30 s by default.
  interval_seconds_ = terminal_ ? 0.1 : mode == ProgressMode::on ? 5.0 : 30.0;
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t done, const std::string& note) {
  if (!enabled_ || finished_) return;
  const auto now = Clock::now();
  if (done < total_ && std::chrono::duration<double>(now - last_draw_).count() < interval_seconds_)
    return;
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
  if (done > 0 && elapsed > 0) line << ' ' << format_rate(static_cast<double>(done) / elapsed);
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
