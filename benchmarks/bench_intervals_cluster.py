"""Coverage and width of cluster-level intervals with few, unequal clusters.

``cluster_ols`` (y ~ 1 + z, z constant within clusters) under complete randomization of half the
clusters; cluster sizes geometric from 3 to 120 units (``np.geomspace``), G = 14, 30 or 80
clusters; outcomes y = 1 + tau_c z + u_c + e_i with a cluster effect u_c ~ N(0, 1), unit noise
e_i ~ N(0, 1) and a heterogeneous effect tau_c = 0.3 + 0.5 N(0, 1) (drawn once per replication);
the target is the unit-weighted effect sum_c n_c tau_c / n. Intervals: CR2 with the
Bell-McCaffrey df (the previous default), CR1 and CR3 (jackknife) with G - 1 df, and the restricted wild cluster
bootstrap (WCR, Webb weights, 999 draws; Rademacher too with ``--rademacher``). Reports coverage
with its Monte Carlo SE and the mean width relative to CR2.

Run: .venv/bin/python benchmarks/bench_intervals_cluster.py [--reps 1000] [--clusters 14,30,80]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import netexp as ne
from netexp.estimators._wild_bootstrap import wild_cluster_bootstrap


def one(G, rng, methods):
    sizes = np.round(np.geomspace(3, 120, G)).astype(int)
    labels = np.repeat(np.arange(G), sizes)
    zc = np.zeros(G, bool)
    zc[rng.choice(G, G // 2, replace=False)] = True
    tau = 0.3 + 0.5 * rng.normal(size=G)
    u = rng.normal(size=G)
    z = zc[labels]
    y = 1.0 + tau[labels] * z + u[labels] + rng.normal(size=labels.size)
    truth = float(np.sum(sizes * tau) / sizes.sum())
    out = {}
    for m in methods:
        if m in ("CR2", "CR1", "CR3"):
            e = ne.cluster_ols(y, z, labels, cov_type=m)
            lo, hi = e.ci
        else:
            X = np.column_stack([np.ones(labels.size), z.astype(float)])
            r = wild_cluster_bootstrap(X, y, labels, 1, weights=m.split("-")[1], rng=rng)
            lo, hi = r["ci"]
        out[m] = (lo <= truth <= hi, hi - lo)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--clusters", default="14,30,80")
    ap.add_argument("--rademacher", action="store_true")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    methods = ["CR2", "CR1", "CR3", "wcr-webb"] + (["wcr-rademacher"] if args.rademacher else [])
    rows = []
    for G in map(int, args.clusters.split(",")):
        rng = np.random.default_rng([args.seed, G])
        t0 = time.perf_counter()
        res = [one(G, rng, methods) for _ in range(args.reps)]
        for m in methods:
            cov = np.mean([r[m][0] for r in res])
            width = np.mean([r[m][1] for r in res])
            w2 = np.mean([r["CR2"][1] for r in res])
            rows.append({"G": G, "method": m, "coverage": float(cov),
                         "mc_se": float(np.sqrt(cov * (1 - cov) / args.reps)),
                         "mean_width": float(width), "width_vs_CR2": float(width / w2)})
            print(f"G={G:3d} {m:15s} coverage {cov:.3f} ({rows[-1]['mc_se']:.3f})  width {width:.3f}  "
                  f"vs CR2 {width / w2:.3f}", flush=True)
        print(f"  {time.perf_counter() - t0:.0f} s", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
