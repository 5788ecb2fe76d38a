// ShardWriter on one rank: declarations, block bookkeeping, atomic shards and a one-rank stitch.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "distributed/local_communicator.h"
#include "io/result_file.h"
#include "io/sample_shards.h"
#include "support/tempdir.h"

namespace jointflow {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

// Runs `action`, which must throw an Error whose message contains `part`.
template <typename Action>
void expect_error(Action action, const std::string& part) {
  try {
    action();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(part), std::string::npos) << error.what();
  }
}

at::Tensor rows(int64_t first, int64_t count) {
  return at::arange(first * 2, (first + count) * 2, at::kDouble).reshape({count, 2});
}

TEST(ShardWriter, RejectsBadDeclarationsAndAppends) {
  TempDir dir;
  ShardWriter shards(dir.file("out.h5"), 0);
  shards.declare("/samples/x", at::kDouble, {2});
  expect_error([&] { shards.declare("/samples/x", at::kDouble, {2}); }, "declared before");
  expect_error([&] { shards.declare("/samples/h", at::kHalf); }, "is not one of");
  expect_error([&] { shards.declare("/samples/z", at::kFloat, {0}); }, "must be positive");
  expect_error([&] { shards.append("/samples/y", 0, rows(0, 1)); },
               "'/samples/y' was not declared");
  expect_error([&] { shards.append("/samples/x", 0, rows(0, 1).to(at::kFloat)); }, "do not match");
  expect_error(
      [&] {
        shards.append("/samples/x", 0, at::zeros({1, 3}, at::kDouble));
      },
      "do not match");
  shards.append("/samples/x", 4, rows(4, 2));
  expect_error([&] { shards.append("/samples/x", 5, rows(5, 1)); }, "increasing order");
}

TEST(ShardWriter, MergesAdjacentBlocks) {
  TempDir dir;
  ShardWriter shards(dir.file("out.h5"), 0);
  shards.declare("/samples/x", at::kDouble, {2});
  shards.append("/samples/x", 0, rows(0, 3));
  shards.append("/samples/x", 3, rows(3, 2));
  shards.append("/samples/x", 7, rows(7, 0));
  shards.append("/samples/x", 8, rows(8, 2));
  const std::vector<ShardBlock>& blocks = shards.datasets().at(0).blocks;
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(
      (std::vector<int64_t>{blocks[0].global_first_row, blocks[0].rows, blocks[0].shard_first_row}),
      (std::vector<int64_t>{0, 5, 0}));
  EXPECT_EQ(
      (std::vector<int64_t>{blocks[1].global_first_row, blocks[1].rows, blocks[1].shard_first_row}),
      (std::vector<int64_t>{8, 2, 5}));
}

TEST(ShardWriter, AnUncommittedShardLeavesNothing) {
  TempDir dir;
  {
    ShardWriter shards(dir.file("out.h5"), 3);
    shards.declare("/samples/x", at::kDouble, {2});
    shards.append("/samples/x", 0, rows(0, 10));
    EXPECT_EQ(shards.final_path(), dir.file("out.h5.shards/rank-3.h5"));
    EXPECT_EQ(shards.relative_name(), "out.h5.shards/rank-3.h5");
    EXPECT_FALSE(fs::exists(shards.final_path()));
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(ShardWriter, MissingDirectoryNamesTheShardDirectory) {
  TempDir dir;
  expect_error([&] { ShardWriter shards(dir.file("no/out.h5"), 0); },
               "cannot create shard directory '" + dir.file("no/out.h5.shards") + "'");
}

TEST(ShardWriter, OneRankStitchReadsBackTheRows) {
  TempDir dir;
  LocalCommunicator comm;
  const std::string main_path = dir.file("out.h5");
  ShardWriter shards(main_path, 0);
  shards.declare("/samples/x", at::kDouble, {2});
  shards.append("/samples/x", 0, rows(0, 4));
  shards.append("/samples/x", 4, rows(4, 3));
  ResultFile results(main_path);
  stitch_shards(comm, &results, shards);
  EXPECT_TRUE(fs::exists(shards.final_path()));
  results.commit();
  EXPECT_TRUE(ResultReader(main_path).read_tensor("/samples/x").equal(rows(0, 7)));
}

}  // namespace
}  // namespace jointflow
