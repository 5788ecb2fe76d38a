// SamplerOptions::validate: the defaults pass, and each unusable value is refused with a
// collective error that names `<section>.<option>` (library callers get the parser's checks).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "sampling/sampler_options.h"

namespace jointflow {
namespace {

TEST(SamplerOptions, DefaultsValidate) { EXPECT_NO_THROW(SamplerOptions().validate()); }

TEST(SamplerOptions, EachUnusableValueNamesItsKey) {
  const std::vector<std::pair<std::string, std::function<void(SamplerOptions&)>>> cases{
      {"sampler.steps", [](SamplerOptions& o) { o.steps = 0; }},
      {"sampler.group_size", [](SamplerOptions& o) { o.group_size = 1; }},
      {"sampler.groups", [](SamplerOptions& o) { o.groups = 0; }},
      {"sampler.batch_groups", [](SamplerOptions& o) { o.batch_groups = 0; }},
      {"sampler.soft_power", [](SamplerOptions& o) { o.soft_power = -1; }},
      {"sampler.lambda", [](SamplerOptions& o) { o.lambda = std::nan(""); }},
      {"sampler.pool_size", [](SamplerOptions& o) { o.pool_size = 0; }},
      {"sampler.chebyshev_degree", [](SamplerOptions& o) { o.chebyshev_degree = 65; }},
      {"sampler.df_quality_radius2", [](SamplerOptions& o) { o.df_quality_radius2 = -0.5; }}};
  for (const auto& [key, spoil] : cases) {
    SamplerOptions options;
    spoil(options);
    try {
      options.validate();
      ADD_FAILURE() << key << ": accepted";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(key + " = "), std::string::npos) << error.what();
      EXPECT_TRUE(error.collective()) << key;
    }
  }
}

}  // namespace
}  // namespace jointflow
