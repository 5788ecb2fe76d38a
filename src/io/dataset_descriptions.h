// What every dataset of a results file means: one table, read by the writer (each dataset gets
// its `description` and, where it has them, `units` attributes) and by `jointflow help-files`,
// which renders the table of docs/file-format.md.
#pragma once

#include <string>
#include <vector>

namespace jointflow {

struct DatasetDescription {
  // "/metrics/log_p"; a "*" within a segment matches any characters ("*_se": a segment that
  // ends in "_se"), and a trailing "**" one or more segments.
  std::string pattern;
  std::string description;
  std::string units;  // empty: none apply
};

// The table; the first entry whose pattern matches a path describes it.
const std::vector<DatasetDescription>& dataset_descriptions();

// The entry for `dataset_path` ("/estimate/mean"), or nullptr when the table lacks one.
const DatasetDescription* find_dataset_description(const std::string& dataset_path);

// The table in Markdown, as docs/file-format.md holds it.
std::string dataset_descriptions_markdown();

}  // namespace jointflow
