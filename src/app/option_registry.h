// Options as `section.key`, the same in INI files and on the command line (DESIGN §8), parsed by
// Boost.Program_options and bound directly to the fields of a Config.
#pragma once

#include <boost/program_options.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/choice.h"
#include "core/error.h"
#include "core/list_text.h"

namespace jointflow {

class OptionRegistry {
 public:
  OptionRegistry();

  // Declares option `section.key` bound to `field`; the field's current value is the default.
  // `check` (may be empty) returns an explanation when a value is out of range.
  template <typename T>
  void add(const std::string& section, const std::string& key, T& field, const std::string& help,
           std::function<std::optional<std::string>(const T&)> check = {});
  // An enum option whose names come from `table`.
  template <typename Enum>
  void add_choice(const std::string& section, const std::string& key, Enum& field,
                  const ChoiceTable<Enum>& table, const std::string& help);
  // A comma-separated list option, parsed here once into `field`; "" is the empty list when
  // `empty_allowed`. `item_check` (may be empty) applies to every item.
  template <typename T>
  void add_list(const std::string& section, const std::string& key, std::vector<T>& field,
                const std::string& help, bool empty_allowed,
                std::function<std::optional<std::string>(const T&)> item_check = {});
  void describe_section(const std::string& section, const std::string& caption);

  struct Parsed {
    bool help = false;
    std::string config_file;  // "" when none was given
  };
  // Parses `args` (after the command name): --help, --config FILE and --section.key VALUE; then
  // the INI file when given (or `embedded_ini` when not). Unknown keys, malformed and out-of-range
  // values throw a collective Error naming the key and where it came from.
  Parsed parse(const std::vector<std::string>& args, const std::string& embedded_ini = "");

  void print_help(std::ostream& out) const;
  // The resolved configuration as INI text (every option, in declaration order).
  std::string resolved_ini() const;
  // The configuration reference as a Markdown table per section (docs/configuration.md).
  std::string markdown_reference() const;

 private:
  struct Entry {
    std::string section, key, help, type;
    std::function<std::string()> current;  // the field's value as INI text
    std::function<std::optional<std::string>()> check;
    // Converts the parsed text into the field (choice options); throws an Error naming the key.
    std::function<void(const boost::program_options::variables_map&)> finalize;
  };
  boost::program_options::options_description& section_description(const std::string& section);
  // `value` is owned by the option description from then on.
  void register_entry(Entry entry, boost::program_options::value_semantic* value);
  std::string source_of(const std::string& name) const;
  std::string closest_name(const std::string& unknown) const;
  [[noreturn]] void fail(const std::string& message) const;

  std::vector<Entry> entries_;
  std::vector<std::string> section_order_;
  std::map<std::string, std::string> captions_;
  std::map<std::string, std::unique_ptr<boost::program_options::options_description>> sections_;
  std::map<std::string, std::string> sources_;  // option name → "the command line" or the file
  std::string config_file_;
};

template <typename T>
std::string format_option_value(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else {
    std::ostringstream out;
    out.precision(17);
    out << value;
    return out.str();
  }
}

template <typename T>
std::string option_type_name() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  if constexpr (std::is_same_v<T, std::string>) return "string";
  if constexpr (std::is_floating_point_v<T>) return "real";
  return "integer";
}

template <typename T>
void OptionRegistry::add(const std::string& section, const std::string& key, T& field,
                         const std::string& help,
                         std::function<std::optional<std::string>(const T&)> check) {
  Entry entry{
      section, key, help, option_type_name<T>(), [&field] { return format_option_value(field); },
      {},      {}};
  if (check) entry.check = [&field, check] { return check(field); };
  register_entry(std::move(entry), boost::program_options::value<T>(&field)->default_value(
                                       field, format_option_value(field)));
}

template <typename Enum>
void OptionRegistry::add_choice(const std::string& section, const std::string& key, Enum& field,
                                const ChoiceTable<Enum>& table, const std::string& help) {
  const std::string name = section + "." + key;
  Entry entry{section,
              key,
              help + " (" + choice_names(table) + ")",
              "choice",
              [&field, &table] { return choice_name(field, table); },
              {},
              [&field, &table, name](const boost::program_options::variables_map& values) {
                field = parse_choice(name, values[name].as<std::string>(), table);
              }};
  register_entry(std::move(entry), boost::program_options::value<std::string>()->default_value(
                                       choice_name(field, table)));
}

template <typename T>
void OptionRegistry::add_list(const std::string& section, const std::string& key,
                              std::vector<T>& field, const std::string& help, bool empty_allowed,
                              std::function<std::optional<std::string>(const T&)> item_check) {
  const std::string name = section + "." + key;
  Entry entry{section,
              key,
              help,
              "list",
              [&field] { return list_text(field); },
              {},
              [&field, name, empty_allowed](const boost::program_options::variables_map& values) {
                const std::string text = values[name].as<std::string>();
                field =
                    empty_allowed && text.empty() ? std::vector<T>{} : parse_list<T>(name, text);
              }};
  if (item_check)
    entry.check = [&field, item_check]() -> std::optional<std::string> {
      for (const T& item : field)
        if (const auto problem = item_check(item)) return "every item " + *problem;
      return std::nullopt;
    };
  register_entry(std::move(entry),
                 boost::program_options::value<std::string>()->default_value(list_text(field)));
}

// Range checks for OptionRegistry::add and OptionRegistry::add_list.
template <typename T>
std::function<std::optional<std::string>(const T&)> at_least(T minimum) {
  return [minimum](const T& value) -> std::optional<std::string> {
    if (value >= minimum) return std::nullopt;
    return "must be >= " + format_option_value(minimum);
  };
}
template <typename T>
std::function<std::optional<std::string>(const T&)> in_range(T minimum, T maximum) {
  return [minimum, maximum](const T& value) -> std::optional<std::string> {
    if (value >= minimum && value <= maximum) return std::nullopt;
    return "must lie in [" + format_option_value(minimum) + ", " + format_option_value(maximum) +
           "]";
  };
}

}  // namespace jointflow
