// RAII for HDF5 identifiers and JF_H5_CHECK, which turns a failed HDF5 call into a
// jointflow::Error carrying HDF5's error stack. Internal to src/io: other folders use ResultFile.
#pragma once

#include <hdf5.h>

#include <string>

#include "core/error.h"

namespace jointflow::h5 {

// Owns one HDF5 identifier of any kind (file, group, dataset, attribute, dataspace, datatype,
// property list) and closes it with the matching H5*close. Never wrap a predefined identifier
// such as H5T_NATIVE_DOUBLE or H5P_DEFAULT.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { close(); }
  Handle(Handle&& other) noexcept : id_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      close();
      id_ = other.release();
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes the identifier now (a no-op when empty); returns HDF5's status, negative when closing
  // failed (for a file: its data could not be flushed).
  herr_t close() noexcept;

 private:
  hid_t release() noexcept {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  hid_t id_ = H5I_INVALID_HID;
};

// Stops HDF5 from printing its error stack to stderr: failures become exceptions instead. Safe
// to call any number of times; every entry point of src/io calls it before its first HDF5 call.
void silence_automatic_errors();

// The current HDF5 error stack on one line, innermost failure first ("H5FD_sec2_open: unable
// to open file: ...; H5Fcreate: unable to create file"); clears the stack.
std::string error_stack_text();

// Returns `result` when it is non-negative; otherwise throws an Error made of `parts` followed by
// HDF5's error stack.
template <typename Result, typename... Parts>
Result check(Result result, const Parts&... parts) {
  if (result < 0) throw Error(detail::concat(parts..., " (HDF5: ", error_stack_text(), ")"));
  return result;
}

}  // namespace jointflow::h5

// Evaluates an HDF5 call once and returns its result; a negative result throws a jointflow::Error
// whose message is the concatenated context parts plus HDF5's error stack.
#define JF_H5_CHECK(call, ...) ::jointflow::h5::check((call), __VA_ARGS__)
