#include "sampling/sampler_options.h"

namespace jointflow {

const ChoiceTable<Objective>& objective_choices() {
  static const ChoiceTable<Objective> table{
      {"iid", Objective::iid},       {"dpp", Objective::dpp},
      {"hdpp", Objective::hdpp},     {"pg", Objective::pg},
      {"chebyshev", Objective::chebyshev}, {"logbarrier", Objective::logbarrier},
      {"reciprocal", Objective::reciprocal}, {"df", Objective::df}};
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
