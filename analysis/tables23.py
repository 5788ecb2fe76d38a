#!/usr/bin/python3
"""Paper A Tables 2 and 3 from the files of jobs/paper_a_tables23.sh, next to the paper's numbers.

Reads k<K>/evaluate.h5 (/evaluate/*: each score with its standard error) for every k<K>/ of the
job's output directory (k10/ and k50/ by default). Checks the issue's criteria:
  Table 2: trajectory weights beat fixed-position weights and the three baselines on SE and τ_b;
  Table 3: the weighted joint JSD is below IID's at every K, and below equal weights at K = 50.
Exit status 0 when all hold, 1 when one fails, 2 when a file is missing or unreadable.

Sample runs:
  /usr/bin/python3 analysis/tables23.py out/tables23
  /usr/bin/python3 analysis/tables23.py /tmp/t23
"""
import argparse
import os
import sys

import results

PAPER_TABLE2 = {  # SE, τ_b, ρ, gAP (paper A Table 2)
    "kde": (20.9, -0.350, -0.449, 0.524), "knn": (18.8, -0.326, -0.423, 0.528),
    "mgf": (17.5, -0.326, -0.425, 0.531), "fixed": (3.65, 0.514, 0.640, 0.801),
    "trajectory": (2.58, 0.556, 0.676, 0.808)}
PAPER_TABLE3 = {"trajectory": 0.073, "fixed": 0.082, "knn": 0.512, "kde": 0.526, "mgf": 0.458,
                "equal": 0.087, "iid": 0.077}
NAMES = {"trajectory": "Ours (trajectory)", "fixed": "Ours† (fixed)", "knn": "kNN", "kde": "KDE",
         "mgf": "MGF", "equal": "Equal weights", "iid": "IID"}


def value(evaluate, name):
    """The score NAME of /evaluate and its standard error."""
    return evaluate[name], evaluate[name + "_se"]


def main(out):
    if not os.path.isdir(out):
        print("tables23.py: no directory %s (run jobs/paper_a_tables23.sh)" % out, file=sys.stderr)
        return 2
    failures, found = [], 0
    for k in sorted(int(d[1:]) for d in os.listdir(out) if d[:1] == "k" and d[1:].isdigit()):
        path = os.path.join(out, "k%d" % k, "evaluate.h5")
        if not os.path.exists(path):
            continue
        found += 1
        try:
            evaluate = results.group(path, "evaluate")
            sets = int(evaluate["sets"])
        except results.ResultsError as error:
            print("tables23.py: %s (run jobs/paper_a_tables23.sh)" % error, file=sys.stderr)
            return 2

        print("\nTable 2 (K = %d, %d sets): weights vs the local-likelihood ground truth" % (k, sets))
        print("%-18s %16s %16s %16s %16s   paper: SE / τ_b / ρ / gAP" % ("method", "SE", "τ_b", "ρ", "gAP"))
        scores = {}
        for method in ["kde", "knn", "mgf", "fixed", "trajectory"]:
            row = [value(evaluate, "%s/%s" % (method, m)) for m in
                   ["squared_error", "kendall_tau_b", "spearman_rho", "graded_ap"]]
            scores[method] = row
            print("%-18s " % NAMES[method] + " ".join("%8.3f ± %-5.3f" % r for r in row) +
                  "   %5.2f / %6.3f / %6.3f / %5.3f" % PAPER_TABLE2[method])
        print("\nTable 3 (K = %d): JSD of the mode-probability estimate to the exact ones" % k)
        jsd = {}
        for method in ["trajectory", "fixed", "knn", "kde", "mgf", "equal", "iid"]:
            if "%s/jsd" % method in evaluate:
                jsd[method] = value(evaluate, "%s/jsd" % method)
                print("%-18s %8.4f ± %-7.4f paper %.3f" % (NAMES[method], jsd[method][0], jsd[method][1],
                                                          PAPER_TABLE3[method]))
        ours = scores["trajectory"]
        for other in ["fixed", "knn", "kde", "mgf"]:
            if not ours[0][0] < scores[other][0][0]:
                failures.append("K=%d: trajectory SE %.3f is not below %s's %.3f" % (k, ours[0][0], other, scores[other][0][0]))
            if not ours[1][0] > scores[other][1][0]:
                failures.append("K=%d: trajectory τ_b %.3f is not above %s's %.3f" % (k, ours[1][0], other, scores[other][1][0]))
        if "iid" in jsd and not jsd["trajectory"][0] < jsd["iid"][0]:
            failures.append("K=%d: weighted JSD %.4f is not below IID's %.4f" % (k, jsd["trajectory"][0], jsd["iid"][0]))
        if k == 50 and not jsd["trajectory"][0] < jsd["equal"][0]:
            failures.append("K=50: weighted JSD %.4f is not below equal weights' %.4f" % (jsd["trajectory"][0], jsd["equal"][0]))
    if not found:
        print("tables23.py: no k<K>/evaluate.h5 under %s (run jobs/paper_a_tables23.sh)" % out,
              file=sys.stderr)
        return 2
    print()
    for failure in failures:
        print("FAIL", failure)
    print("PASS" if not failures else "%d criteria failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", default="out/tables23",
                        help="output directory of jobs/paper_a_tables23.sh, with k<K>/evaluate.h5 "
                             "(default out/tables23)")
    sys.exit(main(parser.parse_args().directory))
