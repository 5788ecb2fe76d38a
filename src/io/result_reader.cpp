// The results-file reader: ResultReader opens a file read-only and reads attributes, datasets
// and rows back, naming any missing virtual-dataset source file.
#include "io/result_file.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "io/hdf5_attributes.h"
#include "io/hdf5_handle.h"
#include "io/hdf5_internals.h"
#include "io/output_path.h"

namespace jointflow {

namespace fs = std::filesystem;
using detail::concat;
using detail::directory_of;
using h5::attribute_class;
using h5::dataset_dims;
using h5::dataset_dtype;
using h5::link_exists;
using h5::memory_type;
using h5::open_attribute;
using h5::to_int64;
using h5::unescape_percent;

namespace {

h5::Handle open_dataset(hid_t file, const std::string& file_path, const std::string& dataset_path) {
  JF_CHECK(dataset_path != "/" && link_exists(file, dataset_path), "dataset '", dataset_path,
           "' not found in results file '", file_path, "'; check the name (h5ls -r '", file_path,
           "' lists the contents)");
  return h5::Handle(JF_H5_CHECK(H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT),
                                "cannot open dataset '", dataset_path, "' in results file '",
                                file_path, "'"));
}

// The text of H5Pget_virtual_filename / H5Pget_virtual_dsetname for mapping `index`.
template <typename Getter>
std::string virtual_name(Getter getter, hid_t dcpl, size_t index, const std::string& context) {
  const ssize_t length = JF_H5_CHECK(getter(dcpl, index, nullptr, 0), context);
  std::vector<char> buffer(length + 1, '\0');
  JF_H5_CHECK(getter(dcpl, index, buffer.data(), buffer.size()), context);
  return unescape_percent(buffer.data());
}

// For a virtual dataset, throws an Error naming the first source file that is missing, cannot
// be opened (truncated or corrupt), lacks its dataset or holds fewer rows than the mapping reads
// — HDF5 would read such rows as fill values (zeros) without an error. Relative names are
// resolved from the directory of `file_path`, as HDF5 does by default.
void check_virtual_sources(hid_t dataset, const std::string& file_path,
                           const std::string& dataset_path, const std::string& context) {
  h5::Handle dcpl(JF_H5_CHECK(H5Dget_create_plist(dataset), context));
  if (H5Pget_layout(dcpl.get()) != H5D_VIRTUAL) return;
  size_t count = 0;
  JF_H5_CHECK(H5Pget_virtual_count(dcpl.get(), &count), context);
  for (size_t i = 0; i < count; ++i) {
    const std::string name = virtual_name(H5Pget_virtual_filename, dcpl.get(), i, context);
    if (name == ".") continue;
    fs::path source(name);
    if (source.is_relative()) source = fs::path(directory_of(file_path)) / source;
    const std::string reads = concat("dataset '", dataset_path, "' in results file '", file_path,
                                     "' reads rows from '", source.string(), "'");
    const std::string advice =
        "; keep the shard files beside the results file (move or copy them together), or rerun "
        "the stage that wrote them";
    std::error_code error;
    JF_CHECK(fs::exists(source, error), reads, ", which is missing", advice);
    const h5::Handle file(H5Fopen(source.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    JF_CHECK(file.valid(), reads, ", which is truncated or corrupt (HDF5: ", h5::error_stack_text(),
             ")", advice);
    const std::string source_dataset =
        virtual_name(H5Pget_virtual_dsetname, dcpl.get(), i, context);
    JF_CHECK(link_exists(file.get(), source_dataset), reads, ", which has no dataset '",
             source_dataset, "'", advice);
    const h5::Handle mapped(JF_H5_CHECK(H5Pget_virtual_srcspace(dcpl.get(), i), context));
    const int rank = JF_H5_CHECK(H5Sget_simple_extent_ndims(mapped.get()), context);
    std::vector<hsize_t> start(rank), end(rank);
    JF_H5_CHECK(H5Sget_select_bounds(mapped.get(), start.data(), end.data()), context);
    const h5::Handle source_data(
        JF_H5_CHECK(H5Dopen2(file.get(), source_dataset.c_str(), H5P_DEFAULT), reads));
    const std::vector<hsize_t> held = dataset_dims(source_data.get(), reads);
    JF_CHECK(!held.empty() && held[0] > end[0], reads, ", which holds ", held.empty() ? 0 : held[0],
             " rows of '", source_dataset, "' where rows up to ", end[0] + 1,
             " are needed (the shard is truncated)", advice);
  }
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// ResultReader

struct ResultReader::Handle {
  h5::Handle file;
};

ResultReader::ResultReader(std::string path) : path_(std::move(path)) {
  std::error_code error;
  const fs::file_status status = fs::status(path_, error);
  JF_CHECK(fs::exists(status), "results file '", path_,
           "' does not exist; check the path or run the stage that writes it");
  JF_CHECK(!fs::is_directory(status), "results file '", path_, "' is a directory, not a file");
  h5::silence_automatic_errors();
  const htri_t is_hdf5 = H5Fis_hdf5(path_.c_str());
  if (is_hdf5 <= 0)
    throw Error(concat("results file '", path_, "' is not an HDF5 file (",
                       is_hdf5 < 0 ? h5::error_stack_text() : "no HDF5 signature",
                       "); check the path"));
  const hid_t file = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    throw Error(concat("results file '", path_, "' is corrupt or truncated (",
                       h5::error_stack_text(), "); rerun the stage that writes it"));
  handle_ = std::make_unique<Handle>();
  handle_->file = h5::Handle(file);
}

ResultReader::~ResultReader() = default;

bool ResultReader::exists(const std::string& object_path) const {
  return object_path == "/" || link_exists(handle_->file.get(), object_path);
}

std::string ResultReader::string_attribute(const std::string& name,
                                           const std::string& object_path) const {
  const std::string context = concat("cannot read attribute '", name, "' of '", object_path,
                                     "' in results file '", path_, "'");
  const h5::Handle attribute = open_attribute(handle_->file.get(), path_, object_path, name);
  h5::Handle type(JF_H5_CHECK(H5Aget_type(attribute.get()), context));
  JF_CHECK(H5Tget_class(type.get()) == H5T_STRING, context, ": it is not a string");
  if (JF_H5_CHECK(H5Tis_variable_str(type.get()), context) > 0) {
    char* text = nullptr;
    JF_H5_CHECK(H5Aread(attribute.get(), type.get(), &text), context);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  JF_H5_CHECK(H5Aread(attribute.get(), type.get(), value.data()), context);
  return value.substr(0, value.find('\0'));
}

int64_t ResultReader::int_attribute(const std::string& name, const std::string& object_path) const {
  const std::string context = concat("cannot read attribute '", name, "' of '", object_path,
                                     "' in results file '", path_, "'");
  const h5::Handle attribute = open_attribute(handle_->file.get(), path_, object_path, name);
  JF_CHECK(attribute_class(attribute.get(), context) == H5T_INTEGER, context,
           ": it is not an integer");
  int64_t value = 0;
  JF_H5_CHECK(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), context);
  return value;
}

double ResultReader::double_attribute(const std::string& name,
                                      const std::string& object_path) const {
  const std::string context = concat("cannot read attribute '", name, "' of '", object_path,
                                     "' in results file '", path_, "'");
  const h5::Handle attribute = open_attribute(handle_->file.get(), path_, object_path, name);
  const H5T_class_t type_class = attribute_class(attribute.get(), context);
  JF_CHECK(type_class == H5T_FLOAT || type_class == H5T_INTEGER, context, ": it is not a number");
  double value = 0;
  JF_H5_CHECK(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value), context);
  return value;
}

double ResultReader::read_scalar(const std::string& dataset_path) const {
  const at::Tensor value = read_tensor(dataset_path);
  JF_CHECK(value.numel() == 1, "dataset '", dataset_path, "' in results file '", path_, "' holds ",
           value.numel(), " values, not one");
  return value.to(at::kDouble).item<double>();
}

at::Tensor ResultReader::read_tensor(const std::string& dataset_path) const {
  const std::string context =
      concat("cannot read dataset '", dataset_path, "' in results file '", path_, "'");
  const h5::Handle dataset = open_dataset(handle_->file.get(), path_, dataset_path);
  check_virtual_sources(dataset.get(), path_, dataset_path, context);
  const at::ScalarType dtype = dataset_dtype(dataset.get(), context);
  at::Tensor values = at::empty(to_int64(dataset_dims(dataset.get(), context)), at::dtype(dtype));
  if (values.numel() > 0)
    JF_H5_CHECK(H5Dread(dataset.get(), memory_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        values.data_ptr()),
                context);
  return values;
}

at::Tensor ResultReader::read_rows(const std::string& dataset_path, int64_t first,
                                   int64_t count) const {
  const std::string context =
      concat("cannot read rows [", first, ", ", first + count, ") of dataset '", dataset_path,
             "' in results file '", path_, "'");
  const h5::Handle dataset = open_dataset(handle_->file.get(), path_, dataset_path);
  check_virtual_sources(dataset.get(), path_, dataset_path, context);
  std::vector<hsize_t> dims = dataset_dims(dataset.get(), context);
  JF_CHECK(!dims.empty(), context, ": it is a scalar, not rows");
  JF_CHECK(first >= 0 && count >= 0 && first + count <= static_cast<int64_t>(dims[0]), context,
           ": it has ", dims[0], " rows");
  const at::ScalarType dtype = dataset_dtype(dataset.get(), context);
  dims[0] = static_cast<hsize_t>(count);
  at::Tensor values = at::empty(to_int64(dims), at::dtype(dtype));
  if (values.numel() == 0) return values;
  h5::Handle file_space(JF_H5_CHECK(H5Dget_space(dataset.get()), context));
  std::vector<hsize_t> start(dims.size(), 0);
  start[0] = static_cast<hsize_t>(first);
  JF_H5_CHECK(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                  dims.data(), nullptr),
              context);
  h5::Handle memory_space(
      JF_H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), context));
  JF_H5_CHECK(H5Dread(dataset.get(), memory_type(dtype), memory_space.get(), file_space.get(),
                      H5P_DEFAULT, values.data_ptr()),
              context);
  return values;
}

std::vector<int64_t> ResultReader::shape(const std::string& dataset_path) const {
  const h5::Handle dataset = open_dataset(handle_->file.get(), path_, dataset_path);
  return to_int64(
      dataset_dims(dataset.get(), concat("cannot read the shape of dataset '", dataset_path,
                                         "' in results file '", path_, "'")));
}

}  // namespace jointflow
