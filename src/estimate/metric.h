// A named scalar result with its standard error over sets (DESIGN §8: /metrics/<name>, _se).
#pragma once

#include <string>
#include <vector>

namespace jointflow {

struct Metric {
  std::string name;
  double value = 0.0;
  double standard_error = 0.0;
};

using Metrics = std::vector<Metric>;

}  // namespace jointflow
