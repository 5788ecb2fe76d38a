// The `evaluate` stage: importance weights against a local-likelihood ground truth, next to
// fixed-position weights and the density baselines (paper A Tables 2 and 3; MATH §5.4–§5.7, §6).
#pragma once

#include "estimate/metric.h"
#include "pipeline/config.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// Collective. Reads the samples and trajectory log-weights of evaluate.samples, computes for the
// same samples the fixed-position log-weights (MATH §5.4, with the residual of
// residual.checkpoint) and the kNN, KDE and MGF baselines (§5.6), and the ground truth
// log p_1 − log q̂ with q̂ the local-likelihood density of evaluate.pool (§5.7). Per set (a query
// of K items, its evaluate.confident_fraction most confident members): squared error of
// log-weights, Kendall's τ_b, Spearman's ρ and graded AP; and the JSD of each weighting's
// estimate of the mode probabilities (§6). Queries are split over ranks. Writes /evaluate and
// returns rank 0's metrics.
Metrics run_evaluate(const Config& config, StageContext& context);

}  // namespace jointflow
