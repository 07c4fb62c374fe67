"""Exposure regression with few, unequal clusters: CR2 (Bell-McCaffrey df) against the restricted
wild cluster bootstrap for the direct and global effects.

A stochastic block model with 14 blocks of geometric sizes 10-300 (within-block edge probability
8/size, between blocks 0.0005), the blocks as clusters; unit Bernoulli(1/2) assignment; outcomes
y = 0.05 + 0.2 z + 0.1 f + u_c + e_i (f: fraction of treated neighbours, u_c ~ N(0, 0.3^2),
e_i ~ N(0, 0.5^2)), graph and cluster effects fixed, assignment and unit noise redrawn.

Run: .venv/bin/python benchmarks/bench_intervals_exposure.py [--reps 1000] [--clusters 14]

``--main-design``: the main job's cluster design instead (bundled graph, the pipeline's 47 Leiden
clusters, cluster Bernoulli(1/2), LinearInMeans outcomes with their fixed unit noise, exactly the
model the exposure regression fits): bias / SD, SE / SD and coverage of CR2 and CR3 and of the
design-based variance over the cluster draws (``netexp/estimators/_draw_variance.py``, what
``netexp run`` uses for this design) for the direct, spillover and global effects, to tell estimand
mismatch (bias) from a too-small SE; mean interval width against CR2's.
Measured 2026-12-07, 1000 reps, seed 3: bias/SD +0.14 / -0.13 / -0.07, CR2 SE/SD 0.91 / 0.89 / 0.92,
coverage 0.932 / 0.922 / 0.934 (0.008); CR3 SE/SD 0.91 / 0.89 / 0.93, coverage 0.931 / 0.920 / 0.934.
Cluster draws (nu/(nu-k), t on nu ~ 29-33), 1000 reps each, seeds 3 / 5 / 7: coverage direct
0.936 / 0.941 / 0.949, spillover 0.939 / 0.944 / 0.948, global 0.955 / 0.955 / 0.951 (MC se 0.007;
CR2 in the same runs 0.932 / 0.934 / 0.944, 0.922 / 0.923 / 0.942, 0.934 / 0.930 / 0.929),
SE/SD 1.00-1.05, intervals 1.12-1.15x CR2's. With fresh unit noise in every experiment (as
``netexp run`` draws it; ``--fresh-noise``), 500 reps seed 4: cluster draws 0.956 / 0.956 / 0.946,
CR2 0.954 / 0.954 / 0.942, width 1.03x.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import netexp as ne
from netexp.estimators import exposure_regression_fit
from netexp.estimators._wild_bootstrap import wild_cluster_bootstrap


def main_design(reps: int, seed: int, fresh_noise: bool = False) -> None:
    from scipy import stats

    from netexp.clustering import cluster
    from netexp.estimators._draw_variance import cluster_draw_estimates
    from netexp.estimators._ols import ols

    g = ne.read_graph(ne.DEFAULT_GRAPH)
    s_cluster, s_noise, *_ = np.random.SeedSequence(2026).spawn(6)   # the pipeline's seeds
    cl = cluster(g, "leiden", rng=s_cluster)
    design = ne.ClusterRandomized(cl, cluster_design=ne.Bernoulli(cl.n_clusters, p=0.5))
    po = ne.LinearInMeans(baseline=0.05, direct=0.2, spillover=0.1, noise_sd=0.01).realize(g, rng=s_noise)
    truth = po.truth()
    labels = np.asarray(cl.labels)
    iso = np.asarray(g.degree) == 0
    rng = np.random.default_rng(seed)
    Z = design.sample_many(reps, rng=rng)
    names = ("direct effect", "spillover effect", "global effect")
    rows = []
    for r in range(reps):
        z = Z[r].astype(bool)
        f = ne.fraction_treated_neighbors(g, z)
        y = po.outcomes(z)
        if fresh_noise:   # as netexp run: new unit noise in every experiment
            y = y - po.noise + rng.normal(0.0, 0.01, g.n_nodes)
        fit = exposure_regression_fit(y, z, f, clusters=labels, isolated=iso)
        f3 = ols(fit._X, y, cov_type="CR3", clusters=labels)
        row = [(e.estimate, e.std_error, e.df) for e in fit.estimates("CR2")]
        for c in ([0, 1, 0], [0, 0, fit.share], [0, 1, fit.share]):
            row.append((*f3.contrast(c), f3.df))
        row += [(e.estimate, e.std_error, e.df) for e in cluster_draw_estimates(fit, g, design)]
        rows.append(row)
    a = np.array(rows)
    print(f"main job's design: {cl.n_clusters} clusters, {reps} experiments"
          + (", fresh unit noise" if fresh_noise else ""))
    width = {}
    for j in range(9):
        k = names[j % 3]
        est, se, df = a[:, j].T
        t = truth[k.replace(" ", "_")]
        sd = est.std()
        half = stats.t.ppf(0.975, df) * se
        cov = np.mean(np.abs(est - t) <= half)
        kind = ("CR2", "CR3", "draws")[j // 3]
        width[kind, k] = np.mean(2 * half)
        print(f"{kind:5s} {k:16s} bias/SD {(est.mean() - t) / sd:+.3f}  SE/SD {se.mean() / sd:.3f}  "
              f"df {df.mean():5.1f}  coverage {cov:.3f} ({np.sqrt(cov * (1 - cov) / reps):.3f})  width "
              f"{width[kind, k]:.5f} ({width[kind, k] / width['CR2', k]:.2f}x CR2)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--clusters", type=int, default=14)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--main-design", action="store_true", help="the main job's 47-cluster design (see above)")
    ap.add_argument("--fresh-noise", action="store_true", help="with --main-design: new unit noise in every "
                    "experiment, as netexp run draws it")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.main_design:
        return main_design(args.reps, args.seed, args.fresh_noise)
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
