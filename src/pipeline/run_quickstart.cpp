#include "pipeline/run_quickstart.h"

#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "io/result_file.h"
#include "pipeline/provenance.h"
#include "pipeline/run_estimate.h"
#include "pipeline/run_sample.h"
#include "pipeline/run_train_residual.h"

namespace jointflow {
namespace {

namespace fs = std::filesystem;

const Metric* find(const Metrics& metrics, const std::string& name) {
  for (const Metric& metric : metrics)
    if (metric.name == name) return &metric;
  return nullptr;
}

void print_comparison(const Metrics& iid, const Metrics& joint) {
  log::info("");
  log::info("quickstart: IID against joint sets (same number of samples)");
  log::info("  metric              IID                 joint");
  for (const char* name :
       {"coverage_joint", "log_p", "rmse", "jsd_equal", "jsd_weighted", "mean_weight", "ess"}) {
    const Metric* a = find(iid, name);
    const Metric* b = find(joint, name);
    if (a == nullptr || b == nullptr) continue;
    char line[160];
    std::snprintf(line, sizeof line, "  %-16s %8.4f ± %-8.4f %8.4f ± %-8.4f", name, a->value,
                  a->standard_error, b->value, b->standard_error);
    log::info(line);
  }
}

// The last lines of a quickstart: which file holds what, how to read it and how to plot it.
void print_where_the_results_are(const std::string& output, double seconds) {
  log::info("");
  log::info("quickstart: ", seconds, " s. Results in ", output, ":");
  log::info("  /metrics          the comparison above, each metric with its _se");
  log::info("  /estimate/iid     IID estimates of the mode probabilities: mean, stderr, ess, ...");
  log::info("  /estimate/joint   joint-set estimates: mean (weighted), equal_weights/mean, exact");
  log::info("  attribute config  the resolved configuration");
  log::info("read them:");
  log::info("  import h5py");
  log::info("  f = h5py.File(\"", output, "\")");
  log::info("  print(f[\"estimate/joint/mean\"][:], f[\"estimate/joint/stderr\"][:])");
  log::info("plot IID, joint and weighted estimates against the exact values:");
  log::info("  /usr/bin/python3 analysis/quickstart.py ", output);
}

}  // namespace

QuickstartFiles quickstart_files(const std::string& output) {
  const std::string suffix = ".h5";
  const bool has_suffix = output.size() > suffix.size() &&
                          output.compare(output.size() - suffix.size(), suffix.size(), suffix) == 0;
  const std::string stem = has_suffix ? output.substr(0, output.size() - suffix.size()) : output;
  return {stem + ".trajectories.h5", stem + ".training.h5", stem + ".residual.ckpt",
          stem + ".iid.h5", stem + ".joint.h5"};
}

void run_quickstart(const Config& config, StageContext& context) {
  const Stopwatch clock;
  const QuickstartFiles files = quickstart_files(config.run.output);
  run_agreed(context.comm, [&] {
    if (context.comm.is_root()) check_output_path(config.run.output, "run.output");
  });

  Config sample = config;
  sample.run.seed = config.run.seed + 1;  // training sets independent of the evaluation sets
  sample.run.output = files.trajectories;
  sample.sampler.groups = config.residual.groups;
  sample.output.trajectories = true;
  run_sample(sample, context);

  Config train = config;
  train.run.output = files.training;
  train.residual.data = sample.run.output;
  train.residual.checkpoint = files.residual;
  run_train_residual(train, context);

  Config iid = train;
  iid.run.output = files.iid;
  iid.sampler.objective = Objective::iid;
  iid.estimate.weights = WeightKind::none;
  const Metrics iid_metrics = run_estimate(iid, context);

  Config joint = train;
  joint.run.output = files.joint;
  const Metrics joint_metrics = run_estimate(joint, context);

  run_agreed(context.comm, [&] {
    if (!context.comm.is_root()) return;
    ResultFile file(config.run.output);
    write_provenance(file, context, config, clock.seconds());
    const std::pair<const char*, const Metric*> headline[] = {
        {"jsd_iid", find(iid_metrics, "jsd_equal")},
        {"jsd_joint_equal", find(joint_metrics, "jsd_equal")},
        {"jsd_joint_weighted", find(joint_metrics, "jsd_weighted")}};
    for (const auto& [name, metric] : headline) {
      JF_CHECK(metric != nullptr, "internal: the quickstart estimate has no ", name);
      file.write_scalar(std::string("/metrics/") + name, metric->value);
      file.write_scalar(std::string("/metrics/") + name + "_se", metric->standard_error);
    }
    for (const auto& [prefix, metrics] :
         {std::pair{"iid_", &iid_metrics}, {"joint_", &joint_metrics}})
      for (const Metric& metric : *metrics) {
        file.write_scalar("/metrics/" + std::string(prefix) + metric.name, metric.value);
        file.write_scalar("/metrics/" + std::string(prefix) + metric.name + "_se",
                          metric.standard_error);
      }
    for (const auto& [name, path] : {std::pair{"trajectories_file", sample.run.output},
                                     {"residual_checkpoint", train.residual.checkpoint},
                                     {"iid_file", iid.run.output},
                                     {"joint_file", joint.run.output}})
      file.set_attribute(name, path);
    for (const auto& [link, path] :
         {std::pair{"/estimate/iid", iid.run.output}, {"/estimate/joint", joint.run.output}})
      file.link_external(link, fs::path(path).filename().string(), "/estimate");
    file.commit();
  });
  print_comparison(iid_metrics, joint_metrics);
  print_where_the_results_are(config.run.output, clock.seconds());
}

}  // namespace jointflow
