#include <gtest/gtest.h>

#include "core/progress.h"

namespace jointflow {
namespace {

TEST(FormatDuration, UsesSecondsMinutesAndHours) {
  EXPECT_EQ(format_duration(12.34), "12.3s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
}

TEST(FormatRate, UsesUnitsPerSecondOrSecondsPerUnit) {
  EXPECT_EQ(format_rate(41.234), "41.2/s");
  EXPECT_EQ(format_rate(1.0), "1/s");
  EXPECT_EQ(format_rate(0.4), "2.5s each");
}

TEST(ProgressBar, PrintsNothingWhenOffOrNotRoot) {
  testing::internal::CaptureStderr();
  {
    ProgressBar off("x", 10, ProgressMode::off, true);
    off.update(5);
    ProgressBar other_rank("y", 10, ProgressMode::on, false);
    other_rank.update(10);
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(ProgressBar, ReportsCompletionWhenForcedOn) {
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("sampling", 4, ProgressMode::on, true);
    bar.update(4, "done");
  }
  const std::string text = testing::internal::GetCapturedStderr();
  EXPECT_NE(text.find("sampling"), std::string::npos);
  EXPECT_NE(text.find("4/4"), std::string::npos);
  EXPECT_NE(text.find("done"), std::string::npos);
  EXPECT_NE(text.find("/s"), std::string::npos) << text;
}

TEST(ProgressBar, WritesLogLinesByDefaultOffATerminal) {
  // ctest runs with stderr on a pipe: automatic mode writes plain lines there.
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("training", 3, ProgressMode::automatic, true);
    bar.update(3, "loss 0.5");
  }
  const std::string text = testing::internal::GetCapturedStderr();
  EXPECT_NE(text.find("training 3/3"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
}

}  // namespace
}  // namespace jointflow
