// Scalar attributes of HDF5 groups and datasets: creating them in a results file and opening
// them for reading. Internal to src/io.
#pragma once

#include <string>

#include "io/hdf5_handle.h"

namespace jointflow::h5 {

// Creates (or replaces) the scalar attribute `name` of `object_path`: stored as `stored_type`,
// read from `buffer` as `memory_type`.
void write_attribute(hid_t file, const std::string& file_path, const std::string& object_path,
                     const std::string& name, hid_t stored_type, hid_t memory_type,
                     const void* buffer);

// Variable-length UTF-8 string type: h5py reads such attributes as `str`.
Handle utf8_string_type(const std::string& context);

// The attribute `name` of `object_path` ("/" for the root group); an Error names attribute,
// object and `file_path` when either is missing.
Handle open_attribute(hid_t file, const std::string& file_path, const std::string& object_path,
                      const std::string& name);

H5T_class_t attribute_class(hid_t attribute, const std::string& context);

}  // namespace jointflow::h5
