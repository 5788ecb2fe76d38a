// Sequential reads from a gzip-compressed file through zlib (plain files read as they are).
#pragma once

#include <cstddef>
#include <string>

struct gzFile_s;  // zlib's handle, kept out of this header

namespace jointflow {

class GzipReader {
 public:
  // Opens `path`; an Error names it when it does not exist or cannot be read.
  explicit GzipReader(const std::string& path);
  ~GzipReader();
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;

  // Reads up to `size` bytes into `data` and returns how many were read: fewer only at the end
  // of the data. A damaged compressed stream is an Error naming the file.
  size_t read(void* data, size_t size);
  // Whether the data end here (no byte left to read).
  bool at_end();
  const std::string& path() const { return path_; }

 private:
  gzFile_s* file_ = nullptr;
  std::string path_;
};

}  // namespace jointflow
