"""HT and Hajek intervals on the main job's design: Aronow-Samii against the |M| Young bound.

The design of ``netexp run`` (``python3 dev.py demo``): the bundled default graph, Leiden clusters
with the pipeline's seed, cluster Bernoulli(1/2), the full-neighbourhood contrast
Y(treated) - Y(control) over the units with probability >= 0.2 of both conditions, outcomes from
the pipeline's linear-in-means model with fresh noise per experiment. For each variance option:
mean SE / true SD (true SD: the SD of the point estimates over ``--reps-point`` experiments),
coverage of the 95% interval with its Monte Carlo SE, and mean width relative to Aronow-Samii. The
exact expected ratio sqrt(E[V-hat] / Var) of the HT estimator (no simulation) is printed too.

Run: .venv/bin/python benchmarks/bench_intervals_ht.py --reps 300 --reps-point 3000   (about 8 minutes)

Measured 2026-12-07 (300 experiments with SEs, 3000 for the true SD; MC SE of coverage in brackets):
HT    Aronow-Samii SE/SD 1.213, coverage 0.953 (0.012); |M| 1.201, 0.950 (0.013), width 0.990x
Hajek Aronow-Samii SE/SD 6.097, coverage 1.000;         |M| 1.036, 0.937 (0.014), width 0.170x
--reps 700 --seed 2 --variances abs-young: HT |M| 1.196, 0.937 (0.009); Hajek |M| 1.048, 0.950 (0.008)
--reps 300 --seed 3 --variances abs-young,abs-young@0.3: HT |M| 1.226, 0.937 (0.014); with outcome_ratio 0.3
1.018, 0.923 (0.015), width 0.83x; Hajek |M| 1.035, 0.937 (0.014); with 0.3 1.190, 0.963 (0.011)
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import netexp as ne
from netexp._pipeline import _full_neighbourhood
from netexp.clustering import cluster

VARIANCES = ("aronow-samii", "abs-young")


def setup(seed: int = 2026):
    g = ne.read_graph(ne.DEFAULT_GRAPH)
    s_cluster, s_noise, *_ = np.random.SeedSequence(seed).spawn(6)
    cl = cluster(g, "leiden", rng=s_cluster)
    design = ne.ClusterRandomized(cl, cluster_design=ne.Bernoulli(cl.n_clusters, p=0.5))
    po = ne.LinearInMeans(baseline=0.05, direct=0.2, spillover=0.1, noise_sd=0.01).realize(g, rng=s_noise)
    fn = _full_neighbourhood(g, design, po, 0.2)
    return g, cl, design, po, fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=400, help="experiments with standard errors")
    ap.add_argument("--reps-point", type=int, default=4000, help="experiments for the true SD")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variances", default=",".join(VARIANCES), help="comma-separated; the first is the reference")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ne.EstimationWarning)
    g, cl, design, po, fn = setup()
    pr, mask, m = fn["probabilities"], fn["mask"], fn["mapping"]
    print(f"{g.n_nodes} units, {cl.n_clusters} clusters, {int(mask.sum())} units in the estimand")
    rng = np.random.default_rng(args.seed)
    R = max(args.reps, args.reps_point)
    Z = design.sample_many(R, rng=rng)
    noise = rng.normal(0.0, po.model.noise_sd, Z.shape)
    Y = po.outcomes(Z) - po.noise + noise
    codes = m.map_many(g, Z)
    truth = fn["truth"]
    contrast = [("treated", "control")]
    est = {"ht": np.empty(R), "hajek": np.empty(R)}
    for r in range(R):
        for kind, f in (("ht", ne.horvitz_thompson), ("hajek", ne.hajek)):
            est[kind][r] = f(Y[r], codes[r], fn["marginal_only"], contrasts=contrast, units=mask)[0].estimate
    variances = args.variances.split(",")
    se = {(k, v): np.empty(args.reps) for k in est for v in variances}
    t0 = time.perf_counter()
    for r in range(args.reps):
        for kind, f in (("ht", ne.horvitz_thompson), ("hajek", ne.hajek)):
            for v in variances:  # "abs-young@0.3": outcome_ratio=0.3
                name, _, ratio = v.partition("@")
                se[kind, v][r] = f(Y[r], codes[r], pr, contrasts=contrast, units=mask, variance=name,
                                   outcome_ratio=float(ratio or 1))[0].std_error
    print(f"standard errors: {time.perf_counter() - t0:.0f} s for {args.reps} experiments")
    rows = []
    z = 1.959963984540054
    for kind in est:
        sd = est[kind].std()
        e = est[kind][: args.reps]
        w_as = 2 * z * np.nanmean(se[kind, variances[0]])
        for v in variances:
            s = se[kind, v]
            cov = np.mean(np.abs(e - truth) <= z * s)
            rows.append({"estimator": kind, "variance": v, "se_over_sd": float(np.nanmean(s) / sd),
                         "coverage": float(cov), "mc_se": float(np.sqrt(cov * (1 - cov) / args.reps)),
                         "mean_width": float(2 * z * np.nanmean(s)), "width_vs_aronow_samii":
                         float(2 * z * np.nanmean(s) / w_as), "bias_over_sd": float((est[kind].mean() - truth) / sd)})
    print(f"{'est':6s} {'variance':18s} {'SE/SD':>6s} {'cover':>6s} {'mcse':>6s} {'width':>8s} {'vs AS':>6s}")
    for r in rows:
        print(f"{r['estimator']:6s} {r['variance']:18s} {r['se_over_sd']:6.3f} {r['coverage']:6.3f} {r['mc_se']:6.3f} "
              f"{r['mean_width']:8.4f} {r['width_vs_aronow_samii']:6.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
