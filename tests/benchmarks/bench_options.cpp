#include "bench_options.h"

#include <boost/program_options/parsers.hpp>
#include <boost/program_options/variables_map.hpp>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/error.h"

namespace jointflow::bench {

namespace po = boost::program_options;

po::typed_value<int64_t>* positive(int64_t* target, const std::string& name) {
  return po::value<int64_t>(target)->default_value(*target)->notifier([name](int64_t value) {
    JF_CHECK(value > 0, "--", name, " needs a positive integer, got ", value);
  });
}

void parse_command_line(int argc, char** argv, const std::string& usage,
                        const po::options_description& options) {
  po::options_description all;
  all.add(options).add_options()("help,h", "print this help");
  po::variables_map values;
  try {
    po::store(po::parse_command_line(argc, argv, all), values);
  } catch (const po::error& error) {
    throw Error(detail::concat(error.what(), "\n", usage, all));
  }
  if (values.count("help") != 0) {
    std::cout << usage << all;
    std::exit(0);
  }
  po::notify(values);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

std::vector<int64_t> split_integers(const std::string& text, const std::string& name) {
  std::vector<int64_t> values;
  for (const std::string& part : split_commas(text)) {
    char* end = nullptr;
    const long long value = std::strtoll(part.c_str(), &end, 10);
    JF_CHECK(*end == '\0', "--", name, ": '", part, "' is not an integer");
    values.push_back(value);
  }
  return values;
}

}  // namespace jointflow::bench
