// `jointflow run`: the whole quickstart pipeline on one config — sample training sets, train
// the residual, estimate with IID and with joint sets — and the comparison of paper A Table 3.
#pragma once

#include <string>

#include "pipeline/config.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// Collective. With <stem> = run.output without ".h5":
//   1. sample residual.groups joint sets (seed run.seed + 1) → <stem>.trajectories.h5;
//   2. train the residual on their final states → <stem>.residual.ckpt (+ <stem>.training.h5);
//   3. estimate with IID sets (λ = 0, equal weights) → <stem>.iid.h5;
//   4. estimate with the joint sampler and trajectory weights → <stem>.joint.h5;
//   5. write run.output with /metrics/jsd_iid, jsd_joint_equal, jsd_joint_weighted (DESIGN §8)
//      and the sample quality of both samplers, external links /estimate/iid and
//      /estimate/joint to the /estimate groups of steps 3 and 4, and print the comparison, where
//      the results are and how to read and plot them.
void run_quickstart(const Config& config, StageContext& context);

// The files of steps 1–4 for a run.output.
struct QuickstartFiles {
  std::string trajectories, training, residual, iid, joint;
};
QuickstartFiles quickstart_files(const std::string& output);

}  // namespace jointflow
