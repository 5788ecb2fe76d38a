// Progress bar with rate and ETA for long loops, drawn by rank 0 on stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace jointflow {

// automatic: a bar on a terminal, else a line every 30 s; on: the same, every 5 s off a terminal.
enum class ProgressMode { automatic, on, off };

class ProgressBar {
 public:
  // `total` units of work (steps, sets, batches); `enabled` is decided by the caller (rank 0).
  ProgressBar(std::string label, int64_t total, ProgressMode mode, bool is_root);
  ~ProgressBar();
  // Reports that `done` units are complete; `note` is appended (e.g. "loss 0.123").
  void update(int64_t done, const std::string& note = "");
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void draw(int64_t done, const std::string& note, bool final_line);

  std::string label_;
  int64_t total_;
  bool enabled_;
  bool terminal_;
  bool finished_ = false;
  double interval_seconds_ = 0.0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

// "1h02m", "3m05s", "12.3s".
std::string format_duration(double seconds);
// Units of work per second: "41.2/s"; below one a second, the time per unit: "2.5s each".
std::string format_rate(double per_second);

}  // namespace jointflow
