"""HT + Aronow-Samii variance: Monte Carlo (N=1000, R=2000) against a dense numpy baseline measured in
the same run, and exact probabilities at N=1e5 (quick) / 1e6 on a random graph of mean degree ~10 (each size
in its own process for its peak RSS; at 1e5 the previous per-pair kernel is timed as the same-run baseline);
ego-Facebook (4,039 nodes, 16 Leiden clusters, cluster Bernoulli(0.5)) with the full-neighbourhood and
Aronow-Samii mappings: the closed-form pair joints against the per-pair dynamic programme (same run).

Run: .venv/bin/python benchmarks/bench_ht.py [--quick]
"""

import argparse
import dataclasses
import resource
import time

import numpy as np

import netexp as ne
from netexp.estimators import horvitz_thompson
from netexp.exposure import AronowSamii, exposure_probabilities


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=0, help="run only the exact benchmark at this size")
    ap.add_argument("--facebook", action="store_true", help="run only the ego-Facebook cluster-design case")
    ap.add_argument("--saturation", action="store_true",
                    help="run only the randomized-saturation case (closed form vs per-pair programme)")
    args = ap.parse_args()
    mp = AronowSamii(hops=1)
    # warm-up (JIT)
    g0 = ne.erdos_renyi(50, 0.1, rng=0)
    p0 = exposure_probabilities(g0, ne.Bernoulli(50), mp, method="exact")
    horvitz_thompson(np.ones(50), mp.map(g0, ne.Bernoulli(50).sample(rng=0)), p0, contrasts="all-vs-no_exposure")
    horvitz_thompson(np.ones(50), mp.map(g0, ne.Bernoulli(50).sample(rng=0)), p0, contrasts="all-vs-no_exposure",
                     variance="constant-effects")
    if args.n:
        exact_run(args.n, mp, baseline=args.n <= 10**5)
        return
    if args.facebook:
        facebook_run()
        return
    if args.saturation:
        for n in (10**4, 10**5):
            saturation_run(n, mp)
        return

    n, R = 1000, 2000
    g = ne.erdos_renyi(n, 10 / n, rng=1)
    design = ne.Complete(n, n_treated=200)
    draws = design.sample_many(R, rng=2)
    z = design.sample(rng=3)
    codes = np.asarray(mp.map(g, z))
    y = np.random.default_rng(4).normal(10, 2, n)
    t0 = time.perf_counter()
    pr = exposure_probabilities(g, None, mp, draws=draws, convention="interference")
    t = horvitz_thompson(y, codes, pr, contrasts="all-vs-no_exposure")
    t_ne = time.perf_counter() - t0
    t0 = time.perf_counter()
    E = np.asarray(mp.map_many(g, draws))
    base = dense_baseline_obs(y, E, codes, R, 4)
    t_base = time.perf_counter() - t0
    ours = np.array([e.std_error**2 for e in t])
    base = np.array(base)
    keep = base > 0  # netexp reports a negative estimate as 0 (with a warning)
    print(f"N=1000 R=2000 Monte Carlo: netexp {t_ne:.2f} s, dense numpy baseline {t_base:.2f} s, "
          f"ratio {t_base / t_ne:.1f}x; max rel diff of variances {np.max(np.abs(ours[keep] - base[keep]) / base[keep]):.1e}")

    import subprocess
    import sys

    for n in ([10**5] if args.quick else [10**5, 10**6]):
        subprocess.run([sys.executable, __file__, "--n", str(n)], check=True)
    subprocess.run([sys.executable, __file__, "--facebook"], check=True)


FACEBOOK = "../shared/data/networks/facebook_combined.txt.gz"


def facebook_run():
    """ego-Facebook, Leiden clusters, cluster Bernoulli(0.5): HT + AS variance with the closed-form pair
    joints of threshold mappings, and the per-pair dynamic programme on the same probabilities."""
    import os

    from netexp.exposure import FullNeighborhood

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", FACEBOOK)
    g0 = ne.erdos_renyi(60, 0.1, rng=0)  # warm-up (JIT) of the cluster-design kernels
    d0 = ne.ClusterRandomized(np.arange(60) % 6, ne.Bernoulli(6, p=0.5))
    for mp in (FullNeighborhood(), AronowSamii()):
        p0 = exposure_probabilities(g0, d0, mp, method="exact")
        p0._pair_terms(np.zeros(60, np.int64), np.ones((60, 1)), np.ones(60, bool))
    g = ne.read_graph(path)
    cl = ne.leiden(g, resolution=1.0, rng=0)
    design = ne.ClusterRandomized(cl, ne.Bernoulli(cl.n_clusters, p=0.5))
    z = design.sample(rng=3)
    y = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2).outcomes(z)
    for mp, contrast in ((FullNeighborhood(), [("treated", "control")]), (AronowSamii(), [("direct_indirect", "no_exposure"),
                                                                    ("indirect", "no_exposure")])):
        t0 = time.perf_counter()
        pr = exposure_probabilities(g, design, mp, method="exact")
        t_p = time.perf_counter() - t0
        lv = mp.map(g, z)
        ok = (pr.marginal[:, [pr.level_code(k) for c in contrast for k in c]] > 0).all(1)
        t0 = time.perf_counter()
        t = horvitz_thompson(y, lv, pr, contrasts=contrast, units=ok)
        t_e = time.perf_counter() - t0
        old = dataclasses.replace(pr, _pairs={k: v for k, v in pr._pairs.items()
                                              if k in ("ptr", "col", "wt", "tptr", "tidx", "own", "p", "d", "loff",
                                                       "ltab")})
        t0 = time.perf_counter()
        tb = horvitz_thompson(y, lv, old, contrasts=contrast, units=ok)
        t_b = time.perf_counter() - t0
        diff = max(abs(a.std_error - b.std_error) / b.std_error for a, b in zip(t, tb))
        print(f"ego-Facebook, {cl.n_clusters} clusters, {type(mp).__name__}: probabilities {t_p:.2f} s, HT + AS "
              f"variance {t_e:.2f} s; per-pair dynamic programme {t_b:.2f} s (ratio {t_b / t_e:.0f}x, max rel diff "
              f"of SEs {diff:.1e})", flush=True)


def saturation_run(n, mp):
    """RandomizedSaturation(stage1="bernoulli"), clusters of 50 (a planted-partition graph, mean degree ~10,
    ~8 within the cluster), AronowSamii, both within modes: HT + AS variance with the closed-form pair
    joints of threshold mappings against the per-pair dynamic programme on the same probabilities."""
    K = n // 50
    labels = np.arange(n) // 50
    rng = np.random.default_rng(5)
    m_in, m_out = 4 * n, n  # ~8 neighbours within the cluster, ~2 across
    u = rng.integers(0, n, m_in)
    v = (u // 50) * 50 + rng.integers(0, 50, m_in)
    a, b = rng.integers(0, n, m_out), rng.integers(0, n, m_out)
    src, dst = np.concatenate([u, a]), np.concatenate([v, b])
    keep = src != dst
    g = ne.Graph.from_edges(src[keep], dst[keep], nodes=np.arange(n))
    for within in ("complete", "bernoulli"):
        design = ne.RandomizedSaturation(labels, saturations=(0.0, 0.5, 1.0), within=within, stage1="bernoulli")
        g0 = ne.erdos_renyi(60, 0.1, rng=0)  # warm-up (JIT)
        d0 = ne.RandomizedSaturation(np.arange(60) % 6, within=within, stage1="bernoulli")
        p0 = exposure_probabilities(g0, d0, mp, method="exact")
        p0._pair_terms(np.zeros(60, np.int64), np.ones((60, 1)), np.ones(60, bool))
        t0 = time.perf_counter()
        pr = exposure_probabilities(g, design, mp, method="exact")
        t_p = time.perf_counter() - t0
        z = design.sample(rng=6)
        codes = np.asarray(mp.map(g, z))
        y = np.random.default_rng(7).normal(10, 2, n)
        ok = (pr.marginal > 0).all(1)
        t0 = time.perf_counter()
        t = horvitz_thompson(y, codes, pr, contrasts="all-vs-no_exposure", units=ok)
        t_e = time.perf_counter() - t0
        old = dataclasses.replace(pr, _pairs={k: v for k, v in pr._pairs.items() if k != "sthr"})
        t0 = time.perf_counter()
        tb = horvitz_thompson(y, codes, old, contrasts="all-vs-no_exposure", units=ok)
        t_b = time.perf_counter() - t0
        diff = max(abs(a.std_error - b.std_error) / b.std_error for a, b in zip(t, tb))
        print(f"saturation N={n:.0e}, {K} clusters of 50, within={within}: probabilities {t_p:.2f} s, HT + AS "
              f"variance {t_e:.2f} s; per-pair dynamic programme {t_b:.2f} s (ratio {t_b / t_e:.0f}x, max rel diff "
              f"of SEs {diff:.1e})", flush=True)


def exact_run(n, mp, baseline):
    """Exact probabilities, Bernoulli(0.3), mean degree ~10, hop 1; the previous kernel (per-pair
    dynamic programme, one thread) on the same probabilities as the same-run baseline."""
    g = ne.erdos_renyi(n, 10 / n, rng=5)
    design = ne.Bernoulli(n, p=0.3)
    t0 = time.perf_counter()
    pr = exposure_probabilities(g, design, mp, method="exact")
    t_p = time.perf_counter() - t0
    z = design.sample(rng=6)
    codes = np.asarray(mp.map(g, z))
    y = np.random.default_rng(7).normal(10, 2, n)
    ok = (pr.marginal > 0).all(1)  # isolated units cannot be indirectly exposed
    t0 = time.perf_counter()
    t = horvitz_thompson(y, codes, pr, contrasts="all-vs-no_exposure", units=ok)
    t_e = time.perf_counter() - t0
    t0 = time.perf_counter()
    horvitz_thompson(y, codes, pr, contrasts="all-vs-no_exposure", units=ok, variance="constant-effects")
    t_c = time.perf_counter() - t0
    line = (f"N={n:.0e} exact: probabilities {t_p:.2f} s, HT + AS variance {t_e:.2f} s, "
            f"constant-effects variance {t_c:.2f} s, peak RSS {peak_mb():.0f} MB")
    if baseline:
        old = dataclasses.replace(pr, _pairs={k: v for k, v in pr._pairs.items()
                                              if k in ("ptr", "col", "wt", "tptr", "tidx", "own", "p", "d", "loff",
                                                       "ltab")})
        t0 = time.perf_counter()
        tb = horvitz_thompson(y, codes, old, contrasts="all-vs-no_exposure", units=ok)
        t_b = time.perf_counter() - t0
        diff = max(abs(a.std_error - b.std_error) / b.std_error for a, b in zip(t, tb))
        line += f"; previous kernel {t_b:.2f} s (ratio {t_b / t_e:.1f}x, max rel diff of SEs {diff:.1e})"
    print(line, flush=True)


def dense_baseline_obs(y, E, obs, R, L):
    n = E.shape[1]
    I = [(E == k).astype(np.float64) for k in range(L)]
    P = np.stack([(I[k].sum(0) + 1) / (R + 1) for k in range(L)], 1)
    ref = L - 1

    def var(k):
        J = (I[k].T @ I[k] + np.eye(n)) / (R + 1)
        c = (obs == k).astype(float)
        with np.errstate(all="ignore"):
            mm = np.outer(c, c) * (J - np.outer(P[:, k], P[:, k])) / J * np.outer(y, y) / np.outer(P[:, k], P[:, k])
        mm[~np.isfinite(mm)] = 0
        m = c * y**2 / (2 * P[:, k])
        return mm.sum() + ((m[:, None] + m[None, :]) * (J == 0) * (1 - np.eye(n))).sum()

    out = []
    vref = var(ref)
    for a in range(L - 1):
        J = I[a].T @ I[ref] / R
        ca, cb = (obs == a).astype(float), (obs == ref).astype(float)
        with np.errstate(all="ignore"):
            mm = np.outer(ca, cb) * (J - np.outer(P[:, a], P[:, ref])) / J * np.outer(y, y) / np.outer(P[:, a], P[:, ref])
        mm[~np.isfinite(mm)] = 0
        zr = J == 0
        cov = mm.sum() - ((ca * y**2 / (2 * P[:, a]))[:, None] * zr).sum() - ((cb * y**2 / (2 * P[:, ref]))[None, :] * zr).sum()
        out.append((var(a) + vref - 2 * cov) / n**2)
    return out


if __name__ == "__main__":
    main()
