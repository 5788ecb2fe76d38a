// Per-rank sample shards stitched into the main result file by HDF5 virtual datasets (DESIGN §6),
// so that serial HDF5 suffices at any scale.
//
// Every rank writes the rows it owns to its own file "<main>.shards/rank-<r>.h5", block by block
// (one block per batch). stitch_shards() then puts into the main file, for every declared
// dataset, a virtual dataset of all rows in global order that reads each block from the shard
// holding it. Shard names are stored relative to the main file ("out.h5.shards/rank-1.h5"), and
// HDF5 (>= 1.10.2) resolves them from the directory of the main file, whatever the reader's
// working directory: move or copy the main file together with its ".shards" directory.
//
// Sample runs (on every rank):
//   ShardWriter shards(output_path, comm.rank());
//   shards.declare("/samples/x", at::kDouble, {dim});
//   shards.declare("/samples/log_w", at::kDouble);
//   for (const IdRange& batch : my_batches) {          // increasing global member ids
//     shards.append("/samples/x", batch.begin, x);      // x: [batch.size(), dim]
//     shards.append("/samples/log_w", batch.begin, log_w);
//   }
//   std::unique_ptr<ResultFile> results;
//   if (comm.is_root()) results = std::make_unique<ResultFile>(output_path);
//   stitch_shards(comm, results.get(), shards);         // Collective; commits the shards
//   if (results) { results->set_attribute(...); results->commit(); }
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "distributed/communicator.h"
#include "io/result_file.h"

namespace jointflow {

// Global rows [global_first_row, global_first_row + rows) stored at shard rows
// [shard_first_row, shard_first_row + rows).
struct ShardBlock {
  int64_t global_first_row = 0;
  int64_t rows = 0;
  int64_t shard_first_row = 0;
};

struct ShardDataset {
  std::string path;                // "/samples/x": in the shard and in the main file
  at::ScalarType dtype;            // as stored (bool is stored as uint8)
  std::vector<int64_t> row_shape;  // trailing shape of one row ({} for a vector of numbers)
  std::vector<ShardBlock> blocks;  // in increasing global order; adjacent appends merged
};

// One rank's shard file, written under a temporary name until stitch_shards() commits it; a
// shard that was not committed is removed (and the ".shards" directory, once empty).
class ShardWriter {
 public:
  // Shard of rank `rank` for the main results file `main_final_path`. Creates the directory
  // "<main_final_path>.shards" if needed (not its parent). Throws an Error naming the path.
  ShardWriter(std::string main_final_path, int rank);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Declares dataset `dataset_path` with rows of `row_shape` (all sizes > 0) and `dtype`
  // (float64, float32, int64, int32, uint8 or bool). Every rank declares the same datasets in
  // the same order, also a rank that appends no rows.
  void declare(const std::string& dataset_path, at::ScalarType dtype,
               std::vector<int64_t> row_shape = {});
  // Stores `rows` ([n, row_shape...], the declared dtype, any device) as the global rows
  // [global_first_row, global_first_row + n). Blocks of one dataset come in increasing order.
  void append(const std::string& dataset_path, int64_t global_first_row, const at::Tensor& rows);

  const std::vector<ShardDataset>& datasets() const { return datasets_; }
  const std::string& main_final_path() const { return main_final_path_; }
  // The shard's final path, and its name relative to the main file's directory.
  const std::string& final_path() const { return file_->final_path(); }
  std::string relative_name() const;
  int rank() const { return rank_; }
  // Closes the shard and renames it to its final path; stitch_shards() calls it.
  void commit();

 private:
  ShardDataset& find(const std::string& dataset_path);
  std::string main_final_path_;
  int rank_;
  std::string directory_;
  std::unique_ptr<ResultFile> file_;
  std::vector<ShardDataset> datasets_;
};

// Collective. Gathers every rank's blocks, checks that the ranks declared the same datasets and
// that each dataset's blocks tile its rows [0, total) exactly (otherwise every rank throws the
// same Error), commits every shard, then on rank 0 writes into `main` one virtual dataset
// [total, row_shape...] per declared dataset, reading each block from its shard by relative
// name. `main` is the main results file (same final path as the shards') on rank 0 and nullptr
// on every other rank; the caller commits it afterwards. Shards "rank-<r>.h5" left in the
// directory by an earlier run with more ranks are removed.
void stitch_shards(Communicator& comm, ResultFile* main, ShardWriter& shards);

}  // namespace jointflow
