// HDF5 helpers shared by the results-file writer and reader (see hdf5_internals.h).
#include "io/hdf5_internals.h"

#include "core/error.h"

namespace jointflow::h5 {

using detail::concat;

bool link_exists(hid_t file, const std::string& path) {
  if (path.empty()) return false;
  size_t start = path[0] == '/' ? 1 : 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) {
      const htri_t exists = H5Lexists(file, path.substr(0, end).c_str(), H5P_DEFAULT);
      if (exists <= 0) {
        if (exists < 0) error_stack_text();  // a path through a dataset: clear the stack
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

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

std::vector<int64_t> to_int64(const std::vector<hsize_t>& dims) {
  return std::vector<int64_t>(dims.begin(), dims.end());
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& context) {
  Handle space(JF_H5_CHECK(H5Dget_space(dataset), context));
  const int rank = JF_H5_CHECK(H5Sget_simple_extent_ndims(space.get()), context);
  std::vector<hsize_t> dims(rank);
  JF_H5_CHECK(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), context);
  return dims;
}

at::ScalarType dataset_dtype(hid_t dataset, const std::string& context) {
  Handle type(JF_H5_CHECK(H5Dget_type(dataset), context));
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

}  // namespace jointflow::h5
