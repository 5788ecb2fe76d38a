#include "data/gzip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <filesystem>

#include "core/error.h"

namespace jointflow {

GzipReader::GzipReader(const std::string& path) : path_(path) {
  std::error_code error;
  JF_CHECK(std::filesystem::is_regular_file(path, error), "'", path,
           "' does not exist or is not a file");
  file_ = gzopen(path.c_str(), "rb");
  JF_CHECK(file_ != nullptr, "cannot open '", path, "' for reading");
}

GzipReader::~GzipReader() {
  if (file_ != nullptr) gzclose(file_);
}

size_t GzipReader::read(void* data, size_t size) {
  auto* out = static_cast<char*>(data);
  size_t done = 0;
  while (done < size) {
    const auto chunk = static_cast<unsigned>(std::min<size_t>(size - done, INT_MAX / 2));
    const int got = gzread(file_, out + done, chunk);
    if (got < 0) {
      int code = Z_OK;
      const char* message = gzerror(file_, &code);
      JF_CHECK(code != Z_BUF_ERROR, "'", path_, "' is truncated (", message, ")");
      throw Error(detail::concat("'", path_, "' is corrupt (", message, ")"));
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

bool GzipReader::at_end() {
  char byte = 0;
  return read(&byte, 1) == 0;
}

}  // namespace jointflow
