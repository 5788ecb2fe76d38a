#!/usr/bin/python3
"""How a circulation added at sampling time changes the angular law of a ring field's samples.

RUN.h5 is a `jointflow train-flux` output on the ring (configs/flux/ring.ini). Its field, stored
on the 41 × 41 grid of /field/values, drives the ring's Langevin sampler x ← x + ½ε(f + c·e_θ) + √ε η
(ε = 0.01, from N(0, 3²)), bilinear between grid points, for each tangential speed c. For the
ring's rotation-invariant density, c·e_θ preserves the target, so with the exact score every c
samples the same law; a learned field's tangential error a·sin(θ − φ) tilts the angular density by
about a·R at c = 0 and by a/(2R·√(ω² + D²)) with ω = c/(2R), D = 1/(2R²) once it circulates
(docs/flux-matching.md). Prints, for each c, the distance of the samples' mean from the centre
(the dipole) and their mean radius. Exit status 2 when the file or its field is missing.

Sample run:
  /usr/bin/python3 analysis/ring_circulation.py /tmp/ring-seeds/seed-6/flux.h5 --speeds 0 0.5 1 2
"""
import argparse
import sys

import numpy as np
from scipy.interpolate import RegularGridInterpolator

import results


def grid_field(path):
    """The stored field as a function of [n, 2] points (bilinear, extrapolated past the grid)."""
    points, values = results.read(path, "field/points"), results.read(path, "field/values")
    side = int(round(np.sqrt(len(points))))
    xs, ys = points[:side, 0], points[::side, 1]  # x varies fastest on the grid
    if not (np.allclose(points[:, 0].reshape(side, side), xs[None, :]) and
            np.allclose(points[:, 1].reshape(side, side), ys[:, None])):
        raise ValueError(f"{path}: /field/points is not a row-major square grid")
    parts = [RegularGridInterpolator((ys, xs), values[:, k].reshape(side, side),
                                     bounds_error=False, fill_value=None) for k in range(2)]
    return lambda z: np.stack([part(z[:, ::-1]) for part in parts], 1)


def langevin(field, speed, samples, steps, step_size, seed):
    """ULA on field + speed·e_θ; returns the final [samples, 2] states."""
    rng = np.random.default_rng(seed)
    z = 3.0 * rng.standard_normal((samples, 2))
    for _ in range(steps):
        radius = np.linalg.norm(z, axis=1, keepdims=True) + 1e-12
        drift = field(z) + speed * np.stack([-z[:, 1], z[:, 0]], 1) / radius
        z = z + 0.5 * step_size * drift + np.sqrt(step_size) * rng.standard_normal(z.shape)
    return z


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a train-flux output on the ring")
    parser.add_argument("--speeds", type=float, nargs="+", default=[0.0, 1.0],
                        help="tangential speeds c to sample at (default 0 1)")
    parser.add_argument("--samples", type=int, default=2000,
                        help="Langevin chains per speed (default 2000)")
    parser.add_argument("--steps", type=int, default=2000,
                        help="Langevin steps per chain (default 2000)")
    parser.add_argument("--step-size", type=float, default=0.01,
                        help="Langevin step size ε (default 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the chains (default 0)")
    args = parser.parse_args()
    try:
        field = grid_field(args.run)
    except (results.ResultsError, ValueError) as error:
        print(f"cannot read the field of {args.run}: {error}", file=sys.stderr)
        return 2
    for speed in args.speeds:
        z = langevin(field, speed, args.samples, args.steps, args.step_size, args.seed)
        print(f"c = {speed:g}: mean offset {np.linalg.norm(z.mean(0)):.3f}, "
              f"radius {np.linalg.norm(z, axis=1).mean():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
