#!/usr/bin/python3
"""Flux Matching at 1 and 3 ranks with the same global batch: statistically the same training.

Reads np1.h5 and np3.h5 of jobs/flux_ranks.sh (/train/loss: the all-reduced objective of every
step; /samples/x, /reference/x; /metrics/*). Prints the objective's median and interquartile
range in five blocks of steps for both runs, a two-sample Kolmogorov–Smirnov test of the
objective over the second half of training, and the samples' radius, W2 and MMD² to the noised
data. Checks: KS p-value > 0.01; W2(3 ranks) ≤ 1.5 · W2(1 rank) and the reverse; radius means
within 0.05. Exit status 0 when all pass, 1 otherwise, 2 on missing files. Needs h5py, numpy,
scipy.

Sample runs:
  /usr/bin/python3 analysis/flux_ranks.py flux-ranks-results
  /usr/bin/python3 analysis/flux_ranks.py /tmp/ranks
"""
import argparse
import os
import sys

import h5py
import numpy as np
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flux_ring import mmd2, w2  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory")
    args = parser.parse_args()
    runs = {}
    for ranks in (1, 3):
        path = os.path.join(args.directory, f"np{ranks}.h5")
        try:
            with h5py.File(path, "r") as f:
                runs[ranks] = {"loss": f["train/loss"][:], "x": f["samples/x"][:],
                               "reference": f["reference/x"][:],
                               "world_size": int(f.attrs["world_size"]),
                               **{k: f["metrics"][k][()] for k in f["metrics"]}}
        except (OSError, KeyError) as error:
            print(f"cannot read {path}: {error} (run jobs/flux_ranks.sh)", file=sys.stderr)
            return 2
    print("objective per block of steps: median [interquartile range]")
    for ranks, run in runs.items():
        blocks = np.array_split(run["loss"], 5)
        text = "  ".join(f"{np.median(b):7.2f} [{np.percentile(b, 25):6.2f}, "
                         f"{np.percentile(b, 75):6.2f}]" for b in blocks)
        print(f"  {ranks} rank(s) (world size {run['world_size']}): {text}")
    half = len(runs[1]["loss"]) // 2
    ks = stats.ks_2samp(runs[1]["loss"][half:], runs[3]["loss"][half:])
    print(f"KS test, second half of training: statistic {ks.statistic:.4f}, p-value {ks.pvalue:.3f}")
    for ranks, run in runs.items():
        run["w2"] = w2(run["x"], run["reference"])
        run["mmd2"] = mmd2(run["x"], run["reference"])
        print(f"  {ranks} rank(s): radius {run['radius_mean']:.3f} ± {run['radius_std']:.3f}, "
              f"W2 {run['w2']:.4f}, MMD² {run['mmd2']:.5f}, train {run['train_seconds']:.0f} s")
    checks = [
        ("objective distributions match (KS p > 0.01)", ks.pvalue > 0.01),
        ("W2 within 1.5x of each other",
         max(runs[1]["w2"], runs[3]["w2"]) <= 1.5 * min(runs[1]["w2"], runs[3]["w2"])),
        ("radius means within 0.05", abs(runs[1]["radius_mean"] - runs[3]["radius_mean"]) < 0.05),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
