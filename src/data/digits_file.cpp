#include "data/digits_file.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/gzip_reader.h"

namespace jointflow {
namespace {

constexpr int64_t kSide = 8;
constexpr int64_t kPixels = kSide * kSide;
constexpr int kMaxPixelValue = 16;

// The whole decompressed text of `file`.
std::string read_text(GzipReader& file) {
  std::string text;
  std::vector<char> buffer(1 << 16);
  size_t got = 0;
  while ((got = file.read(buffer.data(), buffer.size())) > 0) text.append(buffer.data(), got);
  return text;
}

// The 65 integers of one CSV line; `where` names the file and line in errors.
void parse_row(const std::string& line, const std::string& where, uint8_t* pixels, int64_t& label) {
  size_t position = 0;
  for (int64_t column = 0; column <= kPixels; ++column) {
    size_t end = line.find(',', position);
    if (end == std::string::npos) end = line.size();
    const std::string field = line.substr(position, end - position);
    JF_CHECK(!field.empty() && field.find_first_not_of("0123456789") == std::string::npos &&
                 field.size() <= 3,
             where, ": field ", column + 1, " ('", field, "') is not a small non-negative integer");
    const int value = std::stoi(field);
    if (column < kPixels) {
      JF_CHECK(value <= kMaxPixelValue, where, ": pixel ", column + 1, " is ", value,
               ", outside 0..", kMaxPixelValue);
      pixels[column] = static_cast<uint8_t>(value);
    } else {
      JF_CHECK(value <= 9, where, ": label ", value, " is outside 0..9");
      label = value;
    }
    JF_CHECK((column < kPixels) == (end < line.size()), where, ": expected ", kPixels + 1,
             " comma-separated values");
    position = end + 1;
  }
}

}  // namespace

const std::string& default_digits_path() {
  static const std::string path =
      "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
  return path;
}

LabelledImages read_digits(const std::string& path) {
  std::string text;
  try {
    GzipReader file(path);
    text = read_text(file);
  } catch (const Error& error) {
    throw Error(detail::concat(error.what(), "; the 8x8 digits come with Debian's python3-sklearn ",
                               "(apt-get install python3-sklearn) or set data.path"));
  }
  std::vector<std::string> lines;
  size_t position = 0;
  while (position < text.size()) {
    size_t end = text.find('\n', position);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(position, end - position);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    position = end + 1;
  }
  JF_CHECK(!lines.empty(), "'", path, "' holds no digits");
  const auto n = static_cast<int64_t>(lines.size());
  LabelledImages result{at::empty({n, kSide, kSide}, at::kByte), at::empty({n}, at::kLong)};
  uint8_t* pixels = result.images.data_ptr<uint8_t>();
  int64_t* labels = result.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    parse_row(lines[i], detail::concat("'", path, "' line ", i + 1), pixels + i * kPixels,
              labels[i]);
  return result;
}

}  // namespace jointflow
