"""The exposure regression rows of ``Experiment.analyze`` (and so ``netexp analyze`` / ``report``): coverage and
width of the design's variance (network HAC for a unit design, cluster draws for a cluster design) against the
HC1 / CR2 interval those rows used before, on the same experiments; time per analyze call against the old
variance's direct call, with peak memory.

Bundled graph; outcomes LinearInMeans(baseline 0.05, direct 0.2, spillover 0.1, noise sd 0.01) with their unit
noise fixed (the design the only randomness), exactly the model the regression fits; truth from the outcome
model. ``--design unit``: Complete(n, n/2). ``--design cluster``: the main job's 47 Leiden clusters, cluster
Bernoulli(1/2).

Run: .venv/bin/python benchmarks/bench_intervals_analyze.py --design cluster [--reps 1000] [--seed 11]

Measured 2026-12-07, 1000 reps per seed (MC se 0.007), seeds 11 / 12 / 13, global / direct / spillover:
cluster: cluster draws 0.955 / 0.942 / 0.942, 0.944 / 0.926 / 0.929, 0.961 / 0.956 / 0.953 (pooled 0.953 / 0.941 /
0.941, MC se 0.004: direct and spillover about 2 MC se short, as in the README's seeds 3 / 5 / 7); CR2 0.930 /
0.932 / 0.928, 0.925 / 0.922 / 0.913, 0.942 / 0.949 / 0.939 (pooled 0.932 / 0.934 / 0.927); width 1.12-1.16x CR2's.
unit: network HAC 0.949 / 0.953 / 0.955, 0.970 / 0.935 / 0.960, 0.959 / 0.952 / 0.962 (pooled 0.959 / 0.947 /
0.959); HC1 0.955 / 0.937 / 0.959, 0.971 / 0.926 / 0.968, 0.964 / 0.942 / 0.963 (pooled 0.963 / 0.935 / 0.963);
width 1.01 / 1.09 / 1.00x HC1's. Time per analyze call (regression only) 2.2-2.6 ms (cluster) and 4.1-4.3 ms
(unit) against 1.4-1.6 and 0.9 ms for the old variance's direct exposure_regression call (1.6x / 4.8x; the
HAC's kernel matrix is built once per graph and cached); peak traced memory per call 0.5 MB.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np

import netexp as ne

NAMES = ("global effect", "direct effect", "spillover effect")


def run(design_name: str, reps: int, seed: int) -> dict:
    from netexp.clustering import cluster

    g = ne.read_graph(ne.DEFAULT_GRAPH)
    s_cluster, s_noise, *_ = np.random.SeedSequence(2026).spawn(6)
    po = ne.LinearInMeans(baseline=0.05, direct=0.2, spillover=0.1, noise_sd=0.01).realize(g, rng=s_noise)
    truth = po.truth()
    if design_name == "cluster":
        cl = cluster(g, "leiden", rng=s_cluster)
        design = ne.ClusterRandomized(cl, cluster_design=ne.Bernoulli(cl.n_clusters, p=0.5))
        old_kw = {"clusters": design.labels, "cov_type": "CR2"}
    else:
        design = ne.Complete(g.n_nodes, n_treated=g.n_nodes // 2)
        old_kw = {"cov_type": "HC1"}
    Z = design.sample_many(reps, rng=np.random.default_rng(seed))
    hit, hit0, w, w0 = (np.zeros(3) for _ in range(4))
    labels, t_new, t_old = set(), 0.0, 0.0
    for z in Z:
        y = po.outcomes(z)
        ex = ne.Experiment(g, design, assignment=z).with_outcomes(y)
        t0 = time.perf_counter()
        rows = ex.analyze(estimators=["regression"], mapping="fraction").rows
        t1 = time.perf_counter()
        old = ne.exposure_regression(y, z, ne.exposure(g, z), **old_kw)
        t_old += time.perf_counter() - t1
        t_new += t1 - t0
        for j, name in enumerate(NAMES):
            r = next(r for r in rows if r["estimand"] == name)
            labels.add(r["estimator"])
            t = truth[name.replace(" ", "_")]
            hit[j] += r["ci_lower"] <= t <= r["ci_upper"]
            w[j] += r["ci_upper"] - r["ci_lower"]
            hit0[j] += old[name].ci[0] <= t <= old[name].ci[1]
            w0[j] += old[name].ci[1] - old[name].ci[0]
    tracemalloc.start()              # peak memory of a few calls, outside the timed loop (tracing slows them)
    for z in Z[:5]:
        ne.Experiment(g, design, assignment=z).with_outcomes(po.outcomes(z)).analyze(estimators=["regression"],
                                                                                     mapping="fraction")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"labels": sorted(labels), "coverage": hit / reps, "coverage_old": hit0 / reps, "width_ratio": w / w0,
            "ms_analyze": 1000 * t_new / reps, "ms_old_direct": 1000 * t_old / reps, "peak_mb": peak / 2**20,
            "mc_se": float(np.sqrt(0.95 * 0.05 / reps))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", choices=("unit", "cluster"), default="cluster")
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        r = run(a.design, a.reps, a.seed)
    print(f"{a.design}, {a.reps} reps, seed {a.seed}: rows {r['labels']}; MC se {r['mc_se']:.3f}")
    for j, name in enumerate(NAMES):
        print(f"  {name:17s} coverage {r['coverage'][j]:.3f} (old {r['coverage_old'][j]:.3f}); "
              f"width {r['width_ratio'][j]:.2f}x old")
    print(f"  analyze {r['ms_analyze']:.1f} ms per call vs old variance's direct call {r['ms_old_direct']:.1f} ms "
          f"(ratio {r['ms_analyze'] / r['ms_old_direct']:.1f}); peak traced memory of an analyze call {r['peak_mb']:.1f} MB")


if __name__ == "__main__":
    main()
