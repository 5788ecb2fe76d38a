#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "distributed/local_communicator.h"
#include "distributed/partition.h"

namespace jointflow {
namespace {

// Blocks are contiguous, cover [0, total) exactly, differ in size by at most one, larger first.
TEST(BlockOf, CoversAllIdsWithBalancedContiguousBlocks) {
  std::vector<int64_t> totals;
  for (int64_t total = 0; total <= 40; ++total) totals.push_back(total);
  for (const int64_t total : {int64_t{97}, int64_t{1000}, int64_t{4096 * 8 + 5}, int64_t{1} << 40})
    totals.push_back(total);
  for (const int64_t total : totals) {
    for (int parts = 1; parts <= 17; ++parts) {
      int64_t expected_begin = 0;
      int64_t smallest = total, largest = 0;
      for (int part = 0; part < parts; ++part) {
        const IdRange range = block_of(total, parts, part);
        ASSERT_EQ(range.begin, expected_begin) << total << " ids, part " << part << "/" << parts;
        ASSERT_GE(range.size(), 0);
        if (part > 0) {
          ASSERT_LE(range.size(), block_of(total, parts, part - 1).size());
        }
        smallest = std::min(smallest, range.size());
        largest = std::max(largest, range.size());
        expected_begin = range.end;
      }
      EXPECT_EQ(expected_begin, total) << total << " ids in " << parts << " parts";
      EXPECT_LE(largest - smallest, 1) << total << " ids in " << parts << " parts";
    }
  }
}

TEST(BlockOf, FewerIdsThanPartsLeavesTrailingPartsEmpty) {
  EXPECT_EQ(block_of(2, 5, 0).size(), 1);
  EXPECT_EQ(block_of(2, 5, 1).size(), 1);
  EXPECT_EQ(block_of(2, 5, 2).size(), 0);
  EXPECT_EQ(block_of(2, 5, 4).begin, 2);
  EXPECT_TRUE(block_of(10, 3, 1).contains(4));
  EXPECT_FALSE(block_of(10, 3, 1).contains(8));
}

TEST(LocalCommunicator, EveryCollectiveIsTheIdentity) {
  LocalCommunicator comm;
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  EXPECT_TRUE(comm.is_root());
  EXPECT_EQ(comm.backend(), "local");
  const at::Tensor x = at::arange(6, at::kDouble).reshape({3, 2});
  EXPECT_TRUE(at::equal(comm.allgather(x), x));
  at::Tensor y = x.clone();
  comm.allreduce_sum(y);
  EXPECT_TRUE(at::equal(y, x));
  comm.allreduce_max(y);
  EXPECT_TRUE(at::equal(y, x));
  comm.broadcast(y, 0);
  EXPECT_TRUE(at::equal(y, x));
  comm.barrier();
}

}  // namespace
}  // namespace jointflow
