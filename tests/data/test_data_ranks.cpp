// Sharded loading at 1, 2 and 3 ranks: each rank loads only its block of the data set, and the
// global batches that ShardedBatches assembles from the blocks are those of one process holding
// everything.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>

#include "core/log.h"
#include "data/datasets.h"
#include "data/digits_file.h"
#include "distributed/local_communicator.h"
#include "distributed/mpi_communicator.h"
#include "distributed/partition.h"
#include "training/sharded_batches.h"

namespace jointflow {
namespace {

class DataRanks : public testing::Test {
 protected:
  void SetUp() override { log::configure(comm_.rank(), log::Level::quiet); }

  // The global batches of steps 0..steps−1 (all ranks' local batches gathered) from sharded
  // blocks, against one process's batches of the whole data set.
  void expect_same_global_batches(const DatasetOptions& options, int64_t batch_size,
                                  int64_t steps) {
    const Dataset block = load_dataset(options, comm_, at::kDouble);
    const IdRange expected = block_of(block.total, comm_.size(), comm_.rank());
    EXPECT_EQ(block.first, expected.begin);
    EXPECT_EQ(block.x.size(0), expected.size());
    ShardedBatchesOptions batch_options(block.total, batch_size);
    batch_options.seed(3);
    ShardedBatches sharded(block.x, block.first, batch_options, comm_);
    EXPECT_EQ(sharded.sharded(), comm_.size() > 1);

    LocalCommunicator alone;
    const Dataset whole = load_dataset(options, alone, at::kDouble);
    ShardedBatches reference(whole.x, 0, batch_options, alone);
    for (int64_t step = 0; step < steps; ++step) {
      const LocalBatch local = sharded.batch(step);
      const at::Tensor gathered = comm_.allgather(local.x);
      EXPECT_TRUE(at::equal(gathered, reference.batch(step).x)) << "step " << step;
    }
  }

  MpiCommunicator comm_{MPI_COMM_WORLD};
};

TEST_F(DataRanks, DigitsBlocksGiveTheGlobalBatchesOfOneProcess) {
  if (!std::filesystem::exists(default_digits_path()))
    GTEST_SKIP() << "python3-sklearn is not installed";
  DatasetOptions options;
  options.kind = DatasetKind::digits;
  options.classes = {3, 5, 8};
  // 31 does not divide the 541 examples: batches straddle epochs and rank blocks are uneven.
  expect_same_global_batches(options, 31, 40);
}

TEST_F(DataRanks, MixtureBlocksGiveTheGlobalBatchesOfOneProcess) {
  DatasetOptions options;
  options.mixture = "gmm8d";
  options.examples = 101;
  options.seed = 9;
  expect_same_global_batches(options, 16, 15);
}

}  // namespace
}  // namespace jointflow
