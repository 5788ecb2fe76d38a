#!/usr/bin/python3
"""The learned gmm8d flow beside the analytic one in paper A's Table 1 setting.

Reads what jobs/learned_gmm8d.sh writes to its output directory: train.h5 (train-flow: final
loss, steps, wall time), train_seconds.txt, and one sample file per row — learned-<row>.h5 and
analytic-<row>.h5 for rows iid, dpp-none and dpp-hard — with /metrics/<name> and <name>_se
(joint and marginal mode coverage, log p and RMSE against the true mixture, MATH §6). Prints the
rows beside the paper's, then checks the learned IID row:
  1. joint mode coverage within 2 % of 6.51;
  2. log p within 1 nat of 20.31.
Exit status 0 when both hold, 1 when one fails, 2 when files are missing. Needs h5py and numpy.

Sample runs:
  /usr/bin/python3 analysis/learned_gmm8d.py learned-gmm8d
  /usr/bin/python3 analysis/learned_gmm8d.py /tmp/lg8 --markdown
"""
import argparse
import os
import sys

import results
from tables import print_table

# Paper A Table 1 (joint coverage, log p, RMSE) of the rows this job runs.
PAPER = {"iid": (6.51, 20.31, 0.139), "dpp-none": (8.55, 7.16, 0.527),
         "dpp-hard": (8.57, 19.27, 0.253)}
LABELS = {"iid": "IID", "dpp-none": "DPP", "dpp-hard": "DPP + SR-hard"}
METRICS = [("coverage_joint", 2), ("coverage_marginal", 2), ("log_p", 2), ("rmse", 3)]
IID_COVERAGE, IID_LOG_P = 6.51, 20.31


def read_metrics(path):
    """{name: (value, se)} of the METRICS of one sample file."""
    return results.metrics(path, [name for name, _ in METRICS])


def training_summary(directory):
    """Final loss, steps, examples, world size and config of train.h5, and the training time."""
    path = os.path.join(directory, "train.h5")
    metrics = results.metric_values(path, ["final_loss", "steps", "examples"])
    summary = {"final_loss": float(metrics["final_loss"]), "steps": int(metrics["steps"]),
               "examples": int(metrics["examples"]),
               "world_size": int(results.attribute(path, "world_size")),
               "config": results.config(path)}
    seconds = os.path.join(directory, "train_seconds.txt")
    if os.path.exists(seconds):
        summary["seconds"] = float(open(seconds).read())
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="output directory of jobs/learned_gmm8d.sh")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    try:
        rows = {(flow, row): read_metrics(os.path.join(args.directory, f"{flow}-{row}.h5"))
                for flow in ("learned", "analytic") for row in PAPER}
        training = training_summary(args.directory)
    except results.ResultsError as error:
        print(f"learned_gmm8d.py: cannot read the results in {args.directory}: {error}",
              file=sys.stderr)
        return 2

    c = training["config"]
    budget = (f"training: {training['steps']} steps of batch {c.get('train.batch_size', '?')}"
              f" on {training['examples']} draws, MLP {c.get('flow.hidden', '?')}, "
              f"{training['world_size']} rank(s)")
    if "seconds" in training:
        budget += f", {training['seconds'] / 60:.1f} min wall"
    budget += f"; final loss {training['final_loss']:.4f}"
    print(budget)
    header = ["row", "flow", "coverage (joint)", "coverage (marginal)", "log p", "RMSE",
              "paper (cov / log p / RMSE)"]
    lines = []
    for row in PAPER:
        for flow in ("learned", "analytic"):
            metrics = rows[(flow, row)]
            cells = [LABELS[row], flow]
            for name, digits in METRICS:
                value, se = metrics[name]
                cells.append(f"{value:.{digits}f} ± {se:.{digits}f}")
            paper = PAPER[row]
            cells.append(f"{paper[0]:.2f} / {paper[1]:.2f} / {paper[2]:.3f}")
            lines.append(cells)
    print_table(header, lines, args.markdown)

    coverage, _ = rows[("learned", "iid")]["coverage_joint"]
    log_p, _ = rows[("learned", "iid")]["log_p"]
    checks = [
        (abs(coverage - IID_COVERAGE) <= 0.02 * IID_COVERAGE,
         f"learned IID coverage {coverage:.3f} within 2 % of {IID_COVERAGE}"),
        (abs(log_p - IID_LOG_P) <= 1.0, f"learned IID log p {log_p:.2f} within 1 nat of {IID_LOG_P}"),
    ]
    for ok, text in checks:
        print(("PASS " if ok else "FAIL ") + text)
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
