#!/usr/bin/python3
"""Paper A App. I (Figure 5): joint ODE paths on gmm2d3 from the files of jobs/paper_a_appendix_i.sh.

Reads iid.h5, dpp.h5 and dpp_sr.h5 (/trajectories/paths: every Euler state of each member) and
dpp_sr_iw.h5 (/samples/x and /samples/log_w of `estimate`) and draws one PNG with the panels IID,
DPP, DPP + SR and DPP + SR + IW. Paths run from the noise (t = 0) to the samples (t = 1) over
log p_1; in the last panel the marker area of each sample is proportional to its importance
weight (MATH §5.3), whose value is printed beside it.

Sample runs:
  /usr/bin/python3 analysis/appendix_i.py out/appendix_i docs/appendix-i.png
  /usr/bin/python3 analysis/appendix_i.py /tmp/appendix_i /tmp/appendix-i.png
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import results

# gmm2d3 (MATH §2): circumradius 2.3, first vertex up, weights 0.7 / 0.2 / 0.1, std 0.35.
ANGLES = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
MEANS = 2.3 * np.stack([np.cos(ANGLES), np.sin(ANGLES)], 1)
WEIGHTS = np.array([0.7, 0.2, 0.1])
STD = 0.35
PANELS = [("IID", "iid.h5"), ("DPP", "dpp.h5"), ("DPP + SR", "dpp_sr.h5"), ("DPP + SR + IW", "dpp_sr.h5")]


def density(x, y):
    d2 = (x[..., None] - MEANS[:, 0]) ** 2 + (y[..., None] - MEANS[:, 1]) ** 2
    return (WEIGHTS * np.exp(-d2 / (2 * STD ** 2)) / (2 * np.pi * STD ** 2)).sum(-1)


def main(out, png):
    iw = os.path.join(out, "dpp_sr_iw.h5")
    x_iw, log_w = results.samples(iw), results.samples(iw, "log_w")
    grid = np.linspace(-3.6, 3.6, 300)
    gx, gy = np.meshgrid(grid, grid)
    background = np.log(density(gx, gy))
    background = np.maximum(background, background.max() - 10)
    figure, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    for axis, (title, name) in zip(axes, PANELS):
        paths = results.read(os.path.join(out, name), "trajectories/paths")  # [members, steps + 1, 2]
        axis.contourf(gx, gy, background, levels=30, cmap="viridis")
        colors = plt.cm.autumn(np.linspace(0, 0.9, len(paths)))
        for path, color in zip(paths, colors):
            axis.plot(path[:, 0], path[:, 1], color=color, lw=1.3)
            axis.plot(*path[0], "o", color="white", ms=3)
        ends = paths[:, -1]
        if title.endswith("IW"):
            # The estimate draws the same sets (same seed and sampler): its samples are the ends.
            np.testing.assert_allclose(x_iw, ends, rtol=1e-5, atol=1e-5)
            w = np.exp(log_w)
            axis.scatter(ends[:, 0], ends[:, 1], s=400 * w / w.max(), c=colors, edgecolors="white", zorder=3)
            for end, weight in zip(ends, w):
                axis.annotate("w=%.2f" % weight, end, xytext=(6, 6), textcoords="offset points", color="white")
        else:
            axis.scatter(ends[:, 0], ends[:, 1], s=60, c=colors, edgecolors="white", zorder=3)
        axis.set_title(title)
        axis.set_xlim(grid[0], grid[-1])
        axis.set_ylim(grid[0], grid[-1])
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle("Joint ODE paths on gmm2d3 (mode weights 0.7 top, 0.2 lower left, 0.1 lower right), "
                    "K = %d; IW: marker area ∝ importance weight" % len(x_iw))
    figure.tight_layout()
    figure.savefig(png, dpi=90)
    print("appendix_i: wrote %s; weights %s" % (png, " ".join("%.3f" % v for v in np.exp(log_w))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", default="out/appendix_i",
                        help="output directory of jobs/paper_a_appendix_i.sh (default out/appendix_i)")
    parser.add_argument("png", nargs="?", default="docs/appendix-i.png",
                        help="the figure to write (default docs/appendix-i.png)")
    args = parser.parse_args()
    try:
        main(args.directory, args.png)
    except results.ResultsError as error:
        print(f"appendix_i.py: {error} (run jobs/paper_a_appendix_i.sh)", file=sys.stderr)
        sys.exit(2)
