// ShardWriter on one rank: declarations, block bookkeeping, atomic shards and a one-rank stitch.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "distributed/local_communicator.h"
#include "io/result_file.h"
#include "io/sample_shards.h"
#include "support/expect_error.h"
#include "support/tempdir.h"

namespace jointflow {
namespace {

using testing_support::expect_error;

namespace fs = std::filesystem;
using testing_support::TempDir;

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
               {"cannot create shard directory '" + dir.file("no/out.h5.shards") + "'"});
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

// Writes `count` rows through one shard into `main_path`; returns the shard's path.
std::string write_stitched(const std::string& main_path, int64_t count) {
  LocalCommunicator comm;
  ShardWriter shards(main_path, 0);
  shards.declare("/samples/x", at::kDouble, {2});
  shards.append("/samples/x", 0, rows(0, count));
  ResultFile results(main_path);
  stitch_shards(comm, &results, shards);
  results.commit();
  return shards.final_path();
}

// The file offset of the first chunk of `dataset_path` in `path`, and its stored size.
std::pair<haddr_t, hsize_t> first_chunk(const std::string& path, const std::string& dataset_path) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t dataset = H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT);
  hsize_t offset[2] = {0, 0}, size = 0;
  unsigned filter_mask = 0;
  haddr_t address = HADDR_UNDEF;
  const hid_t space = H5Dget_space(dataset);
  H5Dget_chunk_info(dataset, space, 0, offset, &filter_mask, &address, &size);
  H5Sclose(space);
  H5Dclose(dataset);
  H5Fclose(file);
  return {address, size};
}

TEST(ShardWriter, ATruncatedCorruptOrShortShardIsAnErrorNotZeros) {
  TempDir dir;
  const int64_t count = 4000;
  const std::string whole = dir.file("whole.h5");
  write_stitched(whole, count);
  ASSERT_TRUE(ResultReader(whole).read_tensor("/samples/x").equal(rows(0, count)));

  const std::string truncated = dir.file("truncated.h5");
  const std::string truncated_shard = write_stitched(truncated, count);
  fs::resize_file(truncated_shard, fs::file_size(truncated_shard) / 2);
  expect_error([&] { ResultReader(truncated).read_rows("/samples/x", 0, 10); },
               {"reads rows from '" + truncated_shard + "'", "truncated or corrupt"});

  // One flipped bit inside the stored (compressed) data: its chunk's checksum fails.
  const std::string flipped = dir.file("flipped.h5");
  const std::string flipped_shard = write_stitched(flipped, count);
  const auto [address, size] = first_chunk(flipped_shard, "/samples/x");
  ASSERT_NE(address, HADDR_UNDEF);
  {
    std::fstream bytes(flipped_shard, std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekg(static_cast<std::streamoff>(address + size / 2));
    const char byte = static_cast<char>(bytes.get() ^ 0x10);
    bytes.seekp(static_cast<std::streamoff>(address + size / 2));
    bytes.put(byte);
  }
  expect_error([&] { ResultReader(flipped).read_tensor("/samples/x"); }, {flipped});

  // A shard replaced by a shorter one (another run's): its missing rows are not zeros.
  const std::string short_main = dir.file("short.h5");
  const std::string short_shard = write_stitched(short_main, count);
  const std::string other = dir.file("other.h5");
  fs::copy_file(write_stitched(other, 3), short_shard, fs::copy_options::overwrite_existing);
  expect_error([&] { ResultReader(short_main).read_rows("/samples/x", 0, 2); },
               {"holds 3 rows", "rows up to 4000 are needed", "truncated"});
}

}  // namespace
}  // namespace jointflow
