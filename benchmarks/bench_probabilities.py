"""Exact and Monte Carlo exposure probabilities with the Aronow-Samii variance: the routes of issue 15
against the previous code paths, measured in the same run (each case in its own process for its peak RSS).

Cases
-----
profile-small   social_network(1500), Leiden clusters, complete randomization of the clusters, Aronow-Samii:
                probabilities + HT + Hajek by the profile route and by the previous per-pair route (same run).
facebook        ego-Facebook (4,039 nodes), 16 Leiden clusters, ClusterRandomized(c, p=0.5), full neighbourhood
                and Aronow-Samii: the profile route (the previous route took 442 s; ``--facebook-old`` reruns it,
                about 8 minutes per mapping).
mc-dense        Monte Carlo joints, 3,000 units (random graph, mean degree 10, Bernoulli(1/2)), R = 1000:
                HT and Hajek, AS and constant-effects variances, by the blocked kernel vs the dense joint blocks
                and vs the previous pair-by-pair kernel (same run).
mc-10k          the same at 10^4 units: Monte Carlo (its draws, then the variances) vs the exact path
                (probabilities + the same variances) and vs the previous kernel (``--dense-10k`` adds the
                dense blocks: about 80 s and 1.7 GB).
mc-100k         the same at 10^5 units (``--mc-old`` adds the previous kernel: about 4 minutes).
big             social_network(10^6, mean degree 20; 10^7 edges), planted communities as clusters: exact
                probabilities + HT and Hajek with the Aronow-Samii variance under cluster Bernoulli(1/2) by the
                observed-units route (``--big-old`` adds the previous kernel: about 25 minutes), and estimate_cost
                of both cluster designs (dependent and zero-joint pairs).
big-1e5         the same at 10^5 units (10^6 edges), new and previous kernel in the same run.

Run: .venv/bin/python benchmarks/bench_probabilities.py [case ...] [--facebook-old] [--dense-10k] [--mc-old]
(``big`` runs only when named: a few minutes, 2 GB; ``big-1e5``: about 10 minutes, most of it the previous kernel)
(ego-Facebook is read from ``../shared/data/networks`` beside the repository, or ``$NETEXP_SHARED/data/...``)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

# the shared data directory beside the repository (override with NETEXP_SHARED=/path/to/shared)
SHARED = os.environ.get("NETEXP_SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
FACEBOOK = os.path.join(SHARED, "data", "networks", "facebook_combined.txt.gz")
CASES = ("profile-small", "facebook", "mc-dense", "mc-10k", "mc-100k", "big", "big-1e5")


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _probs_module():
    import netexp.exposure._probabilities  # noqa: F401  (``netexp.exposure`` is also a function's name)

    return sys.modules["netexp.exposure._probabilities"]


def _timed(f):
    t, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - t, time.process_time() - c


def _ht_hajek(g, design, mp, contrast, z, y, route=None):
    """Probabilities + HT + Hajek (AS variance); ``route="pairs"`` forces the previous per-pair route."""
    import netexp as ne

    pm = _probs_module()
    saved = pm._PROFILE_MAX
    if route == "pairs":
        pm._PROFILE_MAX = 0
    try:
        def run():
            pr = ne.exposure_probabilities(g, design, mp, method="exact", progress=False)
            lv = mp.map(g, z)
            ok = (pr.marginal[:, [pr.level_code(k) for c in contrast for k in c]] > 0).all(1)
            return pr, [e.std_error for f in (ne.horvitz_thompson, ne.hajek)
                        for e in f(y, lv, pr, contrasts=contrast, units=ok)]
        (pr, ses), wall, cpu = _timed(run)
    finally:
        pm._PROFILE_MAX = saved
    return pr, ses, wall, cpu


def _warm():
    import warnings

    import netexp as ne

    warnings.simplefilter("ignore")  # the warm-up's constant outcomes leave some levels unobserved

    g0 = ne.erdos_renyi(60, 0.1, rng=0)
    d0 = ne.ClusterRandomized(np.arange(60) % 6, ne.Complete(6, n_treated=3))
    for mp in (ne.FullNeighborhood(), ne.AronowSamii()):
        for route in (None, "pairs"):
            _ht_hajek(g0, d0, mp, [(mp.levels[0], mp.levels[-1])], d0.sample(rng=0), np.ones(60), route)


def case_profile_small():
    import netexp as ne

    _warm()
    g = ne.social_network(1500, mean_degree=10, rng=1)
    cl = ne.leiden(g, rng=0)
    d = ne.ClusterRandomized(cl, p=0.5)
    z = d.sample(rng=3)
    y = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2).outcomes(z)
    mp = ne.AronowSamii()
    contrast = [("direct_indirect", "no_exposure"), ("indirect", "no_exposure")]
    pr, new, t_new, c_new = _ht_hajek(g, d, mp, contrast, z, y)
    _, old, t_old, c_old = _ht_hajek(g, d, mp, contrast, z, y, route="pairs")
    diff = max(abs(a - b) / b for a, b in zip(new, old))
    return {"case": "profile-small", "n": g.n_nodes, "clusters": cl.n_clusters, "profiles": int(pr._pairs["reps"].size),
            "profile_s": t_new, "profile_cpu": c_new, "pairs_s": t_old, "pairs_cpu": c_old, "ratio": t_old / t_new,
            "max_rel_diff_se": diff, "peak_mb": peak_mb()}


def case_facebook(old=False):
    import netexp as ne

    _warm()
    g = ne.read_graph(FACEBOOK)
    cl = ne.leiden(g, rng=0)
    d = ne.ClusterRandomized(cl, p=0.5)
    z = d.sample(rng=3)
    y = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2).outcomes(z)
    out = {"case": "facebook", "clusters": cl.n_clusters}
    for mp, contrast in ((ne.FullNeighborhood(), [("treated", "control")]),
                         (ne.AronowSamii(), [("direct_indirect", "no_exposure"), ("indirect", "no_exposure")])):
        name = type(mp).__name__
        cost = ne.estimate_cost(g, d, mp)
        pr, ses, t, c = _ht_hajek(g, d, mp, contrast, z, y)
        out[name] = {"profiles": int(pr._pairs["reps"].size), "seconds": t, "cpu": c, "std_errors": ses,
                     "estimated_pair_sum_s": cost.seconds}
        if old:
            _, ses_old, t_old, c_old = _ht_hajek(g, d, mp, contrast, z, y, route="pairs")
            out[name].update(pairs_s=t_old, pairs_cpu=c_old, ratio=t_old / t,
                             max_rel_diff_se=max(abs(a - b) / b for a, b in zip(ses, ses_old)))
    out["peak_mb"] = peak_mb()
    return out


def _mc_setup(n, R):
    import netexp as ne

    g = ne.erdos_renyi(n, 10 / n, rng=1)
    d = ne.Bernoulli(n, p=0.5)
    mp = ne.AronowSamii()
    z = d.sample(rng=3)
    lv = np.asarray(mp.map(g, z))
    y = np.random.default_rng(4).normal(10, 2, n)
    pm, t, c = _timed(lambda: ne.exposure_probabilities(g, d, mp, method="monte-carlo", n_draws=R, rng=5))
    ok = (pm.marginal[:, [0, 3]] > 0).all(1) & (pm.marginal[np.arange(n), lv] > 0)
    return g, d, mp, lv, y, pm, ok, t, c


def _view(pr, pair_terms, cov_terms):
    cls = type(pr)
    View = type("MCView", (cls,), {"_pair_terms": pair_terms, "_cov_terms": cov_terms})
    return View(**{f.name: getattr(pr, f.name) for f in dataclasses.fields(pr)})


def _dense_view(pr):
    cls = type(pr)
    return _view(pr, cls._dense_mc_pair_terms, cls._dense_mc_cov_terms)


def _previous_view(pr):
    """The probabilities with the previous Monte Carlo sums (every pair of the units mask, level by level)."""

    def pair_terms(self, codes, U, mask, levels=None):
        return _previous_mc_pair_terms(self._codes, self.convention, self.marginal, codes,
                                       np.where(mask[:, None], U, 0.0), mask)

    def cov_terms(self, V, mask):
        return _previous_mc_cov_terms(self._codes, self.convention, self.marginal, V, mask)

    return _view(pr, pair_terms, cov_terms)


def _mc_variances(pr, y, lv, ok):
    """HT then Hajek, Aronow-Samii and constant-effects variances (the Hajek call reuses what it can)."""
    import netexp as ne

    c = [("direct_indirect", "no_exposure")]
    return [f(y, lv, pr, contrasts=c, units=ok, variance=v)[0].std_error
            for f in (ne.horvitz_thompson, ne.hajek) for v in ("aronow-samii", "constant-effects")]


def _rss_during(f):
    """Run f and report the growth of the peak RSS (MB) it caused."""
    before = peak_mb()
    out = _timed(f)
    return out, peak_mb() - before


def _rel(a, b):
    return max(abs(x - y) / abs(y) for x, y in zip(a, b))


def case_mc(n, dense, old):
    import netexp as ne

    # warm-up (JIT and first calls) of every path timed below, on 300 units
    g0, d0, mp0, lv0, y0, p0, ok0, _, _ = _mc_setup(300, 200)
    ex0 = ne.exposure_probabilities(g0, d0, mp0, method="exact")
    for pr in [p0, ex0] + ([_previous_view(p0)] if old else []) + ([_dense_view(p0)] if dense else []):
        _mc_variances(pr, y0, lv0, ok0 & (pr.marginal[:, [0, 3]] > 0).all(1))
    g, d, mp, lv, y, pm, ok, t_draw, c_draw = _mc_setup(n, 1000)
    act = int((ok & np.isin(lv, [0, 3])).sum())
    out = {"case": f"mc-{n}", "n": n, "draws": 1000, "units": int(ok.sum()), "active_units": act,
           "mc_probabilities_s": t_draw, "mc_probabilities_cpu": c_draw}
    (ses, t, c), grow = _rss_during(lambda: _mc_variances(pm, y, lv, ok))
    out.update(mc_variances_s=t, mc_variances_cpu=c, mc_rss_growth_mb=grow, std_errors=ses,
               mc_total_s=t + t_draw, mc_total_cpu=c + c_draw)
    ex = ne.exposure_probabilities(g, d, mp, method="exact")
    okx = (ex.marginal[:, [0, 3]] > 0).all(1)
    _mc_variances(ex, y, lv, okx)  # warm-up of the exact kernels
    (_, t, c) = _timed(lambda: _mc_variances(ne.exposure_probabilities(g, d, mp, method="exact"), y, lv, okx))
    out.update(exact_s=t, exact_cpu=c, mc_over_exact=out["mc_total_s"] / t, mc_over_exact_cpu=out["mc_total_cpu"] / c,
               mc_variances_over_exact_cpu=out["mc_variances_cpu"] / c)
    if old:
        (ses_o, t, c), grow = _rss_during(lambda: _mc_variances(_previous_view(pm), y, lv, ok))
        out.update(previous_s=t, previous_cpu=c, previous_rss_growth_mb=grow,
                   previous_over_new_cpu=c / out["mc_variances_cpu"], previous_over_new_wall=t / out["mc_variances_s"],
                   previous_total_over_exact_cpu=(c + c_draw) / out["exact_cpu"],
                   max_rel_diff_se_previous=_rel(ses, ses_o))
    if dense:
        (ses_d, t, c), grow = _rss_during(lambda: _mc_variances(_dense_view(pm), y, lv, ok))
        out.update(dense_s=t, dense_cpu=c, dense_rss_growth_mb=grow, dense_over_new_wall=t / out["mc_variances_s"],
                   dense_over_new_cpu=c / out["mc_variances_cpu"], max_rel_diff_se_dense=_rel(ses, ses_d))
    out["peak_mb"] = peak_mb()
    return out


# ---------------------------------------------------------------- the previous Monte Carlo kernel (for ratios)
def _previous_kernels():
    from numba import njit, prange

    from netexp.exposure._bits import popcount64

    @njit(cache=True)
    def pack_level_bits(codes, L):
        R, n = codes.shape
        W = (R + 63) // 64
        bits = np.zeros((L, n, W), dtype=np.uint64)
        for r in range(R):
            w = r // 64
            b = np.uint64(1) << np.uint64(r % 64)
            for i in range(n):
                bits[codes[r, i], i, w] |= b
        return bits

    @njit(cache=True)
    def word_ranges(bits):
        L, n, W = bits.shape
        lo = np.zeros((L, n), dtype=np.int64)
        hi = np.zeros((L, n), dtype=np.int64)
        for l in range(L):
            for i in range(n):
                first = -1
                last = -1
                for w in range(W):
                    if bits[l, i, w] != 0:
                        if first < 0:
                            first = w
                        last = w
                if first >= 0:
                    lo[l, i] = first
                    hi[l, i] = last + 1
        return lo, hi

    @njit(parallel=True, cache=True)
    def pair_sums(bits, lo, hi, codes, units, marg, U, den_same, den_cross, diag_plus, block, S_blocks, zc):
        n_u = units.shape[0]
        L = bits.shape[0]
        M = U.shape[1]
        for blk in prange(S_blocks.shape[0]):
            p0 = blk * block
            p1 = min(n_u, p0 + block)
            for p in range(p0, p1):
                i = units[p]
                a = codes[i]
                c = 0
                for w in range(lo[a, i], hi[a, i]):
                    c += popcount64(bits[a, i, w])
                for l in range(L):
                    if l != a or c + diag_plus == 0:
                        zc[i, l] += 1
            for q in range(n_u):
                j = units[q]
                b = codes[j]
                for p in range(p0, p1):
                    if q == p:
                        continue
                    i = units[p]
                    a = codes[i]
                    ilo = lo[a, i]
                    ihi = hi[a, i]
                    for l in range(L):
                        if l == b and q > p:
                            c = 0
                            for w in range(max(ilo, lo[b, j]), min(ihi, hi[b, j])):
                                c += popcount64(bits[a, i, w] & bits[b, j, w])
                            if c == 0:
                                zc[i, l] += 1
                                continue
                            v = c / (den_same if a == b else den_cross)
                            f = (v - marg[i, a] * marg[j, b]) / v
                            for m in range(M):
                                t = f * U[i, m] * U[j, m]
                                S_blocks[blk, m, a, b] += t
                                S_blocks[blk, m, b, a] += t
                            continue
                        hit = False
                        for w in range(max(ilo, lo[l, j]), min(ihi, hi[l, j])):
                            if bits[a, i, w] & bits[l, j, w]:
                                hit = True
                                break
                        if not hit:
                            zc[i, l] += 1

    return pack_level_bits, word_ranges, pair_sums


_PREVIOUS = []


def _previous_mc_pair_terms(codes_R, convention, marg, codes, U, mask):
    """The Monte Carlo AS sums as they were before the blocked kernel (issue 15): 32 units of the mask
    against every other unit of the mask, every level tested pair by pair."""
    from netexp._parallel import threads_for

    if not _PREVIOUS:
        _PREVIOUS.extend(_previous_kernels())
    pack_level_bits, word_ranges, pair_sums = _PREVIOUS
    R, n = codes_R.shape
    L = marg.shape[1]
    M = U.shape[1]
    units = np.flatnonzero(mask).astype(np.int64)
    bits = pack_level_bits(np.ascontiguousarray(codes_R, dtype=np.int8), L)
    lo, hi = word_ranges(bits)
    inter = convention == "interference"
    block = 32
    S_blocks = np.zeros(((units.shape[0] + block - 1) // block, M, L, L))
    zc = np.zeros((n, L), dtype=np.int64)
    with threads_for(float(units.shape[0]) ** 2 * (bits.shape[2] + L)):
        pair_sums(bits, lo, hi, np.ascontiguousarray(codes, dtype=np.int64), units,
                  np.ascontiguousarray(marg, dtype=float), np.ascontiguousarray(U, dtype=float),
                  float(R + 1 if inter else R), float(R), 1 if inter else 0, block, S_blocks, zc)
    return S_blocks.sum(0), zc


def _previous_mc_cov_terms(codes_R, convention, marg, V, mask, batch_size=None):
    """The constant-effects sums as they were: boolean level matrices times V, in batches of draws."""
    R, n = codes_R.shape
    L = marg.shape[1]
    V = np.where(mask[:, None], V, 0.0)
    if batch_size is None:
        batch_size = max(1, min(R, 2**24 // max(n, 1)))
    Q = np.zeros((L, L))
    cnt = np.zeros((n, L))
    for s in range(0, R, batch_size):
        E = codes_R[s:s + batch_size]
        sv = np.empty((E.shape[0], L))
        for k in range(L):
            Ik = E == k
            sv[:, k] = Ik @ V[:, k]
            cnt[:, k] += Ik.sum(0)
        Q += sv.T @ sv
    Q[np.diag_indices(L)] -= (cnt * V * V).sum(0)
    den = np.full((L, L), float(R))
    if convention == "interference":
        den[np.diag_indices(L)] = R + 1.0
    pv = (marg * V).sum(0)
    return Q / den - (np.outer(pv, pv) - np.einsum("ik,il->kl", marg * V, marg * V))


def _big_warm():
    """Compile the kernels of the closed-form cluster route (numba caches them on disk after the first run)."""
    import netexp as ne

    g, lab = ne.social_network(2000, mean_degree=10, rng=0, return_labels=True)
    lab = np.asarray(lab)
    d = ne.ClusterRandomized(lab, ne.Bernoulli(int(lab.max()) + 1, p=0.5))
    mp = ne.FullNeighborhood()
    z = d.sample(rng=0)
    ne.estimate_cost(g, d, mp)
    _big_variances(g, d, mp, z, np.ones(g.n_nodes), old=False)
    _big_variances(g, d, mp, z, np.ones(g.n_nodes), old=True)


def _big_variances(g, d, mp, z, y, old):
    """Exact probabilities + HT and Hajek with the Aronow-Samii variance (treated vs control).

    ``old``: the previous kernel (``thr_pair_sums``: every dependent pair, each scanning its second unit's
    row) instead of the observed-units route; a fresh probabilities object either way."""
    import netexp as ne

    op = sys.modules.get("netexp.exposure._observed_pairs") or __import__(
        "netexp.exposure._observed_pairs", fromlist=["x"])
    saved = op.ENABLED
    op.ENABLED = not old
    try:
        pr, t_p, c_p = _timed(lambda: ne.exposure_probabilities(g, d, mp, method="exact", progress=False))
        lv = mp.map(g, z)
        ok = (pr.marginal > 0).all(1)
        ses, t_v, c_v = _timed(lambda: [f(y, lv, pr, contrasts=[("treated", "control")], units=ok)[0].std_error
                                        for f in (ne.horvitz_thompson, ne.hajek)])
    finally:
        op.ENABLED = saved
    return {"probabilities_s": t_p, "probabilities_cpu": c_p, "ht_hajek_as_s": t_v, "ht_hajek_as_cpu": c_v,
            "total_s": t_p + t_v, "total_cpu": c_p + c_v, "std_errors": ses}


def case_big(n=10**6, old=False):
    import warnings

    import netexp as ne

    warnings.simplefilter("ignore")
    _big_warm()
    (g, lab), t_g, _ = _timed(lambda: ne.social_network(n, mean_degree=20, rng=1, return_labels=True))
    lab = np.asarray(lab)
    K = int(lab.max()) + 1
    out = {"case": "big" if n == 10**6 else f"big-{n}", "n": g.n_nodes, "edges": int(g.n_edges), "clusters": K,
           "graph_s": t_g}
    mp = ne.FullNeighborhood()
    d = ne.ClusterRandomized(lab, ne.Bernoulli(K, p=0.5))
    for name, des in (("cluster-bernoulli", d), ("cluster-complete", ne.ClusterRandomized(lab, p=0.5))):
        cost, t, c = _timed(lambda: ne.estimate_cost(g, des, mp))
        out[f"estimate_{name}"] = {"route": cost.route, "seconds": cost.seconds, "pairs": cost.dependent_pairs,
                                   "pairs_exact": cost.dependent_pairs_exact, "pairs_se": cost.dependent_pairs_se,
                                   "zero_joint_pairs": cost.zero_joint_pairs,
                                   "zero_joint_pairs_se": cost.zero_joint_pairs_se, "estimate_s": t,
                                   "estimate_cpu": c}
    z = d.sample(rng=3)
    out["observed_units"] = int(np.isin(np.asarray(mp.map(g, z)), [0, 1]).sum())
    y = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2).outcomes(z)
    out["new"] = _big_variances(g, d, mp, z, y, old=False)
    out["new_peak_mb"] = peak_mb()
    if old:
        out["old"] = _big_variances(g, d, mp, z, y, old=True)
        out["ratio_cpu"] = out["old"]["total_cpu"] / out["new"]["total_cpu"]
        out["ratio_wall"] = out["old"]["total_s"] / out["new"]["total_s"]
        out["max_rel_diff_se"] = max(abs(a - b) / abs(b) for a, b in zip(out["new"]["std_errors"],
                                                                          out["old"]["std_errors"]))
    out["peak_mb"] = peak_mb()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*", default=[c for c in CASES if not c.startswith("big") and c != "mc-100k"],
                    help=f"any of {', '.join(CASES)} (default: all but the big ones and mc-100k)")
    ap.add_argument("--facebook-old", action="store_true")
    ap.add_argument("--dense-10k", action="store_true")
    ap.add_argument("--mc-old", action="store_true", help="mc-100k: also the previous kernel (about 4 minutes)")
    ap.add_argument("--big-old", action="store_true", help="big: also the previous kernel (about 25 minutes)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        res = {"profile-small": case_profile_small, "facebook": lambda: case_facebook(args.facebook_old),
               "mc-dense": lambda: case_mc(3000, True, True), "mc-10k": lambda: case_mc(10**4, args.dense_10k, True),
               "mc-100k": lambda: case_mc(10**5, False, args.mc_old),
               "big": lambda: case_big(10**6, args.big_old), "big-1e5": lambda: case_big(10**5, True)}[args.one]()
        print(json.dumps(res))
        return
    for case in args.cases:
        cmd = [sys.executable, os.path.abspath(__file__), "--one", case]
        cmd += ["--facebook-old"] if args.facebook_old else []
        cmd += ["--dense-10k"] if args.dense_10k else []
        cmd += ["--mc-old"] if args.mc_old else []
        cmd += ["--big-old"] if args.big_old else []
        r = subprocess.run(cmd, capture_output=True, text=True)
        print(r.stdout.strip() or r.stderr.strip()[-2000:], flush=True)


if __name__ == "__main__":
    main()
