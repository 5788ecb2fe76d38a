// The MPI communicator with CUDA tensors (ctest label gpu): they are staged through the host and
// come back on the GPU. Ranks may share one GPU. Skipped where LibTorch sees no GPU.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <vector>

#include "distributed/mpi_communicator.h"

namespace jointflow {
namespace {

// Rank r holds r + 1 rows of [100·r, 100·r + 1] in float64.
at::Tensor rows_for(int rank) {
  return (at::arange(2 * (rank + 1), at::kDouble) + 100.0 * rank).reshape({rank + 1, 2});
}

class MpiCudaTensors : public testing::Test {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "needs LibTorch with CUDA and a visible GPU";
  }
  MpiCommunicator comm_{MPI_COMM_WORLD};
  const at::Device cuda_{at::kCUDA, 0};
};

TEST_F(MpiCudaTensors, AllgatherReturnsTheRowsOfEveryRankOnTheGpu) {
  const at::Tensor gathered = comm_.allgather(rows_for(comm_.rank()).to(cuda_));
  EXPECT_TRUE(gathered.is_cuda());
  std::vector<at::Tensor> parts;
  for (int r = 0; r < comm_.size(); ++r) parts.push_back(rows_for(r));
  EXPECT_TRUE(at::equal(gathered.cpu(), at::cat(parts, 0)));
}

TEST_F(MpiCudaTensors, AllreduceSumsInPlaceOnTheGpu) {
  at::Tensor x = at::ones({3}, at::TensorOptions().dtype(at::kFloat).device(cuda_));
  comm_.allreduce_sum(x);
  EXPECT_TRUE(x.is_cuda());
  EXPECT_TRUE(at::equal(x.cpu(), at::full({3}, static_cast<float>(comm_.size()), at::kFloat)));
}

}  // namespace
}  // namespace jointflow
