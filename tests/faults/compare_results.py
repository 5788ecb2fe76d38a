#!/usr/bin/python3
"""Compares two jointflow results files dataset by dataset (DESIGN §3 Invariant R: equal to 1e-12
relative in float64).

    compare_results.py RESULT REFERENCE [--rtol 1e-12] [--require /metrics]

Exit status 0 when both files hold the same datasets with equal values, 1 otherwise (one line per
difference). Attributes are not compared: they record the run (output path, parts, world size,
wall time), not its results. Per-sample groups (/samples, /trajectories) are compared too when
present.
"""
import argparse
import sys

import h5py
import numpy as np


def datasets(path):
    """{name: numpy value} of every dataset in the file."""
    found = {}
    with h5py.File(path, "r") as f:
        def visit(name, node):
            if isinstance(node, h5py.Dataset):
                found["/" + name] = np.asarray(node[()])
        f.visititems(visit)
    return found


def differences(result, reference, rtol=1e-12, require=("/metrics",)):
    """Lines describing how `result` differs from `reference` (empty when they agree)."""
    a, b = datasets(result), datasets(reference)
    problems = []
    for prefix in require:
        if not any(name.startswith(prefix + "/") for name in a):
            problems.append("%s has no datasets under %s" % (result, prefix))
    for name in sorted(set(a) | set(b)):
        if name not in a:
            problems.append("%s: missing from %s" % (name, result))
            continue
        if name not in b:
            problems.append("%s: in %s but not in the reference %s" % (name, result, reference))
            continue
        x, y = a[name], b[name]
        if x.shape != y.shape:
            problems.append("%s: shape %s, reference %s" % (name, x.shape, y.shape))
            continue
        if x.dtype.kind not in "fiu" or y.dtype.kind not in "fiu":
            if not np.array_equal(x, y):
                problems.append("%s: differs" % name)
            continue
        x, y = x.astype(np.float64), y.astype(np.float64)
        if not (np.all(np.isfinite(x) == np.isfinite(y)) and np.all(np.isnan(x) == np.isnan(y))):
            problems.append("%s: non-finite values differ: %s vs %s" % (name, x, y))
            continue
        finite = np.isfinite(x)
        gap = np.abs(x[finite] - y[finite])
        scale = np.maximum(np.abs(x[finite]), np.abs(y[finite]))
        if np.any(gap > rtol * scale):
            worst = float(np.max(gap / np.where(scale > 0, scale, 1.0)))
            problems.append("%s: relative difference %.3g > %g (%s vs %s)"
                            % (name, worst, rtol, x.ravel()[:4], y.ravel()[:4]))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result")
    parser.add_argument("reference")
    parser.add_argument("--rtol", type=float, default=1e-12)
    parser.add_argument("--require", action="append", default=None,
                        help="a group that must hold datasets (default /metrics)")
    args = parser.parse_args()
    problems = differences(args.result, args.reference, args.rtol,
                           args.require if args.require is not None else ["/metrics"])
    for line in problems:
        print("compare_results.py: " + line, file=sys.stderr)
    if not problems:
        count = len(datasets(args.result))
        print("compare_results.py: %s equals %s (%d datasets, rtol %g)"
              % (args.result, args.reference, count, args.rtol))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
