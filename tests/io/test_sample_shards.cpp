// Per-rank sample shards stitched by virtual datasets, at 1, 2 and 3 ranks: the main file shows
// the global rows in order whatever the rank count, and stays readable when moved.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "distributed/mpi_communicator.h"
#include "distributed/partition.h"
#include "io/python_check.h"
#include "io/result_file.h"
#include "io/sample_shards.h"
#include "support/tempdir.h"

namespace jointflow {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

// Three batches of global rows; the middle one is smaller than the largest rank count, so some
// ranks hold no rows of it.
const std::vector<int64_t> kBatchSizes{7, 2, 11};
constexpr int64_t kTotalRows = 20;

// The global rows every rank count must reproduce: x[i] = 10 i + (0, 1, 2), log_w[i] = -i / 2,
// ids[i] = i², flags[i] = (i % 3 == 0).
at::Tensor expected_x() {
  return at::arange(kTotalRows, at::kDouble).unsqueeze(1) * 10 + at::arange(3, at::kDouble);
}
at::Tensor expected_log_w() { return at::arange(kTotalRows, at::kFloat) * -0.5; }
at::Tensor expected_ids() { return at::arange(kTotalRows, at::kLong).pow(2); }
at::Tensor expected_flags() { return at::arange(kTotalRows, at::kLong).remainder(3).eq(0); }

void declare_all(ShardWriter& shards) {
  shards.declare("/samples/x", at::kDouble, {3});
  shards.declare("/samples/log_w", at::kFloat);
  shards.declare("/samples/flags", at::kBool);
  shards.declare("/trajectories/ids", at::kLong);
  shards.declare("/trajectories/unused", at::kDouble, {2});  // no rank appends any row
}

// Appends this rank's part of every batch, as a sampler would; `skip_first` drops the first row
// of the last rank's first non-empty block (to make a gap).
void append_batches(ShardWriter& shards, Communicator& comm, bool skip_first = false) {
  int64_t start = 0;
  bool skipped = false;
  for (const int64_t batch : kBatchSizes) {
    IdRange mine = block_of(batch, comm.size(), comm.rank());
    mine = {start + mine.begin, start + mine.end};
    if (skip_first && !skipped && comm.rank() == comm.size() - 1 && mine.size() > 0) {
      ++mine.begin;
      skipped = true;
    }
    shards.append("/samples/x", mine.begin, expected_x().slice(0, mine.begin, mine.end));
    shards.append("/samples/log_w", mine.begin, expected_log_w().slice(0, mine.begin, mine.end));
    shards.append("/samples/flags", mine.begin, expected_flags().slice(0, mine.begin, mine.end));
    shards.append("/trajectories/ids", mine.begin, expected_ids().slice(0, mine.begin, mine.end));
    start += batch;
  }
}

// Collective. Writes "<dir>/run/out.h5" with its shards; rank 0 first leaves a stale shard of a
// larger earlier run, which stitching must remove. Returns the main file's path.
std::string write_run(Communicator& comm, const TempDir& dir) {
  const std::string main_path = dir.file("run/out.h5");
  if (comm.is_root()) {
    fs::create_directories(dir.file("run/out.h5.shards"));
    std::ofstream(dir.file("run/out.h5.shards/rank-" + std::to_string(comm.size()) + ".h5"))
        << "stale";
  }
  comm.barrier();
  ShardWriter shards(main_path, comm.rank());
  declare_all(shards);
  append_batches(shards, comm);
  std::unique_ptr<ResultFile> results;
  if (comm.is_root()) results = std::make_unique<ResultFile>(main_path);
  stitch_shards(comm, results.get(), shards);
  if (results) {
    results->set_attribute("world_size", comm.size());
    results->commit();
  }
  comm.barrier();
  return main_path;
}

// Every file below `directory`, relative to it.
std::set<std::string> files_below(const std::string& directory) {
  std::set<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(directory))
    if (entry.is_regular_file()) files.insert(fs::relative(entry.path(), directory).string());
  return files;
}

TEST(SampleShards, StitchedDatasetsHoldTheGlobalRowsInOrder) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  TempDir dir(/*shared=*/true);
  const std::string main_path = write_run(comm, dir);
  if (!comm.is_root()) return;  // rank 0 checks the files

  std::set<std::string> expected_files{"out.h5"};
  for (int r = 0; r < comm.size(); ++r)
    expected_files.insert("out.h5.shards/rank-" + std::to_string(r) + ".h5");
  EXPECT_EQ(files_below(dir.file("run")), expected_files);  // no temporary or stale file

  // The main file and its shards move together.
  fs::rename(dir.file("run"), dir.file("moved"));
  ResultReader reader(dir.file("moved/out.h5"));
  EXPECT_EQ(reader.int_attribute("world_size"), comm.size());
  const at::Tensor x = reader.read_tensor("/samples/x");
  EXPECT_EQ(x.scalar_type(), at::kDouble);
  EXPECT_TRUE(x.equal(expected_x())) << x;
  EXPECT_TRUE(reader.read_rows("/samples/x", 5, 10).equal(expected_x().slice(0, 5, 15)));
  EXPECT_TRUE(reader.read_tensor("/samples/log_w").equal(expected_log_w()));
  EXPECT_TRUE(reader.read_tensor("/samples/flags").equal(expected_flags().to(at::kByte)));
  EXPECT_TRUE(reader.read_tensor("/trajectories/ids").equal(expected_ids()));
  EXPECT_EQ(reader.shape("/trajectories/unused"), (std::vector<int64_t>{0, 2}));
}

TEST(SampleShards, H5pyReadsTheStitchedFileFromAnotherDirectory) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  TempDir dir(/*shared=*/true);
  write_run(comm, dir);
  if (!comm.is_root()) return;
  const std::string reason = testing_support::h5py_unavailable();
  if (!reason.empty()) GTEST_SKIP() << reason;

  fs::rename(dir.file("run"), dir.file("moved"));
  const std::string script = R"(
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:
    x = f["samples/x"]
    assert x.is_virtual and x.shape == (20, 3), (x.is_virtual, x.shape)
    assert all(not name.startswith("/") for name in (s.file_name for s in x.virtual_sources()))
    assert np.array_equal(x[...], np.arange(20.0)[:, None] * 10 + np.arange(3.0))
    assert np.array_equal(f["samples/log_w"][...], np.arange(20, dtype=np.float32) * -0.5)
    assert np.array_equal(f["samples/flags"][...], (np.arange(20) % 3 == 0).astype(np.uint8))
    assert np.array_equal(f["trajectories/ids"][...], np.arange(20) ** 2)
    assert f["trajectories/unused"].shape == (0, 2)
print("h5py ok")
)";
  // From the root directory with an absolute path, and from the parent with a relative one.
  for (const auto& [cwd, path] : std::vector<std::pair<std::string, std::string>>{
           {"/", dir.file("moved/out.h5")}, {dir.path(), "moved/out.h5"}}) {
    const auto result = testing_support::run_python(dir.file("check.py"), script, path, cwd);
    EXPECT_EQ(result.status, 0) << "cwd " << cwd << ": " << result.output;
    EXPECT_NE(result.output.find("h5py ok"), std::string::npos) << result.output;
  }
}

// Runs `action`, which must throw the same collective Error on every rank, containing `part`.
template <typename Action>
void expect_collective_error(Action action, const std::string& part) {
  try {
    action();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& error) {
    EXPECT_TRUE(error.collective()) << error.what();
    EXPECT_NE(std::string(error.what()).find(part), std::string::npos) << error.what();
  }
}

TEST(SampleShards, AGapIsACollectiveErrorAndLeavesNoFile) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  TempDir dir(/*shared=*/true);
  const std::string main_path = dir.file("gap.h5");
  {
    ShardWriter shards(main_path, comm.rank());
    declare_all(shards);
    append_batches(shards, comm, /*skip_first=*/true);
    std::unique_ptr<ResultFile> results;
    if (comm.is_root()) results = std::make_unique<ResultFile>(main_path);
    expect_collective_error([&] { stitch_shards(comm, results.get(), shards); },
                            "dataset '/samples/x' has no rows [");
  }
  comm.barrier();
  EXPECT_TRUE(fs::is_empty(dir.path()));  // neither shards, nor their directory, nor gap.h5
}

TEST(SampleShards, AnOverlapIsACollectiveError) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  if (comm.size() < 2) GTEST_SKIP() << "an overlap between ranks needs at least 2 ranks";
  TempDir dir(/*shared=*/true);
  ShardWriter shards(dir.file("overlap.h5"), comm.rank());
  shards.declare("/samples/log_w", at::kFloat);
  const IdRange mine = block_of(kTotalRows, comm.size(), comm.rank());
  const int64_t end = std::min(mine.end + 1, kTotalRows);  // one row into the next rank's block
  shards.append("/samples/log_w", mine.begin, expected_log_w().slice(0, mine.begin, end));
  std::unique_ptr<ResultFile> results;
  if (comm.is_root()) results = std::make_unique<ResultFile>(dir.file("overlap.h5"));
  expect_collective_error([&] { stitch_shards(comm, results.get(), shards); },
                          "were also appended by another rank");
}

TEST(SampleShards, DifferentDeclarationsAreACollectiveError) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  if (comm.size() < 2) GTEST_SKIP() << "a disagreement needs at least 2 ranks";
  TempDir dir(/*shared=*/true);
  ShardWriter shards(dir.file("declared.h5"), comm.rank());
  shards.declare("/samples/x", at::kDouble, {comm.rank() == 1 ? 4 : 3});
  std::unique_ptr<ResultFile> results;
  if (comm.is_root()) results = std::make_unique<ResultFile>(dir.file("declared.h5"));
  expect_collective_error([&] { stitch_shards(comm, results.get(), shards); },
                          "rank 1 declared other datasets");
}

TEST(SampleShards, RankZeroMustPassTheMainFile) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  TempDir dir(/*shared=*/true);
  ShardWriter shards(dir.file("main.h5"), comm.rank());
  shards.declare("/samples/log_w", at::kFloat);
  expect_collective_error([&] { stitch_shards(comm, nullptr, shards); },
                          "rank 0 passes the main results file");
}

}  // namespace
}  // namespace jointflow
