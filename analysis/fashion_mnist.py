#!/usr/bin/python3
"""Coverage radius of joint sets of Fashion-MNIST images (an analogue of paper A Table 4).

Reads what jobs/fashion_mnist.sh writes to its output directory: train.h5 (train-flow),
reference.h5 (M reference IID images z_m) and iid.h5, dpp.h5, dpp-hard.h5 (G joint sets of K
images each, /samples/x in global member order: set g holds rows g·K .. g·K + K − 1). For every
set, the coverage radius of MATH §6 (paper A Eq. 26) with spatial-mean features φ (the mean of
each channel over the image):
    R = max_m min_i ‖φ(z_m) − φ(x_i)‖,
and checks that its mean over sets agrees with /metrics/coverage_radius, which `sample` wrote
with eval.reference = reference.h5.
Prints the mean ± standard error over the G sets per row and the paired differences (the rows
share their initial noise), checks IID > DPP ≥ DPP + SR, and draws two PNG grids into --figures
(default docs/): 64 reference samples, and the first sets of each row, one set per line.
Exit status 0 when the ordering holds, 1 otherwise, 2 when files are missing.

Sample runs:
  /usr/bin/python3 analysis/fashion_mnist.py fashion-mnist
  /usr/bin/python3 analysis/fashion_mnist.py /tmp/fm --figures /tmp/fm --markdown
"""
import argparse
import os
import sys

import numpy as np

import results
from tables import print_table

ROWS = [("iid", "IID"), ("dpp", "DPP"), ("dpp-hard", "DPP + SR-hard")]


def read_samples(path):
    """The samples [n, C, H, W] of one sample file (float64) and its set size K."""
    x = np.asarray(results.samples(path), dtype=np.float64)
    return x, int(results.config(path)["sampler.group_size"])


def spatial_mean(x):
    """[n, C, H, W] → [n, C]: the feature map φ of MATH §3 for images."""
    return x.mean(axis=(2, 3))


def coverage_radius(reference_features, set_features):
    """R = max_m min_i ‖φ(z_m) − φ(x_i)‖ for one set [K, C] against references [M, C]."""
    distances = np.linalg.norm(reference_features[:, None, :] - set_features[None, :, :], axis=2)
    return distances.min(axis=1).max()


def radii(reference_features, x, group_size):
    features = spatial_mean(x)
    groups = features.shape[0] // group_size
    return np.array([coverage_radius(reference_features,
                                     features[g * group_size:(g + 1) * group_size])
                     for g in range(groups)])


def mean_se(values):
    return values.mean(), values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0


def draw_grids(directory, reference, rows, group_size, sets_per_row):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    count = min(64, reference.shape[0])
    side = int(np.ceil(np.sqrt(count)))
    fig, axes = plt.subplots(side, side, figsize=(side, side))
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            axis.imshow(reference[index, 0], cmap="gray_r", vmin=-1, vmax=1)
    fig.suptitle("Fashion-MNIST 16x16: IID samples of the learned UNet flow")
    fig.tight_layout()
    fig.savefig(os.path.join(directory, "fashion-mnist-samples.png"), dpi=80)
    plt.close(fig)

    lines = [(label, x[s * group_size:(s + 1) * group_size]) for label, x in rows
             for s in range(sets_per_row)]
    fig, axes = plt.subplots(len(lines), group_size, figsize=(group_size, 1.1 * len(lines)))
    for line, (label, images) in enumerate(lines):
        for k in range(group_size):
            axis = axes[line, k]
            axis.set_xticks([])
            axis.set_yticks([])
            axis.imshow(images[k, 0], cmap="gray_r", vmin=-1, vmax=1)
        axes[line, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Joint sets of K = %d (one set per line), spatial-mean features" % group_size)
    fig.tight_layout()
    fig.savefig(os.path.join(directory, "fashion-mnist-joint.png"), dpi=80)
    plt.close(fig)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="output directory of jobs/fashion_mnist.sh")
    parser.add_argument("--figures", default=os.path.join(root, "docs"),
                        help="where the PNG grids go (default docs/)")
    parser.add_argument("--sets-per-row", type=int, default=3, help="sets drawn per row")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    try:
        reference, _ = read_samples(os.path.join(args.directory, "reference.h5"))
        rows = {name: read_samples(os.path.join(args.directory, f"{name}.h5")) for name, _ in ROWS}
        train = os.path.join(args.directory, "train.h5")
        training = results.metric_values(train, ["steps", "final_loss"])
        steps, loss = int(training["steps"]), float(training["final_loss"])
        world = int(results.attribute(train, "world_size"))
        reported = {name: results.metric_values(os.path.join(args.directory, f"{name}.h5"))
                    for name, _ in ROWS}
    except results.ResultsError as error:
        print(f"fashion_mnist.py: cannot read the results in {args.directory}: {error}",
              file=sys.stderr)
        return 2
    seconds_path = os.path.join(args.directory, "train_seconds.txt")
    minutes = float(open(seconds_path).read()) / 60 if os.path.exists(seconds_path) else float("nan")
    print(f"training: {steps} steps on {world} rank(s), {minutes:.1f} min wall, "
          f"final loss {loss:.4f}; {reference.shape[0]} reference images")

    reference_features = spatial_mean(reference)
    radius = {name: radii(reference_features, *rows[name]) for name, _ in ROWS}
    header = ["row", "sets G", "coverage radius R", "R − R(IID), paired"]
    lines = []
    for name, label in ROWS:
        value, se = mean_se(radius[name])
        difference, difference_se = mean_se(radius[name] - radius["iid"])
        lines.append([label, str(len(radius[name])), f"{value:.4f} ± {se:.4f}",
                      "—" if name == "iid" else f"{difference:+.4f} ± {difference_se:.4f}"])
    print_table(header, lines, args.markdown)

    group_size = rows["iid"][1]
    draw_grids(args.figures, reference, [(label, rows[name][0]) for name, label in ROWS],
               group_size, args.sets_per_row)
    print(f"figures: {args.figures}/fashion-mnist-samples.png, fashion-mnist-joint.png")

    iid, dpp, hard = (radius[name].mean() for name, _ in ROWS)
    checks = []
    for name, label in ROWS:
        if "coverage_radius" in reported[name]:
            value = float(reported[name]["coverage_radius"])
            agree = abs(value - radius[name].mean()) <= 1e-6 * max(1.0, value)
            checks.append((agree, f"{label}: sample's coverage_radius {value:.6f} = "
                                  f"recomputed {radius[name].mean():.6f}"))
    checks += [(iid > dpp, f"IID {iid:.4f} > DPP {dpp:.4f}"),
              (dpp >= hard, f"DPP {dpp:.4f} >= DPP + SR-hard {hard:.4f}")]
    for ok, text in checks:
        print(("PASS " if ok else "FAIL ") + text)
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
