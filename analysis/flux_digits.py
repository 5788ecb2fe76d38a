#!/usr/bin/python3
"""Noise-annealed Flux Matching against DSM on the 8×8 digits: sample grids and a Fréchet score.

Reads flux.h5 and dsm.h5 of jobs/flux_digits.sh (/samples/x [n, 1, 8, 8] in [−1, 1],
/metrics/*, /nll/bits_per_dim). The image-quality score needs no download: this script trains
a small classifier itself (an MLP 64 → 128 → 10 with ReLU, plain numpy, full-batch Adam) on the
first 1 000 digits of scikit-learn's digits file, with their labels, and reports the Fréchet
distance between the 128 hidden features of the samples and of the other 797 digits ("FD-digits",
in the spirit of FID but with this classifier; lower is better, and the FD of 797 real training
digits against the same held-out digits is the floor). Also printed: the classifier's accuracy
on the held-out digits, the entropy of the predicted labels of the samples (ln 10 = 2.303 when
all ten classes are equally present), NLL in bits/dim (pf-ODE, +7 for 8-bit-like data is not
applicable to 17-level digits, so the value is per [−1, 1]-scaled dimension), and the training
time. Writes a PNG of sample grids (--figure). Exit status 0 when FD-digits(Flux) is at most
three times FD-digits(DSM) and both beat unit Gaussian noise, 1 otherwise, 2 on missing files.

Sample runs:
  /usr/bin/python3 analysis/flux_digits.py flux-digits-results
  /usr/bin/python3 analysis/flux_digits.py /tmp/digits --figure docs/flux-digits.png --markdown
"""
import argparse
import gzip
import os
import sys

import h5py
import numpy as np
from scipy import linalg

DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
LABELS = {"flux": "Flux Matching", "dsm": "DSM"}


def load_digits(path):
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",")
    return rows[:, :64] / 16.0 * 2 - 1, rows[:, 64].astype(int)


class Classifier:
    """64 → 128 → 10 MLP (ReLU), trained full-batch with Adam on cross-entropy."""

    def __init__(self, x, y, epochs=600, seed=0):
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(0, 1 / 8, (64, 128))
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


def figure(runs, real, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("real digits", real[:64])] + [(LABELS[n], r["x"][:64]) for n, r in runs.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.3))
    for ax, (title, images) in zip(axes, panels):
        grid = np.ones((8 * 9 + 1, 8 * 9 + 1))
        for k, image in enumerate(images.reshape(-1, 8, 8)):
            r, c = divmod(k, 8)
            grid[1 + 9 * r:9 + 9 * r, 1 + 9 * c:9 + 9 * c] = np.clip((image + 1) / 2, 0, 1)
        ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--digits", default=DIGITS, help="scikit-learn's digits.csv.gz")
    parser.add_argument("--figure", help="write a PNG of sample grids here")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    runs = {}
    for name in ("flux", "dsm"):
        path = os.path.join(args.directory, name + ".h5")
        try:
            with h5py.File(path, "r") as f:
                runs[name] = {"x": f["samples/x"][:].reshape(-1, 64),
                              **{k: f["metrics"][k][()] for k in f["metrics"]}}
        except (OSError, KeyError) as error:
            print(f"cannot read {path}: {error} (run jobs/flux_digits.sh)", file=sys.stderr)
            return 2
    x, y = load_digits(args.digits)
    train_x, train_y, held_x, held_y = x[:1000], y[:1000], x[1000:], y[1000:]
    classifier = Classifier(train_x, train_y)
    accuracy = float((classifier.predict(held_x) == held_y).mean())
    held = classifier.features(held_x)
    floor = frechet(classifier.features(train_x[:len(held_x)]), held)
    noise = np.random.default_rng(1).normal(size=(512, 64))
    noise_fd = frechet(classifier.features(noise), held)
    print(f"classifier accuracy on the {len(held_x)} held-out digits: {accuracy:.3f}")
    header = ["run", "FD-digits", "label entropy", "NLL bits/dim", "MMD²", "steps", "train s"]
    rows = []
    for name, run in runs.items():
        run["fd"] = frechet(classifier.features(run["x"]), held)
        nll = f"{run['nll_bpd']:.3f}" if "nll_bpd" in run else ""
        rows.append([LABELS[name], f"{run['fd']:.2f}",
                     f"{entropy(classifier.predict(run['x'])):.3f}", nll, f"{run['mmd2']:.4f}",
                     f"{int(run['steps'])}", f"{run['train_seconds']:.0f}"])
    rows.append(["real digits (floor)", f"{floor:.2f}", f"{entropy(train_y):.3f}", "", "", "", ""])
    rows.append(["Gaussian noise", f"{noise_fd:.2f}", "", "", "", "", ""])
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
        for row in [header] + rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    checks = [("FD-digits(Flux) <= 3 FD-digits(DSM)", runs["flux"]["fd"] <= 3 * runs["dsm"]["fd"]),
              ("both beat Gaussian noise", max(r["fd"] for r in runs.values()) < noise_fd)]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.figure:
        figure(runs, x, args.figure)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
