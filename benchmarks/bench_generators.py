"""Time netexp's random graph generators at 10^6 units / ~10^7 edges against networkx.

Each measurement runs in a fresh subprocess, so peak memory (``ru_maxrss``) belongs to that
one call; the netexp child first builds a tiny graph with every generator to load the numba
kernels from the cache, and only the second call is timed. networkx runs its corresponding
generator at a smaller size (``--nx-n``, default 10^5 units; its stochastic block model at a
quarter of that, because it is much slower) and the table compares time per edge.

Usage::

    python benchmarks/bench_generators.py            # n = 10^6, mean degree 20
    python benchmarks/bench_generators.py --n 200000 --nx-n 20000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CASES = ("erdos_renyi", "stochastic_block_model", "watts_strogatz", "barabasi_albert", "social_network")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _sbm_params(n: int, block_size: int, mean_degree: float, mixing: float = 0.1):
    import numpy as np

    k = max(n // block_size, 2)
    sizes = np.full(k, n // k)
    sizes[: n - sizes.sum()] += 1
    p_out = mixing * mean_degree / (n - n / k)
    p_in = (1 - mixing) * mean_degree / (n / k - 1)
    p = np.full((k, k), p_out)
    np.fill_diagonal(p, p_in)
    return sizes, p


def _run_netexp(case: str, n: int, md: float, seed: int):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from netexp.graph import _generators as gen

    calls = {
        "erdos_renyi": lambda n_: gen.erdos_renyi(n_, mean_degree=min(md, n_ - 1), rng=seed),
        "stochastic_block_model": lambda n_: gen.stochastic_block_model(
            *_sbm_params(n_, max(n_ // 300, 2), md), rng=seed),
        "watts_strogatz": lambda n_: gen.watts_strogatz(n_, int(min(md, n_ - 2)) // 2 * 2, 0.1, rng=seed),
        "barabasi_albert": lambda n_: gen.barabasi_albert(n_, max(int(md // 2), 1), rng=seed),
        "social_network": lambda n_: gen.social_network(n_, mean_degree=md, rng=seed),
    }
    calls[case](min(n, 30_000))  # warm-up: numba kernels from cache, numpy code paths
    before = _rss_mb()
    t0 = time.perf_counter()
    g = calls[case](n)
    dt = time.perf_counter() - t0
    return {"edges": g.n_edges, "seconds": dt, "peak_mb": _peak_mb(), "before_mb": before,
            "what": g.name}


def _run_networkx(case: str, n: int, md: float, seed: int):
    import networkx as nx

    if case == "erdos_renyi":
        f, what = (lambda: nx.fast_gnp_random_graph(n, md / (n - 1), seed=seed)), "fast_gnp_random_graph"
    elif case == "stochastic_block_model":
        n = n // 4
        sizes, p = _sbm_params(n, max(n // 8, 2), md)
        f, what = (lambda: nx.stochastic_block_model(sizes.tolist(), p.tolist(), seed=seed)), "stochastic_block_model"
    elif case == "watts_strogatz":
        f, what = (lambda: nx.watts_strogatz_graph(n, int(md) // 2 * 2, 0.1, seed=seed)), "watts_strogatz_graph"
    elif case == "barabasi_albert":
        f, what = (lambda: nx.barabasi_albert_graph(n, max(int(md // 2), 1), seed=seed)), "barabasi_albert_graph"
    else:
        def f():
            return nx.LFR_benchmark_graph(n, 2.5, 2.0, 0.1, average_degree=md, max_degree=110,
                                          min_community=20, max_community=200, seed=seed, max_iters=500)
        what = "LFR_benchmark_graph"
    before = _rss_mb()
    t0 = time.perf_counter()
    try:
        g = f()
    except Exception as e:  # LFR may fail to converge
        if case != "social_network":
            raise
        import numpy as np

        w = (np.random.default_rng(seed).pareto(1.5, n) + 1) * md / 3
        what = f"expected_degree_graph (LFR failed: {type(e).__name__})"
        t0 = time.perf_counter()
        g = nx.expected_degree_graph(w.tolist(), seed=seed, selfloops=False)
    dt = time.perf_counter() - t0
    return {"edges": g.number_of_edges(), "seconds": dt, "peak_mb": _peak_mb(), "before_mb": before,
            "what": f"networkx.{what}", "n": n}


def _child(args) -> None:
    run = _run_netexp if args.impl == "netexp" else _run_networkx
    out = run(args.case, args.n, args.mean_degree, args.seed)
    out.setdefault("n", args.n)
    print(json.dumps(out))


def _measure(case: str, impl: str, n: int, md: float, seed: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--_child", "--case", case, "--impl", impl,
           "--n", str(n), "--mean-degree", str(md), "--seed", str(seed)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "failed"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="units for netexp's generators (default 10^6)")
    ap.add_argument("--nx-n", type=int, default=100_000, help="units for the networkx baselines (default 10^5)")
    ap.add_argument("--mean-degree", type=float, default=20.0, help="target mean degree (default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=CASES)
    ap.add_argument("--skip-networkx", action="store_true")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--impl", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        _child(args)
        return

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; netexp n={args.n:,}, "
          f"networkx n={args.nx_n:,}, mean degree {args.mean_degree:g}\n")
    header = (f"{'generator':<24}{'impl':<9}{'n':>10}{'edges':>12}{'time s':>9}{'ns/edge':>9}"
              f"{'peak RSS MB':>13}{'+MB':>8}{'nx/netexp per edge':>20}")
    print(header)
    print("-" * len(header))
    for case in args.cases:
        ours = _measure(case, "netexp", args.n, args.mean_degree, args.seed)
        rows = [("netexp", ours)]
        if not args.skip_networkx:
            rows.append(("networkx", _measure(case, "networkx", args.nx_n, args.mean_degree, args.seed)))
        for impl, r in rows:
            if "error" in r:
                print(f"{case:<24}{impl:<9}  ERROR: {r['error']}")
                continue
            per_edge = r["seconds"] / max(r["edges"], 1)
            ratio = ""
            if impl == "networkx" and "error" not in ours:
                ratio = f"{per_edge / (ours['seconds'] / max(ours['edges'], 1)):.1f}x"
            print(f"{case:<24}{impl:<9}{r['n']:>10,}{r['edges']:>12,}{r['seconds']:>9.2f}"
                  f"{per_edge * 1e9:>9.0f}{r['peak_mb']:>13.0f}{r['peak_mb'] - r['before_mb']:>8.0f}{ratio:>20}")
            if impl == "networkx":
                print(f"{'':<24}{'':<9}  ({r['what']})")
    print("\npeak RSS: the process's maximum resident memory; +MB: peak minus resident memory just "
          "before the call (interpreter, imports and warm-up excluded).")


if __name__ == "__main__":
    main()
