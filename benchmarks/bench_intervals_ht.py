"""HT and Hajek intervals on the main job's design: Aronow-Samii against the |M| Young bound.

The design of ``netexp run`` (``python3 dev.py demo``): the bundled default graph, Leiden clusters
with the pipeline's seed, cluster Bernoulli(1/2), the full-neighbourhood contrast
Y(treated) - Y(control) over the units with probability >= 0.2 of both conditions, outcomes from
the pipeline's linear-in-means model with fresh noise per experiment. For each variance option:
mean SE / true SD (true SD: the SD of the point estimates over ``--reps-point`` experiments),
coverage of the 95% interval with its Monte Carlo SE, and mean width relative to Aronow-Samii. The
exact expected ratio sqrt(E[V-hat] / Var) of the HT estimator (no simulation) is printed too.

Run: .venv/bin/python benchmarks/bench_intervals_ht.py --reps 300 --reps-point 3000   (about 8 minutes)

Measured 2026-12-07 before issue 13's small-sample correction (300 experiments with SEs, 3000 for the SD):
HT    Aronow-Samii SE/SD 1.213, coverage 0.953 (0.012); |M| 1.201, 0.950 (0.013), width 0.990x
Hajek Aronow-Samii SE/SD 6.097, coverage 1.000;         |M| 1.036, 0.937 (0.014), width 0.170x
With the correction (|M| for both by default; Hajek's level parts times G/(G-1); t on the Satterthwaite df):
--reps 300 --reps-point 1000 --seed 4 --variances abs-young: HT (normal then) 1.181, 0.930 (0.015); Hajek 1.082, 0.947
--target-clusters 16 --reps 300 --reps-point 1000 --seed 4 --variances aronow-samii,abs-young (normal HT
then): HT AS 1.258, 0.917; |M| 1.245, 0.907; Hajek AS 9.693, 1.000; |M| corrected 0.956, 0.970 (0.010), 0.118x
1000 experiments, --seed 1 --reps-point 1000: Hajek 0.964 (47 clusters), 0.945 (16); HT (600) 0.962, 0.965
--ratio-curve (47 clusters): expected HT SE/SD 1.25 at outcome_ratio 1, 1.16 at 0.7, 1.04 at 0.3, 1.007 at 0.15
ego-Facebook, netexp run's design (16 Leiden clusters, complete randomization, 3619 units; per-level df >= 1):
--graph .../facebook_combined.txt.gz --design pipeline --reps 500 --reps-point 4000 --seed 1 (37 s of SEs):
HT    Aronow-Samii SE/SD 1.317, coverage 0.938 (0.011); |M| 1.299, 0.996 (0.003) with t (normal 0.934), width 2.13x
Hajek Aronow-Samii SE/SD 13.88, coverage 1.000;         |M| 0.853, 0.932 (0.011) with t (normal 0.828), width 0.095x
--reps 1000 --seed 2 (38 s of SEs): HT AS 1.342, 0.927 (0.008); |M| 1.325, 0.986 (0.004) (normal 0.921), 2.13x;
Hajek AS 13.77, 1.000; |M| 0.862, 0.950 (0.007) (normal 0.847), width 0.095x
Issue 13, second round (--variances 'abs-young;abs-young/<rule>': rules of _horvitz_thompson._SMALL_SAMPLE; widths
relative to the first): HT on G df per level (ht_df=G, now the default) against G - 1:
  ego-Facebook --seed 2 --reps 1000: 0.965 (0.006) vs 0.986, width 1.535x Aronow-Samii vs 2.132x (median 1.49 vs 1.78);
  --seed 3: 0.969 (0.005) vs 0.994, width 0.72x of G - 1's (median 0.83x)
  16 clusters --reps 500 --seeds 1/2/3: 0.944/0.934/0.970 (pooled 0.949 (0.006)) vs 0.962/0.942/0.978, width 0.93-0.94x
  47 clusters, same seeds: 0.962/0.960/0.960 vs 0.962/0.960/0.966, width 0.994x
Hajek linearized at the realized level weights W_k (hajek_scale=W, now the default) against N:
  ego-Facebook --seed 2: 0.958 (0.006), SE/SD 0.890 vs 0.950, 0.862; width 1.20x (median 1.07x); --seed 3: 0.948
  (0.007), SE/SD 0.887 vs 0.932 (0.008), 0.873; width 1.17x (median 1.07x)
  16 clusters seeds 1/2/3: 0.948/0.964/0.958 (pooled 0.957 (0.005)) vs 0.940/0.942/0.946; SE/SD 0.96-1.02 vs 0.87-0.94;
  width 1.24-1.41x (median 1.09-1.13x)
  47 clusters: 0.968/0.982/0.980 vs 0.956/0.974/0.966, SE/SD 1.11-1.15 vs 1.08-1.12, width 1.03x
CR2-style leverage (hajek=cr2) in place of G/(G-1): ego-Facebook 0.946 vs 0.950 (SE/SD 0.862 both); 16 clusters 0.938
vs 0.940; 47: 0.958 vs 0.956; with W: 16 clusters (seed 2) 0.962 vs 0.964, 47: 0.982 both: no gain, not used. Each
level on G df for Hajek too (hajek=cr2,hajek_df=G): ego-Facebook 0.921 (0.009), 16 clusters 0.936: too narrow.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import netexp as ne
from netexp._pipeline import _full_neighbourhood
from netexp.estimators import _horvitz_thompson as HTmod
from netexp.clustering import cluster

VARIANCES = ("aronow-samii", "abs-young")


def setup(seed: int = 2026, target_clusters: int | None = None, graph: str | None = None, design_kind: str = "bernoulli"):
    g = ne.read_graph(graph or ne.DEFAULT_GRAPH)
    s_cluster, s_noise, *_ = np.random.SeedSequence(seed).spawn(6)
    cl = cluster(g, "leiden", rng=s_cluster, target_clusters=target_clusters)
    if design_kind == "pipeline":  # netexp run's rule: Bernoulli with >= 20 clusters, else complete
        design_kind = "bernoulli" if cl.n_clusters >= 20 else "complete"
    unit = ne.Bernoulli(cl.n_clusters, p=0.5) if design_kind == "bernoulli" else ne.Complete(cl.n_clusters, p=0.5)
    design = ne.ClusterRandomized(cl, cluster_design=unit)
    po = ne.LinearInMeans(baseline=0.05, direct=0.2, spillover=0.1, noise_sd=0.01).realize(g, rng=s_noise)
    fn = _full_neighbourhood(g, design, po, 0.2)
    return g, cl, design, po, fn


def ratio_curve(pr, mask, m, Y, codes, var_ht):
    """E[V-hat(r)] = E[W] + r E[Q_a] + E[Q_b] / r for the cross-level |M| bound (Notes of horvitz_thompson):
    the three parts from V-hat at r = 1, 2, 1/2 in each experiment, averaged; every r > 0 is valid."""
    from netexp.estimators._young_abs import abs_young_structure, abs_young_variance

    a, b = m.levels.index("treated"), m.levels.index("control")
    st = abs_young_structure(pr, a, b, mask)
    A = np.array([[1, 1, 1], [1, 2, 0.5], [1, 0.5, 2]])
    parts = [np.linalg.solve(A, [abs_young_variance(st, pr.marginal, a, b, c, np.where(mask, y, 0.0), r)
                                 for r in (1.0, 2.0, 0.5)]) for y, c in zip(Y, codes)]
    W, Qa, Qb = np.mean(parts, 0) / mask.sum() ** 2 / var_ht
    print(f"E[parts] / Var(HT): unbiased pairs {W:.3f}, treated block {Qa:.3f}, control block {Qb:.4f}")
    for r in (1.0, 0.7, 0.5, 0.3, float(np.sqrt(Qb / Qa))):
        print(f"outcome_ratio {r:.3f}: expected SE / true SD {np.sqrt(W + r * Qa + Qb / r):.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=400, help="experiments with standard errors")
    ap.add_argument("--reps-point", type=int, default=4000, help="experiments for the true SD")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variances", default=",".join(VARIANCES),
                    help="semicolon- or comma-separated; the first is the reference. 'abs-young@0.3': outcome_ratio 0.3; "
                         "'abs-young/ht_df=G,hajek=cr2': that small-sample rule (netexp.estimators._horvitz_thompson."
                         "_SMALL_SAMPLE; give ';' between variances when a rule has commas)")
    ap.add_argument("--target-clusters", type=int, default=None,
                    help="Leiden clusters searched for about this many (default: the pipeline's 47)")
    ap.add_argument("--graph", default=None, help="edge list to run on (default: the bundled graph)")
    ap.add_argument("--design", choices=("bernoulli", "complete", "pipeline"), default="bernoulli",
                    help="randomization of the clusters (pipeline: netexp run's rule, Bernoulli with >= 20 clusters, "
                         "else complete)")
    ap.add_argument("--ratio-curve", action="store_true",
                    help="HT: sqrt(E[V-hat(r)] / Var) of the |M| bound against outcome_ratio r (no intervals)")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ne.EstimationWarning)
    g, cl, design, po, fn = setup(target_clusters=args.target_clusters, graph=args.graph, design_kind=args.design)
    pr, mask, m = fn["probabilities"], fn["mask"], fn["mapping"]
    print(f"{g.n_nodes} units, {cl.n_clusters} clusters, {design!r}, {int(mask.sum())} units in the estimand")
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
    if args.ratio_curve:
        return ratio_curve(pr, mask, m, Y[: args.reps], codes[: args.reps], est["ht"].var())
    variances = args.variances.split(";") if ";" in args.variances else args.variances.split(",")
    se = {(k, v): np.empty(args.reps) for k in est for v in variances}
    qs = {(k, v): np.empty(args.reps) for k in est for v in variances}
    dfs = {(k, v): np.full(args.reps, np.inf) for k in est for v in variances}
    default_rule = dict(HTmod._SMALL_SAMPLE)
    t0 = time.perf_counter()
    for r in range(args.reps):
        for kind, f in (("ht", ne.horvitz_thompson), ("hajek", ne.hajek)):
            for v in variances:  # "abs-young@0.3": outcome_ratio=0.3; "abs-young/hajek=cr2": that rule
                spec, _, rule = v.partition("/")
                name, _, ratio = spec.partition("@")
                HTmod._SMALL_SAMPLE = dict(default_rule, **dict(kv.split("=") for kv in rule.split(",") if kv))
                e = f(Y[r], codes[r], pr, contrasts=contrast, units=mask, variance=name,
                      outcome_ratio=float(ratio or 1))[0]
                HTmod._SMALL_SAMPLE = default_rule
                se[kind, v][r] = e.std_error
                dfs[kind, v][r] = e.df if e.df is not None else np.inf
                qs[kind, v][r] = (e.ci[1] - e.estimate) / e.std_error if e.std_error > 0 else np.nan
    print(f"standard errors: {time.perf_counter() - t0:.0f} s for {args.reps} experiments")
    rows = []
    for kind in est:
        sd = np.nanstd(est[kind])  # Hajek: nan when a level is unobserved
        e = est[kind][: args.reps]
        w_as = 2 * np.nanmean(qs[kind, variances[0]] * se[kind, variances[0]])
        m_as = 2 * np.nanmedian(qs[kind, variances[0]] * se[kind, variances[0]])
        for v in variances:
            s = se[kind, v]
            q = qs[kind, v]  # the reported interval's quantile (t for Hajek's |M|, else normal)
            cov = np.mean(np.abs(e - truth) <= q * s)  # a nan interval counts as not covering
            rows.append({"estimator": kind, "variance": v, "se_over_sd": float(np.nanmean(s) / sd),
                         "coverage": float(cov), "mc_se": float(np.sqrt(cov * (1 - cov) / args.reps)),
                         "n_nan_se": int(np.isnan(s).sum()),
                         "coverage_normal": float(np.mean(np.abs(e - truth) <= 1.959964 * s)),
                         "mean_width": float(2 * np.nanmean(q * s)), "width_vs_aronow_samii":
                         float(2 * np.nanmean(q * s) / w_as), "median_width_vs_aronow_samii":
                         float(2 * np.nanmedian(q * s) / m_as), "bias_over_sd": float((np.nanmean(est[kind]) - truth) / sd),
                         "median_df": float(np.median(dfs[kind, v]))})
    print(f"{'est':6s} {'variance':34s} {'SE/SD':>6s} {'cover':>6s} {'mcse':>6s} {'width':>8s} {'vs first':>8s} "
          f"{'median vs first':>15s} {'nan SE':>6s} {'normal cover':>12s} {'med df':>6s}")
    for r in rows:
        print(f"{r['estimator']:6s} {r['variance']:34s} {r['se_over_sd']:6.3f} {r['coverage']:6.3f} {r['mc_se']:6.3f} "
              f"{r['mean_width']:8.4f} {r['width_vs_aronow_samii']:8.3f} {r['median_width_vs_aronow_samii']:15.3f} "
              f"{r['n_nan_se']:6d} {r['coverage_normal']:12.3f} {r['median_df']:6.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
