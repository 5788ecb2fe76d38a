// Data-parallel batches (DESIGN §3): the global batch of step s is a slice of the stream of
// counter-based epoch permutations, and rank r takes its balanced block of it. The same global
// batch size therefore gives the same global examples per step at any number of ranks.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "distributed/communicator.h"
#include "distributed/counter_rng.h"
#include "distributed/partition.h"

namespace jointflow {

// Where a local batch sits among a step's counter-based draws: row i of the batch is example
// first + i of the global batch of `step`. Per-example randomness (noise, times, probes) uses
// counter id first + i at `step`, so it does not depend on the rank count.
struct BatchPosition {
  int64_t step = 0;
  int64_t first = 0;
};

// This rank's part of one global batch.
struct LocalBatch {
  at::Tensor x;        // [b, ...] the examples, in the data's dtype and on its device
  at::Tensor indices;  // [b] int64 on the CPU: their indices among the N examples
  BatchPosition position;
  int64_t size() const { return indices.size(0); }
};

struct ShardedBatchesOptions {
  ShardedBatchesOptions(int64_t examples, int64_t batch_size)
      : examples_(examples), batch_size_(batch_size) {}

  // Throws an Error naming `<section>.batch_size` (or the data size) for unusable values.
  void validate(const std::string& section = "train") const;
  // Rank `part` of `parts`'s positions in the global batch: block_of(B / unit, parts, part)
  // units of `unit` positions.
  IdRange block(int parts, int part) const;

  TORCH_ARG(int64_t, examples);    // N, the examples of the whole data set
  TORCH_ARG(int64_t, batch_size);  // B, the global batch (all ranks together)
  TORCH_ARG(uint64_t, seed) = 0;   // key of the epoch permutations (RandomStream::data_shuffle)
  // Ranks take whole units of this many consecutive batch positions (B must be a multiple), so
  // that a loss computed per unit (Flux Matching's KDE batches) sees the same units at any rank
  // count.
  TORCH_ARG(int64_t, unit) = 1;
};

// The global batch of `step`: [B] int64 on the CPU. Position p = step·B + i of the endless
// stream of epochs is example permutation_e[p − e·N] with e = p / N and permutation_e =
// counter_permutation(key, N, e); a batch may straddle epochs.
at::Tensor global_batch_indices(const ShardedBatchesOptions& options, int64_t step);

class ShardedBatches {
 public:
  // Collective. `data` holds rows [first_row, first_row + data.size(0)) of the N examples:
  // either all of them on every rank (first_row 0), or each rank a contiguous block, the blocks
  // in rank order covering 0..N−1 (distributed/partition.h block_of gives one such split). `data`
  // may live on any device. Throws an Error on every rank when the ranks' rows fit neither case.
  ShardedBatches(at::Tensor data, int64_t first_row, ShardedBatchesOptions options,
                 Communicator& comm);

  // This rank's block (options().block(size, rank)) of the global batch of `step`. Collective when
  // the data are sharded: one allgather of the global batch's rows; local otherwise.
  LocalBatch batch(int64_t step);

  // Whether each rank holds only its block of the data.
  bool sharded() const { return sharded_; }
  const ShardedBatchesOptions& options() const { return options_; }

 private:
  // The global batch of `step`, reusing the permutations of the last epochs it touched.
  at::Tensor indices_of(int64_t step);

  at::Tensor data_;
  int64_t first_row_;
  ShardedBatchesOptions options_;
  Communicator& comm_;
  bool sharded_ = false;
  std::vector<int64_t> row_begins_;  // sharded: rank r holds rows [begins[r], begins[r + 1])
  std::map<int64_t, at::Tensor> permutations_;  // epoch → permutation, at most two kept
};

}  // namespace jointflow
