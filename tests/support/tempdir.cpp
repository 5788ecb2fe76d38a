#include "support/tempdir.h"

#include <mpi.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace jointflow::testing_support {

TempDir::TempDir(bool shared) : shared_(shared) {
  int rank = 0;
  if (shared) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::vector<char> name(4096, '\0');
  if (rank == 0) {
    const auto base = std::filesystem::temp_directory_path() / "jointflow-test-XXXXXX";
    std::string pattern = base.string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    pattern.copy(name.data(), name.size() - 1);
  }
  if (shared) MPI_Bcast(name.data(), static_cast<int>(name.size()), MPI_CHAR, 0, MPI_COMM_WORLD);
  path_ = name.data();
  owner_ = rank == 0;
  if (shared) MPI_Barrier(MPI_COMM_WORLD);
}

TempDir::~TempDir() {
  // Other ranks may still read the files: rank 0 removes them after everyone is done.
  if (shared_) MPI_Barrier(MPI_COMM_WORLD);
  std::error_code ignored;
  if (owner_) std::filesystem::remove_all(path_, ignored);
}

}  // namespace jointflow::testing_support
