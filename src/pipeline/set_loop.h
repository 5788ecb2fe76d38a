// The loop over a run's joint sets in batches, with job-array parts, checkpoints, resume and
// stop requests (DESIGN §3; the cluster side is in docs/slurm.md).
#pragma once

#include <functional>
#include <string>

#include "distributed/partition.h"
#include "estimate/metric.h"
#include "io/sample_shards.h"
#include "pipeline/set_statistics.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// The sets this process group covers: [0, G), or block_of(G, run.parts, run.part).
IdRange task_sets(const Config& config);

// "<run.output>.checkpoint".
std::string checkpoint_path(const Config& config);

// Identifies the results a config produces, whatever the ranks, device placement, part or
// bookkeeping options (output path, checkpointing, progress, threads): partial files and
// checkpoints must agree on it.
std::string results_config_hash(const StageContext& context, const Config& config);

// Collective. Calls `batch(first_set, sets)` for the task's sets in batches of
// sampler.batch_groups — after the checkpoint's sets when run.resume is set and the checkpoint
// exists (its statistics are loaded on rank 0). Writes the checkpoint (rank 0's `statistics` and
// the next set) every run.checkpoint_every batches; when a stop is requested on any rank, every
// rank finishes the batch, the checkpoint is written (unless `resumable` is false: per-sample
// output cannot be resumed) and Interrupted is raised on every rank.
void for_each_set_batch(const Config& config, StageContext& context, SetStatistics& statistics,
                        const std::string& label, bool resumable,
                        const std::function<void(int64_t first, int64_t count)>& batch);

// Collective, after the loop: rank 0 writes run.output atomically — provenance, the per-rank
// sample shards stitched in (when `shards` is given), and either the final results (one part) or
// a partial file (run.parts > 1: the state, its set range and config hash, for `merge`) — then
// removes the run's checkpoint. Returns the metrics on rank 0 (empty elsewhere).
Metrics finish_set_run(const Config& config, StageContext& context, const SetStatistics& statistics,
                       ShardWriter* shards, double wall_time);

}  // namespace jointflow
