"""Monte Carlo ``executor=`` speed-up with 2 workers: serial vs a spawn process pool vs a Dask LocalCluster
(not a timed test).

    python benchmarks/bench_scale_executor.py                 # n=20000, mean degree 10, 20000 draws
    python benchmarks/bench_scale_executor.py --quick         # n=5000, 4000 draws

Two embarrassingly parallel jobs, each run three ways in one invocation:

* ``exposure_probabilities(method="monte-carlo", joint=False)`` (FullNeighborhood, Bernoulli(0.3));
* ``randomization_test`` with the studentized statistic (not linear: every draw is a small solve).

"serial" is ``executor=None`` (the same seeded blocks, run in this process, numba with every core);
the pool and Dask get 2 worker processes (spawn), each with one numba thread so that two workers do
not fight over 2 cores. Worker start-up and the first import of netexp in each worker are timed
apart (a warm-up task), and every executor runs the jobs once untimed first (numba loads its
cached kernels in each worker), so the figures are the steady state of a long-lived cluster. The script asserts that the three results are
bit-identical. Peak RSS: this process and the workers (children), from getrusage.

The machine may be shared: the load average at start and end is printed; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time

import numpy as np


def _warm():
    import netexp.exposure._mc_blocks  # noqa: F401
    import netexp.inference._randomization  # noqa: F401
    return os.getpid()


def _peak_mb(who) -> int:
    return int(resource.getrusage(who).ru_maxrss / 1024)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--degree", type=float, default=10.0)
    ap.add_argument("--draws", type=int, default=20_000, help="Monte Carlo draws (probabilities)")
    ap.add_argument("--test-draws", type=int, default=4_000, help="null draws (studentized randomization test)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.quick:
        a.n, a.draws, a.test_draws = 5_000, 4_000, 1_000
    import netexp as ne

    print(f"[bench] load average at start: {os.getloadavg()}; {os.cpu_count()} CPUs", flush=True)
    g = ne.erdos_renyi(a.n, mean_degree=a.degree, rng=0)
    design = ne.Bernoulli(a.n, p=0.3)
    mp = ne.FullNeighborhood()
    cl = ne.three_net(g, rng=0)
    cdesign = ne.ClusterRandomized(cl, ne.Bernoulli(cl.n_clusters, p=0.5))
    z = cdesign.sample(rng=1)
    y = 0.1 * z + np.random.default_rng(2).normal(size=a.n)

    def jobs(ex):
        out = {}
        t = time.perf_counter()
        pr = ne.exposure_probabilities(g, design, mp, method="monte-carlo", n_draws=a.draws, joint=False, rng=3,
                                       executor=ex)
        out["probabilities"] = (time.perf_counter() - t, pr.marginal)
        t = time.perf_counter()
        rt = ne.randomization_test(y, z, cdesign, statistic="studentized", n_draws=a.test_draws, rng=4, executor=ex)
        out["randomization test"] = (time.perf_counter() - t, rt.null_distribution)
        return out

    jobs(None)                      # numba compile, caches: not timed
    results = {}
    t = time.perf_counter()
    results["serial (executor=None)"] = jobs(None)
    print(f"[bench] serial done in {time.perf_counter() - t:.1f} s", flush=True)

    from concurrent.futures import ProcessPoolExecutor

    os.environ["NUMBA_NUM_THREADS"] = "1"          # read by the spawned workers only (this process has started)
    t = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        [f.result() for f in [pool.submit(_warm) for _ in range(4)]]
        start_pool = time.perf_counter() - t
        jobs(pool)                  # each worker loads numba's cached kernels: not timed
        results["process pool, 2 workers (spawn)"] = jobs(pool)
    start = {"process pool, 2 workers (spawn)": start_pool}
    try:
        import dask
        import distributed
    except ImportError:
        print("[bench] dask.distributed is not installed: no Dask row", flush=True)
    else:
        t = time.perf_counter()
        with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}), \
                distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=None) as lc, distributed.Client(lc) as client:
            ex = client.get_executor()
            [f.result() for f in [ex.submit(_warm) for _ in range(4)]]
            start["dask LocalCluster, 2 workers"] = time.perf_counter() - t
            jobs(ex)
            results["dask LocalCluster, 2 workers"] = jobs(ex)

    base = results["serial (executor=None)"]
    rows = []
    for name, res in results.items():
        for job, (sec, val) in res.items():
            same = bool(np.array_equal(val, base[job][1]))
            assert same, f"{name}: {job} differs from executor=None"
            rows.append({"executor": name, "job": job, "seconds": round(sec, 3),
                         "speedup_vs_serial": round(base[job][0] / sec, 2), "bit_identical": same,
                         "startup_s": round(start.get(name, 0.0), 2)})
    print("\n| executor | job | time | speed-up vs serial | bit-identical | worker start-up (not counted) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['executor']} | {r['job']} | {r['seconds']:.2f} s | {r['speedup_vs_serial']:.2f}x | "
              f"{'yes' if r['bit_identical'] else 'NO'} | {r['startup_s']:.1f} s |")
    print(f"\n[bench] n={a.n:,}, mean degree {a.degree}, {a.draws:,} MC draws, {a.test_draws:,} test draws; "
          f"peak RSS this process {_peak_mb(resource.RUSAGE_SELF)} MB, largest pool child "
          f"{_peak_mb(resource.RUSAGE_CHILDREN)} MB; load average at end: {os.getloadavg()}", flush=True)
    if a.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
