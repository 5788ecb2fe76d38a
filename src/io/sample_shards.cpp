#include "io/sample_shards.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "core/hash.h"
#include "distributed/agreement.h"

namespace jointflow {

namespace fs = std::filesystem;
using detail::concat;

namespace {

std::string shard_file_name(int rank) { return concat("rank-", rank, ".h5"); }

// "out.h5.shards/rank-<r>.h5": the shard of `rank` relative to the main file's directory.
std::string relative_shard_name(const std::string& main_final_path, int rank) {
  return concat(fs::path(main_final_path).filename().string(), ".shards/", shard_file_name(rank));
}

// FNV-1a, the same in every process (std::hash need not be).
int64_t stable_hash(const std::string& text) { return static_cast<int64_t>(fnv1a(text)); }

// What every rank must agree on: the main file and the declared datasets.
std::string declaration_text(const ShardWriter& shards) {
  std::string text = shards.main_final_path();
  for (const ShardDataset& dataset : shards.datasets()) {
    text += concat("\n", dataset.path, " ", dataset.dtype);
    for (const int64_t size : dataset.row_shape) text += concat(" ", size);
  }
  return text;
}

// A CPU int64 tensor [values.size() / width, width].
at::Tensor int64_rows(const std::vector<int64_t>& values, int64_t width) {
  at::Tensor rows = at::empty({static_cast<int64_t>(values.size()) / width, width}, at::kLong);
  if (!values.empty())
    std::memcpy(rows.data_ptr<int64_t>(), values.data(), values.size() * sizeof(int64_t));
  return rows;
}

// Throws the same Error on every rank (all ranks evaluate the same gathered data).
void check_agreed(bool condition, const std::string& message) {
  if (!condition) throw Error("cannot stitch sample shards: " + message, /*collective=*/true);
}

}  // namespace

ShardWriter::ShardWriter(std::string main_final_path, int rank)
    : main_final_path_(std::move(main_final_path)),
      rank_(rank),
      directory_(main_final_path_ + ".shards") {
  std::error_code error;
  fs::create_directory(directory_, error);
  JF_CHECK(fs::is_directory(directory_), "cannot create shard directory '", directory_,
           "' on rank ", rank_, ": ", error.message(), "; check that the directory of '",
           main_final_path_, "' exists and is writable");
  file_ = std::make_unique<ResultFile>(directory_ + "/" + shard_file_name(rank_));
}

ShardWriter::~ShardWriter() {
  if (file_->committed()) return;
  file_.reset();
  std::error_code ignored;
  fs::remove(directory_, ignored);  // only once empty: other ranks' shards keep it
}

void ShardWriter::declare(const std::string& dataset_path, at::ScalarType dtype,
                          std::vector<int64_t> row_shape) {
  const std::string context = concat("cannot declare shard dataset '", dataset_path, "'");
  JF_CHECK(std::none_of(datasets_.begin(), datasets_.end(),
                        [&](const ShardDataset& other) { return other.path == dataset_path; }),
           context, ": it was declared before");
  JF_CHECK(dtype == at::kDouble || dtype == at::kFloat || dtype == at::kLong || dtype == at::kInt ||
               dtype == at::kByte || dtype == at::kBool,
           context, ": dtype ", dtype,
           " is not one of float64, float32, int64, int32, uint8, bool");
  JF_CHECK(std::all_of(row_shape.begin(), row_shape.end(), [](int64_t size) { return size > 0; }),
           context, ": row sizes must be positive, got ", at::IntArrayRef(row_shape));
  datasets_.push_back(
      {dataset_path, dtype == at::kBool ? at::kByte : dtype, std::move(row_shape), {}});
}

void ShardWriter::append(const std::string& dataset_path, int64_t global_first_row,
                         const at::Tensor& rows) {
  ShardDataset& dataset = find(dataset_path);
  const std::string context =
      concat("cannot append rows to shard dataset '", dataset_path, "' on rank ", rank_);
  JF_CHECK(rows.defined() && rows.dim() >= 1, context, ": rows must be [n, ...]");
  const at::ScalarType dtype = rows.scalar_type() == at::kBool ? at::kByte : rows.scalar_type();
  JF_CHECK(dtype == dataset.dtype && rows.sizes().slice(1) == at::IntArrayRef(dataset.row_shape),
           context, ": rows of dtype ", rows.scalar_type(), " and shape ", rows.sizes(),
           " do not match the declared dtype ", dataset.dtype, " and row shape ",
           at::IntArrayRef(dataset.row_shape));
  const int64_t end = dataset.blocks.empty()
                          ? 0
                          : dataset.blocks.back().global_first_row + dataset.blocks.back().rows;
  JF_CHECK(global_first_row >= end, context, ": rows start at ", global_first_row,
           " but earlier blocks end at ", end, "; append blocks in increasing order");
  const int64_t count = rows.size(0);
  if (count == 0) return;
  const int64_t shard_first = file_->append_rows(dataset_path, rows);
  if (!dataset.blocks.empty() && end == global_first_row)
    dataset.blocks.back().rows += count;  // contiguous in both the shard and the global order
  else
    dataset.blocks.push_back({global_first_row, count, shard_first});
}

std::string ShardWriter::relative_name() const {
  return relative_shard_name(main_final_path_, rank_);
}

void ShardWriter::commit() { file_->commit(); }

ShardDataset& ShardWriter::find(const std::string& dataset_path) {
  for (ShardDataset& dataset : datasets_)
    if (dataset.path == dataset_path) return dataset;
  throw Error(concat("shard dataset '", dataset_path, "' was not declared; call declare('",
                     dataset_path, "', dtype, row_shape) on every rank first"));
}

void stitch_shards(Communicator& comm, ResultFile* main, ShardWriter& shards) {
  const int rank = comm.rank();
  const std::string& main_path = shards.main_final_path();
  const std::vector<ShardDataset>& datasets = shards.datasets();

  // 1. The ranks agree on the declarations, their shard and who holds the main file.
  const bool main_ok =
      rank == 0 ? main != nullptr && main->final_path() == main_path : main == nullptr;
  const at::Tensor signatures = comm.allgather(
      int64_rows({shards.rank(), main_ok ? 1 : 0, stable_hash(declaration_text(shards))}, 3));
  const auto signature = signatures.accessor<int64_t, 2>();
  for (int r = 0; r < comm.size(); ++r) {
    check_agreed(signature[r][0] == r, concat("rank ", r, " passed the shard of rank ",
                                              signature[r][0], "; pass each rank its own"));
    check_agreed(signature[r][2] == signature[0][2],
                 concat("rank ", r,
                        " declared other datasets or another results file than rank "
                        "0; every rank declares the same datasets in the same order"));
    check_agreed(signature[r][1] == 1,
                 concat("rank 0 passes the main results file '", main_path,
                        "' and every other rank nullptr; rank ", r, " did not"));
  }

  // 2. Every block of every rank: [rank, dataset index, global first row, rows, shard row].
  std::vector<int64_t> local;
  for (size_t d = 0; d < datasets.size(); ++d)
    for (const ShardBlock& block : datasets[d].blocks)
      local.insert(local.end(), {rank, static_cast<int64_t>(d), block.global_first_row, block.rows,
                                 block.shard_first_row});
  const at::Tensor blocks = comm.allgather(int64_rows(local, 5));
  const auto block = blocks.accessor<int64_t, 2>();
  std::vector<std::vector<VirtualRows>> mappings(datasets.size());
  for (int64_t i = 0; i < blocks.size(0); ++i) {
    const size_t d = static_cast<size_t>(block[i][1]);
    mappings[d].push_back({relative_shard_name(main_path, static_cast<int>(block[i][0])),
                           datasets[d].path, block[i][4], block[i][2], block[i][3]});
  }

  // 3. Each dataset's blocks tile its rows [0, total) exactly.
  std::vector<int64_t> totals(datasets.size(), 0);
  for (size_t d = 0; d < datasets.size(); ++d) {
    std::sort(mappings[d].begin(), mappings[d].end(),
              [](const VirtualRows& a, const VirtualRows& b) { return a.first_row < b.first_row; });
    int64_t& next = totals[d];
    for (const VirtualRows& rows : mappings[d]) {
      check_agreed(rows.first_row <= next,
                   concat("dataset '", datasets[d].path, "' has no rows [", next, ", ",
                          rows.first_row, "); every global row must be appended by one rank"));
      check_agreed(rows.first_row == next,
                   concat("dataset '", datasets[d].path, "': rows from ", rows.first_row, " in '",
                          rows.source_file, "' were also appended by another rank"));
      next += rows.rows;
    }
  }

  // 4. Shards under their final names, then the virtual datasets in the main file.
  run_agreed(comm, [&] { shards.commit(); });
  run_agreed(comm, [&] {
    if (rank != 0) return;
    const std::string directory = main_path + ".shards/";
    std::error_code error;
    for (int r = comm.size(); fs::exists(directory + shard_file_name(r), error); ++r)
      fs::remove(directory + shard_file_name(r), error);
    for (size_t d = 0; d < datasets.size(); ++d) {
      std::vector<int64_t> shape{totals[d]};
      shape.insert(shape.end(), datasets[d].row_shape.begin(), datasets[d].row_shape.end());
      main->write_virtual(datasets[d].path, datasets[d].dtype, shape, mappings[d]);
    }
  });
}

}  // namespace jointflow
