"""Time the construction of ``MatchedPairs`` (optimal non-bipartite matching) against baselines.

For each size n the covariates are n draws of a p-variate normal (p = 3, 4, 5 in turn) with
Mahalanobis distance. Timed, each on the same coordinates and checked to reach the same total
distance:

* ``netexp``: ``MatchedPairs(X)``, the compiled blossom on a 15-nearest-neighbour candidate
  graph with the LP-dual certificate on all n(n-1)/2 pairs (median of ``--repeat`` runs, after
  one warm-up call that loads the numba kernels).
* ``ours-dense``: the same compiled blossom on the complete graph (no candidate graph, no
  certificate), at n <= ``--dense-max``: what the pricing saves.
* ``networkx``: ``networkx.min_weight_matching`` (pure-Python blossom) on the complete graph
  (with a dummy vertex at distance 0 when n is odd), at n <= ``--nx-max``, the external baseline.

The table prints seconds and the ratio baseline / netexp. Usage::

    python benchmarks/bench_matched_pairs.py                  # n = 500, 1000, 2000, 4000
    python benchmarks/bench_matched_pairs.py --nx-max 500     # networkx at 500 too (~1 min)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def _coordinates(X):
    from netexp.designs._matched import _metric_coordinates

    return _metric_coordinates(X, None, "mahalanobis")[1]


def _total(Y, pairs):
    return float(np.sqrt(((Y[pairs[:, 0]] - Y[pairs[:, 1]]) ** 2).sum(1)).sum())


def time_netexp(X, repeat):
    from netexp.designs._matched import MatchedPairs

    times, d = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        d = MatchedPairs(X)
        times.append(time.perf_counter() - t)
    return statistics.median(times), d.total_distance


def time_dense(Y):
    from netexp.designs import _matched

    old = _matched._DENSE_BELOW
    _matched._DENSE_BELOW = Y.shape[0] + 1
    try:
        t = time.perf_counter()
        pairs, _ = _matched._solve_matching(np.ascontiguousarray(Y))
        return time.perf_counter() - t, _total(Y, pairs)
    finally:
        _matched._DENSE_BELOW = old


def time_networkx(Y):
    import networkx as nx
    from scipy.spatial.distance import pdist, squareform

    n = Y.shape[0]
    D = squareform(pdist(Y))
    g = nx.Graph()
    iu, ju = np.triu_indices(n, 1)
    g.add_weighted_edges_from(zip(iu.tolist(), ju.tolist(), D[iu, ju].tolist()))
    if n % 2:
        g.add_weighted_edges_from((i, n, 0.0) for i in range(n))
    t = time.perf_counter()
    m = nx.min_weight_matching(g)
    dt = time.perf_counter() - t
    return dt, float(sum(D[i, j] for i, j in m if max(i, j) < n))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    ap.add_argument("--small", type=int, nargs="*", default=[100, 200],
                    help="extra small sizes where every baseline runs")
    ap.add_argument("--nx-max", type=int, default=200, help="largest n for networkx (n=500 takes ~1 min)")
    ap.add_argument("--dense-max", type=int, default=2000, help="largest n for the dense compiled blossom")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from netexp.designs._matched import MatchedPairs

    t = time.perf_counter()
    MatchedPairs(np.random.default_rng(0).normal(size=(60, 3)))
    print(f"first call (loads or compiles the numba kernels): {time.perf_counter() - t:.2f} s")

    rows = []
    for i, n in enumerate(sorted(set(args.small) | set(args.sizes))):
        p = 3 + i % 3
        X = np.random.default_rng(args.seed + n).normal(size=(n, p))
        Y = _coordinates(X)
        ours, total = time_netexp(X, args.repeat)
        row = {"n": n, "p": p, "netexp": ours, "dense": None, "networkx": None}
        if n <= args.dense_max:
            row["dense"], tot = time_dense(Y)
            assert abs(tot - total) <= 1e-9 * total, (n, tot, total)
        if n <= args.nx_max:
            row["networkx"], tot = time_networkx(Y)
            assert abs(tot - total) <= 1e-9 * total, (n, tot, total)
        rows.append(row)
        print(f"n={n} done", file=sys.stderr, flush=True)

    def cell(x, ref):
        return f"{x:9.3f} s ({x / ref:7.1f}x)" if x is not None else f"{'-':>21}"

    print(f"\n{'n':>6} {'p':>2} {'netexp':>11} {'ours on complete graph':>23} {'networkx (complete)':>22}")
    for r in rows:
        print(f"{r['n']:>6} {r['p']:>2} {r['netexp']:9.3f} s {cell(r['dense'], r['netexp']):>23} "
              f"{cell(r['networkx'], r['netexp']):>22}")
    print("\nratios: baseline time / netexp time; every baseline reached the same total distance (rel 1e-9).")


if __name__ == "__main__":
    main()
