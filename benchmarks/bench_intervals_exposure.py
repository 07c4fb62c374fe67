"""Exposure regression with few, unequal clusters: CR2 (Bell-McCaffrey df) against the restricted
wild cluster bootstrap for the direct and global effects.

A stochastic block model with 14 blocks of geometric sizes 10-300 (within-block edge probability
8/size, between blocks 0.0005), the blocks as clusters; unit Bernoulli(1/2) assignment; outcomes
y = 0.05 + 0.2 z + 0.1 f + u_c + e_i (f: fraction of treated neighbours, u_c ~ N(0, 0.3^2),
e_i ~ N(0, 0.5^2)), graph and cluster effects fixed, assignment and unit noise redrawn.

Run: .venv/bin/python benchmarks/bench_intervals_exposure.py [--reps 1000] [--clusters 14]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import netexp as ne
from netexp.estimators import exposure_regression_fit
from netexp.estimators._wild_bootstrap import wild_cluster_bootstrap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--clusters", type=int, default=14)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    G = args.clusters
    rng = np.random.default_rng(args.seed)
    sizes = np.round(np.geomspace(10, 300, G)).astype(int)
    P = np.full((G, G), 0.0005)
    np.fill_diagonal(P, np.minimum(1.0, 8.0 / sizes))
    g, labels = ne.stochastic_block_model(sizes, P, rng=rng, return_labels=True)
    n = g.n_nodes
    u = rng.normal(0, 0.3, G)[labels]
    deg = np.diff(g._undirected[0]) if hasattr(g, "_undirected") else None
    share = float(np.mean(deg > 0))
    truth = {"direct effect": 0.2, "global effect": 0.2 + 0.1 * share}
    res = {(k, m): [] for k in truth for m in ("CR2", "wild")}
    for _ in range(args.reps):
        z = rng.random(n) < 0.5
        f = ne.fraction_treated_neighbors(g, z)
        y = 0.05 + 0.2 * z + 0.1 * f + u + rng.normal(0, 0.5, n)
        fit = exposure_regression_fit(y, z, f, clusters=labels, isolated=deg == 0)
        tab = fit.estimates("CR2")
        for e in tab:
            if e.estimand in truth:
                res[e.estimand, "CR2"].append((e.ci[0] <= truth[e.estimand] <= e.ci[1], e.ci[1] - e.ci[0]))
        for name, c in (("direct effect", [0, 1, 0]), ("global effect", [0, 1, share])):
            r = wild_cluster_bootstrap(fit._X, y, labels, c, rng=rng)
            lo, hi = r["ci"]
            res[name, "wild"].append((lo <= truth[name] <= hi, hi - lo))
    for k in truth:
        w0 = np.mean([x[1] for x in res[k, "CR2"]])
        for m in ("CR2", "wild"):
            c = np.mean([x[0] for x in res[k, m]])
            w = np.mean([x[1] for x in res[k, m]])
            print(f"G={G} {k:14s} {m:5s} coverage {c:.3f} ({np.sqrt(c * (1 - c) / args.reps):.3f})  width {w:.4f}  "
                  f"vs CR2 {w / w0:.3f}", flush=True)


if __name__ == "__main__":
    main()
