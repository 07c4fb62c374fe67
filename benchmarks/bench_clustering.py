#!/usr/bin/env python3
"""3-net clustering at scale, against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_clustering.py            # n=10^6, m=10^7 (a few minutes with Leiden)
    .venv/bin/python benchmarks/bench_clustering.py --quick    # n=10^5, m=10^6
    .venv/bin/python benchmarks/bench_clustering.py --skip-leiden

Graph: Erdos-Renyi-like, exactly m distinct undirected edges drawn with numpy (seeded), node ids
shuffled, built with ``netexp.Graph._from_codes``. Timed (time.perf_counter, median of --repeat):

* ``three_net`` (netexp, compiled one-pass kernel; JIT compile timed apart),
* baseline A: Leiden (igraph, netexp's defaults) on the same graph, igraph build included,
* baseline B: the obvious 3-net, a Python loop over units with numpy slices for each centre's
  2-ball (same algorithm), on the same graph,
* ``RandomizedGraphCluster.sample_many`` (one clustering + coins per draw), per draw,
* ``distinct_clusters_in_neighborhood`` and ``resize_clusters(max_size=50)``.

Machines are noisy and shared: read the ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def make_graph(n, m, seed):
    import netexp as ne

    rng = np.random.default_rng(seed)
    seen = np.empty(0, dtype=np.int64)
    while seen.shape[0] < m:
        k = int((m - seen.shape[0]) * 1.1) + 10
        u = rng.integers(0, n, k)
        v = rng.integers(0, n, k)
        keep = u != v
        a, b = np.minimum(u[keep], v[keep]), np.maximum(u[keep], v[keep])
        seen = np.unique(np.concatenate([seen, a * n + b]))
    seen = rng.permutation(seen)[:m]
    u, v = seen // n, seen % n
    perm = rng.permutation(n)
    return ne.Graph._from_codes(n, perm[u], perm[v], np.arange(n), warn=False)


def python_three_net(g, rng):
    """The obvious 3-net: a Python loop over units, numpy slices for the 2-ball of each centre."""
    n = g.n_nodes
    indptr, indices = g.indptr, g.indices
    dist = np.full(n, 3, dtype=np.int8)
    label = np.full(n, -1, dtype=np.int64)
    for u in rng.permutation(n):
        if dist[u] <= 2:
            continue
        dist[u] = 0
        label[u] = u
        nb = indices[indptr[u]:indptr[u + 1]]
        dist[nb] = 1
        label[nb] = u
        for w in nb:
            x = indices[indptr[w]:indptr[w + 1]]
            x = x[dist[x] > 2]
            dist[x] = 2
            label[x] = u
    return label


def timed(fn, repeat):
    ts = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n=10^5, m=10^6")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--m", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--skip-leiden", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = args.n or (10**5 if args.quick else 10**6)
    m = args.m or 10 * n

    import netexp as ne
    from netexp.clustering import distinct_clusters_in_neighborhood, resize_clusters, three_net
    from netexp.designs._randomized_clusters import RandomizedGraphCluster

    rows = []
    t0 = time.perf_counter()
    g = make_graph(n, m, args.seed)
    rows.append(("generate graph", time.perf_counter() - t0, f"{g}"))

    small = ne.Graph.from_edges([0, 1, 2], [1, 2, 3])
    t0 = time.perf_counter()
    three_net(small, rng=0)
    distinct_clusters_in_neighborhood(three_net(small, rng=0))
    rows.append(("JIT compile / cache load (first calls)", time.perf_counter() - t0, ""))

    t3, c = timed(lambda: three_net(g, rng=1), args.repeat)
    rows.append(("three_net (netexp)", t3, f"{c.n_clusters} clusters, cut {c.cut_fraction:.3f}"))

    tp, lp = timed(lambda: python_three_net(g, np.random.default_rng(0)), 1)
    rows.append(("python-loop 3-net, same graph (baseline)", tp, f"{np.unique(lp).shape[0]} clusters; "
                 f"ratio vs netexp {tp / t3:.1f}x"))

    if not args.skip_leiden:
        tl, cl = timed(lambda: ne.leiden(g, rng=0), 1)
        rows.append(("leiden (igraph, incl. build)", tl, f"{cl.n_clusters} clusters; ratio vs 3-net {tl / t3:.0f}x"))

    d = RandomizedGraphCluster(g, p=0.5)
    td, _ = timed(lambda: d.sample_many(args.draws, rng=0), 1)
    rows.append((f"RandomizedGraphCluster.sample_many({args.draws})", td, f"{td / args.draws:.3f} s per draw "
                 f"({td / args.draws / t3:.2f}x one three_net)"))

    tdist, _ = timed(lambda: distinct_clusters_in_neighborhood(c), args.repeat)
    rows.append(("distinct_clusters_in_neighborhood", tdist, ""))
    tr, rc = timed(lambda: resize_clusters(c, max_size=50, min_size=5, rng=0), 1)
    rows.append(("resize_clusters(max_size=50, min_size=5)", tr, f"{rc.n_clusters} clusters, max {rc.sizes.max()}"))

    print(f"\n| step (n={n:,}, m={m:,}) | seconds | note |\n|---|---:|---|")
    for name, t, note in rows:
        print(f"| {name} | {t:.3f} | {note} |")


if __name__ == "__main__":
    main()
