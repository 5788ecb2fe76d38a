#include "pipeline/set_loop.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "core/hash.h"
#include "core/log.h"
#include "core/progress.h"
#include "distributed/agreement.h"
#include "pipeline/provenance.h"

namespace jointflow {
namespace {

void write_range(ResultFile& file, const std::string& kind, const std::string& hash,
                 const IdRange& sets, const Config& config) {
  file.set_attribute("kind", kind);
  file.set_attribute("config_hash", hash);
  file.set_attribute("set_begin", sets.begin);
  file.set_attribute("set_end", sets.end);
  file.set_attribute("groups", config.sampler.groups);
}

// Rank 0: the checkpoint's next set after checking that it belongs to this run; −1 when there
// is none to resume from.
int64_t read_checkpoint(const Config& config, const StageContext& context,
                        SetStatistics& statistics, const IdRange& sets) {
  const std::string path = checkpoint_path(config);
  if (!std::filesystem::exists(path)) {
    log::info("no checkpoint '", path, "' to resume from: starting at set ", sets.begin);
    return -1;
  }
  const ResultReader reader(path);
  JF_CHECK(reader.string_attribute("kind") == "checkpoint", "'", path,
           "' is not a jointflow checkpoint");
  JF_CHECK(reader.string_attribute("command") == context.command, "checkpoint '", path,
           "' was written by `", reader.string_attribute("command"), "`, not `", context.command,
           "`; delete it or set run.resume = false");
  JF_CHECK(reader.string_attribute("config_hash") == results_config_hash(context, config),
           "checkpoint '", path,
           "' was written for another configuration; resume with the same "
           "config, or delete it (or set run.resume = false) to start afresh");
  JF_CHECK(reader.int_attribute("set_begin") == sets.begin &&
               reader.int_attribute("set_end") == sets.end,
           "checkpoint '", path, "' covers sets [", reader.int_attribute("set_begin"), ", ",
           reader.int_attribute("set_end"), "), this run [", sets.begin, ", ", sets.end, ")");
  const int64_t next = reader.int_attribute("next_set");
  JF_CHECK(next >= sets.begin && next <= sets.end, "checkpoint '", path,
           "' has an invalid next set ", next, "; the file is corrupt");
  statistics.load(reader);
  return next;
}

void write_checkpoint(const Config& config, const StageContext& context,
                      const SetStatistics& statistics, const IdRange& sets, int64_t next) {
  ResultFile file(checkpoint_path(config));
  write_provenance(file, context, config, 0.0);
  write_range(file, "checkpoint", results_config_hash(context, config), sets, config);
  file.set_attribute("next_set", next);
  statistics.save(file);
  file.commit();
}

}  // namespace

IdRange task_sets(const Config& config) {
  const IdRange block = block_of(config.sampler.groups, static_cast<int>(config.run.parts),
                                 static_cast<int>(config.run.part));
  return block;
}

std::string checkpoint_path(const Config& config) { return config.run.output + ".checkpoint"; }

std::string results_config_hash(const StageContext& context, const Config& config) {
  Config canonical = config;
  canonical.run.output.clear();
  canonical.run.part = 0;
  canonical.run.parts = 1;
  canonical.run.checkpoint_every = 0;
  canonical.run.resume = false;
  canonical.run.progress = ProgressMode::off;
  canonical.run.threads = 0;
  canonical.run.comm = CommBackend::automatic;
  return config_hash(context.describe(canonical));
}

void for_each_set_batch(const Config& config, StageContext& context, SetStatistics& statistics,
                        const std::string& label, bool resumable,
                        const std::function<void(int64_t first, int64_t count)>& batch) {
  Communicator& comm = context.comm;
  const IdRange sets = task_sets(config);
  JF_CHECK_COLLECTIVE(resumable || (!config.run.resume && config.run.checkpoint_every == 0),
                      "run.resume and run.checkpoint_every keep statistics only: switch "
                      "per-sample output (output.samples, output.trajectories, "
                      "estimate.per_sample) off, or split the run with run.parts instead");
  at::Tensor start = at::full({1}, sets.begin, at::kLong);
  if (config.run.resume)
    run_agreed(comm, [&] {
      if (!comm.is_root()) return;
      const int64_t next = read_checkpoint(config, context, statistics, sets);
      if (next >= 0) start.fill_(next);
    });
  comm.broadcast(start, 0);
  const int64_t first_set = start.item<int64_t>();
  if (first_set > sets.begin) log::info(label, ": resuming at set ", first_set);

  ProgressBar progress(label, sets.end - first_set, config.run.progress, comm.is_root());
  int64_t batches = 0;
  for (int64_t first = first_set; first < sets.end; first += config.sampler.batch_groups) {
    const int64_t count = std::min(config.sampler.batch_groups, sets.end - first);
    batch(first, count);
    progress.update(first + count - first_set);
    ++batches;
    at::Tensor stop = at::full({1}, context.stop_requested() ? 1 : 0, at::kLong);
    comm.allreduce_max(stop);
    const bool stopping = stop.item<int64_t>() > 0 && first + count < sets.end;
    const bool due = config.run.checkpoint_every > 0 && batches % config.run.checkpoint_every == 0;
    if ((stopping && resumable) || (due && first + count < sets.end))
      run_agreed(comm, [&] {
        if (comm.is_root()) write_checkpoint(config, context, statistics, sets, first + count);
      });
    if (stopping) {
      progress.finish();
      throw Interrupted(detail::concat(
          label, " stopped on request after set ", first + count, " of [", sets.begin, ", ",
          sets.end, ")",
          resumable ? detail::concat("; checkpoint '", checkpoint_path(config),
                                     "' written: rerun with --run.resume true to continue")
                    : std::string("; per-sample output cannot resume: rerun the whole task")));
    }
  }
  progress.finish();
}

Metrics finish_set_run(const Config& config, StageContext& context, const SetStatistics& statistics,
                       ShardWriter* shards, double wall_time) {
  Communicator& comm = context.comm;
  std::unique_ptr<ResultFile> file;
  run_agreed(comm, [&] {
    if (comm.is_root()) file = std::make_unique<ResultFile>(config.run.output);
  });
  if (shards) stitch_shards(comm, file.get(), *shards);
  Metrics metrics;
  run_agreed(comm, [&] {
    if (!file) return;
    write_provenance(*file, context, config, wall_time);
    if (config.run.parts > 1) {
      write_range(*file, "partial", results_config_hash(context, config), task_sets(config),
                  config);
      statistics.save(*file);
    } else {
      file->set_attribute("kind", std::string("results"));
    }
    metrics = statistics.write_results(*file);
    file->commit();
    std::error_code ignored;
    std::filesystem::remove(checkpoint_path(config), ignored);
  });
  return metrics;
}

}  // namespace jointflow
