#!/usr/bin/python3
"""Coverage of the ±2 SE intervals of `estimate` over the seeds of jobs/error_bars.sh.

Reads seed*/iid.h5 and seed*/joint.h5 of the job's output directory (/estimate of each).
For every seed and every component of f it checks |estimate − exact| ≤ 2 SE, for the IID
equal-weight estimate and the joint weighted estimates (unbiased and self-normalized, MATH §5.1),
and prints the counts per component and in total. An unbiased estimator with a right standard
error covers about 95 %. Where it covers less, three diagnostics say why:
  - bias: each component's mean error over the seeds in units of its own standard error
    (|t| > 3 is a bias the seeds resolve);
  - spread: the standard deviation of the estimates over the seeds divided by the root mean
    square of the reported standard errors (1 when the standard errors are right on average);
  - skew: the coverage with each component's mean error removed, and the share of errors below
    −2 SE and above +2 SE. Heavy-tailed weights make low estimates come with small standard errors,
    so the intervals miss on one side more than 2.5 % of the time even without bias.
Exit status 2 when files are missing.

Sample runs:
  /usr/bin/python3 analysis/error_bars.py out/error_bars
  /usr/bin/python3 analysis/error_bars.py out/error_bars50
"""
import argparse
import glob
import os
import sys

import numpy as np

import results

ESTIMATORS = [  # (label, file, mean, standard error: names in /estimate)
    ("IID, equal weights", "iid.h5", "equal_weights/mean", "equal_weights/stderr"),
    ("joint, weighted (unbiased)", "joint.h5", "mean", "stderr"),
    ("joint, weighted (self-normalized)", "joint.h5", "sn_mean", "sn_stderr"),
    ("joint, equal weights", "joint.h5", "equal_weights/mean", "equal_weights/stderr"),
]


def main(out):
    seeds = sorted(glob.glob(os.path.join(out, "seed*")), key=lambda d: int(d.rsplit("seed", 1)[1]))
    if not seeds:
        print("no seed*/ folders under %s: run jobs/error_bars.sh first" % out, file=sys.stderr)
        return 2
    estimates = {}
    try:
        for seed in seeds:
            for name in ("iid.h5", "joint.h5"):
                path = os.path.join(seed, name)
                estimates[seed, name] = results.estimates(path)
                if "exact" not in estimates[seed, name]:
                    raise results.ResultsError("results file '%s' has no /estimate/exact (no "
                                               "evaluation mixture was known)" % path)
    except results.ResultsError as error:
        print("error_bars.py: %s (run jobs/error_bars.sh)" % error, file=sys.stderr)
        return 2
    print("%d seeds; each cell: seeds whose ±2 SE interval holds the exact value" % len(seeds))
    for label, name, mean, stderr in ESTIMATORS:
        errors, stderrs = [], []
        for seed in seeds:
            estimate = estimates[seed, name]
            errors.append(estimate[mean] - estimate["exact"])
            stderrs.append(estimate[stderr])
        errors, stderrs = np.array(errors), np.array(stderrs)  # [seeds, components]
        inside = np.abs(errors) <= 2 * stderrs
        bias = errors.mean(0)
        bias_t = bias / (errors.std(0, ddof=1) / np.sqrt(len(seeds)))
        spread = errors.std(0, ddof=1) / np.sqrt((stderrs ** 2).mean(0))
        unbiased_inside = np.abs(errors - bias) <= 2 * stderrs
        z = errors / stderrs
        print("\n%s: %d / %d intervals (%.1f %%)" % (label, inside.sum(), inside.size, 100 * inside.mean()))
        print("  per component:", " ".join("%d" % c for c in inside.sum(0)))
        print("  mean error per component:", " ".join("%+.4f" % b for b in bias))
        print("  bias, mean error / its SE:", " ".join("%+.1f" % t for t in bias_t))
        print("  spread, SD of estimates / RMS SE:", " ".join("%.2f" % r for r in spread))
        print("  skew: %.1f %% covered with the mean errors removed; %.1f %% below −2 SE, %.1f %% above +2 SE"
              % (100 * unbiased_inside.mean(), 100 * (z < -2).mean(), 100 * (z > 2).mean()))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", default="out/error_bars",
                        help="output directory of jobs/error_bars.sh, with seed*/ "
                             "(default out/error_bars)")
    sys.exit(main(parser.parse_args().directory))
