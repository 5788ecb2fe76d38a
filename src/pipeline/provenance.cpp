#include "pipeline/provenance.h"

#include "core/build_info.h"
#include "distributed/world.h"

namespace jointflow {

void write_provenance(ResultFile& file, const StageContext& context, const Config& config,
                      double wall_time) {
  file.set_attribute("config", context.describe(config));
  file.set_attribute("command", context.command);
  file.set_attribute("version", std::string(version()));
  file.set_attribute("git_revision", std::string(git_revision()));
  file.set_attribute("torch_version", std::string(torch_version()));
  file.set_attribute("mpi_version", mpi_library_version());
  file.set_attribute("hdf5_version", hdf5_library_version());
  file.set_attribute("backends", built_backends());
  file.set_attribute("comm_backend", context.comm.backend());
  file.set_attribute("world_size", static_cast<int64_t>(context.comm.size()));
  file.set_attribute("seed", config.run.seed);
  file.set_attribute("schema_version", kSchemaVersion);
  file.set_attribute("wall_time", wall_time);
}

}  // namespace jointflow
