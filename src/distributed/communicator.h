// Collectives on torch tensors across the ranks of one job (DESIGN §3).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

namespace jointflow {

// The handful of collectives jointflow uses. Every backend accepts CPU and CUDA tensors of any
// dtype: MPI stages CUDA tensors through the host, NCCL routes CPU tensors through MPI. A
// one-rank communicator is the identity, never a stub that throws.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "local", "mpi" or "nccl".
  virtual std::string backend() const = 0;

  // Collective. Concatenates every rank's `local` along dim 0 in rank order. Ranks may hold
  // different numbers of rows (0 included); trailing shape and dtype must agree. The result is
  // on `local`'s device.
  virtual at::Tensor allgather(const at::Tensor& local) = 0;
  // Collective. Elementwise sum over ranks, in place; `tensor` has the same shape on every rank.
  virtual void allreduce_sum(at::Tensor& tensor) = 0;
  // Collective. Elementwise maximum over ranks, in place.
  virtual void allreduce_max(at::Tensor& tensor) = 0;
  // Collective. Copies root's `tensor` into every rank's `tensor` (same shape and dtype).
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
  // Collective.
  virtual void barrier() = 0;

  bool is_root() const { return rank() == 0; }
};

}  // namespace jointflow
