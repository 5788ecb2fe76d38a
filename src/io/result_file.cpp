#include "io/result_file.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "io/hdf5_handle.h"

namespace jointflow {

namespace fs = std::filesystem;
using detail::concat;

namespace {

// Datasets larger than this are chunked, shuffled and gzip-compressed.
constexpr int64_t kCompressAbove = 64 * 1024;
// Upper bound on one chunk: well under HDF5's default 1 MiB chunk cache, so appending a batch to
// a partly filled chunk never reads it back from disk.
constexpr hsize_t kChunkBytes = 256 * 1024;
constexpr unsigned kGzipLevel = 4;

std::string directory_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// Why no file can be created at `path`: `what` is empty when one can; `fix` is what the user can
// do besides choosing another path (may be empty).
struct PathProblem {
  std::string what;
  std::string fix;
};

PathProblem output_path_problem(const std::string& path) {
  if (path.empty()) return {"no file name given", ""};
  std::error_code error;
  if (fs::is_directory(fs::status(path, error)))
    return {concat("'", path, "' is a directory"), "add a file name"};
  const std::string directory = directory_of(path);
  const fs::file_status status = fs::status(directory, error);
  if (!fs::exists(status))
    return {concat("directory '", directory, "' does not exist"), "create it"};
  if (!fs::is_directory(status)) return {concat("'", directory, "' is not a directory"), ""};
  if (access(directory.c_str(), W_OK) != 0)
    return {concat("directory '", directory, "' is not writable"), "fix its permissions"};
  return {};
}

std::string describe(const PathProblem& problem, const std::string& alternative) {
  return concat(problem.what, "; ", problem.fix.empty() ? "" : problem.fix + " or ", alternative);
}

// "<dir>/.<name>.tmp-<pid>" beside `final_path`.
std::string temporary_path_for(const std::string& final_path) {
  const fs::path path(final_path);
  return (path.parent_path() / concat(".", path.filename().string(), ".tmp-", getpid())).string();
}

// Whether every link on `path` exists ("/a", then "/a/b", ...): H5Lexists alone fails when an
// intermediate group is missing.
bool link_exists(hid_t file, const std::string& path) {
  if (path.empty()) return false;
  size_t start = path[0] == '/' ? 1 : 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) {
      const htri_t exists = H5Lexists(file, path.substr(0, end).c_str(), H5P_DEFAULT);
      if (exists <= 0) {
        if (exists < 0) h5::error_stack_text();  // a path through a dataset: clear the stack
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

// The dtype a tensor is stored as: bool becomes uint8; others must be one of the five supported.
at::ScalarType stored_dtype(at::ScalarType dtype, const std::string& context) {
  switch (dtype) {
    case at::kDouble:
    case at::kFloat:
    case at::kLong:
    case at::kInt:
    case at::kByte:
      return dtype;
    case at::kBool:
      return at::kByte;
    default:
      throw Error(concat(context, ": dtype ", dtype,
                         " is not supported; use float64, float32, int64, int32, uint8 or bool"));
  }
}

// A CPU, contiguous copy (or view) of `values` in its stored dtype.
at::Tensor stored_form(const at::Tensor& values, const std::string& context) {
  JF_CHECK(values.defined(), context, ": the tensor is undefined");
  return values.to(at::kCPU, stored_dtype(values.scalar_type(), context)).contiguous();
}

// Little-endian file types, so files are the same on every machine.
hid_t file_type(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return H5T_IEEE_F64LE;
    case at::kFloat:
      return H5T_IEEE_F32LE;
    case at::kLong:
      return H5T_STD_I64LE;
    case at::kInt:
      return H5T_STD_I32LE;
    default:
      return H5T_STD_U8LE;
  }
}

hid_t memory_type(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return H5T_NATIVE_DOUBLE;
    case at::kFloat:
      return H5T_NATIVE_FLOAT;
    case at::kLong:
      return H5T_NATIVE_INT64;
    case at::kInt:
      return H5T_NATIVE_INT32;
    default:
      return H5T_NATIVE_UINT8;
  }
}

std::vector<hsize_t> to_hsize(at::IntArrayRef sizes) {
  return std::vector<hsize_t>(sizes.begin(), sizes.end());
}

// Chunk dimensions no larger than `dims` and at most kChunkBytes: leading dimensions shrink
// first, so a chunk holds whole rows whenever a row fits.
std::vector<hsize_t> chunk_dims(std::vector<hsize_t> chunk, size_t element_size) {
  for (hsize_t& size : chunk) size = std::max<hsize_t>(size, 1);
  for (hsize_t& size : chunk) {
    hsize_t bytes = element_size;
    for (const hsize_t other : chunk) bytes *= other;
    if (bytes <= kChunkBytes) break;
    size = std::max<hsize_t>(1, size / ((bytes + kChunkBytes - 1) / kChunkBytes));
  }
  return chunk;
}

// Dataset creation properties: chunked as `chunk`, byte-shuffled and gzip-compressed.
h5::Handle compressed_layout(const std::vector<hsize_t>& chunk, const std::string& context) {
  h5::Handle dcpl(JF_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), context));
  JF_H5_CHECK(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), context);
  JF_H5_CHECK(H5Pset_shuffle(dcpl.get()), context);
  JF_H5_CHECK(H5Pset_deflate(dcpl.get(), kGzipLevel), context);
  return dcpl;
}

// Link creation properties that create missing intermediate groups.
h5::Handle intermediate_groups(const std::string& context) {
  h5::Handle lcpl(JF_H5_CHECK(H5Pcreate(H5P_LINK_CREATE), context));
  JF_H5_CHECK(H5Pset_create_intermediate_group(lcpl.get(), 1), context);
  return lcpl;
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& context) {
  h5::Handle space(JF_H5_CHECK(H5Dget_space(dataset), context));
  const int rank = JF_H5_CHECK(H5Sget_simple_extent_ndims(space.get()), context);
  std::vector<hsize_t> dims(rank);
  JF_H5_CHECK(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), context);
  return dims;
}

std::vector<int64_t> to_int64(const std::vector<hsize_t>& dims) {
  return std::vector<int64_t>(dims.begin(), dims.end());
}

// The dtype a stored dataset reads back as.
at::ScalarType dataset_dtype(hid_t dataset, const std::string& context) {
  h5::Handle type(JF_H5_CHECK(H5Dget_type(dataset), context));
  const H5T_class_t type_class = H5Tget_class(type.get());
  const size_t size = H5Tget_size(type.get());
  if (type_class == H5T_FLOAT && size == 8) return at::kDouble;
  if (type_class == H5T_FLOAT && size == 4) return at::kFloat;
  if (type_class == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
    if (is_signed && size == 8) return at::kLong;
    if (is_signed && size == 4) return at::kInt;
    if (!is_signed && size == 1) return at::kByte;
  }
  throw Error(concat(context, ": its HDF5 type (class ", static_cast<int>(type_class), ", ", size,
                     " bytes) is not one of float64, float32, int64, int32, uint8"));
}

// The file and dataset names of H5Pset_virtual are printf-like patterns: '%' must be doubled.
std::string escape_percent(const std::string& name) {
  std::string escaped;
  for (const char c : name) escaped += c == '%' ? std::string("%%") : std::string(1, c);
  return escaped;
}

std::string unescape_percent(const std::string& name) {
  std::string plain;
  for (size_t i = 0; i < name.size(); ++i) {
    plain += name[i];
    if (name[i] == '%' && i + 1 < name.size() && name[i + 1] == '%') ++i;
  }
  return plain;
}

// Creates (or replaces) the scalar attribute `name` of `object_path`: stored as `stored_type`,
// read from `buffer` as `memory_type`.
void write_attribute(hid_t file, const std::string& file_path, const std::string& object_path,
                     const std::string& name, hid_t stored_type, hid_t memory_type,
                     const void* buffer) {
  const std::string context = concat("cannot set attribute '", name, "' of '", object_path,
                                     "' in results file '", file_path, "'");
  JF_CHECK(object_path == "/" || link_exists(file, object_path), context,
           ": no such group or dataset; write it first");
  h5::Handle object(JF_H5_CHECK(H5Oopen(file, object_path.c_str(), H5P_DEFAULT), context));
  if (JF_H5_CHECK(H5Aexists(object.get(), name.c_str()), context) > 0)
    JF_H5_CHECK(H5Adelete(object.get(), name.c_str()), context);
  h5::Handle space(JF_H5_CHECK(H5Screate(H5S_SCALAR), context));
  h5::Handle attribute(JF_H5_CHECK(
      H5Acreate2(object.get(), name.c_str(), stored_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
      context));
  JF_H5_CHECK(H5Awrite(attribute.get(), memory_type, buffer), context);
}

// Variable-length UTF-8 string type: h5py reads such attributes as `str`.
h5::Handle utf8_string_type(const std::string& context) {
  h5::Handle type(JF_H5_CHECK(H5Tcopy(H5T_C_S1), context));
  JF_H5_CHECK(H5Tset_size(type.get(), H5T_VARIABLE), context);
  JF_H5_CHECK(H5Tset_cset(type.get(), H5T_CSET_UTF8), context);
  return type;
}

h5::Handle open_dataset(hid_t file, const std::string& file_path, const std::string& dataset_path) {
  JF_CHECK(dataset_path != "/" && link_exists(file, dataset_path), "dataset '", dataset_path,
           "' not found in results file '", file_path, "'; check the name (h5ls -r '", file_path,
           "' lists the contents)");
  return h5::Handle(JF_H5_CHECK(H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT),
                                "cannot open dataset '", dataset_path, "' in results file '",
                                file_path, "'"));
}

// For a virtual dataset, throws an Error naming the first source file that does not exist
// (relative names are resolved from the directory of `file_path`, as HDF5 does by default).
void check_virtual_sources(hid_t dataset, const std::string& file_path,
                           const std::string& dataset_path, const std::string& context) {
  h5::Handle dcpl(JF_H5_CHECK(H5Dget_create_plist(dataset), context));
  if (H5Pget_layout(dcpl.get()) != H5D_VIRTUAL) return;
  size_t count = 0;
  JF_H5_CHECK(H5Pget_virtual_count(dcpl.get(), &count), context);
  std::set<std::string> checked;
  for (size_t i = 0; i < count; ++i) {
    const ssize_t length = JF_H5_CHECK(H5Pget_virtual_filename(dcpl.get(), i, nullptr, 0), context);
    std::vector<char> buffer(length + 1, '\0');
    JF_H5_CHECK(H5Pget_virtual_filename(dcpl.get(), i, buffer.data(), buffer.size()), context);
    const std::string name = unescape_percent(buffer.data());
    if (name == "." || !checked.insert(name).second) continue;
    fs::path source(name);
    if (source.is_relative()) source = fs::path(directory_of(file_path)) / source;
    std::error_code error;
    JF_CHECK(fs::exists(source, error), "dataset '", dataset_path, "' in results file '", file_path,
             "' reads rows from '", source.string(),
             "', which is missing; keep the shard files beside the results file (move or copy "
             "them together)");
  }
}

h5::Handle open_attribute(hid_t file, const std::string& file_path, const std::string& object_path,
                          const std::string& name) {
  const std::string context =
      concat("attribute '", name, "' of '", object_path, "' in results file '", file_path, "'");
  JF_CHECK(object_path == "/" || link_exists(file, object_path), context,
           " not found: no such group or dataset");
  const htri_t exists =
      JF_H5_CHECK(H5Aexists_by_name(file, object_path.c_str(), name.c_str(), H5P_DEFAULT), context);
  JF_CHECK(exists > 0, context, " not found");
  return h5::Handle(JF_H5_CHECK(
      H5Aopen_by_name(file, object_path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), context));
}

H5T_class_t attribute_class(hid_t attribute, const std::string& context) {
  h5::Handle type(JF_H5_CHECK(H5Aget_type(attribute), context));
  return H5Tget_class(type.get());
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// ResultFile

struct ResultFile::Handle {
  h5::Handle file;
};

ResultFile::ResultFile(std::string final_path)
    : final_path_(std::move(final_path)), temporary_path_(temporary_path_for(final_path_)) {
  const PathProblem problem = output_path_problem(final_path_);
  JF_CHECK(problem.what.empty(), "cannot create results file '", final_path_,
           "': ", describe(problem, "choose another path"));
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

void check_output_path(const std::string& path, const std::string& option_name) {
  const PathProblem problem = output_path_problem(path);
  JF_CHECK(problem.what.empty(), option_name, " = '", path,
           "': ", describe(problem, "change " + option_name));
}

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
