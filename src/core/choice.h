// Named choices parsed once at the edge into enums (e.g. "dpp" -> Objective::dpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace jointflow {

template <typename Enum>
using ChoiceTable = std::vector<std::pair<std::string, Enum>>;

// "a|b|c" for messages and help texts.
template <typename Enum>
std::string choice_names(const ChoiceTable<Enum>& table) {
  std::string names;
  for (const auto& [name, value] : table) names += (names.empty() ? "" : "|") + name;
  return names;
}

// Throws an Error naming `key` when `text` is not one of the table's names.
template <typename Enum>
Enum parse_choice(const std::string& key, const std::string& text, const ChoiceTable<Enum>& table) {
  for (const auto& [name, value] : table)
    if (name == text) return value;
  throw Error(detail::concat(key, " = '", text, "' is not one of ", choice_names(table)));
}

template <typename Enum>
const std::string& choice_name(Enum value, const ChoiceTable<Enum>& table) {
  for (const auto& entry : table)
    if (entry.second == value) return entry.first;
  throw Error("internal: enum value missing from its choice table");
}
}  // namespace jointflow
