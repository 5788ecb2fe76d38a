#include "pipeline/report.h"

#include <cstdio>

#include "core/log.h"

namespace jointflow {

void print_metrics(const std::string& title, const Metrics& metrics) {
  log::info(title);
  log::info("  metric                  value      stderr");
  for (const Metric& metric : metrics) {
    char line[128];
    std::snprintf(line, sizeof line, "  %-20s %10.4f %11.4f", metric.name.c_str(), metric.value,
                  metric.standard_error);
    log::info(line);
  }
}

}  // namespace jointflow
