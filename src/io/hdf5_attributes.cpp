// Scalar attributes of HDF5 groups and datasets (see hdf5_attributes.h).
#include "io/hdf5_attributes.h"

#include "core/error.h"
#include "io/hdf5_internals.h"

namespace jointflow::h5 {

using detail::concat;

void write_attribute(hid_t file, const std::string& file_path, const std::string& object_path,
                     const std::string& name, hid_t stored_type, hid_t memory_type,
                     const void* buffer) {
  const std::string context = concat("cannot set attribute '", name, "' of '", object_path,
                                     "' in results file '", file_path, "'");
  JF_CHECK(object_path == "/" || link_exists(file, object_path), context,
           ": no such group or dataset; write it first");
  Handle object(JF_H5_CHECK(H5Oopen(file, object_path.c_str(), H5P_DEFAULT), context));
  if (JF_H5_CHECK(H5Aexists(object.get(), name.c_str()), context) > 0)
    JF_H5_CHECK(H5Adelete(object.get(), name.c_str()), context);
  Handle space(JF_H5_CHECK(H5Screate(H5S_SCALAR), context));
  Handle attribute(JF_H5_CHECK(
      H5Acreate2(object.get(), name.c_str(), stored_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
      context));
  JF_H5_CHECK(H5Awrite(attribute.get(), memory_type, buffer), context);
}

Handle utf8_string_type(const std::string& context) {
  Handle type(JF_H5_CHECK(H5Tcopy(H5T_C_S1), context));
  JF_H5_CHECK(H5Tset_size(type.get(), H5T_VARIABLE), context);
  JF_H5_CHECK(H5Tset_cset(type.get(), H5T_CSET_UTF8), context);
  return type;
}

Handle open_attribute(hid_t file, const std::string& file_path, const std::string& object_path,
                      const std::string& name) {
  const std::string context =
      concat("attribute '", name, "' of '", object_path, "' in results file '", file_path, "'");
  JF_CHECK(object_path == "/" || link_exists(file, object_path), context,
           " not found: no such group or dataset");
  const htri_t exists =
      JF_H5_CHECK(H5Aexists_by_name(file, object_path.c_str(), name.c_str(), H5P_DEFAULT), context);
  JF_CHECK(exists > 0, context, " not found");
  return Handle(JF_H5_CHECK(
      H5Aopen_by_name(file, object_path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), context));
}

H5T_class_t attribute_class(hid_t attribute, const std::string& context) {
  Handle type(JF_H5_CHECK(H5Aget_type(attribute), context));
  return H5Tget_class(type.get());
}

}  // namespace jointflow::h5
