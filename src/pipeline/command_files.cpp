#include "pipeline/command_files.h"

#include <glob.h>

#include <sstream>

#include "core/error.h"
#include "pipeline/run_quickstart.h"
#include "pipeline/set_loop.h"

namespace jointflow {
std::vector<std::string> merge_input_paths(const std::string& inputs) {
  JF_CHECK(!inputs.empty(),
           "merge.inputs is empty: give the partial files, e.g. \"out/part-*.h5\"");
  std::vector<std::string> paths;
  std::istringstream list(inputs);
  std::string item;
  while (std::getline(list, item, ',')) {
    if (item.empty()) continue;
    glob_t matches{};
    if (glob(item.c_str(), GLOB_NOCHECK, nullptr, &matches) == 0)
      for (size_t i = 0; i < matches.gl_pathc; ++i) paths.emplace_back(matches.gl_pathv[i]);
    globfree(&matches);
  }
  return paths;
}

CommandFiles command_files(const std::string& command, const Config& config,
                           const std::string& config_file) {
  CommandFiles files;
  auto read = [&](const std::string& key, const std::string& path) {
    files.inputs.push_back({key, path});
  };
  auto write = [&](const std::string& key, const std::string& path) {
    files.outputs.push_back({key, path});
  };
  const bool trains_model = command == "train-flow" || command == "train-flux";
  const bool draws_sets = command == "sample" || command == "estimate";

  read("--config", config_file);
  if (config.model.kind != ModelKind::gmm) {
    if (trains_model)
      write("model.path", config.model.path);
    else
      read("model.path", config.model.path);
  }
  if (trains_model) read("data.path", config.data.path);
  if (draws_sets || command == "run") read("eval.reference", config.eval.reference);
  if (command == "train-residual") {
    read("residual.data", config.residual.data);
    write("residual.checkpoint", config.residual.checkpoint);
  }
  if ((command == "estimate" && config.estimate.weights != WeightKind::none) ||
      command == "evaluate")
    read("residual.checkpoint", config.residual.checkpoint);
  if (command == "evaluate") {
    read("evaluate.samples", config.evaluate.samples);
    read("evaluate.pool", config.evaluate.pool);
    read("evaluate.iid", config.evaluate.iid);
  }
  if (command == "merge")
    for (const std::string& path : merge_input_paths(config.merge.inputs))
      read("merge.inputs", path);

  write("run.output", config.run.output);
  if (draws_sets && (config.run.checkpoint_every > 0 || config.run.resume))
    write("the checkpoint of run.output", checkpoint_path(config));
  if (command == "run") {
    const QuickstartFiles quickstart = quickstart_files(config.run.output);
    for (const std::string& path : {quickstart.trajectories, quickstart.training,
                                    quickstart.residual, quickstart.iid, quickstart.joint})
      write("the quickstart file of run.output", path);
  }
  return files;
}

}  // namespace jointflow
