#!/usr/bin/python3
"""Paper A Table 1 beside our reproduction, and the issue's acceptance criteria.

Reads the 17 HDF5 files that jobs/table1.sh writes (one per row: <row>.h5 with /metrics/* and
the resolved config as the root attribute `config`), prints ours, the paper's numbers and the
differences for joint and marginal mode coverage, log p and RMSE (each with its standard error),
then checks (MATH §3, §3.1, §6):
  1. joint coverage within 0.15 of the paper in every row;
  2. marginal coverage 6.51 ± 0.05 in every row;
  3. within each objective, quality none < soft < hard: log p up and RMSE down.
Prints PASS/FAIL per criterion; exit status 0 when all pass, 1 when one fails, 2 when files are
missing or unreadable. Needs only h5py and numpy.

Sample runs:
  /usr/bin/python3 analysis/table1.py table1-results
  /usr/bin/python3 analysis/table1.py /tmp/table1 --markdown   # the table as Markdown
"""
import argparse
import math
import os
import sys

import results

# Paper A Table 1: (joint, marginal, log p, RMSE), each (value, standard error). The paper prints
# no joint coverage for IID; the joint and the marginal coverage of IID sets are the same
# quantity (MATH §2: 10·(1 − 0.9¹⁰) = 6.513), so its marginal stands in for both.
PAPER = {
    "iid": ((6.51, 0.02), (6.51, 0.02), (20.31, 0.01), (0.139, 0.001)),
    "pg-none": ((7.50, 0.02), (6.51, 0.02), (7.28, 0.07), (0.526, 0.001)),
    "pg-soft": ((7.56, 0.02), (6.51, 0.02), (14.94, 0.04), (0.386, 0.001)),
    "pg-hard": ((7.59, 0.02), (6.52, 0.02), (19.93, 0.01), (0.227, 0.001)),
    "chebyshev-none": ((8.39, 0.01), (6.51, 0.02), (7.74, 0.06), (0.517, 0.001)),
    "chebyshev-soft": ((8.60, 0.01), (6.52, 0.02), (15.15, 0.03), (0.379, 0.001)),
    "chebyshev-hard": ((8.58, 0.01), (6.52, 0.02), (19.90, 0.01), (0.227, 0.001)),
    "reciprocal-none": ((9.45, 0.01), (6.51, 0.02), (7.91, 0.06), (0.514, 0.001)),
    "reciprocal-soft": ((9.55, 0.01), (6.51, 0.02), (14.71, 0.04), (0.390, 0.001)),
    "reciprocal-hard": ((9.55, 0.01), (6.51, 0.02), (19.34, 0.02), (0.247, 0.001)),
    "logbarrier-none": ((9.44, 0.01), (6.52, 0.02), (7.50, 0.07), (0.521, 0.001)),
    "logbarrier-soft": ((9.62, 0.01), (6.53, 0.02), (15.08, 0.03), (0.380, 0.001)),
    "logbarrier-hard": ((9.63, 0.01), (6.52, 0.02), (19.84, 0.01), (0.227, 0.001)),
    "dpp-df": ((6.89, 0.02), (6.50, 0.02), (20.96, 0.01), (0.121, 0.001)),
    "dpp-none": ((8.55, 0.02), (6.51, 0.02), (7.16, 0.06), (0.527, 0.001)),
    "dpp-soft": ((8.56, 0.02), (6.50, 0.02), (14.25, 0.03), (0.402, 0.001)),
    "dpp-hard": ((8.57, 0.02), (6.50, 0.02), (19.27, 0.01), (0.253, 0.001)),
}
# The configuration each row must have been run with: (objective, sr); shared keys below.
ROW_SETTINGS = {
    row: ("iid", "none") if row == "iid" else ("df", "none") if row == "dpp-df"
    else tuple(row.split("-"))
    for row in PAPER
}
SHARED_SETTINGS = {"model.mixture": "gmm8d", "sampler.steps": "100", "sampler.group_size": "10",
                   "sampler.groups": "10000", "sampler.lambda": "1.5",
                   "sampler.grad_through": "endpoint"}
OBJECTIVES = ["pg", "chebyshev", "reciprocal", "logbarrier", "dpp"]
METRICS = ["coverage_joint", "coverage_marginal", "log_p", "rmse"]
DIGITS = [2, 2, 2, 3]  # as the paper prints them
# Rows that MATH.md already expects to miss, and why (reported, never excused).
KNOWN = {
    "chebyshev": "MATH §3: the paper's Chebyshev formula was lost; this choice gives joint "
                 "coverage ≈ 0.2 above the paper",
    "dpp-df": "MATH §3.1: DiverseFlow as published gives coverage ≈ 8.5 and far lower quality "
              "than the paper's DPP + DF row",
}
JOINT_TOLERANCE = 0.15
MARGINAL_TARGET, MARGINAL_TOLERANCE = 6.51, 0.05


def read_row(path):
    """Metrics {name: (value, se)}, the resolved config and the wall time of one result file."""
    return (results.metrics(path, METRICS), results.config(path),
            float(results.attribute(path, "wall_time")))


def with_se(value, se, digits):
    """8.53(1): the standard error in units of the last printed digit, rounded up."""
    unit = 10.0 ** -digits
    return f"{value:.{digits}f}({max(1, math.ceil(se / unit - 1e-9))})"


def settings_mismatch(row, config):
    """'key = ours (table: theirs)' for every setting that differs from Table 1's."""
    want = dict(SHARED_SETTINGS)
    want["sampler.objective"], want["sampler.sr"] = ROW_SETTINGS[row]
    found = []
    for key, value in want.items():
        have = config.get(key, "?")
        if have != value:
            found.append(f"{key} = {have} (table: {value})")
    return found


def print_table(table, markdown):
    names = ["joint", "marginal", "log p", "RMSE"]
    if markdown:
        header = "| row | " + " | ".join(f"{n} ours | {n} paper | Δ" for n in names) + " |"
        print(header)
        print("|" + "---|" * (1 + 3 * len(names)))
    else:
        print(f"{'row':<16}" + "".join(f"{n + ' ours':>13}{'paper':>11}{'Δ':>8}" for n in names))
    for row in PAPER:
        metrics, _, _ = table[row]
        cells = []
        for index, name in enumerate(METRICS):
            value, se = metrics[name]
            paper_value, paper_se = PAPER[row][index]
            digits = DIGITS[index]
            cells.append((with_se(value, se, digits), with_se(paper_value, paper_se, digits),
                          f"{value - paper_value:+.{digits}f}"))
        if markdown:
            print(f"| {row} | " + " | ".join(" | ".join(c) for c in cells) + " |")
        else:
            print(f"{row:<16}" + "".join(f"{a:>13}{b:>11}{c:>8}" for a, b, c in cells))


def check(table):
    """Prints PASS/FAIL lines; returns True when every criterion holds."""
    all_pass = True

    def report(ok, text):
        nonlocal all_pass
        all_pass &= ok
        print(f"{'PASS' if ok else 'FAIL'}  {text}")

    for row in PAPER:
        joint = table[row][0]["coverage_joint"][0]
        paper = PAPER[row][0][0]
        ok = abs(joint - paper) <= JOINT_TOLERANCE
        reason = next((why for key, why in KNOWN.items() if row.startswith(key)), None)
        note = f"  [expected: {reason}]" if reason and not ok else ""
        report(ok, f"joint coverage {row}: {joint:.3f} vs paper {paper:.2f} "
                   f"(|Δ| {abs(joint - paper):.3f} ≤ {JOINT_TOLERANCE}){note}")
    for row in PAPER:
        marginal = table[row][0]["coverage_marginal"][0]
        report(abs(marginal - MARGINAL_TARGET) <= MARGINAL_TOLERANCE,
               f"marginal coverage {row}: {marginal:.3f} (6.51 ± 0.05)")
    for objective in OBJECTIVES:
        rows = [f"{objective}-{sr}" for sr in ("none", "soft", "hard")]
        log_p = [table[r][0]["log_p"][0] for r in rows]
        rmse = [table[r][0]["rmse"][0] for r in rows]
        ok = log_p[0] < log_p[1] < log_p[2] and rmse[0] > rmse[1] > rmse[2]
        report(ok, f"quality order {objective}: log p {log_p[0]:.2f} < {log_p[1]:.2f} < "
                   f"{log_p[2]:.2f}, RMSE {rmse[0]:.3f} > {rmse[1]:.3f} > {rmse[2]:.3f}")
    return all_pass


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="output directory of jobs/table1.sh")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()

    table = {}
    for row in PAPER:
        path = os.path.join(args.directory, row + ".h5")
        try:
            table[row] = read_row(path)
        except results.ResultsError as error:
            print(f"table1.py: cannot read row {row}: {error}", file=sys.stderr)
            return 2

    print("Paper A Table 1 on gmm8d: ours vs paper, value(standard error in the last digit);"
          " Δ = ours − paper")
    print_table(table, args.markdown)
    serial = sum(wall for _, _, wall in table.values())
    wall_file = os.path.join(args.directory, "wall_seconds.txt")
    if os.path.exists(wall_file):
        with open(wall_file) as f:
            print(f"\njob sampling wall time {float(f.read()):.1f} s "
                  f"(rows one after another: {serial:.1f} s)")
    mismatches = {row: settings_mismatch(row, table[row][1]) for row in PAPER}
    for row, found in mismatches.items():
        if found:
            print(f"note: {row} was not run with Table 1's settings: {'; '.join(found)}")
    print()
    return 0 if check(table) else 1


if __name__ == "__main__":
    sys.exit(main())
