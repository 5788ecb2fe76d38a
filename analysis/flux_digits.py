#!/usr/bin/python3
"""Noise-annealed Flux Matching against DSM on images: sample grids and a Fréchet score.

Reads flux.h5 and dsm.h5 of jobs/flux_digits.sh (/samples/x [n, 1, side, side] in [−1, 1],
/metrics/*, /nll/bits_per_dim) and takes the data set from the `[data]` section of the
configuration the runs recorded (data.kind, data.size); two are known:
- digits: scikit-learn's 8×8 digits. The classifier learns the first 1 000 digits; its features
  of the other 797 are the reference, and 797 of its own training digits give the floor row.
- fashion_mnist: Fashion-MNIST shrunk to data.size × data.size by adaptive average pooling, as
  jointflow does (src/data/datasets.cpp). The classifier learns the first 10 000 training
  images; the first 2 000 images of the test file are the reference, and 512 training images
  it did not see (from index 50 000, images the generative models trained on) give the floor
  row, the samples' count so that both carry the same small-sample bias.
The image-quality score needs no download: this script trains a small classifier itself (an MLP
d → 128 → 10 with ReLU, plain numpy, full-batch Adam, 600 epochs) and reports the Fréchet
distance between the 128 hidden features of the samples and of the reference images ("FD-digits"
or "FD-fashion": FID's formula in this classifier's features, not FID and not comparable with
it; lower is better). Also printed: the classifier's accuracy on the reference images, the
entropy of the predicted labels of the samples (ln 10 = 2.303 when all ten classes are equally
present), NLL in bits/dim (pf-ODE, per [−1, 1]-scaled dimension of continuous data, no
dequantization) and the training time. Writes a PNG of sample grids (--figure). Exit status 0
when FD(Flux) is at most three times FD(DSM) and both beat unit Gaussian noise, 1 otherwise,
2 on missing files.

Sample runs:
  /usr/bin/python3 analysis/flux_digits.py flux-digits-results
  /usr/bin/python3 analysis/flux_digits.py /tmp/digits --figure docs/flux-digits.png --markdown
  /usr/bin/python3 analysis/flux_digits.py /tmp/fashion --figure docs/flux-fashion.png --markdown
"""
import argparse
import gzip
import os
import sys

import numpy as np
from scipy import linalg

import results
from tables import print_table

DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
FASHION = "/usr/share/datasets/fashion-mnist"
LABELS = {"flux": "Flux Matching", "dsm": "DSM"}


def load_digits(path):
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",")
    return rows[:, :64] / 16.0 * 2 - 1, rows[:, 64].astype(int)


def read_idx(path):
    """An IDX file (gzip) as a uint8 array: magic 0x0000 08 <rank>, big-endian sizes, then bytes."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    if data[:3] != b"\0\0\x08" or rank not in (1, 3):
        sys.exit(f"'{path}' is not an IDX file of unsigned bytes")
    shape = np.frombuffer(data[4:4 + 4 * rank], dtype=">u4").astype(int)
    return np.frombuffer(data[4 + 4 * rank:], dtype=np.uint8).reshape(shape)


def pooling_matrix(native, side):
    """Row i averages pixels floor(i·n/s) .. ceil((i + 1)·n/s) − 1: adaptive average pooling."""
    matrix = np.zeros((side, native))
    for i in range(side):
        begin, end = (i * native) // side, -((-(i + 1) * native) // side)
        matrix[i, begin:end] = 1.0 / (end - begin)
    return matrix


def load_fashion(directory, split, side):
    """Fashion-MNIST images scaled to [−1, 1] and shrunk to side × side, flattened, and labels."""
    prefix = os.path.join(directory, "train" if split == "train" else "t10k")
    images = read_idx(prefix + "-images-idx3-ubyte.gz")
    labels = read_idx(prefix + "-labels-idx1-ubyte.gz").astype(int)
    x = images.astype(np.float64) * (2.0 / 255.0) - 1.0
    if side != x.shape[1]:
        pool = pooling_matrix(x.shape[1], side)
        x = pool @ x @ pool.T
    return x.reshape(len(x), -1), labels


def data_options(path):
    """data.kind and data.size (0: native side) of the configuration a run recorded."""
    config = results.config(path)
    return config["data.kind"], int(config.get("data.size") or 0)


def reference_sets(args, kind, size):
    """(classifier images, labels), (reference images, labels), floor images, score name."""
    if kind == "digits":
        x, y = load_digits(args.digits)
        return (x[:1000], y[:1000]), (x[1000:], y[1000:]), x[:797], "FD-digits"
    x, y = load_fashion(args.fashion, "train", size or 28)
    test_x, test_y = load_fashion(args.fashion, "test", size or 28)
    return (x[:10000], y[:10000]), (test_x[:2000], test_y[:2000]), x[50000:50512], "FD-fashion"


class Classifier:
    """d → 128 → 10 MLP (ReLU), trained full-batch with Adam on cross-entropy."""

    def __init__(self, x, y, epochs=600, seed=0):
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(0, 1 / np.sqrt(x.shape[1]), (x.shape[1], 128))
        self.b1 = np.zeros(128)
        self.w2 = rng.normal(0, 1 / np.sqrt(128), (128, 10))
        self.b2 = np.zeros(10)
        params = [self.w1, self.b1, self.w2, self.b2]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        onehot = np.eye(10)[y]
        for t in range(1, epochs + 1):
            h = np.maximum(x @ self.w1 + self.b1, 0)
            logits = h @ self.w2 + self.b2
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            g_logits = (p - onehot) / len(x)
            g_h = (g_logits @ self.w2.T) * (h > 0)
            grads = [x.T @ g_h, g_h.sum(0), h.T @ g_logits, g_logits.sum(0)]
            for i, (param, grad) in enumerate(zip(params, grads)):
                m[i] = 0.9 * m[i] + 0.1 * grad
                v[i] = 0.999 * v[i] + 0.001 * grad ** 2
                param -= 1e-2 * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)

    def features(self, x):
        return np.maximum(x @ self.w1 + self.b1, 0)

    def predict(self, x):
        return (self.features(x) @ self.w2 + self.b2).argmax(1)


def frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(root):
        root = root.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def entropy(labels):
    p = np.bincount(labels, minlength=10) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def figure(runs, real, real_title, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    side = int(round(np.sqrt(real.shape[1])))
    panels = [(real_title, real[:64])] + [(LABELS[n], r["x"][:64]) for n, r in runs.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.3))
    cell = side + 1
    for ax, (title, images) in zip(axes, panels):
        grid = np.ones((8 * cell + 1, 8 * cell + 1))
        for k, image in enumerate(images.reshape(-1, side, side)):
            r, c = divmod(k, 8)
            grid[1 + cell * r:cell * (r + 1), 1 + cell * c:cell * (c + 1)] = \
                np.clip((image + 1) / 2, 0, 1)
        ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="output directory of jobs/flux_digits.sh (flux.h5, dsm.h5)")
    parser.add_argument("--digits", default=DIGITS, help="scikit-learn's digits.csv.gz")
    parser.add_argument("--fashion", default=FASHION,
                        help="directory of the Fashion-MNIST *-idx?-ubyte.gz files")
    parser.add_argument("--figure", help="write a PNG of sample grids here")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    runs, data = {}, {}
    for name in ("flux", "dsm"):
        path = os.path.join(args.directory, name + ".h5")
        try:
            data[name] = data_options(path)
            x = results.samples(path)
            runs[name] = {"x": x.reshape(len(x), -1), **results.metric_values(path)}
        except (results.ResultsError, ValueError) as error:
            print(f"cannot read {path}: {error} (run jobs/flux_digits.sh)", file=sys.stderr)
            return 2
    kind, size = data["flux"]
    if data["dsm"] != data["flux"] or kind not in ("digits", "fashion_mnist"):
        print(f"the runs hold data.kind, data.size = {data['flux']} (flux) and {data['dsm']} (dsm);"
              " both must be digits or fashion_mnist, and the same", file=sys.stderr)
        return 2
    (train_x, train_y), (held_x, held_y), floor_x, score = reference_sets(args, kind, size)
    classifier = Classifier(train_x, train_y)
    accuracy = float((classifier.predict(held_x) == held_y).mean())
    held = classifier.features(held_x)
    floor = frechet(classifier.features(floor_x), held)
    noise = np.random.default_rng(1).normal(size=(512, train_x.shape[1]))
    noise_fd = frechet(classifier.features(noise), held)
    held_name = "held-out digits" if kind == "digits" else "test images"
    print(f"classifier accuracy on the {len(held_x)} {held_name}: {accuracy:.3f}")
    header = ["run", score, "label entropy", "NLL bits/dim", "MMD²", "steps", "train s"]
    rows = []
    for name, run in runs.items():
        run["fd"] = frechet(classifier.features(run["x"]), held)
        nll = f"{run['nll_bpd']:.3f}" if "nll_bpd" in run else ""
        rows.append([LABELS[name], f"{run['fd']:.2f}",
                     f"{entropy(classifier.predict(run['x'])):.3f}", nll, f"{run['mmd2']:.4f}",
                     f"{int(run['steps'])}", f"{run['train_seconds']:.0f}"])
    real = "real digits" if kind == "digits" else "real images"
    rows.append([f"{real} (floor)", f"{floor:.2f}", f"{entropy(train_y):.3f}", "", "", "", ""])
    rows.append(["Gaussian noise", f"{noise_fd:.2f}", "", "", "", "", ""])
    print_table(header, rows, args.markdown)
    checks = [(f"{score}(Flux) <= 3 {score}(DSM)", runs["flux"]["fd"] <= 3 * runs["dsm"]["fd"]),
              ("both beat Gaussian noise", max(r["fd"] for r in runs.values()) < noise_fd)]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.figure:
        side = size or 28
        title = real if kind == "digits" else f"real Fashion-MNIST ({side}×{side})"
        figure(runs, floor_x, title, args.figure)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
