#include "distributed/world.h"

#include <vector>

#include <ATen/Context.h>

#include "core/error.h"
#include "core/log.h"
#include "distributed/local_communicator.h"
#include "distributed/mpi_check.h"
#include "distributed/mpi_communicator.h"
#ifdef JF_WITH_NCCL
#include <algorithm>

#include "distributed/nccl_communicator.h"
#endif

namespace jointflow {
namespace {

// Owns an MPI communicator created here and frees it at the end of the scope.
struct OwnedComm {
  MPI_Comm comm = MPI_COMM_NULL;
  OwnedComm() = default;
  OwnedComm(const OwnedComm&) = delete;
  OwnedComm& operator=(const OwnedComm&) = delete;
  ~OwnedComm() {
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }
};

// The ranks of `world` that share this rank's node (MPI_COMM_TYPE_SHARED), in world order.
void split_node(MPI_Comm world, OwnedComm& node) {
  int world_rank = 0;
  JF_MPI_CHECK(MPI_Comm_rank(world, &world_rank));
  JF_MPI_CHECK(
      MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node.comm));
}

#ifdef JF_WITH_NCCL
// Collective over `world`. True when no two ranks of any node drive the same device (NCCL
// refuses two ranks on one GPU).
bool devices_distinct_per_node(MPI_Comm world, const c10::Device& device) {
  OwnedComm node;
  split_node(world, node);
  int node_size = 1;
  JF_MPI_CHECK(MPI_Comm_size(node.comm, &node_size));
  const int index = device.index();
  std::vector<int> indices(node_size);
  JF_MPI_CHECK(MPI_Allgather(&index, 1, MPI_INT, indices.data(), 1, MPI_INT, node.comm));
  std::sort(indices.begin(), indices.end());
  const int shared = std::adjacent_find(indices.begin(), indices.end()) != indices.end() ? 1 : 0;
  int any_shared = 0;
  JF_MPI_CHECK(MPI_Allreduce(&shared, &any_shared, 1, MPI_INT, MPI_MAX, world));
  return any_shared == 0;
}
#endif

}  // namespace

NodePlacement node_placement(MPI_Comm world) {
  OwnedComm node;
  split_node(world, node);
  NodePlacement placement;
  JF_MPI_CHECK(MPI_Comm_rank(node.comm, &placement.local_rank));
  JF_MPI_CHECK(MPI_Comm_size(node.comm, &placement.local_size));
  return placement;
}

// A one-rank world under `automatic` also uses MPI: the same code path everywhere, and an
// allgather result that never aliases its input.
std::unique_ptr<Communicator> make_communicator(CommBackend backend, MPI_Comm world,
                                                [[maybe_unused]] const c10::Device& device) {
  int world_size = 1;
  JF_MPI_CHECK(MPI_Comm_size(world, &world_size));
  switch (backend) {
    case CommBackend::local:
      if (world_size != 1)
        throw Error(detail::concat("run.comm = local needs a one-rank run, but this run has ",
                                   world_size, " ranks; use run.comm = auto or mpi"),
                    /*collective=*/true);
      return std::make_unique<LocalCommunicator>();
    case CommBackend::mpi:
      return std::make_unique<MpiCommunicator>(world);
    case CommBackend::nccl:
#ifdef JF_WITH_NCCL
      if (!device.is_cuda())
        throw Error(detail::concat("run.comm = nccl needs run.device = cuda, got ", device),
                    /*collective=*/true);
      if (!devices_distinct_per_node(world, device))
        throw Error(
            "run.comm = nccl needs one GPU per rank, but ranks of one node share a GPU; "
            "use run.comm = mpi or fewer ranks per node",
            /*collective=*/true);
      return std::make_unique<NcclCommunicator>(world, device);
#else
      throw Error("run.comm = nccl: this jointflow was not built with NCCL; use run.comm = mpi",
                  /*collective=*/true);
#endif
    case CommBackend::automatic:
#ifdef JF_WITH_NCCL
      if (device.is_cuda()) {
        if (devices_distinct_per_node(world, device))
          return std::make_unique<NcclCommunicator>(world, device);
        log::info("run.comm = auto: ranks of one node share a GPU, so using MPI instead of NCCL");
      }
#endif
      return std::make_unique<MpiCommunicator>(world);
  }
  throw Error("internal: unknown communicator backend");
}

std::string built_backends() {
#ifdef JF_WITH_NCCL
  return "local mpi nccl";
#else
  return "local mpi";
#endif
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, length);
  return version.substr(0, version.find_first_of(",\n"));
}

c10::Device rank_device(bool cuda, int local_rank) {
  if (!cuda) return at::kCPU;
  JF_CHECK(at::hasCUDA(), "run.device = cuda, but this jointflow was built without CUDA or no GPU ",
           "is visible; use run.device = cpu");
  return {at::kCUDA, static_cast<c10::DeviceIndex>(local_rank % at::getNumGPUs())};
}

}  // namespace jointflow
