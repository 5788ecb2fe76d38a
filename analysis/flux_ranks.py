#!/usr/bin/python3
"""Flux Matching at 1 and 3 ranks with the same global batch: the same training, statistically.

Reads np1.h5, np3.h5 and np1-b171.h5 of jobs/flux_ranks.sh (/train/loss: the all-reduced
objective of every step; /samples/x, /reference/x; /metrics/*). Each rank builds its KDE from its
own local batch (MATH §7.1 point 2), so at 3 ranks every KDE has 171 points, not 512, and the
per-sample loss is larger (the own term of a sparser KDE pulls ŝ(x0) further from f): the
objective of np3 is compared with np1-b171, one rank with batch 171, whose KDE has the same size.
The 3-rank objective of a step is the mean of three ranks' objectives, each with its own τ, so
only its mean — not its median or spread — is that of one rank. Prints, per run, the objective's
mean and median in five blocks of steps and the mean over the second half with a standard error
from 30 block means; and the samples' radius, W2 and MMD² to the noised data. Checks: mean
objective of np3 and np1-b171 within 4 combined standard errors; W2 of np1 and np3 within 1.5×
of each other; their radius means within 0.05. Exit status 0 when all pass, 1 otherwise, 2 on
missing files. Needs h5py, numpy, scipy.

Sample runs:
  /usr/bin/python3 analysis/flux_ranks.py flux-ranks-results
  /usr/bin/python3 analysis/flux_ranks.py /tmp/ranks
"""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flux_ring import mmd2, w2  # noqa: E402

RUNS = {"np1": "1 rank, batch 512", "np3": "3 ranks, batch 3 × 171",
        "np1-b171": "1 rank, batch 171"}


def second_half_mean(loss, blocks=30):
    """Mean of the objective over the second half and its standard error from block means."""
    half = loss[len(loss) // 2:]
    means = np.array([b.mean() for b in np.array_split(half, blocks)])
    return float(half.mean()), float(means.std(ddof=1) / np.sqrt(blocks))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory")
    args = parser.parse_args()
    runs = {}
    for name in RUNS:
        path = os.path.join(args.directory, name + ".h5")
        try:
            with h5py.File(path, "r") as f:
                runs[name] = {"loss": f["train/loss"][:], "x": f["samples/x"][:],
                              "reference": f["reference/x"][:],
                              "world_size": int(f.attrs["world_size"]),
                              **{k: f["metrics"][k][()] for k in f["metrics"]}}
        except (OSError, KeyError) as error:
            print(f"cannot read {path}: {error} (run jobs/flux_ranks.sh)", file=sys.stderr)
            return 2
    print("objective per block of steps: mean / median")
    for name, run in runs.items():
        blocks = np.array_split(run["loss"], 5)
        text = "  ".join(f"{b.mean():7.2f} / {np.median(b):6.2f}" for b in blocks)
        run["mean"], run["se"] = second_half_mean(run["loss"])
        print(f"  {RUNS[name]:24s} (world size {run['world_size']}): {text}   second half: "
              f"{run['mean']:.2f} ± {run['se']:.2f}")
    for name, run in runs.items():
        run["w2"] = w2(run["x"], run["reference"])
        run["mmd2"] = mmd2(run["x"], run["reference"])
        print(f"  {RUNS[name]:24s}: radius {run['radius_mean']:.3f} ± {run['radius_std']:.3f}, "
              f"W2 {run['w2']:.4f}, MMD² {run['mmd2']:.5f}, train {run['train_seconds']:.0f} s")
    a, b = runs["np3"], runs["np1-b171"]
    gap = abs(a["mean"] - b["mean"]) / np.hypot(a["se"], b["se"])
    one, three = runs["np1"], runs["np3"]
    checks = [
        (f"mean objective, 3 ranks vs 1 rank with the same KDE size: {gap:.2f} standard errors "
         "apart (< 4)", gap < 4),
        ("W2 of 1 and 3 ranks within 1.5x of each other",
         max(one["w2"], three["w2"]) <= 1.5 * min(one["w2"], three["w2"])),
        ("radius means of 1 and 3 ranks within 0.05",
         abs(one["radius_mean"] - three["radius_mean"]) < 0.05),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
