#!/usr/bin/env python3
"""The |M| Young variance on real networks: time and peak memory against Aronow-Samii, same run.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_abs_young_scale.py --graph ../shared/data/networks/ca-GrQc.txt.gz
    PYTHONPATH=. .venv/bin/python benchmarks/bench_abs_young_scale.py --graph PATH --design pipeline

Designs: ``leiden17`` (the issue's ego-Facebook probe: ``ne.leiden(g, rng=2026)``, complete randomization
of the clusters, p = 1/2: the profile route) and ``pipeline`` (``netexp run``'s design: Leiden with the
pipeline's seed, cluster Bernoulli(1/2) with >= 20 clusters, else complete); ``bernoulli`` / ``complete``
force the randomization of the pipeline's clusters. ``--check-dense``: agreement with the dense construction. Contrast: full neighbourhood
treated vs control over the units with probability >= 0.2 of both. Each variance runs in a fresh process
(peak RSS of that process: probabilities, the first HT call (which builds the |M| structure) and the Hajek
call, then 5 more experiments of both). Reported: seconds per step, peak RSS, HT and Hajek SE of the
first experiment, the |M| route and its number of position types.

Measured 2026-12-07 (2 shared cores, load ~2-3; seconds: first HT call (builds the structure) / later HT calls;
peak RSS; SE ratio |M| / Aronow-Samii for HT and Hajek):
ego-Facebook, leiden17 (profile route, 46 types): |M| 0.51 s / 0.001 s, 308 MB; AS 0.53 s / 0.015 s, 306 MB;
    SE ratio HT 0.77, Hajek 0.067
ca-GrQc, pipeline (395 clusters, Bernoulli; sparse route, 1212 types): |M| 2.8 s / 0.072 s, 373 MB;
    AS 0.54 s / 0.030 s, 313 MB; SE ratio HT 0.87, Hajek 0.115
ca-HepTh, pipeline (476 clusters, Bernoulli; sparse route, 1770 types): |M| 8.9 s / 0.157 s, 678 MB;
    AS 0.79 s / 0.065 s, 316 MB; SE ratio HT 0.89, Hajek 0.082 (most of the 8.9 s: the exposure layer's
    joint entries, 8.2 million stored pairs per level pair)
ca-HepTh, complete (profile route, 2648 profiles, 1770 types): |M| 11.8 s, AS 4.5 s for the first HT call.
--check-dense, worst relative difference of variance (outcome_ratio 1 and 0.3) and group counts over 3 assignments:
ego-Facebook pipeline (profile) 3.8e-15; ca-GrQc bernoulli (sparse) 1.9e-15; ca-GrQc complete (profile) 4.8e-15
(same number of types as the dense construction; dense build 3.8-24 s and 1.2-2.0 GB peak against 0.1-3.6 s).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np


def make_design(g, design_kind):
    import netexp as ne

    if design_kind == "leiden17":
        cl = ne.leiden(g, rng=2026)
        return cl, ne.ClusterRandomized(cl, p=0.5)
    from netexp.clustering import cluster

    s_cluster = np.random.SeedSequence(2026).spawn(6)[0]
    cl = cluster(g, "leiden", rng=s_cluster)
    K = cl.n_clusters
    kind = {"pipeline": "bernoulli" if K >= 20 else "complete"}.get(design_kind, design_kind)
    return cl, ne.ClusterRandomized(cl, cluster_design=ne.Bernoulli(K, p=0.5) if kind == "bernoulli"
                                    else ne.Complete(K, p=0.5))


def check_dense(path, design_kind):
    """The route's variance and group counts against the dense 2N x 2N construction (3 assignments, 2 ratios)."""
    import netexp as ne
    from netexp.estimators import _young_abs as Y

    warnings.simplefilter("ignore")
    g = ne.read_graph(path)
    cl, design = make_design(g, design_kind)
    m = ne.FullNeighborhood()
    pr = ne.exposure_probabilities(g, design, m, method="exact")
    P = pr.marginal
    a, b = m.levels.index("treated"), m.levels.index("control")
    units = (P[:, a] >= 0.2) & (P[:, b] >= 0.2)
    t0 = time.perf_counter()
    st = Y.abs_young_structure(pr, a, b, units)
    t1 = time.perf_counter()
    ref = Y._dense_structure(pr, a, b, units)
    t2 = time.perf_counter()
    worst = 0.0
    rng = np.random.default_rng(0)
    for r in range(3):
        z = design.sample(rng=r)
        codes = np.asarray(m.map(g, z))
        yv = np.where(units, 1 + 0.3 * z + rng.normal(size=g.n_nodes), 0.0)
        for ratio in (1.0, 0.3):
            v1 = Y.abs_young_variance(st, P, a, b, codes, yv, ratio)
            v0 = Y._dense_variance(ref, P, a, b, codes, yv, ratio)
            worst = max(worst, abs(v1 - v0) / abs(v0))
        for x1, x0 in zip(Y.effective_groups(st, P, a, b, codes), Y._dense_groups(ref, P, a, b, codes)):
            worst = max(worst, abs(x1 - x0) / abs(x0))
    print(f"{design!r}: {int(units.sum())} units, route {st['route']}, {st['n_types']} types (dense: "
          f"{ref['n_types']}); build {t1 - t0:.1f} s (dense {t2 - t1:.1f} s); worst relative difference {worst:.2e}; "
          f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def child(path, design_kind, variance):
    import netexp as ne
    from netexp.estimators._young_abs import abs_young_structure

    warnings.simplefilter("ignore")
    g = ne.read_graph(path)
    t0 = time.perf_counter()
    cl, design = make_design(g, design_kind)
    t_cl = time.perf_counter() - t0
    m = ne.FullNeighborhood()
    t0 = time.perf_counter()
    pr = ne.exposure_probabilities(g, design, m, method="exact")
    t_pr = time.perf_counter() - t0
    P = pr.marginal
    a, b = m.levels.index("treated"), m.levels.index("control")
    units = (P[:, a] >= 0.2) & (P[:, b] >= 0.2)
    rng = np.random.default_rng(1)
    out = {"n": g.n_nodes, "clusters": cl.n_clusters, "design": repr(design), "units": int(units.sum()),
           "variance": variance, "seconds_clusters": t_cl, "seconds_probabilities": t_pr}
    times = {"ht": [], "hajek": []}
    for r in range(6):
        z = design.sample(rng=rng)
        lev = m.map(g, z)
        y = 1 + 0.3 * z + rng.normal(size=g.n_nodes)
        for name, f in (("ht", ne.horvitz_thompson), ("hajek", ne.hajek)):
            t0 = time.perf_counter()
            e = f(y, lev, pr, contrasts=[("treated", "control")], units=units, variance=variance)[0]
            times[name].append(time.perf_counter() - t0)
            if r == 0:
                out[f"se_{name}"] = float(e.std_error)
                out[f"label_{name}"] = e.variance[:40]
    out["seconds_ht_first"], out["seconds_hajek_first"] = times["ht"][0], times["hajek"][0]
    out["seconds_ht_next"], out["seconds_hajek_next"] = float(np.median(times["ht"][1:])), float(
        np.median(times["hajek"][1:]))
    if variance == "abs-young":
        st = abs_young_structure(pr, a, b, units)
        out["route"], out["n_types"] = st.get("route"), st.get("n_types")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--graph", required=True)
    ap.add_argument("--design", choices=("leiden17", "pipeline", "bernoulli", "complete"), default="leiden17")
    ap.add_argument("--check-dense", action="store_true",
                    help="compare with the dense 2N x 2N construction instead (memory ~ 40 N^2 bytes)")
    ap.add_argument("--child", default="")
    args = ap.parse_args()
    if args.check_dense:
        return check_dense(args.graph, args.design)
    if args.child:
        return child(args.graph, args.design, args.child)
    rows = []
    for v in ("aronow-samii", "abs-young"):
        res = subprocess.run([sys.executable, __file__, "--graph", args.graph, "--design", args.design, "--child", v],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    r0 = rows[0]
    print(f"{args.graph}: {r0['n']} units, {r0['clusters']} clusters, {r0['design']}, {r0['units']} in the estimand; "
          f"probabilities {r0['seconds_probabilities']:.2f} s")
    print(f"{'variance':14s} {'HT 1st':>7s} {'Hajek 1st':>9s} {'HT next':>8s} {'Hj next':>8s} {'peak MB':>8s} "
          f"{'SE HT':>8s} {'SE Hajek':>9s}  route / types")
    for r in rows:
        print(f"{r['variance']:14s} {r['seconds_ht_first']:7.2f} {r['seconds_hajek_first']:9.2f} "
              f"{r['seconds_ht_next']:8.3f} {r['seconds_hajek_next']:8.3f} {r['peak_rss_mb']:8.0f} {r['se_ht']:8.4f} "
              f"{r['se_hajek']:9.4f}  {r.get('route', '')} {r.get('n_types', '')}")
    a, y = rows
    print(f"|M| / Aronow-Samii: SE HT {y['se_ht'] / a['se_ht']:.3f}, SE Hajek {y['se_hajek'] / a['se_hajek']:.3f}; "
          f"time of the first HT call {y['seconds_ht_first'] / a['seconds_ht_first']:.2f}x, "
          f"peak memory {y['peak_rss_mb'] / a['peak_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
