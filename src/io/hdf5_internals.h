// HDF5 helpers shared by the results-file writer and reader: link lookup, the dtype <-> HDF5 type
// mapping, dataset dimensions and virtual-dataset names. Internal to src/io.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/hdf5_handle.h"

namespace jointflow::h5 {

// Whether every link on `path` exists ("/a", then "/a/b", ...): H5Lexists alone fails when an
// intermediate group is missing.
bool link_exists(hid_t file, const std::string& path);

// Little-endian file types, so files are the same on every machine.
hid_t file_type(at::ScalarType dtype);
hid_t memory_type(at::ScalarType dtype);

std::vector<hsize_t> to_hsize(at::IntArrayRef sizes);
std::vector<int64_t> to_int64(const std::vector<hsize_t>& dims);

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& context);
// The dtype a stored dataset reads back as.
at::ScalarType dataset_dtype(hid_t dataset, const std::string& context);

// The file and dataset names of H5Pset_virtual are printf-like patterns: '%' must be doubled.
std::string escape_percent(const std::string& name);
std::string unescape_percent(const std::string& name);

}  // namespace jointflow::h5
