#include "io/hdf5_handle.h"

namespace jointflow::h5 {

herr_t Handle::close() noexcept {
  const hid_t id = release();
  if (id < 0) return 0;
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      return H5Fclose(id);
    case H5I_GROUP:
      return H5Gclose(id);
    case H5I_DATATYPE:
      return H5Tclose(id);
    case H5I_DATASPACE:
      return H5Sclose(id);
    case H5I_DATASET:
      return H5Dclose(id);
    case H5I_ATTR:
      return H5Aclose(id);
    case H5I_GENPROP_LST:
      return H5Pclose(id);
    default:
      return H5Idec_ref(id);
  }
}

void silence_automatic_errors() {
  static const bool silenced = H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0;
  (void)silenced;
}

namespace {

// H5Ewalk2 callback: appends "function: description" for one stack entry.
herr_t append_entry(unsigned, const H5E_error2_t* entry, void* text_pointer) {
  auto& text = *static_cast<std::string*>(text_pointer);
  if (!text.empty()) text += "; ";
  text += detail::concat(entry->func_name ? entry->func_name : "?", ": ",
                         entry->desc ? entry->desc : "");
  return 0;
}

}  // namespace

std::string error_stack_text() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, append_entry, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "no HDF5 error recorded" : text;
}

}  // namespace jointflow::h5
