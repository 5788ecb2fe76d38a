// Comma-separated lists, the text form of list options ("128,128"; DESIGN §8): parsed once where
// options are read, written back the same way in resolved configs, config hashes and messages.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"

namespace jointflow {

// {1, 28, 28} → "1,28,28"; {} → "".
template <typename T>
std::string list_text(const std::vector<T>& values) {
  std::ostringstream out;
  out.precision(17);
  for (size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  return out.str();
}

// "128,128" → {128, 128}; throws an Error naming `key` for an item that is not one number or for
// an empty list.
template <typename T>
std::vector<T> parse_list(const std::string& key, const std::string& text) {
  std::vector<T> values;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::istringstream field(item);
    T value{};
    field >> value;
    JF_CHECK(!field.fail() && (field >> std::ws).eof(), key, " = '", text,
             "' is not a comma-separated list of numbers");
    values.push_back(value);
  }
  JF_CHECK(!values.empty(), key, " is empty; give a comma-separated list of numbers");
  return values;
}

}  // namespace jointflow
