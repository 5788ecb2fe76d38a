// Built only with NCCL (JF_HAVE_NCCL); runs where every rank has a GPU of its own.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>
#include <vector>

#include "distributed/nccl_communicator.h"

namespace jointflow {
namespace {

class NcclCommunicatorTest : public testing::Test {
 protected:
  void SetUp() override {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (!at::hasCUDA() || static_cast<int>(at::getNumGPUs()) < size)
      GTEST_SKIP() << "needs one GPU per rank (" << size << " ranks)";
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    device_ = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(rank));
    comm_ = std::make_unique<NcclCommunicator>(MPI_COMM_WORLD, device_);
  }
  std::unique_ptr<NcclCommunicator> comm_;
  at::Device device_{at::kCPU};
};

// Rank r holds r == 1 ? 0 : r + 2 rows of [100·r, 100·r + 1, ...] in float64, shape [rows, 3].
at::Tensor rows_for(int rank) {
  const int64_t rows = rank == 1 ? 0 : rank + 2;
  return (at::arange(rows * 3, at::kDouble) + 100.0 * rank).reshape({rows, 3});
}

TEST_F(NcclCommunicatorTest, CollectivesOnCudaTensorsMatchTheirDefinitions) {
  const int n = comm_->size();
  const int r = comm_->rank();
  std::vector<at::Tensor> parts;
  for (int other = 0; other < n; ++other) parts.push_back(rows_for(other));
  const at::Tensor gathered = comm_->allgather(rows_for(r).to(device_));
  EXPECT_EQ(gathered.device(), device_);
  EXPECT_TRUE(at::equal(gathered.cpu(), at::cat(parts, 0)));

  for (const at::ScalarType dtype : {at::kDouble, at::kFloat, at::kHalf, at::kLong, at::kByte}) {
    at::Tensor x = at::full({4}, r + 1.0, at::kDouble).to(dtype).to(device_);
    comm_->allreduce_sum(x);
    EXPECT_TRUE(at::equal(x.cpu().to(at::kDouble), at::full({4}, n * (n + 1) / 2.0, at::kDouble)))
        << "dtype " << dtype;
    at::Tensor y = at::full({4}, static_cast<double>(r), at::kDouble).to(dtype).to(device_);
    comm_->allreduce_max(y);
    EXPECT_TRUE(at::equal(y.cpu().to(at::kDouble), at::full({4}, n - 1.0, at::kDouble)));
  }

  const int root = n - 1;
  at::Tensor z = at::full({2, 5}, static_cast<double>(r), at::kDouble).to(device_);
  comm_->broadcast(z, root);
  EXPECT_TRUE(at::equal(z.cpu(), at::full({2, 5}, static_cast<double>(root), at::kDouble)));
  comm_->barrier();
}

TEST_F(NcclCommunicatorTest, CpuTensorsTravelThroughMpi) {
  const int n = comm_->size();
  at::Tensor x = at::ones({3}, at::kLong);
  comm_->allreduce_sum(x);
  EXPECT_TRUE(at::equal(x, at::full({3}, static_cast<int64_t>(n), at::kLong)));
  EXPECT_TRUE(comm_->allgather(rows_for(comm_->rank())).is_cpu());
}

}  // namespace
}  // namespace jointflow
