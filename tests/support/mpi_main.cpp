// GoogleTest main for every test executable: MPI is initialized (one rank when run directly);
// rank 0 prints the usual report, other ranks print only their failures. When every test that
// ran was skipped on every rank (no GPU, too few ranks, a missing package), rank 0 prints
// kAllSkippedMarker with the first reason, and ctest reports the executable as skipped
// (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt), not passed.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <string>

namespace {

class FailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (result.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: failure\n%s\n", rank_,
                   result.file_name() ? result.file_name() : "?", result.line_number(),
                   result.summary());
  }

 private:
  int rank_;
};

constexpr const char* kAllSkippedMarker = "jointflow-tests: every test skipped";

// The message of the first skipped test, for the skip line.
std::string first_skip_reason(const testing::UnitTest& unit) {
  for (int s = 0; s < unit.total_test_suite_count(); ++s) {
    const testing::TestSuite& suite = *unit.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t) {
      const testing::TestResult& result = *suite.GetTestInfo(t)->result();
      for (int p = 0; p < result.total_part_count(); ++p) {
        const testing::TestPartResult& part = result.GetTestPartResult(p);
        if (part.skipped())
          return suite.name() + std::string(".") + suite.GetTestInfo(t)->name() + ": " +
                 part.message();
      }
    }
  }
  return "no reason given";
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  const int local_failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&local_failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  const testing::UnitTest& unit = *testing::UnitTest::GetInstance();
  int all_skipped =
      unit.test_to_run_count() > 0 && unit.skipped_test_count() == unit.test_to_run_count();
  MPI_Allreduce(MPI_IN_PLACE, &all_skipped, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (rank == 0 && all_skipped && !any_failed)
    std::printf("%s (%s)\n", kAllSkippedMarker, first_skip_reason(unit).c_str());
  MPI_Finalize();
  return any_failed;
}
