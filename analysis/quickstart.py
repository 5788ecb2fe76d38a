#!/usr/bin/python3
"""The estimates of a quickstart run (`jointflow run`) beside the exact values, as a table and
a figure.

Reads the summary file that `jointflow run` prints at its end: /estimate/iid and /estimate/joint
are HDF5 external links to the IID and joint estimate files beside it. For each component of f
(the probability of each mode of the mixture) it shows the IID estimate, the joint estimate with
equal weights and the joint estimate with importance weights (MATH §5.1), each ± 2 standard
errors, against the exact value. The figure goes beside the summary file unless --figure names
another path. Exit status 2 when the file is missing or is not a quickstart summary.

Sample run:
  /usr/bin/python3 analysis/quickstart.py runs/run-20261207-120000/run.h5
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import results  # noqa: E402

ESTIMATORS = [  # (label, group of the summary, mean, standard error: names under the group)
    ("IID", "estimate/iid", "equal_weights/mean", "equal_weights/stderr"),
    ("joint, equal weights", "estimate/joint", "equal_weights/mean", "equal_weights/stderr"),
    ("joint, importance weights", "estimate/joint", "mean", "stderr"),
]


def read_estimates(path):
    """{label: (mean, stderr)} and the exact values, from the summary's linked groups."""
    rows = {}
    exact = None
    for label, group, mean, stderr in ESTIMATORS:
        values = results.group(path, group)
        rows[label] = (np.asarray(values[mean]), np.asarray(values[stderr]))
        if "exact" in values:
            exact = np.asarray(values["exact"])
    return rows, exact


def plot(rows, exact, figure_path):
    components = np.arange(len(next(iter(rows.values()))[0]))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.25
    for offset, (label, (mean, stderr)) in zip((-width, 0.0, width), rows.items()):
        ax.errorbar(components + offset, mean, yerr=2 * stderr, fmt="o", capsize=3, label=label)
    if exact is not None:
        ax.scatter(components, exact, marker="_", s=400, color="black", label="exact", zorder=3)
    ax.set_xlabel("component of f (mode)")
    ax.set_ylabel("estimate ± 2 SE")
    ax.set_xticks(components)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(figure_path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("summary", help="the file `jointflow run` wrote (run.output)")
    parser.add_argument("--figure", help="where to save the figure (default: beside the summary)")
    args = parser.parse_args()
    try:
        rows, exact = read_estimates(args.summary)
    except results.ResultsError as error:
        print("quickstart.py: %s (give the file `jointflow run` printed at its end)" % error,
              file=sys.stderr)
        return 2
    header = "%-28s" % "component" + "".join("%12d" % i for i in range(len(rows["IID"][0])))
    print(header)
    if exact is not None:
        print("%-28s" % "exact" + "".join("%12.4f" % value for value in exact))
    for label, (mean, stderr) in rows.items():
        print("%-28s" % label + "".join("%12.4f" % value for value in mean))
        print("%-28s" % "  ± 1 SE" + "".join("%12.4f" % value for value in stderr))
    figure_path = args.figure or os.path.splitext(args.summary)[0] + ".estimates.png"
    plot(rows, exact, figure_path)
    print("figure: %s" % figure_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
