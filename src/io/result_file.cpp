// The results-file writer: ResultFile creates a temporary file beside the final one, writes
// attributes and datasets to it, and commit() renames it into place (DESIGN §6).
#include "io/result_file.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <utility>

#include "core/log.h"
#include "io/dataset_descriptions.h"
#include "io/dataset_layout.h"
#include "io/hdf5_attributes.h"
#include "io/hdf5_handle.h"
#include "io/hdf5_internals.h"
#include "io/output_path.h"

namespace jointflow {

namespace fs = std::filesystem;
using detail::concat;
using h5::chunk_dims;
using h5::compressed_layout;
using h5::dataset_dims;
using h5::dataset_dtype;
using h5::escape_percent;
using h5::file_type;
using h5::intermediate_groups;
using h5::kChunkBytes;
using h5::kCompressAbove;
using h5::link_exists;
using h5::memory_type;
using h5::stored_dtype;
using h5::stored_form;
using h5::to_hsize;
using h5::to_int64;
using h5::utf8_string_type;
using h5::write_attribute;

namespace {

// ".<name>.tmp-": the start of every temporary file name of `final_path`.
std::string temporary_name_prefix(const fs::path& final_path) {
  return concat(".", final_path.filename().string(), ".tmp-");
}

// "<dir>/.<name>.tmp-<pid>" beside `final_path`.
std::string temporary_path_for(const std::string& final_path) {
  const fs::path path(final_path);
  return (path.parent_path() / concat(temporary_name_prefix(path), getpid())).string();
}

// Warns (once per file) of temporary files that other processes left beside `final_path`: a run
// killed before its commit leaves ".<name>.tmp-<pid>". They are never read; only the user can
// tell whether another run on another node still writes one, so they are named, not removed.
void warn_of_stale_temporaries(const std::string& final_path, const std::string& own) {
  const fs::path path(final_path);
  const fs::path directory = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::string prefix = temporary_name_prefix(path);
  std::error_code error;
  std::string names;
  uintmax_t bytes = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0 || entry.path() == fs::path(own)) continue;
    names += (names.empty() ? "" : ", ") + name;
    const uintmax_t size = entry.file_size(error);
    if (!error) bytes += size;
  }
  if (!names.empty())
    log::warning("temporary files of earlier runs that did not finish lie beside '", final_path,
                 "': ", names, " (", bytes / 1e6, " MB); nothing reads them: remove them once ",
                 "no other run writes '", final_path, "'");
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// ResultFile

struct ResultFile::Handle {
  h5::Handle file;
};

ResultFile::ResultFile(std::string final_path)
    : final_path_(std::move(final_path)), temporary_path_(temporary_path_for(final_path_)) {
  const detail::PathProblem problem = detail::output_path_problem(final_path_);
  JF_CHECK(problem.what.empty(), "cannot create results file '", final_path_,
           "': ", detail::describe(problem, "choose another path"));
  warn_of_stale_temporaries(final_path_, temporary_path_);
  h5::silence_automatic_errors();
  handle_ = std::make_unique<Handle>();
  handle_->file = h5::Handle(
      JF_H5_CHECK(H5Fcreate(temporary_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                  "cannot create results file '", final_path_, "' (as '", temporary_path_, "')"));
}

ResultFile::~ResultFile() {
  if (committed_) return;
  handle_->file.close();
  std::error_code ignored;
  fs::remove(temporary_path_, ignored);
}

void ResultFile::set_attribute(const std::string& name, const std::string& value,
                               const std::string& object_path) {
  check_not_committed();
  const hid_t file = handle_->file.get();
  const h5::Handle type = utf8_string_type(concat("cannot set attribute '", name, "'"));
  const char* text = value.c_str();
  write_attribute(file, final_path_, object_path, name, type.get(), type.get(), &text);
}

void ResultFile::set_attribute(const std::string& name, int64_t value,
                               const std::string& object_path) {
  check_not_committed();
  write_attribute(handle_->file.get(), final_path_, object_path, name, H5T_STD_I64LE,
                  H5T_NATIVE_INT64, &value);
}

void ResultFile::set_attribute(const std::string& name, double value,
                               const std::string& object_path) {
  check_not_committed();
  write_attribute(handle_->file.get(), final_path_, object_path, name, H5T_IEEE_F64LE,
                  H5T_NATIVE_DOUBLE, &value);
}

void ResultFile::write_scalar(const std::string& dataset_path, double value) {
  write_tensor(dataset_path, at::scalar_tensor(value, at::kDouble));
}

void ResultFile::write_tensor(const std::string& dataset_path, const at::Tensor& values) {
  check_not_committed();
  const hid_t file = handle_->file.get();
  const std::string context =
      concat("cannot write dataset '", dataset_path, "' to results file '", final_path_, "'");
  JF_CHECK(!link_exists(file, dataset_path), context, ": it already exists");
  const at::Tensor data = stored_form(values, context);
  const std::vector<hsize_t> dims = to_hsize(data.sizes());
  h5::Handle space(JF_H5_CHECK(
      data.dim() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(data.dim(), dims.data(), nullptr),
      context));
  h5::Handle dcpl = static_cast<int64_t>(data.nbytes()) > kCompressAbove
                        ? compressed_layout(chunk_dims(dims, data.element_size()), context)
                        : h5::Handle(JF_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), context));
  h5::Handle dataset(
      JF_H5_CHECK(H5Dcreate2(file, dataset_path.c_str(), file_type(data.scalar_type()), space.get(),
                             intermediate_groups(context).get(), dcpl.get(), H5P_DEFAULT),
                  context));
  describe_dataset(dataset_path);
  if (data.numel() > 0)
    JF_H5_CHECK(H5Dwrite(dataset.get(), memory_type(data.scalar_type()), H5S_ALL, H5S_ALL,
                         H5P_DEFAULT, data.data_ptr()),
                context);
}

int64_t ResultFile::append_rows(const std::string& dataset_path, const at::Tensor& rows) {
  check_not_committed();
  const hid_t file = handle_->file.get();
  const std::string context = concat("cannot append rows to dataset '", dataset_path,
                                     "' in results file '", final_path_, "'");
  const at::Tensor data = stored_form(rows, context);
  JF_CHECK(data.dim() >= 1, context, ": rows must be [n, ...], got a 0-d tensor");
  const std::vector<hsize_t> dims = to_hsize(data.sizes());
  const int rank = static_cast<int>(dims.size());
  h5::Handle dataset;
  if (!link_exists(file, dataset_path)) {
    for (int d = 1; d < rank; ++d)
      JF_CHECK(dims[d] > 0, context, ": trailing sizes must be positive, got shape ", data.sizes());
    std::vector<hsize_t> initial = dims, max_dims = dims, chunk = dims;
    initial[0] = 0;
    max_dims[0] = H5S_UNLIMITED;
    hsize_t row_bytes = data.element_size();
    for (int d = 1; d < rank; ++d) row_bytes *= dims[d];
    chunk[0] = std::max<hsize_t>(1, kChunkBytes / row_bytes);
    h5::Handle space(JF_H5_CHECK(H5Screate_simple(rank, initial.data(), max_dims.data()), context));
    h5::Handle dcpl = compressed_layout(chunk_dims(chunk, data.element_size()), context);
    dataset = h5::Handle(JF_H5_CHECK(
        H5Dcreate2(file, dataset_path.c_str(), file_type(data.scalar_type()), space.get(),
                   intermediate_groups(context).get(), dcpl.get(), H5P_DEFAULT),
        context));
    describe_dataset(dataset_path);
  } else {
    dataset = h5::Handle(JF_H5_CHECK(H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT), context));
    const at::ScalarType stored = dataset_dtype(dataset.get(), context);
    std::vector<hsize_t> existing = dataset_dims(dataset.get(), context);
    existing[0] = dims[0];
    JF_CHECK(stored == data.scalar_type() && existing == dims, context, ": rows of dtype ",
             data.scalar_type(), " and shape ", data.sizes(), " do not match the stored dtype ",
             stored, " and shape ",
             at::IntArrayRef(to_int64(dataset_dims(dataset.get(), context))));
  }
  std::vector<hsize_t> extent = dataset_dims(dataset.get(), context);
  const hsize_t first = extent[0];
  if (dims[0] == 0) return static_cast<int64_t>(first);
  extent[0] += dims[0];
  JF_H5_CHECK(H5Dset_extent(dataset.get(), extent.data()), context);
  h5::Handle file_space(JF_H5_CHECK(H5Dget_space(dataset.get()), context));
  std::vector<hsize_t> start(rank, 0);
  start[0] = first;
  JF_H5_CHECK(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                  dims.data(), nullptr),
              context);
  h5::Handle memory_space(JF_H5_CHECK(H5Screate_simple(rank, dims.data(), nullptr), context));
  JF_H5_CHECK(H5Dwrite(dataset.get(), memory_type(data.scalar_type()), memory_space.get(),
                       file_space.get(), H5P_DEFAULT, data.data_ptr()),
              context);
  return static_cast<int64_t>(first);
}

void ResultFile::write_virtual(const std::string& dataset_path, at::ScalarType dtype,
                               const std::vector<int64_t>& shape,
                               const std::vector<VirtualRows>& blocks) {
  check_not_committed();
  const hid_t file = handle_->file.get();
  const std::string context = concat("cannot write virtual dataset '", dataset_path,
                                     "' to results file '", final_path_, "'");
  JF_CHECK(!link_exists(file, dataset_path), context, ": it already exists");
  JF_CHECK(!shape.empty() && *std::min_element(shape.begin(), shape.end()) >= 0, context,
           ": shape must be [rows, ...] with sizes >= 0");
  const at::ScalarType stored = stored_dtype(dtype, context);
  const int rank = static_cast<int>(shape.size());
  const std::vector<hsize_t> dims(shape.begin(), shape.end());
  h5::Handle space(JF_H5_CHECK(H5Screate_simple(rank, dims.data(), nullptr), context));
  h5::Handle dcpl(JF_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), context));
  std::vector<hsize_t> start(rank, 0), count = dims;
  for (const VirtualRows& block : blocks) {
    JF_CHECK(block.rows >= 0 && block.first_row >= 0 && block.source_first_row >= 0 &&
                 block.first_row + block.rows <= shape[0],
             context, ": rows [", block.first_row, ", ", block.first_row + block.rows, ") from '",
             block.source_file, "' lie outside [0, ", shape[0], ")");
    if (block.rows == 0) continue;
    count[0] = static_cast<hsize_t>(block.rows);
    start[0] = static_cast<hsize_t>(block.first_row);
    h5::Handle virtual_space(JF_H5_CHECK(H5Scopy(space.get()), context));
    JF_H5_CHECK(H5Sselect_hyperslab(virtual_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                    count.data(), nullptr),
                context);
    std::vector<hsize_t> source_dims = dims;
    source_dims[0] = static_cast<hsize_t>(block.source_first_row + block.rows);
    start[0] = static_cast<hsize_t>(block.source_first_row);
    h5::Handle source_space(
        JF_H5_CHECK(H5Screate_simple(rank, source_dims.data(), nullptr), context));
    JF_H5_CHECK(H5Sselect_hyperslab(source_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                    count.data(), nullptr),
                context);
    JF_H5_CHECK(
        H5Pset_virtual(dcpl.get(), virtual_space.get(), escape_percent(block.source_file).c_str(),
                       escape_percent(block.source_dataset).c_str(), source_space.get()),
        context);
  }
  h5::Handle dataset(
      JF_H5_CHECK(H5Dcreate2(file, dataset_path.c_str(), file_type(stored), space.get(),
                             intermediate_groups(context).get(), dcpl.get(), H5P_DEFAULT),
                  context));
  describe_dataset(dataset_path);
}

void ResultFile::describe_dataset(const std::string& dataset_path) {
  const DatasetDescription* entry = find_dataset_description(dataset_path);
  if (entry == nullptr) return;  // tests/app/test_cli.py (Descriptions) finds what is missing
  set_attribute("description", entry->description, dataset_path);
  if (!entry->units.empty()) set_attribute("units", entry->units, dataset_path);
}

void ResultFile::link_external(const std::string& link_path, const std::string& target_file,
                               const std::string& target_object) {
  check_not_committed();
  const hid_t file = handle_->file.get();
  const std::string context = concat("cannot link '", link_path, "' in results file '", final_path_,
                                     "' to '", target_file, "'");
  JF_CHECK(!link_exists(file, link_path), context, ": it already exists");
  JF_H5_CHECK(
      H5Lcreate_external(target_file.c_str(), target_object.c_str(), file, link_path.c_str(),
                         intermediate_groups(context).get(), H5P_DEFAULT),
      context);
}

void ResultFile::commit() {
  const std::string context = concat("cannot finish results file '", final_path_, "'");
  check_not_committed();
  JF_H5_CHECK(handle_->file.close(), context, " (writing '", temporary_path_, "')");
  std::error_code error;
  fs::rename(temporary_path_, final_path_, error);
  JF_CHECK(!error, context, ": renaming '", temporary_path_, "' failed: ", error.message(),
           "; check that '", final_path_, "' is not a directory");
  committed_ = true;
}

void ResultFile::check_not_committed() const {
  JF_CHECK(!committed_, "results file '", final_path_,
           "' was already committed; nothing can be written to it");
}

std::string hdf5_library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

}  // namespace jointflow
