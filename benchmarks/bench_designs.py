"""Time the network designs' draws against ``ne.Bernoulli`` draws measured in the same run.

For each design: construction time (colouring, independent set, ego selection ...) and the time
of ``sample_many(R)`` for R draws of n units (the output alone is R x n bytes), reported as a
ratio to ``Bernoulli(n, p=1/2).sample_many(R)`` (bit-packed coins, the cheapest possible draw)
timed in the same process. The graph is ``ne.erdos_renyi(n, mean_degree=...)``; clusters are a
label array of ``n / cluster_size`` clusters with random (Poisson-like) sizes.

Usage::

    python benchmarks/bench_designs.py            # n = 10^6 units, R = 1000 draws (~1 GB per draw matrix)
    python benchmarks/bench_designs.py --quick    # n = 10^5, R = 1000
    python benchmarks/bench_designs.py --designs saturation mixed --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np


def _timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        out = None
        gc.collect()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n = 10^5 instead of 10^6")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--mean-degree", type=float, default=10.0)
    ap.add_argument("--cluster-size", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--designs", nargs="*", default=None,
                    help="subset of: complete graph-cluster size-strata independent-set coloring saturation "
                         "saturation-bernoulli ego mixed")
    args = ap.parse_args(argv)
    n = args.n or (10**5 if args.quick else 10**6)
    R = args.draws

    import netexp as ne
    from netexp.designs import (ColoringDesign, EgoClusterDesign, IndependentSetDesign, MixedInterferenceDesign,
                                RandomizedSaturation, graph_cluster_randomized)

    rng = np.random.default_rng(args.seed)
    t = time.perf_counter()
    graph = ne.erdos_renyi(n, mean_degree=args.mean_degree, rng=args.seed)
    t_graph = time.perf_counter() - t
    labels = rng.integers(0, n // args.cluster_size, n)
    print(f"n={n:,} units, R={R} draws, graph: {graph.n_edges:,} edges ({t_graph:.1f} s), "
          f"{n // args.cluster_size:,} clusters")

    # warm up the compiled kernels on a tiny instance (JIT compile / cache load is not the draw cost)
    tiny = ne.erdos_renyi(200, mean_degree=3, rng=1)
    tl = np.arange(200) % 10
    for d in (RandomizedSaturation(tl), MixedInterferenceDesign(tl), IndependentSetDesign(tiny, rng=0),
              EgoClusterDesign(tiny, rng_selection=0), ColoringDesign(tiny)):
        d.sample_many(2, rng=0)

    cases = {
        "complete": lambda: ne.Complete(n),
        "graph-cluster": lambda: graph_cluster_randomized(labels),
        "size-strata": lambda: graph_cluster_randomized(labels, cluster_design="stratified-by-size"),
        "independent-set": lambda: IndependentSetDesign(graph, rng=0),
        "coloring": lambda: ColoringDesign(graph, p=0.5),
        "saturation": lambda: RandomizedSaturation(labels, (0.0, 0.25, 0.5, 0.75)),
        "saturation-bernoulli": lambda: RandomizedSaturation(labels, (0.0, 0.3, 0.7), within="bernoulli"),
        "ego": lambda: EgoClusterDesign(graph, max_alters=30, rng_selection=0),
        "mixed": lambda: MixedInterferenceDesign(labels),
    }
    chosen = args.designs or list(cases)

    base_t, _ = _timed(lambda: ne.Bernoulli(n).sample_many(R, rng=1), args.repeat)
    rows = [("Bernoulli(1/2) [baseline]", 0.0, base_t)]
    for name in chosen:
        t_build, design = _timed(cases[name], 1)
        t_draw, _ = _timed(lambda: design.sample_many(R, rng=1), args.repeat)
        rows.append((f"{name}: {design!r}"[:90], t_build, t_draw))
        print(f"  {name:22s} build {t_build:7.2f} s   draws {t_draw:7.2f} s   x{t_draw / base_t:6.1f}", flush=True)
        design = None
        gc.collect()

    print(f"\n| design | build (s) | {R} draws (s) | ratio to Bernoulli draws |")
    print("|---|---:|---:|---:|")
    for name, tb, td in rows:
        print(f"| {name} | {tb:.2f} | {td:.2f} | {td / base_t:.1f} |")


if __name__ == "__main__":
    main()
