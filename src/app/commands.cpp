#include "app/commands.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <thread>

#include "app/config_options.h"
#include "app/run_folder.h"
#include "app/stop_signals.h"
#include "core/build_info.h"
#include "core/log.h"
#include "distributed/agreement.h"
#include "distributed/world.h"
#include "io/dataset_descriptions.h"
#include "io/result_file.h"
#include "pipeline/command_files.h"
#include "pipeline/model_factory.h"
#include "pipeline/run_estimate.h"
#include "pipeline/run_evaluate.h"
#include "pipeline/run_merge.h"
#include "pipeline/run_quickstart.h"
#include "pipeline/run_sample.h"
#include "pipeline/run_train_flow.h"
#include "pipeline/run_train_flux.h"
#include "pipeline/run_train_residual.h"

namespace jointflow {
namespace {

// configs/quickstart.ini, embedded at build time.
const char* const kQuickstartIni =
#include "quickstart_ini.inc"
    ;

struct Command {
  std::string summary;
  const char* embedded_ini;  // used when --config is not given; nullptr: --config is required
  void (*run)(const Config&, StageContext&);
};

void estimate(const Config& config, StageContext& context) { run_estimate(config, context); }
void evaluate(const Config& config, StageContext& context) { run_evaluate(config, context); }

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table{
      {"sample", {"draw joint sets and compute their metrics", nullptr, run_sample}},
      {"train-flow",
       {"train a rectified flow (model.kind = mlp | unet) on the data set of [data]", nullptr,
        run_train_flow}},
      {"train-flux",
       {"train a noise-conditional field by Flux Matching or DSM (model.kind = field, [flux])",
        nullptr, run_train_flux}},
      {"train-residual",
       {"train the residual velocity on the final states of `sample`", nullptr,
        run_train_residual}},
      {"estimate", {"estimate E[f] with importance-weighted joint sets", nullptr, estimate}},
      {"evaluate",
       {"importance weights against a local-likelihood ground truth (paper A Tables 2-3)", nullptr,
        evaluate}},
      {"merge", {"combine the partial files of a job array (run.parts > 1)", nullptr, run_merge}},
      {"run",
       {"the quickstart pipeline (sample, train-residual, estimate) on the embedded "
        "default config",
        kQuickstartIni, run_quickstart}},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "usage: jointflow --version | --help | help-config | help-files | <command> "
         "[--config FILE] [--section.key VALUE ...]\n\ncommands:\n";
  for (const auto& [name, command] : commands())
    out << "  " << name << std::string(16 - std::min<size_t>(name.size(), 15), ' ')
        << command.summary << '\n';
  out << "\n`jointflow <command> --help` lists every option with its default.\n";
}

void print_version(std::ostream& out) {
  out << "jointflow " << version() << " (" << git_revision() << ")\n"
      << "  LibTorch " << torch_version() << ", " << mpi_library_version() << ", HDF5 "
      << hdf5_library_version() << "\n"
      << "  backends: " << built_backends() << "\n";
}

// Threads per rank: run.threads, or the node's cores shared among the ranks on it. More threads
// than the node has cores are refused (on every rank, through `comm`): they cannot run at once,
// and OpenMP may not even start them.
void set_threads(Communicator& comm, int64_t requested, int local_size) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  run_agreed(comm, [&] {
    JF_CHECK(requested <= cores, "run.threads = ", requested, " exceeds the ", cores,
             " cores of this node; give at most ", cores,
             " (0: the node's cores shared among its "
             "ranks)");
  });
  const int threads = requested > 0 ? static_cast<int>(requested) : std::max(1, cores / local_size);
  at::set_num_threads(threads);
}

}  // namespace

int run_command(const std::vector<std::string>& args, MPI_Comm world) {
  int rank = 0;
  MPI_Comm_rank(world, &rank);
  const bool root = rank == 0;
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    if (root) print_usage(std::cout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    if (root) print_version(std::cout);
    return 0;
  }
  if (args[0] == "help-config") {
    Config defaults;
    OptionRegistry registry;
    register_config_options(registry, defaults);
    if (root) std::cout << registry.markdown_reference();
    return 0;
  }
  if (args[0] == "help-files") {
    if (root) std::cout << dataset_descriptions_markdown();
    return 0;
  }
  const auto found = commands().find(args[0]);
  if (found == commands().end())
    throw Error("unknown command '" + args[0] + "'; run `jointflow --help` for the list", true);
  const Command& command = found->second;

  Config config;
  OptionRegistry registry;
  register_config_options(registry, config);
  const auto parsed = registry.parse({args.begin() + 1, args.end()},
                                     command.embedded_ini ? command.embedded_ini : "");
  if (parsed.help) {
    if (root) {
      std::cout << "jointflow " << args[0] << ": " << command.summary << "\n\n";
      registry.print_help(std::cout);
    }
    return 0;
  }
  if (!command.embedded_ini && parsed.config_file.empty() && args[0] != "merge")
    throw Error("jointflow " + args[0] + " needs --config FILE (see configs/)", true);
  validate_config(config);

  const NodePlacement placement = node_placement(world);
  const at::Device device =
      rank_device(config.run.device == DeviceKind::cuda, placement.local_rank);
  const auto comm = make_communicator(config.run.comm, world, device);
  set_threads(*comm, config.run.threads, placement.local_size);
  if (config.run.output.empty()) {
    JF_CHECK_COLLECTIVE(config.run.parts == 1 && !config.run.resume && args[0] != "merge",
                        "jointflow ", args[0],
                        " needs run.output here: the parts of a job array, a resumed run and a "
                        "merge must name the same file every time; give --run.output FILE");
    config.run.output = make_run_folder_output(args[0], *comm);
  }
  run_agreed(*comm, [&] {
    if (!comm->is_root()) return;
    const CommandFiles files = command_files(args[0], config, parsed.config_file);
    check_outputs_are_not_inputs(files.inputs, files.outputs);
  });
  log::info("jointflow ", args[0], ": ", comm->size(), " rank(s), backend ", comm->backend(), ", ",
            at::get_num_threads(), " thread(s) per rank");
  // The resolved INI of any config: a registry bound to a copy renders it.
  auto describe = [](const Config& any) {
    Config copy = any;
    OptionRegistry renderer;
    register_config_options(renderer, copy);
    return renderer.resolved_ini();
  };
  auto parse_config = [](const std::string& ini) {
    Config parsed_config;
    OptionRegistry parser;
    register_config_options(parser, parsed_config);
    parser.parse({}, ini);
    return parsed_config;
  };
  install_stop_signal_handlers();
  StageContext context{*comm, device, args[0], describe, parse_config, stop_signal_received};
  command.run(config, context);
  return 0;
}

}  // namespace jointflow
