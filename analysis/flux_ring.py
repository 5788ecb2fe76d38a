#!/usr/bin/python3
"""Paper B's 2-D ring: Flux Matching against DSM, and the spiral field (MATH §7.1).

Reads the HDF5 files of jobs/flux_ring.sh (dsm.h5 and, when present, flux.h5, spiral.h5, odd.h5
and dsm-odd.h5 — the last two with the odd field network, field.symmetry = odd: each with
/samples/x, /reference/x, /field/* and /metrics/*), and prints for every run the sample
radius, the fraction of samples inside radius 1, the exact W2 (optimal assignment) and MMD² to
the noised data, and the mean |curl| of the field on the grid, next to the reference notebook's
mean |curl| (Flux ≈ 0.41, DSM ≈ 0.12, Flux + spiral ≈ 1.64, on that notebook's own grid). The
W2 of the two halves of the noised data (the sampling-noise floor at half the sample size) is
printed too, and two statistics of the field on the ring 2 ≤ ‖x‖ ≤ 3 of the grid: the mean |curl|
there (off the data the field is unconstrained, and the curl of the whole grid is mostly made
there) and the mean tangential speed f·Jx/‖x‖ (the circulation the spiral loss asks for), and
the distance of the sample mean from the centre (the dipole of docs/flux-matching.md).
Checks: W2 ≤ 1.5 · W2(DSM) for every other run, and, with spiral.h5 and flux.h5, that the
spiral field's mean tangential speed on the ring exceeds both Flux Matching's and DSM's.
Given several directories (one per seed, as `jobs/flux_ring.sh --seeds` writes them), it prints
one row per seed instead: W2 of DSM and of the other runs, their ratios to DSM's and mean
offsets, and the ratio of the mean W2s; the checks are then W2 ≤ 1.5 · W2(DSM) in every seed and
for the means. Writes a figure with the samples, the fields and their curl of the first
directory (--figure). Exit status 0 when all checks pass, 1 otherwise, 2 when files are missing.
Needs h5py, numpy, scipy and matplotlib.

Sample runs:
  /usr/bin/python3 analysis/flux_ring.py flux-ring-results
  /usr/bin/python3 analysis/flux_ring.py /tmp/ring --figure docs/flux-ring.png --markdown
  /usr/bin/python3 analysis/flux_ring.py /tmp/ring-seeds/seed-* --markdown
"""
import argparse
import os
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment

import results
from tables import print_table

REFERENCE_CURL = {"flux": 0.41, "dsm": 0.12, "spiral": 1.64}
LABELS = {"flux": "Flux Matching", "dsm": "DSM", "spiral": "Flux Matching + spiral loss",
          "odd": "Flux Matching, odd field", "dsm-odd": "DSM, odd field"}
# The runs compared with DSM's W2 (every name of LABELS but DSM's).
COMPARED = [name for name in LABELS if name != "dsm"]


def w2(x, y):
    """Exact 2-Wasserstein distance between two equal-size empirical measures."""
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    cost = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    return float(np.sqrt(cost[rows, cols].mean()))


def mmd2(x, y):
    """Unbiased MMD² with Gaussian kernels at 0.5, 1, 2 times the median distance of y."""
    def d2(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    h2 = np.median(np.sqrt(d2(y, y))) ** 2
    def kernel(d):
        return sum(np.exp(-d / (2 * s * h2)) for s in (0.25, 1.0, 4.0))
    kxx, kyy = kernel(d2(x, x)), kernel(d2(y, y))
    n, m = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) +
                 (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kernel(d2(x, y)).mean())


def on_ring(run):
    """Mean |curl| and mean tangential speed of the field on the grid points with 2 ≤ r ≤ 3."""
    points, values = run["points"], run["values"]
    radius = np.linalg.norm(points, axis=1)
    ring = (radius >= 2) & (radius <= 3)
    x, f = points[ring], values[ring]
    tangential = (f[:, 1] * x[:, 0] - f[:, 0] * x[:, 1]) / radius[ring]
    return float(np.abs(run["curl"][ring]).mean()), float(tangential.mean())


def mean_offset(x):
    """Distance of the points' mean from the ring's centre: the dipole's size."""
    return float(np.linalg.norm(x.mean(0)))


def load(path):
    """The metrics, samples, noised data, field on the grid and loss curve of one run."""
    run = results.metric_values(path)
    run["samples"] = results.samples(path)
    run["reference"] = results.read(path, "reference/x")
    for name in ("points", "values", "curl"):
        run[name] = results.read(path, "field/" + name)
    run["loss"] = results.read(path, "train/loss")
    return run


def figure(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(runs)
    fig, axes = plt.subplots(3, len(names), figsize=(4.2 * len(names), 12.5), squeeze=False)
    limit = max(np.abs(runs[n]["curl"]).max() for n in names)
    for j, name in enumerate(names):
        run = runs[name]
        side = int(round(np.sqrt(len(run["points"]))))
        ax = axes[0][j]
        ax.scatter(run["reference"][:, 0], run["reference"][:, 1], s=2, c="0.7", label="noised data")
        ax.scatter(run["samples"][:, 0], run["samples"][:, 1], s=2, c="C3", label="Langevin samples")
        ax.set_title(f"{LABELS[name]}\nW2 {run['w2']:.3f}")
        ax.set_aspect("equal")
        ax.set_xlim(-4, 4)
        ax.set_ylim(-4, 4)
        if j == 0:
            ax.legend(loc="upper right", fontsize=7, markerscale=4)
        ax = axes[1][j]
        p, v = run["points"], run["values"]
        step = max(1, side // 20)
        grid = np.arange(len(p)).reshape(side, side)[::step, ::step].ravel()
        norm = np.linalg.norm(v[grid], axis=1, keepdims=True) + 1e-12
        ax.quiver(p[grid, 0], p[grid, 1], v[grid, 0] / norm[:, 0], v[grid, 1] / norm[:, 0],
                  norm[:, 0], cmap="viridis", scale=30)
        ax.set_title("field direction (colour: |f|)")
        ax.set_aspect("equal")
        ax = axes[2][j]
        image = ax.imshow(run["curl"].reshape(side, side), origin="lower", cmap="RdBu_r",
                          extent=[p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max()],
                          vmin=-limit, vmax=limit)
        ax.set_title(f"curl, mean |curl| {run['mean_abs_curl']:.2f}")
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def analyse(directory):
    """The runs of one directory with their W2, MMD², ring statistics and the sample mean's
    distance from the centre (the dipole of docs/flux-matching.md), and the W2 floor."""
    runs = {}
    for name in LABELS:
        path = os.path.join(directory, name + ".h5")
        if os.path.exists(path):
            runs[name] = load(path)
    if "dsm" not in runs or len(runs) < 2:
        raise FileNotFoundError(f"{directory} needs dsm.h5 and another run (run jobs/flux_ring.sh)")
    reference = runs["dsm"]["reference"]
    half = len(reference) // 2
    floor = w2(reference[:half], reference[half:])
    for run in runs.values():
        run["w2"] = w2(run["samples"], run["reference"])
        run["mmd2"] = mmd2(run["samples"], run["reference"])
        run["ring_curl"], run["tangential"] = on_ring(run)
        run["mean_offset"] = mean_offset(run["samples"])
    return runs, floor


def report_one(runs, floor, markdown):
    """The table of one seed and its checks."""
    header = ["run", "radius", "inside r<1", "W2", "MMD²", "mean abs curl", "abs curl on ring",
              "reference abs curl", "tangential on ring", "mean offset", "steps", "train s"]
    rows = []
    for name, run in runs.items():
        rows.append([LABELS[name], f"{run['radius_mean']:.3f} ± {run['radius_std']:.3f}",
                     f"{run['inner_fraction']:.4f}", f"{run['w2']:.4f}", f"{run['mmd2']:.5f}",
                     f"{run['mean_abs_curl']:.3f}", f"{run['ring_curl']:.3f}",
                     f"{REFERENCE_CURL[name]:.2f}" if name in REFERENCE_CURL else "",
                     f"{run['tangential']:.3f}",
                     f"{run['mean_offset']:.3f}", f"{int(run['steps'])}",
                     f"{run['train_seconds']:.0f}"])
    ref = runs["dsm"]
    rows.append(["noised data", f"{ref['reference_radius_mean']:.3f} ± "
                 f"{ref['reference_radius_std']:.3f}", "", f"{floor:.4f} (two halves)", "", "",
                 "", "", "", f"{mean_offset(ref['reference']):.3f}", "", ""])
    print_table(header, rows, markdown)
    checks = [(f"W2({LABELS[n]}) <= 1.5 W2(DSM)", runs[n]["w2"] <= 1.5 * runs["dsm"]["w2"])
              for n in COMPARED if n in runs]
    if "spiral" in runs and "flux" in runs:
        s = runs["spiral"]
        checks.append(("tangential speed on the ring: spiral > Flux and spiral > DSM",
                       s["tangential"] > max(runs["flux"]["tangential"],
                                             runs["dsm"]["tangential"])))
    return checks


def report_seeds(directories, analysed, markdown):
    """One row per seed (directory) with the W2 ratios to DSM, then the checks over all seeds:
    every run within 1.5x of DSM's W2, and the ratio of the mean W2s."""
    names = [n for n in COMPARED if all(n in runs for runs, _ in analysed)]
    header = ["seed directory", "W2 DSM"] + [
        column for n in names for column in (f"W2 {LABELS[n]}", "ratio", "mean offset")]
    rows = []
    for directory, (runs, _) in zip(directories, analysed):
        row = [os.path.basename(os.path.normpath(directory)), f"{runs['dsm']['w2']:.4f}"]
        for n in names:
            row += [f"{runs[n]['w2']:.4f}", f"{runs[n]['w2'] / runs['dsm']['w2']:.2f}",
                    f"{runs[n]['mean_offset']:.3f}"]
        rows.append(row)
    mean = {n: float(np.mean([runs[n]["w2"] for runs, _ in analysed])) for n in names + ["dsm"]}
    row = ["mean", f"{mean['dsm']:.4f}"]
    for n in names:
        row += [f"{mean[n]:.4f}", f"{mean[n] / mean['dsm']:.2f}", ""]
    rows.append(row)
    print_table(header, rows, markdown)
    checks = []
    for n in names:
        passed = sum(runs[n]["w2"] <= 1.5 * runs["dsm"]["w2"] for runs, _ in analysed)
        checks.append((f"W2({LABELS[n]}) <= 1.5 W2(DSM) in every seed ({passed} of "
                       f"{len(analysed)})", passed == len(analysed)))
        checks.append((f"mean W2({LABELS[n]}) <= 1.5 mean W2(DSM)", mean[n] <= 1.5 * mean["dsm"]))
    return checks


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directories", nargs="+", metavar="directory",
                        help="one run directory, or one per seed for the summary over seeds")
    parser.add_argument("--figure", help="write a PNG of samples, fields and curl (first directory)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args()
    try:
        analysed = [analyse(d) for d in args.directories]
    except (OSError, results.ResultsError) as error:
        print(f"cannot read the runs: {error}", file=sys.stderr)
        return 2
    if len(analysed) == 1:
        checks = report_one(*analysed[0], args.markdown)
    else:
        checks = report_seeds(args.directories, analysed, args.markdown)
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.figure:
        figure(analysed[0][0], args.figure)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
