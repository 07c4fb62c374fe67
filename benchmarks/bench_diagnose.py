"""diagnose: 3 designs x 4 estimators x 500 simulations on a 10^4-node graph, against a plain loop.

Baseline (measured in the same run, on fewer simulations): one design.sample per draw, outcomes
for one assignment, exposure by fraction_treated_neighbors per draw, each estimator called on
the arrays, as the pipeline's _repeat does. Reported as seconds per simulation and the ratio.

    .venv/bin/python benchmarks/bench_diagnose.py [--n 10000] [--sims 500] [--baseline-sims 50]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import netexp as ne
from netexp.diagnostics import diagnose


def _setup(n):
    g = ne.social_network(n, rng=0)
    fine = ne.leiden(g, rng=0)
    coarse = ne.leiden(g, resolution=0.2, rng=0)
    designs = {"complete": ne.Complete(n, p=0.5), "cluster": ne.ClusterRandomized(fine, p=0.5),
               "cluster-coarse": ne.ClusterRandomized(coarse, p=0.5)}
    return g, designs


def _plain_loop(g, designs, model, n_sims, seed):
    rng = np.random.default_rng(seed)
    po = model.realize(g, rng=rng)
    deg = np.asarray(g.degree)
    for name, d in designs.items():
        labels = getattr(d, "labels", None)
        for _ in range(n_sims):
            z = d.sample(rng=rng)
            y = po.outcomes(z) - po.noise + rng.normal(0, model.noise_sd, z.shape)
            frac = ne.fraction_treated_neighbors(g, z)
            ne.difference_in_means(y, z)
            if labels is not None:
                ne.cluster_difference_in_means(y, z, labels)
                ne.cluster_ols(y, z, labels)
            ne.exposure_regression(y, z, frac, clusters=labels, isolated=deg == 0)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--sims", type=int, default=500)
    ap.add_argument("--baseline-sims", type=int, default=50)
    ap.add_argument("--n-jobs", type=int, default=1)
    a = ap.parse_args(argv)
    g, designs = _setup(a.n)
    model = ne.LinearInMeans()
    est = ["difference-in-means", "cluster", "cluster-ols", "exposure-regression"]
    diagnose(designs, est, model, g, n_sims=4, rng=0)  # JIT warm-up
    _plain_loop(g, designs, model, 2, 0)

    t0 = time.perf_counter()
    _plain_loop(g, designs, model, a.baseline_sims, 1)
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    dx = diagnose(designs, est, model, g, n_sims=a.sims, rng=1, n_jobs=a.n_jobs)
    t_diag = time.perf_counter() - t0
    per_loop, per_diag = t_loop / a.baseline_sims, t_diag / a.sims
    out = {"n_nodes": g.n_nodes, "n_clusters": [getattr(d, "n_clusters", None) for d in designs.values()],
           "sims": a.sims, "diagnose_seconds": round(t_diag, 2), "loop_sims": a.baseline_sims,
           "loop_seconds": round(t_loop, 2), "seconds_per_sim_diagnose": per_diag,
           "seconds_per_sim_loop": per_loop, "speedup": per_loop / per_diag, "n_jobs": a.n_jobs}
    print(json.dumps(out, indent=2))
    print(dx.compare("rmse").round(4))
    return out


if __name__ == "__main__":
    main()
