#!/usr/bin/python3
"""Weight calibration at λ = 0 from the files of jobs/paper_a_calibration.sh.

Reads estimate.h5 (`estimate` at λ = 0 with trajectory weights: /metrics/mean_weight and
/metrics/ess, each with its standard error) and training.h5 (`train-residual`: final loss and
steps) of the job's output directory, and prints the mean weight, its excess over 1 (an estimate
of χ²(p‖q̂), zero when the learned residual is; MATH §5.1, §5.2) in standard errors, and the
per-set effective sample size against K. Exit status 0, or 2 when a file is missing.

Sample runs:
  /usr/bin/python3 analysis/calibration.py out/calibration
  /usr/bin/python3 analysis/calibration.py /tmp/calibration
"""
import argparse
import os
import sys

import results


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", default="out/calibration",
                        help="output directory of jobs/paper_a_calibration.sh "
                             "(default out/calibration)")
    args = parser.parse_args()
    estimate = os.path.join(args.directory, "estimate.h5")
    training = os.path.join(args.directory, "training.h5")
    try:
        metrics = results.metrics(estimate, ["mean_weight", "ess"])
        k = int(results.config(estimate)["sampler.group_size"])
        sets = int(results.estimates(estimate)["n_sets"])
        trained = results.metric_values(training)
    except results.ResultsError as error:
        print(f"calibration.py: {error} (run jobs/paper_a_calibration.sh)", file=sys.stderr)
        return 2
    weight, ess = metrics["mean_weight"], metrics["ess"]
    excess = weight.value - 1
    print(f"{sets} sets of K = {k} at λ = 0; residual: {int(trained.get('steps', 0))} steps, "
          f"final loss {trained.get('final_loss', float('nan')):.5g}")
    print(f"mean weight {weight.value:.4f} ± {weight.se:.4f}: χ²(p‖q̂) ≈ {excess:+.4f}"
          + (f" ({excess / weight.se:+.1f} standard errors)" if weight.se else ""))
    print(f"per-set ESS {ess.value:.3f} ± {ess.se:.3f} of {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
