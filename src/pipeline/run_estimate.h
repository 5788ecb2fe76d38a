// The `estimate` stage: joint sets with importance weights and the estimators of MATH §5.1,
// reduced over ranks in global set order into /estimate.
#pragma once

#include "estimate/metric.h"
#include "pipeline/config.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// Collective. Draws sampler.groups sets, accumulates each member's log-weight (estimate.weights)
// with the residual of residual.checkpoint, evaluates estimate.function and writes /estimate
// (weighted and equal-weight estimates with standard errors over sets, ESS), /metrics (JSD
// against the exact expectation where known, mean weight, the mixture metrics) and optionally
// the samples with their log-weights. Returns rank 0's metrics (empty elsewhere).
Metrics run_estimate(const Config& config, StageContext& context);

}  // namespace jointflow
