#!/usr/bin/python3
"""Coverage of the ±2 SE intervals of `estimate` over the seeds of jobs/error_bars.sh.

Usage: analysis/error_bars.py OUT_DIR   (OUT_DIR holds seed*/iid.h5 and seed*/joint.h5)
For every seed and every component of f it checks |estimate − exact| ≤ 2 SE, for the IID
equal-weight estimate and the joint weighted estimates (unbiased and self-normalized, MATH §5.1),
and prints the counts per component and in total. An unbiased estimator with a right standard
error covers about 95 %.
"""
import glob
import os
import sys

import h5py
import numpy as np

ESTIMATORS = [  # (label, file, mean dataset, standard-error dataset)
    ("IID, equal weights", "iid.h5", "estimate/equal_weights/mean", "estimate/equal_weights/stderr"),
    ("joint, weighted (unbiased)", "joint.h5", "estimate/mean", "estimate/stderr"),
    ("joint, weighted (self-normalized)", "joint.h5", "estimate/sn_mean", "estimate/sn_stderr"),
    ("joint, equal weights", "joint.h5", "estimate/equal_weights/mean", "estimate/equal_weights/stderr"),
]


def main(out):
    seeds = sorted(glob.glob(os.path.join(out, "seed*")), key=lambda d: int(d.rsplit("seed", 1)[1]))
    if not seeds:
        sys.exit("no seed*/ folders under %s: run jobs/error_bars.sh first" % out)
    print("%d seeds; each cell: seeds whose ±2 SE interval holds the exact value" % len(seeds))
    for label, name, mean, stderr in ESTIMATORS:
        inside, bias = [], []
        for seed in seeds:
            with h5py.File(os.path.join(seed, name)) as f:
                exact = f["estimate/exact"][()]
                error = f[mean][()] - exact
                inside.append(np.abs(error) <= 2 * f[stderr][()])
                bias.append(error)
        inside = np.array(inside)
        print("\n%s: %d / %d intervals (%.1f %%)" % (label, inside.sum(), inside.size, 100 * inside.mean()))
        print("  per component:", " ".join("%d" % c for c in inside.sum(0)))
        print("  mean error per component:", " ".join("%+.4f" % b for b in np.mean(bias, 0)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/error_bars")
