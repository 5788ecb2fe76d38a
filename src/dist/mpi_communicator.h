// Communicator over an MPI communicator; CUDA tensors are staged through host memory.
#pragma once

#include <mpi.h>

#include "dist/communicator.h"

namespace jointflow {

class MpiCommunicator final : public Communicator {
 public:
  // Duplicates `comm` (freed in the destructor) so that jointflow's messages never mix with
  // another library's.
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

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace jointflow
