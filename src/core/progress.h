// Progress bar with rate and ETA for long loops, drawn by rank 0 on stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace jointflow {

enum class ProgressMode { automatic, on, off };  // automatic: only when stderr is a terminal

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
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

// "1h02m", "3m05s", "12.3s".
std::string format_duration(double seconds);

}  // namespace jointflow
