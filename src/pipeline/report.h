// Short tables of results, printed by rank 0.
#pragma once

#include <string>

#include "estimate/metric.h"

namespace jointflow {

// "name  value ± standard error" lines under a title.
void print_metrics(const std::string& title, const Metrics& metrics);

}  // namespace jointflow
