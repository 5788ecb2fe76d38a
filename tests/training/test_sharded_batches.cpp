// Global batches as slices of counter-based epoch permutations, on one process.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "distributed/counter_rng.h"
#include "distributed/local_communicator.h"
#include "training/sharded_batches.h"

namespace jointflow {
namespace {

TEST(ShardedBatches, ConsecutiveBatchesWalkThroughEpochPermutations) {
  // N = 10, B = 4: steps 0..4 cover positions 0..19, two epochs; step 2 straddles them.
  const ShardedBatchesOptions options = ShardedBatchesOptions(10, 4).seed(8);
  std::vector<at::Tensor> batches;
  for (int64_t s = 0; s < 5; ++s) batches.push_back(global_batch_indices(options, s));
  const at::Tensor stream = at::cat(batches);
  const RandomKey key{8, RandomStream::data_shuffle};
  EXPECT_TRUE(at::equal(stream.narrow(0, 0, 10), counter_permutation(key, 10, 0)));
  EXPECT_TRUE(at::equal(stream.narrow(0, 10, 10), counter_permutation(key, 10, 1)));
  EXPECT_FALSE(at::equal(stream.narrow(0, 0, 10), stream.narrow(0, 10, 10)));
}

TEST(ShardedBatches, BatchesLargerThanTheDataSpanSeveralEpochs) {
  const ShardedBatchesOptions options(3, 7);
  const at::Tensor batch = global_batch_indices(options, 1);  // positions 7..13: epochs 2, 3, 4
  const RandomKey key{0, RandomStream::data_shuffle};
  EXPECT_TRUE(at::equal(batch.narrow(0, 0, 2), counter_permutation(key, 3, 2).narrow(0, 1, 2)));
  EXPECT_TRUE(at::equal(batch.narrow(0, 2, 3), counter_permutation(key, 3, 3)));
  EXPECT_TRUE(at::equal(batch.narrow(0, 5, 2), counter_permutation(key, 3, 4).narrow(0, 0, 2)));
}

TEST(ShardedBatches, OneRankTakesTheWholeGlobalBatch) {
  LocalCommunicator comm;
  const at::Tensor data = at::arange(50, at::kDouble).reshape({25, 2}) * 10;
  const ShardedBatchesOptions options = ShardedBatchesOptions(25, 6).seed(1);
  ShardedBatches batches(data, 0, options, comm);
  EXPECT_FALSE(batches.sharded());
  for (int64_t s : {0, 3, 4, 9, 4}) {  // revisiting step 4 reuses or recomputes the same epoch
    const LocalBatch batch = batches.batch(s);
    EXPECT_TRUE(at::equal(batch.indices, global_batch_indices(options, s)));
    EXPECT_TRUE(at::equal(batch.x, data.index_select(0, batch.indices)));
    EXPECT_EQ(batch.position.step, s);
    EXPECT_EQ(batch.position.first, 0);
  }
}

TEST(ShardedBatches, RankBlocksAreMadeOfWholeUnits) {
  // B = 12 in units of 4: 3 units over 2 ranks give 8 + 4 positions, where plain blocks are 6 + 6.
  const ShardedBatchesOptions options = ShardedBatchesOptions(30, 12).unit(4);
  EXPECT_EQ(options.block(2, 0).begin, 0);
  EXPECT_EQ(options.block(2, 0).end, 8);
  EXPECT_EQ(options.block(2, 1).begin, 8);
  EXPECT_EQ(options.block(2, 1).end, 12);
  for (int parts : {1, 2, 3, 5}) {
    int64_t next = 0;
    for (int part = 0; part < parts; ++part) {
      const IdRange block = options.block(parts, part);
      EXPECT_EQ(block.begin, next) << parts << " ranks, rank " << part;
      EXPECT_EQ(block.begin % 4, 0);
      EXPECT_EQ(block.size() % 4, 0);
      next = block.end;
    }
    EXPECT_EQ(next, 12) << parts << " ranks";
  }
  EXPECT_EQ(ShardedBatchesOptions(30, 12).block(5, 4).size(), 2);  // unit 1: block_of
  EXPECT_THROW(ShardedBatchesOptions(30, 12).unit(5).validate(), Error);
  EXPECT_THROW(ShardedBatchesOptions(30, 12).unit(0).validate(), Error);
}

TEST(ShardedBatches, RejectsRowsThatCoverNeitherAllNorABlockLayout) {
  LocalCommunicator comm;
  const at::Tensor data = at::zeros({5, 2});
  EXPECT_THROW(ShardedBatches(data, 0, ShardedBatchesOptions(10, 2), comm), Error);
  EXPECT_THROW(ShardedBatches(data, 0, ShardedBatchesOptions(5, 0), comm), Error);
}

}  // namespace
}  // namespace jointflow
