// Communicator over NCCL for CUDA tensors (one GPU per rank); CPU tensors go through MPI.
// Compiled only when CMake finds NCCL (JF_HAVE_NCCL, compile definition JF_WITH_NCCL=1).
#pragma once

#include <mpi.h>

#include <c10/core/Device.h>

#include "distributed/communicator.h"
#include "distributed/mpi_communicator.h"

struct ncclComm;  // from nccl.h, kept out of this header

namespace jointflow {

// CUDA tensors on `device` travel through NCCL on the device's current CUDA stream: results are
// ordered before later work on that stream, as for any LibTorch kernel. CPU tensors (and the
// row counts of allgather) travel through an internal MpiCommunicator. Sums and maxima support
// float64, float32, float16 and bfloat16 (reduced in float32), int64, int32, int8, uint8 and bool
// (logical or); allgather and broadcast move bytes and accept any dtype.
class NcclCommunicator final : public Communicator {
 public:
  // Collective over `world`. Rank 0 creates the NCCL unique id and broadcasts it over MPI; every
  // rank binds `device` (a CUDA device with an index, different on each rank of a node).
  NcclCommunicator(MPI_Comm world, const c10::Device& device);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  std::string backend() const override { return "nccl"; }
  at::Tensor allgather(const at::Tensor& local) override;
  void allreduce_sum(at::Tensor& tensor) override;
  void allreduce_max(at::Tensor& tensor) override;
  void broadcast(at::Tensor& tensor, int root) override;
  // Collective. A one-element NCCL allreduce, then waits for the device's current stream.
  void barrier() override;

 private:
  void reduce(at::Tensor& tensor, bool maximum);
  // Throws unless `tensor` lives on this communicator's device.
  void check_device(const at::Tensor& tensor, const char* operation) const;

  MpiCommunicator mpi_;
  c10::Device device_;
  ncclComm* comm_ = nullptr;
};

}  // namespace jointflow
