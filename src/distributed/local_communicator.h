// The one-rank communicator: every collective is the identity.
#pragma once

#include "distributed/communicator.h"

namespace jointflow {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  at::Tensor allgather(const at::Tensor& local) override { return local; }
  void allreduce_sum(at::Tensor&) override {}
  void allreduce_max(at::Tensor&) override {}
  void broadcast(at::Tensor&, int) override {}
  void barrier() override {}
};

}  // namespace jointflow
