// JF_MPI_CHECK: turns an MPI return code into a jointflow::Error with MPI's own explanation.
#pragma once

#include <mpi.h>

#include <string>

#include "core/error.h"

namespace jointflow::detail {

// Throws an Error naming the failed MPI call, its source line and MPI_Error_string's text.
[[noreturn]] inline void throw_mpi_error(const char* call, int code, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw Error(concat(
      call, " failed at ", file, ":", line, ": ",
      length > 0 ? std::string(text, length) : "unknown MPI error code " + std::to_string(code)));
}

}  // namespace jointflow::detail

// Runs an MPI call and throws jointflow::Error when it does not return MPI_SUCCESS. Only effective
// on communicators whose error handler is MPI_ERRORS_RETURN (the default handler aborts).
#define JF_MPI_CHECK(call)                                                          \
  do {                                                                              \
    const int jf_mpi_code = (call);                                                 \
    if (jf_mpi_code != MPI_SUCCESS)                                                 \
      ::jointflow::detail::throw_mpi_error(#call, jf_mpi_code, __FILE__, __LINE__); \
  } while (0)
