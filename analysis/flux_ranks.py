#!/usr/bin/python3
"""Flux Matching at 1 and 3 ranks with the same global batch and KDE batches: the same training.

Reads np1.h5, np3.h5 and np1-kde513.h5 of jobs/flux_ranks.sh (/train/loss: the all-reduced
objective of every step; /samples/x, /reference/x; /metrics/*). np1 and np3 train on the global
batch of 513 in KDE batches of 171 (flux.kde_batch), each KDE batch with the σ, horizon and noise
of its global position: one process holds all three, three ranks one each. Their objectives are
therefore the same up to the order of the gradient sums, which float32 rounding lets drift apart
over the steps. np1-kde513 is one rank with one KDE of all 513 examples (the reference code's
one-KDE-per-GPU convention at one GPU): a sparser KDE's own term pulls ŝ(x0) further from f, so
its objective sits lower.

Prints, per run, the objective's mean and median in five blocks of steps and the mean over the
second half with a standard error from 30 block means; the first step at which np1 and np3 part
by more than 0.1 % of the objective's spread; and the samples' radius, W2 and MMD² to the noised
data. Checks: np1 and np3 take the same first step (objectives within 1e-5 relative); their
second-half means within 4 combined standard errors and their second-half objectives alike by a
two-sample Kolmogorov–Smirnov test (p > 0.001); W2 within 1.5× of each other; radius means within
0.05. Exit status 0 when all pass, 1 otherwise, 2 on missing files. Needs h5py, numpy, scipy.

Sample runs:
  /usr/bin/python3 analysis/flux_ranks.py flux-ranks-results
  /usr/bin/python3 analysis/flux_ranks.py /tmp/ranks
"""
import argparse
import os
import sys

import numpy as np
from scipy.stats import ks_2samp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402
from flux_ring import mmd2, w2  # noqa: E402

RUNS = {"np1": "1 rank, 3 KDE batches", "np3": "3 ranks, 1 KDE batch each",
        "np1-kde513": "1 rank, one KDE of 513"}


def second_half_mean(loss, blocks=30):
    """Mean of the objective over the second half and its standard error from block means."""
    half = loss[len(loss) // 2:]
    means = np.array([b.mean() for b in np.array_split(half, blocks)])
    return float(half.mean()), float(means.std(ddof=1) / np.sqrt(blocks))


def first_parting(a, b, tolerance):
    """First step at which |a − b| exceeds `tolerance`, or None."""
    apart = np.nonzero(np.abs(a - b) > tolerance)[0]
    return int(apart[0]) if len(apart) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="output directory of jobs/flux_ranks.sh")
    args = parser.parse_args()
    runs = {}
    for name in RUNS:
        path = os.path.join(args.directory, name + ".h5")
        try:
            runs[name] = {"loss": results.read(path, "train/loss"), "x": results.samples(path),
                          "reference": results.read(path, "reference/x"),
                          "world_size": int(results.attribute(path, "world_size")),
                          **results.metric_values(path)}
        except results.ResultsError as error:
            print(f"cannot read {path}: {error} (run jobs/flux_ranks.sh)", file=sys.stderr)
            return 2
    print("objective per block of steps: mean / median")
    for name, run in runs.items():
        blocks = np.array_split(run["loss"], 5)
        text = "  ".join(f"{b.mean():7.2f} / {np.median(b):6.2f}" for b in blocks)
        run["mean"], run["se"] = second_half_mean(run["loss"])
        print(f"  {RUNS[name]:26s} (world size {run['world_size']}): {text}   second half: "
              f"{run['mean']:.2f} ± {run['se']:.2f}")
    for name, run in runs.items():
        run["w2"] = w2(run["x"], run["reference"])
        run["mmd2"] = mmd2(run["x"], run["reference"])
        print(f"  {RUNS[name]:26s}: radius {run['radius_mean']:.3f} ± {run['radius_std']:.3f}, "
              f"W2 {run['w2']:.4f}, MMD² {run['mmd2']:.5f}, train {run['train_seconds']:.0f} s")

    one, three = runs["np1"], runs["np3"]
    a, b = one["loss"], three["loss"]
    first_gap = abs(a[0] - b[0]) / max(abs(a[0]), 1e-30)
    parting = first_parting(a, b, 1e-3 * np.std(a))
    print(f"np1 against np3: step 0 objectives {a[0]:.6g} and {b[0]:.6g} ({first_gap:.1e} "
          f"relative); they part by more than 0.1 % of the objective's spread "
          + (f"at step {parting}" if parting is not None else "at no step"))
    gap = abs(one["mean"] - three["mean"]) / np.hypot(one["se"], three["se"])
    ks = ks_2samp(a[len(a) // 2:], b[len(b) // 2:]).pvalue
    checks = [
        (f"the same first step at 1 and 3 ranks: objectives {first_gap:.1e} apart (< 1e-5)",
         first_gap < 1e-5),
        (f"mean objective over the second half, 1 against 3 ranks: {gap:.2f} standard errors apart "
         "(< 4)", gap < 4),
        (f"second-half objectives of 1 and 3 ranks alike by Kolmogorov–Smirnov: p = {ks:.3f} "
         "(> 0.001)", ks > 0.001),
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
