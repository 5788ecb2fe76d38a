// Command lines of the benchmarks, by Boost.Program_options: typed options with their defaults,
// --help, and errors that name the option.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace jointflow::bench {

// A positive integer option `--name` bound to `target`, whose current value is the default.
boost::program_options::typed_value<int64_t>* positive(int64_t* target, const std::string& name);

// Parses argv into the variables `options` binds. --help prints `usage` and the options and exits
// with status 0; an unknown option or a bad value throws an Error that names it.
void parse_command_line(int argc, char** argv, const std::string& usage,
                        const boost::program_options::options_description& options);

// "a,b,c" → {"a", "b", "c"} (empty parts dropped).
std::vector<std::string> split_commas(const std::string& text);

// "1,28,28" → {1, 28, 28}; a part that is not an integer is an Error naming `name`.
std::vector<int64_t> split_integers(const std::string& text, const std::string& name);

}  // namespace jointflow::bench
