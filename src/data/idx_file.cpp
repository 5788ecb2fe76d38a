#include "data/idx_file.h"

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "data/gzip_reader.h"

namespace jointflow {
namespace {

constexpr int64_t kMaxPixels = int64_t{1} << 24;
constexpr int64_t kMaxItems = int64_t{1} << 31;

// The extents after the magic number 0x0000 08 <dims> of an unsigned-byte IDX file.
std::vector<int64_t> read_header(GzipReader& file, int dims) {
  std::array<unsigned char, 4> magic{};
  const size_t got = file.read(magic.data(), magic.size());
  JF_CHECK(got == magic.size(), "'", file.path(), "' is truncated: it ends inside the IDX header");
  const uint32_t expected = 0x00000800u | static_cast<uint32_t>(dims);
  const uint32_t found = (uint32_t{magic[0]} << 24) | (uint32_t{magic[1]} << 16) |
                         (uint32_t{magic[2]} << 8) | uint32_t{magic[3]};
  JF_CHECK(found == expected, "'", file.path(), "' is not an IDX file of ", dims,
           "-dimensional unsigned bytes: magic number 0x", std::hex, found, " instead of 0x",
           expected);
  std::vector<int64_t> extents(dims);
  for (int64_t& extent : extents) {
    std::array<unsigned char, 4> bytes{};
    JF_CHECK(file.read(bytes.data(), bytes.size()) == bytes.size(), "'", file.path(),
             "' is truncated: it ends inside the IDX header");
    extent = (int64_t{bytes[0]} << 24) | (int64_t{bytes[1]} << 16) | (int64_t{bytes[2]} << 8) |
             int64_t{bytes[3]};
  }
  return extents;
}

// Reads exactly numel(shape) bytes after the header and checks that nothing follows.
at::Tensor read_body(GzipReader& file, const std::vector<int64_t>& shape) {
  at::Tensor bytes = at::empty(shape, at::kByte);
  const auto wanted = static_cast<size_t>(bytes.numel());
  const size_t got = file.read(bytes.data_ptr<uint8_t>(), wanted);
  JF_CHECK(got == wanted, "'", file.path(), "' is truncated: its header announces ", wanted,
           " bytes of data but only ", got, " follow");
  JF_CHECK(file.at_end(), "'", file.path(), "' has bytes after the ", shape[0],
           " items its header announces");
  return bytes;
}

}  // namespace

at::Tensor read_idx_images(const std::string& path) {
  GzipReader file(path);
  const std::vector<int64_t> extents = read_header(file, 3);
  const int64_t n = extents[0], rows = extents[1], cols = extents[2];
  JF_CHECK(n > 0 && n < kMaxItems && rows > 0 && cols > 0 && rows * cols <= kMaxPixels, "'", path,
           "' announces ", n, " images of ", rows, "x", cols,
           " pixels; the header is corrupt (expected at least one image and at most 2^24 pixels)");
  return read_body(file, extents);
}

at::Tensor read_idx_labels(const std::string& path) {
  GzipReader file(path);
  const int64_t n = read_header(file, 1)[0];
  JF_CHECK(n > 0 && n < kMaxItems, "'", path, "' announces ", n, " labels; the header is corrupt");
  return read_body(file, {n}).to(at::kLong);
}

}  // namespace jointflow
