#include "app/option_registry.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

namespace po = boost::program_options;

namespace jointflow {
namespace {

// Levenshtein distance, for "did you mean" hints.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Markdown table cells: "|" would end the cell.
std::string escape_cell(const std::string& text) {
  std::string escaped;
  for (char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return escaped;
}

std::string strip_dashes(std::string name) {
  while (!name.empty() && name.front() == '-') name.erase(name.begin());
  return name;
}

}  // namespace

OptionRegistry::OptionRegistry() = default;

void OptionRegistry::describe_section(const std::string& section, const std::string& caption) {
  captions_[section] = caption;
  section_description(section);
}

po::options_description& OptionRegistry::section_description(const std::string& section) {
  auto& description = sections_[section];
  if (!description) {
    const auto caption = captions_.count(section) ? captions_[section] : section;
    description =
        std::make_unique<po::options_description>("[" + section + "] " + caption, 100, 50);
    section_order_.push_back(section);
  }
  return *description;
}

void OptionRegistry::register_entry(Entry entry, po::value_semantic* value) {
  const std::string name = entry.section + "." + entry.key;
  section_description(entry.section)
      .add(boost::shared_ptr<po::option_description>(
          new po::option_description(name.c_str(), value, entry.help.c_str())));
  entries_.push_back(std::move(entry));
}

std::string OptionRegistry::source_of(const std::string& name) const {
  const auto found = sources_.find(name);
  return found == sources_.end() ? "default" : found->second;
}

std::string OptionRegistry::closest_name(const std::string& unknown) const {
  std::string best;
  size_t best_distance = 4;  // suggest only near misses
  for (const Entry& entry : entries_) {
    const std::string name = entry.section + "." + entry.key;
    const size_t distance = edit_distance(unknown, name);
    if (distance < best_distance) {
      best_distance = distance;
      best = name;
    }
  }
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

void OptionRegistry::fail(const std::string& message) const {
  throw Error(message, /*collective=*/true);
}

OptionRegistry::Parsed OptionRegistry::parse(const std::vector<std::string>& args,
                                             const std::string& embedded_ini) {
  Parsed parsed;
  po::options_description all;
  po::options_description generic;
  generic.add_options()("help,h", "print this help")(
      "config", po::value<std::string>(&parsed.config_file), "INI file with [section] key = value");
  all.add(generic);
  for (const auto& section : section_order_) all.add(*sections_.at(section));

  po::variables_map values;
  auto store = [&](const po::parsed_options& options, const std::string& source) {
    for (const auto& option : options.options) sources_.emplace(option.string_key, source);
    try {
      po::store(options, values);
    } catch (const po::multiple_occurrences& error) {
      fail("option '" + strip_dashes(error.get_option_name()) + "' is given more than once in " +
           source + "; keep one");
    } catch (const po::error& error) {
      fail(std::string(error.what()) + " (in " + source + ")");
    }
  };

  try {
    store(po::command_line_parser(args).options(all).run(), "the command line");
  } catch (const po::unknown_option& error) {
    const std::string name = strip_dashes(error.get_option_name());
    fail("unknown option '--" + name + "' on the command line" + closest_name(name) +
         " (jointflow <command> --help lists every option)");
  } catch (const po::error& error) {
    fail(std::string(error.what()) + " on the command line");
  }
  parsed.help = values.count("help") > 0;
  if (values.count("config")) parsed.config_file = values["config"].as<std::string>();
  if (parsed.help) return parsed;

  auto parse_ini = [&](std::istream& in, const std::string& source) {
    try {
      store(po::parse_config_file(in, all, /*allow_unregistered=*/false), source);
    } catch (const po::unknown_option& error) {
      const std::string name = strip_dashes(error.get_option_name());
      fail("unknown key '" + name + "' in " + source + closest_name(name));
    } catch (const po::error& error) {
      fail(std::string(error.what()) + " in " + source);
    }
  };
  if (!parsed.config_file.empty()) {
    std::error_code status;
    if (std::filesystem::is_directory(parsed.config_file, status))
      fail("config file '" + parsed.config_file +
           "' (--config) is a directory; give an INI file, e.g. configs/gmm8d-iid.ini");
    std::ifstream in(parsed.config_file);
    if (!in)
      fail("cannot open config file '" + parsed.config_file +
           "' (--config): check the path, or leave --config out for the defaults");
    config_file_ = parsed.config_file;
    parse_ini(in, "config file '" + parsed.config_file + "'");
  } else if (!embedded_ini.empty()) {
    std::istringstream in(embedded_ini);
    parse_ini(in, "the embedded default config");
  }

  try {
    po::notify(values);
  } catch (const po::error& error) {
    fail(error.what());
  }
  for (const Entry& entry : entries_) {
    const std::string name = entry.section + "." + entry.key;
    if (entry.finalize) {
      try {
        entry.finalize(values);
      } catch (const Error& error) {
        fail(std::string(error.what()) + " (from " + source_of(name) + ")");
      }
    }
    if (entry.check) {
      if (const auto problem = entry.check())
        fail(name + " = " + entry.current() + " is out of range: " + *problem + " (from " +
             source_of(name) + ")");
    }
  }
  return parsed;
}

void OptionRegistry::print_help(std::ostream& out) const {
  out << "Options (INI: [section] key = value; command line: --section.key value; the command\n"
         "line wins over --config FILE):\n";
  out << "  --config FILE    INI file\n  --help           this help\n\n";
  for (const auto& section : section_order_) out << *sections_.at(section) << '\n';
}

std::string OptionRegistry::resolved_ini() const {
  std::ostringstream out;
  std::string current_section;
  for (const Entry& entry : entries_) {
    if (entry.section != current_section) {
      out << (current_section.empty() ? "" : "\n") << '[' << entry.section << "]\n";
      current_section = entry.section;
    }
    out << entry.key << " = " << entry.current() << '\n';
  }
  return out.str();
}

std::string OptionRegistry::markdown_reference() const {
  std::ostringstream out;
  for (const auto& section : section_order_) {
    const auto caption = captions_.count(section) ? captions_.at(section) : section;
    out << "## [" << section << "] " << caption << "\n\n"
        << "| option | type | default | meaning |\n|---|---|---|---|\n";
    for (const Entry& entry : entries_) {
      if (entry.section != section) continue;
      const std::string value = entry.current();
      out << "| `" << entry.section << '.' << entry.key << "` | " << entry.type << " | "
          << (value.empty() ? "(empty)" : "`" + value + "`") << " | " << escape_cell(entry.help)
          << " |\n";
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace jointflow
