#include "sampling/sampler_options.h"

#include <cmath>

#include "core/error.h"

namespace jointflow {

void SamplerOptions::validate(const std::string& section) const {
  const auto key = [&](const char* name) { return section + "." + name; };
  JF_CHECK_COLLECTIVE(steps >= 1, key("steps"), " = ", steps, " must be at least 1");
  JF_CHECK_COLLECTIVE(group_size >= 2, key("group_size"), " = ", group_size,
                      " must be at least 2 (a joint set needs two members)");
  JF_CHECK_COLLECTIVE(groups >= 1, key("groups"), " = ", groups, " must be at least 1");
  // Member ids (the counter-keyed draws, the shard rows) must stay exact in int64 and double.
  constexpr int64_t kMaxMembers = int64_t{1} << 53;
  JF_CHECK_COLLECTIVE(group_size < 2 || groups <= kMaxMembers / group_size, key("groups"), " = ",
                      groups, " sets of ", key("group_size"), " = ", group_size,
                      " members exceed 2^53 members in all; give fewer sets");
  JF_CHECK_COLLECTIVE(batch_groups >= 1, key("batch_groups"), " = ", batch_groups,
                      " must be at least 1");
  JF_CHECK_COLLECTIVE(std::isfinite(soft_power) && soft_power >= 0, key("soft_power"), " = ",
                      soft_power, " must be non-negative");
  JF_CHECK_COLLECTIVE(std::isfinite(lambda) && lambda >= 0, key("lambda"), " = ", lambda,
                      " must be non-negative");
  JF_CHECK_COLLECTIVE(pool_size >= 1, key("pool_size"), " = ", pool_size, " must be at least 1");
  JF_CHECK_COLLECTIVE(chebyshev_degree >= 2 && chebyshev_degree <= 64, key("chebyshev_degree"),
                      " = ", chebyshev_degree, " must lie in [2, 64]");
  JF_CHECK_COLLECTIVE(std::isfinite(df_quality_radius2) && df_quality_radius2 >= 0,
                      key("df_quality_radius2"), " = ", df_quality_radius2,
                      " must be non-negative (0: the χ²_d quantile)");
}

const ChoiceTable<Objective>& objective_choices() {
  static const ChoiceTable<Objective> table{{"iid", Objective::iid},
                                            {"dpp", Objective::dpp},
                                            {"hdpp", Objective::hdpp},
                                            {"pg", Objective::pg},
                                            {"chebyshev", Objective::chebyshev},
                                            {"logbarrier", Objective::logbarrier},
                                            {"reciprocal", Objective::reciprocal},
                                            {"df", Objective::df}};
  return table;
}

const ChoiceTable<ScoreRegularization>& score_regularization_choices() {
  static const ChoiceTable<ScoreRegularization> table{{"none", ScoreRegularization::none},
                                                      {"soft", ScoreRegularization::soft},
                                                      {"hard", ScoreRegularization::hard}};
  return table;
}

const ChoiceTable<GradThrough>& grad_through_choices() {
  static const ChoiceTable<GradThrough> table{{"endpoint", GradThrough::endpoint},
                                              {"model", GradThrough::model}};
  return table;
}

const ChoiceTable<FeatureMap>& feature_map_choices() {
  static const ChoiceTable<FeatureMap> table{{"identity", FeatureMap::identity},
                                             {"spatial_mean", FeatureMap::spatial_mean},
                                             {"avg_pool", FeatureMap::avg_pool}};
  return table;
}

}  // namespace jointflow
