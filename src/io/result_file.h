// HDF5 result files written atomically: everything goes to a temporary file beside the final
// one, which commit() renames into place (DESIGN §6). A file that was not committed is removed.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

namespace jointflow {

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

  // Scalar dataset at `dataset_path` ("/metrics/log_p"); intermediate groups are created.
  void write_scalar(const std::string& dataset_path, double value);
  // N-d dataset from a tensor (any device; float64, float32, int64, int32, uint8 or bool), chunked
  // and gzip-compressed when larger than 64 KiB.
  void write_tensor(const std::string& dataset_path, const at::Tensor& values);

  const std::string& final_path() const { return final_path_; }
  const std::string& temporary_path() const { return temporary_path_; }
  // Closes the file and renames it to the final path (atomic on one file system).
  void commit();

 private:
  struct Handle;
  std::string final_path_;
  std::string temporary_path_;
  std::unique_ptr<Handle> handle_;
  bool committed_ = false;
};

// Throws an Error naming `path` unless a file can be created there (its directory exists and is
// writable). Creates nothing.
void check_output_path(const std::string& path, const std::string& option_name);

// Reading result files back (merge, train-residual, evaluate, tests).
class ResultReader {
 public:
  // Throws an Error naming the file when it is missing, truncated or not HDF5.
  explicit ResultReader(std::string path);
  ~ResultReader();
  ResultReader(const ResultReader&) = delete;
  ResultReader& operator=(const ResultReader&) = delete;

  bool exists(const std::string& object_path) const;
  std::string string_attribute(const std::string& name, const std::string& object_path = "/") const;
  int64_t int_attribute(const std::string& name, const std::string& object_path = "/") const;
  double double_attribute(const std::string& name, const std::string& object_path = "/") const;
  double read_scalar(const std::string& dataset_path) const;
  // The whole dataset as a CPU tensor of its stored dtype (float64, float32, int64, int32, uint8).
  at::Tensor read_tensor(const std::string& dataset_path) const;
  // Rows [first, first + count) of a dataset whose first dimension indexes rows.
  at::Tensor read_rows(const std::string& dataset_path, int64_t first, int64_t count) const;
  std::vector<int64_t> shape(const std::string& dataset_path) const;
  const std::string& path() const { return path_; }

 private:
  struct Handle;
  std::string path_;
  std::unique_ptr<Handle> handle_;
};

}  // namespace jointflow
