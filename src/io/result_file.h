// HDF5 result files written atomically: everything goes to a temporary file beside the final
// one, which commit() renames into place (DESIGN §6). A file that was not committed is removed.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "io/output_path.h"

namespace jointflow {

// Rows [source_first_row, source_first_row + rows) of dataset `source_dataset` in file
// `source_file` shown as rows [first_row, first_row + rows) of a virtual dataset. A relative
// `source_file` is resolved by HDF5 (>= 1.10.2) from the directory of the file that holds the
// virtual dataset, so the two can be moved together.
struct VirtualRows {
  std::string source_file;
  std::string source_dataset;
  int64_t source_first_row = 0;
  int64_t first_row = 0;
  int64_t rows = 0;
};

class ResultFile {
 public:
  // Creates "<dir>/.<name>.tmp-<pid>" beside `final_path`. Throws an Error naming the path when
  // it cannot be created. Call on one rank only (rank 0) unless each rank owns its own file.
  explicit ResultFile(std::string final_path);
  ~ResultFile();
  ResultFile(const ResultFile&) = delete;
  ResultFile& operator=(const ResultFile&) = delete;

  // Attributes of the root group (or of `object_path` when given; the object must exist).
  void set_attribute(const std::string& name, const std::string& value,
                     const std::string& object_path = "/");
  void set_attribute(const std::string& name, int64_t value, const std::string& object_path = "/");
  void set_attribute(const std::string& name, double value, const std::string& object_path = "/");
  // Any other integer type (int, uint64_t, ...) is stored as int64; bool too.
  template <typename Integer, std::enable_if_t<std::is_integral_v<Integer>, int> = 0>
  void set_attribute(const std::string& name, Integer value, const std::string& object_path = "/") {
    if constexpr (std::is_unsigned_v<Integer> && sizeof(Integer) >= sizeof(int64_t))
      JF_CHECK(value <= static_cast<Integer>(std::numeric_limits<int64_t>::max()), "attribute '",
               name, "' = ", value, " does not fit in int64");
    set_attribute(name, static_cast<int64_t>(value), object_path);
  }

  // Scalar dataset at `dataset_path` ("/metrics/log_p"); intermediate groups are created.
  void write_scalar(const std::string& dataset_path, double value);
  // N-d dataset from a tensor (any device; float64, float32, int64, int32, uint8 or bool), chunked
  // and gzip-compressed when larger than 64 KiB.
  void write_tensor(const std::string& dataset_path, const at::Tensor& values);
  // Appends `rows` ([n, ...], any device, a dtype as for write_tensor) to an extendable dataset
  // of rows, chunked and gzip-compressed; the first call creates it with the trailing shape
  // (all sizes > 0) and dtype of `rows`, later calls must match them. Returns the index of the
  // first appended row. For data that arrives in batches, with bounded memory.
  int64_t append_rows(const std::string& dataset_path, const at::Tensor& rows);
  // Virtual dataset of `shape` ([total_rows, ...]) and `dtype` whose rows are read from the
  // datasets named in `blocks` (same dtype and trailing shape); rows no block covers read as 0.
  // The source files need not exist yet.
  void write_virtual(const std::string& dataset_path, at::ScalarType dtype,
                     const std::vector<int64_t>& shape, const std::vector<VirtualRows>& blocks);

  // An HDF5 external link at `link_path` to `target_object` of `target_file` (which need not
  // exist yet). HDF5 looks a relative `target_file` up from the working directory and from the
  // directory of this file: name it relative to this file to keep the two movable together.
  void link_external(const std::string& link_path, const std::string& target_file,
                     const std::string& target_object);

  const std::string& final_path() const { return final_path_; }
  const std::string& temporary_path() const { return temporary_path_; }
  // Closes the file and renames it to the final path (atomic on one file system), replacing any
  // file there. Nothing can be written afterwards.
  void commit();
  bool committed() const { return committed_; }

 private:
  struct Handle;
  void check_not_committed() const;
  // The `description` and `units` attributes of a new dataset, from io/dataset_descriptions.
  void describe_dataset(const std::string& dataset_path);
  std::string final_path_;
  std::string temporary_path_;
  std::unique_ptr<Handle> handle_;
  bool committed_ = false;
};

// "1.10.8": the HDF5 library this binary runs with.
std::string hdf5_library_version();

// Reading result files back (merge, train-residual, evaluate, tests).
class ResultReader {
 public:
  // Opens `path` read-only. Throws an Error naming the file when it is missing, truncated or not
  // HDF5.
  explicit ResultReader(std::string path);
  ~ResultReader();
  ResultReader(const ResultReader&) = delete;
  ResultReader& operator=(const ResultReader&) = delete;

  // Whether a group or dataset exists at `object_path` ("/" always does).
  bool exists(const std::string& object_path) const;
  // Attributes of the root group or of `object_path`; an Error names attribute, object and file
  // when the attribute is missing or of another kind.
  std::string string_attribute(const std::string& name, const std::string& object_path = "/") const;
  int64_t int_attribute(const std::string& name, const std::string& object_path = "/") const;
  double double_attribute(const std::string& name, const std::string& object_path = "/") const;
  // A dataset holding one number (of any numeric type), as float64.
  double read_scalar(const std::string& dataset_path) const;
  // The whole dataset as a contiguous CPU tensor of its stored dtype (float64, float32, int64,
  // int32, uint8); a scalar dataset gives a 0-d tensor. For a virtual dataset, an Error names
  // any source file that is missing (HDF5 alone would silently read zeros).
  at::Tensor read_tensor(const std::string& dataset_path) const;
  // Rows [first, first + count) of a dataset whose first dimension indexes rows: a CPU tensor
  // [count, ...] of the stored dtype.
  at::Tensor read_rows(const std::string& dataset_path, int64_t first, int64_t count) const;
  // The dataset's dimensions ({} for a scalar dataset).
  std::vector<int64_t> shape(const std::string& dataset_path) const;
  const std::string& path() const { return path_; }

 private:
  struct Handle;
  std::string path_;
  std::unique_ptr<Handle> handle_;
};

}  // namespace jointflow
