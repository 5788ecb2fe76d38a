#!/usr/bin/python3
"""Paper A Tables 2 and 3 from the files of jobs/paper_a_tables23.sh, next to the paper's numbers.

Usage: analysis/tables23.py OUT_DIR   (OUT_DIR holds k10/, k50/ with evaluate.h5)
Checks the issue's criteria and exits non-zero when one fails:
  Table 2: trajectory weights beat fixed-position weights and the three baselines on SE and τ_b;
  Table 3: the weighted joint JSD is below IID's at every K, and below equal weights at K = 50.
"""
import os
import sys

import h5py

PAPER_TABLE2 = {  # SE, τ_b, ρ, gAP (paper A Table 2)
    "kde": (20.9, -0.350, -0.449, 0.524), "knn": (18.8, -0.326, -0.423, 0.528),
    "mgf": (17.5, -0.326, -0.425, 0.531), "fixed": (3.65, 0.514, 0.640, 0.801),
    "trajectory": (2.58, 0.556, 0.676, 0.808)}
PAPER_TABLE3 = {"trajectory": 0.073, "fixed": 0.082, "knn": 0.512, "kde": 0.526, "mgf": 0.458,
                "equal": 0.087, "iid": 0.077}
NAMES = {"trajectory": "Ours (trajectory)", "fixed": "Ours† (fixed)", "knn": "kNN", "kde": "KDE",
         "mgf": "MGF", "equal": "Equal weights", "iid": "IID"}


def value(f, name):
    return f["/evaluate/" + name][()], f["/evaluate/" + name + "_se"][()]


def main(out):
    failures = []
    for k in sorted(int(d[1:]) for d in os.listdir(out) if d.startswith("k")):
        path = os.path.join(out, "k%d" % k, "evaluate.h5")
        if not os.path.exists(path):
            continue
        with h5py.File(path) as f:
            sets = int(f["/evaluate/sets"][()])
            print("\nTable 2 (K = %d, %d sets): weights vs the local-likelihood ground truth" % (k, sets))
            print("%-18s %16s %16s %16s %16s   paper: SE / τ_b / ρ / gAP" % ("method", "SE", "τ_b", "ρ", "gAP"))
            scores = {}
            for method in ["kde", "knn", "mgf", "fixed", "trajectory"]:
                row = [value(f, "%s/%s" % (method, m)) for m in
                       ["squared_error", "kendall_tau_b", "spearman_rho", "graded_ap"]]
                scores[method] = row
                print("%-18s " % NAMES[method] + " ".join("%8.3f ± %-5.3f" % r for r in row) +
                      "   %5.2f / %6.3f / %6.3f / %5.3f" % PAPER_TABLE2[method])
            print("\nTable 3 (K = %d): JSD of the mode-probability estimate to the exact ones" % k)
            jsd = {}
            for method in ["trajectory", "fixed", "knn", "kde", "mgf", "equal", "iid"]:
                if "/evaluate/%s/jsd" % method in f:
                    jsd[method] = value(f, "%s/jsd" % method)
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
    print()
    for failure in failures:
        print("FAIL", failure)
    print("PASS" if not failures else "%d criteria failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out/tables23"))
