"""Network HAC intervals for the exposure regression at n = 1000: Leung's normal interval against the
small-sample version (n / (n - k), nu / (nu - k) and a t reference on nu, the Satterthwaite df of the HAC
quadratic form).

Graph (fixed): Erdos-Renyi with mean degree 5, or Barabasi-Albert with 2 edges per node (``--graph``).
Each experiment redraws unit Bernoulli(1/2) assignment and noise; outcomes
y = 0.05 + 0.2 z + 0.1 f + u, f the fraction of treated neighbours, u = v + A v / sqrt(deg) with v iid
N(0, 0.5^2) (errors correlated between units up to 2 hops apart), so the model holds and the truth of
the direct effect is 0.2 and of the spillover 0.1 * share. Bandwidth: Leung's rule (the default).

Run: .venv/bin/python benchmarks/bench_intervals_hac.py --reps 1000 [--graph ba] [--n 1000] [--seed 7]

Measured 2026-12-07, 1000 experiments, direct effect (previous: Leung's normal interval -> now, width ratio):
ER seed 7: 0.937 -> 0.953 (1.09); BA seed 7: 0.924 -> 0.955 (1.13); BA seed 3: 0.917 -> 0.955 (1.15).
With the t reference alone (no nu/(nu-k)): 0.943, 0.943, 0.934.

``--speed``: time of one network-HAC exposure-regression fit (three estimates with their df) on the
bundled graph (``netexp run``'s, 3000 units) and on ego-Facebook when ../shared/data has it, with the
graph-only pieces cached on the graph (the default) against the per-call truncated BFS of the previous
version (the cache disabled; Leung's bandwidth computed on every call, as before), in the same run, and
against HC1; asserts equal numbers. Peak memory of the cached structure by tracemalloc.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy import stats

import netexp as ne
from netexp.estimators import exposure_regression_fit


def speed(fits: int = 30) -> None:
    import tracemalloc
    from pathlib import Path

    from netexp.estimators import _hac

    graphs = [("bundled social (3000 units)", lambda: ne.read_graph(ne.DEFAULT_GRAPH))]
    fb = Path("../shared/data/networks/facebook_combined.txt.gz")   # from the repository root, as bench_ht.py
    if fb.exists():
        graphs.append(("ego-Facebook (4039 units)", lambda: ne.read_graph(str(fb))))
    for name, load in graphs:
        rng = np.random.default_rng(0)
        draws = []
        g0 = load()
        for _ in range(fits):
            z = rng.random(g0.n_nodes) < 0.5
            e = ne.exposure(g0, z)
            draws.append((z, e.fraction, e.isolated, 1 + 0.2 * z + 0.1 * e.fraction + rng.normal(0, 0.5, g0.n_nodes)))

        def run(g, cov, fresh=False):
            out = []
            for z, f, iso, y in draws:
                if fresh:   # the previous version kept nothing between calls
                    g.__dict__.pop(_hac._CACHE_ATTR, None)
                fit = exposure_regression_fit(y, z, f, isolated=iso, graph=g)
                out.append([(t.std_error, t.df) for t in fit.estimates(cov)])
            return np.array(out, dtype=float)

        g = load()
        tracemalloc.start()
        t = time.perf_counter()
        _hac.network_hac_is_cheap(g)          # build: bandwidth rule + kernel matrix
        build = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        t = time.perf_counter()
        cached = run(g, "network-HAC")
        t_cached = (time.perf_counter() - t) / fits
        t = time.perf_counter()
        run(g, "HC1")
        t_hc1 = (time.perf_counter() - t) / fits
        cap = _hac._KERNEL_MAX_NNZ
        _hac._KERNEL_MAX_NNZ = -1             # the previous version: BFS per call, bandwidth rule per call
        t = time.perf_counter()
        old = run(load(), "network-HAC", fresh=True)
        t_old = (time.perf_counter() - t) / fits
        _hac._KERNEL_MAX_NNZ = cap
        assert np.allclose(cached, old, rtol=1e-12, atol=0)
        nnz = _hac._kernel_matrix(g, _hac.network_hac_bandwidth(g)[0], "uniform")[0].nnz
        print(f"{name}: bandwidth {_hac.network_hac_bandwidth(g)[0]}, {nnz / 1e6:.2f} M pairs within it; build "
              f"{build:.2f} s, peak {peak:.0f} MB; per fit: cached {1e3 * t_cached:.1f} ms, previous (BFS and "
              f"bandwidth per call) {1e3 * t_old:.1f} ms ({t_old / t_cached:.1f}x), HC1 {1e3 * t_hc1:.1f} ms "
              f"({t_cached / t_hc1:.1f}x HC1); equal to 1e-12", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--graph", default="er", choices=("er", "ba"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--speed", action="store_true", help="cached vs per-call network HAC fits (see above)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.speed:
        return speed()
    n = args.n
    rng = np.random.default_rng(args.seed)
    g = ne.erdos_renyi(n, 5.0 / n, rng=rng) if args.graph == "er" else ne.barabasi_albert(n, 2, rng=rng)
    indptr, indices = g._undirected
    deg = np.diff(indptr)
    A = sp.csr_array((np.ones(indices.size), indices, indptr), shape=(n, n))
    share = float(np.mean(deg > 0))
    truth = {"direct effect": 0.2, "spillover effect": 0.1 * share, "global effect": 0.2 + 0.1 * share}
    res = {k: [] for k in truth}
    t0 = time.perf_counter()
    for _ in range(args.reps):
        z = rng.random(n) < 0.5
        f = ne.fraction_treated_neighbors(g, z)
        v = rng.normal(0, 0.5, n)
        y = 0.05 + 0.2 * z + 0.1 * f + v + (A @ v) / np.sqrt(np.maximum(deg, 1))
        fit = exposure_regression_fit(y, z, f, graph=g, isolated=deg == 0)
        k = fit._X.shape[1]
        for e in fit.estimates("network-HAC"):
            if e.estimand in truth:
                # previous default: Leung's, no small-sample factor, normal reference
                se_old = e.std_error / np.sqrt(n / (n - k) * e.df / (e.df - k))
                res[e.estimand].append((e.estimate, e.std_error, e.df, se_old))
    z975 = stats.norm.ppf(0.975)
    print(f"{args.graph} n={n} reps={args.reps} bandwidth {fit._fit('network-HAC')[1]}  "
          f"({time.perf_counter() - t0:.0f} s)")
    for k, rows in res.items():
        a = np.array(rows)
        est, se, df, se_old = a.T
        q = stats.t.ppf(0.975, df)
        cov_new = np.mean(np.abs(est - truth[k]) <= q * se)
        cov_old = np.mean(np.abs(est - truth[k]) <= z975 * se_old)
        mc = lambda c: np.sqrt(c * (1 - c) / len(est))  # noqa: E731
        w_new, w_old = np.mean(2 * q * se), np.mean(2 * z975 * se_old)
        print(f"{k:16s} true SD {est.std():.4f}  SE/SD {se_old.mean() / est.std():.3f}  mean df {df.mean():6.1f}  "
              f"normal (previous) {cov_old:.3f} ({mc(cov_old):.3f})  t (now) {cov_new:.3f} ({mc(cov_new):.3f})  "
              f"width {w_new:.4f} vs previous {w_new / w_old:.3f}", flush=True)


if __name__ == "__main__":
    main()
