#include "pipeline/run_merge.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "pipeline/command_files.h"
#include "pipeline/provenance.h"
#include "pipeline/report.h"
#include "pipeline/set_statistics.h"

namespace jointflow {
namespace {

struct Partial {
  std::string path;
  std::unique_ptr<ResultReader> reader;
  int64_t begin = 0, end = 0;
};

}  // namespace

void run_merge(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  Metrics metrics;
  std::string command;
  int64_t groups = 0;
  run_agreed(comm, [&] {
    if (!comm.is_root()) return;
    check_output_path(config.run.output, "run.output");
    std::vector<Partial> partials;
    for (const std::string& path : merge_input_paths(config.merge.inputs)) {
      Partial partial{path, std::make_unique<ResultReader>(path)};
      JF_CHECK(
          partial.reader->exists("/state") && partial.reader->string_attribute("kind") == "partial",
          "'", path, "' is not a partial results file (run with run.parts > 1)");
      partial.begin = partial.reader->int_attribute("set_begin");
      partial.end = partial.reader->int_attribute("set_end");
      partials.push_back(std::move(partial));
    }
    JF_CHECK(!partials.empty(), "merge.inputs = \"", config.merge.inputs,
             "\" names no file: give the partial files, e.g. \"out/part-*.h5\"");
    std::sort(partials.begin(), partials.end(),
              [](const Partial& a, const Partial& b) { return a.begin < b.begin; });
    const ResultReader& first = *partials.front().reader;
    command = first.string_attribute("command");
    groups = first.int_attribute("groups");
    const std::string hash = first.string_attribute("config_hash");
    int64_t covered = 0;
    for (const Partial& partial : partials) {
      JF_CHECK(partial.reader->string_attribute("command") == command &&
                   partial.reader->string_attribute("config_hash") == hash,
               "'", partial.path, "' comes from another configuration than '",
               partials.front().path, "'; merge only the parts of one run");
      JF_CHECK(partial.begin >= covered, "'", partial.path, "' covers sets [", partial.begin, ", ",
               partial.end, "), which overlap sets already covered up to ", covered);
      JF_CHECK(partial.begin == covered, "sets [", covered, ", ", partial.begin,
               ") are missing: no input covers them (found up to '", partial.path, "')");
      covered = partial.end;
    }
    JF_CHECK(covered == groups, "sets [", covered, ", ", groups,
             ") are missing: no input covers them");

    // The configuration the parts share, with the whole range: it also defines the statistics.
    Config merged = context.parse_config(first.string_attribute("config"));
    merged.run.output = config.run.output;
    merged.run.parts = 1;
    merged.run.part = 0;
    std::unique_ptr<SetStatistics> total = make_set_statistics(command, merged);
    total->load(first);
    for (size_t i = 1; i < partials.size(); ++i) {
      std::unique_ptr<SetStatistics> more = make_set_statistics(command, merged);
      more->load(*partials[i].reader);
      total->merge(*more);
    }
    ResultFile file(config.run.output);
    write_provenance(file, context, merged, clock.seconds());
    file.set_attribute("kind", std::string("results"));
    file.set_attribute("merged_command", command);
    file.set_attribute("merged_from", static_cast<int64_t>(partials.size()));
    metrics = total->write_results(file);
    file.commit();
  });
  print_metrics(detail::concat("merge: ", command, ", ", groups, " sets, ", clock.seconds(),
                               " s -> ", config.run.output),
                metrics);
}

}  // namespace jointflow
