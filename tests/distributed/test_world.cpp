#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "distributed/agreement.h"
#include "distributed/mpi_communicator.h"
#include "distributed/world.h"

namespace jointflow {
namespace {

class WorldTest : public testing::Test {
 protected:
  MpiCommunicator comm_{MPI_COMM_WORLD};
};

// What every rank sees when run_agreed fails: a collective Error.
std::string agreed_failure(Communicator& comm, const std::function<void()>& action) {
  try {
    run_agreed(comm, action);
  } catch (const Error& error) {
    EXPECT_TRUE(error.collective());
    return error.what();
  }
  ADD_FAILURE() << "run_agreed did not throw";
  return "";
}

TEST_F(WorldTest, RunAgreedDoesNothingWhenNobodyFails) {
  int calls = 0;
  EXPECT_NO_THROW(run_agreed(comm_, [&] { ++calls; }));
  EXPECT_EQ(calls, 1);
}

TEST_F(WorldTest, RunAgreedSpreadsTheLastRanksErrorToEveryRank) {
  const int last = comm_.size() - 1;
  const std::string message = agreed_failure(comm_, [&] {
    if (comm_.rank() == last) throw Error("data.path 'x.h5' does not exist");
  });
  const std::string prefix = comm_.size() > 1 ? "rank " + std::to_string(last) + ": " : "";
  EXPECT_EQ(message, prefix + "data.path 'x.h5' does not exist");
}

TEST_F(WorldTest, RunAgreedReportsTheLowestFailingRankAndAnyStdException) {
  const int lowest = comm_.size() / 2;
  const std::string message = agreed_failure(comm_, [&] {
    if (comm_.rank() >= lowest) throw std::runtime_error("bad " + std::to_string(comm_.rank()));
  });
  const std::string prefix = comm_.size() > 1 ? "rank " + std::to_string(lowest) + ": " : "";
  EXPECT_EQ(message, prefix + "bad " + std::to_string(lowest));
  EXPECT_EQ(agreed_failure(comm_, [] { throw std::runtime_error(""); }),
            comm_.size() > 1 ? "rank 0: " : "");
}

TEST_F(WorldTest, RunAgreedLetsOtherExceptionsPass) {
  EXPECT_THROW(run_agreed(comm_, [] { throw 42; }), int);
  comm_.barrier();
}

// Ranks on one host (grouped by processor name) have local ranks 0..local_size-1.
TEST_F(WorldTest, NodePlacementNumbersTheRanksOfEachNode) {
  const NodePlacement placement = node_placement(MPI_COMM_WORLD);
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(name, &length);
  std::vector<char> names(static_cast<size_t>(MPI_MAX_PROCESSOR_NAME) * comm_.size());
  MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names.data(), MPI_MAX_PROCESSOR_NAME,
                MPI_CHAR, MPI_COMM_WORLD);
  const int mine[2] = {placement.local_rank, placement.local_size};
  std::vector<int> placements(2 * comm_.size());
  MPI_Allgather(mine, 2, MPI_INT, placements.data(), 2, MPI_INT, MPI_COMM_WORLD);

  std::map<std::string, std::vector<int>> local_ranks;
  std::map<std::string, int> local_sizes;
  for (int r = 0; r < comm_.size(); ++r) {
    const std::string host(&names[static_cast<size_t>(MPI_MAX_PROCESSOR_NAME) * r]);
    local_ranks[host].push_back(placements[2 * r]);
    local_sizes[host] = placements[2 * r + 1];
  }
  for (auto& [host, ranks] : local_ranks) {
    std::sort(ranks.begin(), ranks.end());
    std::vector<int> expected(ranks.size());
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i);
    EXPECT_EQ(ranks, expected) << "host " << host;
    EXPECT_EQ(local_sizes[host], static_cast<int>(ranks.size())) << "host " << host;
  }
}

TEST_F(WorldTest, MakeCommunicatorBuildsMpiAndRefusesLocalOnManyRanks) {
  const c10::Device cpu(c10::kCPU);
  for (const CommBackend backend : {CommBackend::mpi, CommBackend::automatic}) {
    const auto comm = make_communicator(backend, MPI_COMM_WORLD, cpu);
    EXPECT_EQ(comm->backend(), "mpi");
    EXPECT_EQ(comm->size(), comm_.size());
    EXPECT_EQ(comm->rank(), comm_.rank());
  }
  if (comm_.size() == 1) {
    EXPECT_EQ(make_communicator(CommBackend::local, MPI_COMM_WORLD, cpu)->backend(), "local");
    return;
  }
  try {
    make_communicator(CommBackend::local, MPI_COMM_WORLD, cpu);
    FAIL() << "run.comm = local accepted on " << comm_.size() << " ranks";
  } catch (const Error& error) {
    EXPECT_TRUE(error.collective());
    EXPECT_NE(std::string(error.what()).find("run.comm"), std::string::npos) << error.what();
  }
}

TEST_F(WorldTest, MakeCommunicatorRefusesNcclOnTheCpu) {
  try {
    make_communicator(CommBackend::nccl, MPI_COMM_WORLD, c10::Device(c10::kCPU));
    FAIL() << "run.comm = nccl accepted for a CPU device";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_TRUE(error.collective());
    EXPECT_NE(message.find("run.comm = nccl"), std::string::npos) << message;
#ifndef JF_WITH_NCCL
    EXPECT_NE(message.find("not built with NCCL"), std::string::npos) << message;
    EXPECT_NE(message.find("run.comm = mpi"), std::string::npos) << message;
#endif
  }
}

TEST(BuiltBackends, ListsLocalAndMpi) {
  const std::string backends = built_backends();
  EXPECT_EQ(backends.rfind("local mpi", 0), 0u) << backends;
}

}  // namespace
}  // namespace jointflow
