// Communicator over an MPI communicator; CUDA tensors are staged through host memory.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "distributed/communicator.h"

namespace jointflow {

// Collectives over MPI for tensors of any dtype on any device. CPU tensors are used in place
// when contiguous; other tensors are copied to a contiguous host tensor and back. Sums and maxima
// support float64, float32, float16 and bfloat16 (reduced in float32), int64, int32, int16,
// int8, uint8 and bool (sum and max are both logical or). Messages larger than MPI's int count
// are split into chunks (allreduce, broadcast) or refused with an Error (allgather).
class MpiCommunicator final : public Communicator {
 public:
  // Collective over `comm`. Duplicates `comm` (freed in the destructor) so that jointflow's
  // messages never mix with another library's; errors on the duplicate are returned, not fatal,
  // and surface as jointflow::Error.
  explicit MpiCommunicator(MPI_Comm comm);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  at::Tensor allgather(const at::Tensor& local) override;
  void allreduce_sum(at::Tensor& tensor) override;
  void allreduce_max(at::Tensor& tensor) override;
  void broadcast(at::Tensor& tensor, int root) override;
  void barrier() override;
  MPI_Comm handle() const { return comm_; }

  // Collective. The number of rows (dim 0) of every rank's `local`, in rank order, after checking
  // that all ranks agree on dtype and trailing shape (a collective Error otherwise). `local` has
  // at least one dimension and may live on any device; only its metadata is used.
  std::vector<int64_t> allgather_row_counts(const at::Tensor& local);

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace jointflow
