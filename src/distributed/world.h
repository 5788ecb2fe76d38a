// The job's ranks: communicator backend, node-local rank and the device each rank drives.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "core/choice.h"
#include "distributed/communicator.h"

namespace jointflow {

enum class CommBackend { automatic, local, mpi, nccl };
inline const ChoiceTable<CommBackend>& comm_backend_choices() {
  static const ChoiceTable<CommBackend> table{{"auto", CommBackend::automatic},
                                              {"local", CommBackend::local},
                                              {"mpi", CommBackend::mpi},
                                              {"nccl", CommBackend::nccl}};
  return table;
}

struct NodePlacement {
  int local_rank = 0;  // rank among the ranks on this node (MPI_COMM_TYPE_SHARED)
  int local_size = 1;
};

// Collective over `world`. Node-local rank and size, found without environment variables.
NodePlacement node_placement(MPI_Comm world);

// Collective over `world`. Builds the data communicator: `automatic` picks NCCL for CUDA devices
// when built with NCCL and no two ranks of a node share a GPU, MPI otherwise (a one-rank world
// included); `local` requires a one-rank world; `nccl` requires a build with NCCL and a CUDA
// device per rank. Misuse throws a collective Error naming run.comm. `device` is the device
// this rank drives (for NCCL, cuda:<local rank>).
std::unique_ptr<Communicator> make_communicator(CommBackend backend, MPI_Comm world,
                                                const c10::Device& device);

// The device of this rank: cuda:<local rank> when `cuda` (ranks beyond a node's GPUs share
// them round-robin), else the CPU. Throws an Error naming run.device when no GPU is usable.
c10::Device rank_device(bool cuda, int local_rank);

// Backends compiled into this binary, e.g. "local mpi nccl".
std::string built_backends();

// The MPI library's own version line, e.g. "Open MPI v4.1.4, ...", first line only.
std::string mpi_library_version();

}  // namespace jointflow
