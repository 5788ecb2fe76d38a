// Options of the coupled Euler sampler (MATH §1, §3, §4; paper A Definition 2).
#pragma once

#include <cstdint>
#include <string>

#include "core/choice.h"

namespace jointflow {

// Diversity objectives of MATH §3; `iid` switches the coupling off.
enum class Objective { iid, dpp, hdpp, pg, chebyshev, logbarrier, reciprocal, df };
// Score regularization of MATH §4 step 1.
enum class ScoreRegularization { none, soft, hard };
// Gradient of D w.r.t. x_t: the identity Jacobian (`endpoint`) or the VJP through v (`model`).
enum class GradThrough { endpoint, model };
// Feature map φ of MATH §3: identity for vectors, per-channel spatial mean or average pool.
enum class FeatureMap { identity, spatial_mean, avg_pool };

const ChoiceTable<Objective>& objective_choices();
const ChoiceTable<ScoreRegularization>& score_regularization_choices();
const ChoiceTable<GradThrough>& grad_through_choices();
const ChoiceTable<FeatureMap>& feature_map_choices();

struct SamplerOptions {
  // Throws a collective Error naming `<section>.<option>` for an unusable value.
  void validate(const std::string& section = "sampler") const;

  int64_t steps = 100;          // N Euler steps on t_k = k/N (MATH §1)
  int64_t group_size = 10;      // K members per joint set
  int64_t groups = 10000;       // G joint sets
  int64_t batch_groups = 4096;  // sets integrated at once (bounds memory)
  Objective objective = Objective::iid;
  ScoreRegularization sr = ScoreRegularization::none;
  double soft_power = 0.5;  // p of the soft rule t^p (MATH §4)
  double lambda = 1.5;      // γ(t) = λ(1 − t) (MATH §4)
  GradThrough grad_through = GradThrough::endpoint;
  FeatureMap features = FeatureMap::identity;
  int64_t pool_size = 2;            // output side of the average pool (features = avg_pool)
  int64_t chebyshev_degree = 8;     // m of the Chebyshev log-det (MATH §3)
  double df_quality_radius2 = 0.0;  // ρ² of DiverseFlow's quality; 0: χ²_d 99.5 % (MATH §3.1)
  bool drop_nonfinite = false;      // drop members whose state becomes NaN/Inf instead of failing

  bool coupled() const { return objective != Objective::iid && lambda != 0.0; }
};

// Where the log-weight rate of an Euler step is evaluated (MATH §5.3). `left`: at the step's
// start, MATH §5.3's sum, first order in 1/N. `midpoint`: halfway along the step's straight
// segment (the Euler path is piecewise linear and the identity holds on it exactly), second
// order in 1/N, never at the singular t = 1; one more evaluation of the base field per step.
enum class Quadrature { left, midpoint };

}  // namespace jointflow
