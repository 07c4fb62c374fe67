#!/usr/bin/env python3
"""k-arm exposure-level HT: exact closed-form probabilities against Monte Carlo ones, in the same run.

    .venv/bin/python benchmarks/bench_multiarm_exposure.py            # n = 300, 1000, 3000
    .venv/bin/python benchmarks/bench_multiarm_exposure.py --quick    # n = 300, 1000

Graph: a ring (two neighbours each), clusters of 3 consecutive units, a 3-arm complete design over
the clusters (shares .4/.3/.3). Timed (time.perf_counter) and peak traced memory (tracemalloc) of
``multiarm_exposure_contrasts`` (HT, both contrasts, Aronow-Samii variance) with exact
probabilities (netexp's closed form) and, as the baseline, with Monte Carlo probabilities from
2000 draws of the design. Machines are noisy and shared: read the ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np


def one(n, method):
    import netexp as ne

    g = ne.watts_strogatz(n, 2, 0.0, rng=0)
    d = ne.MultiArmCluster(np.arange(n) // 3, ne.MultiArmComplete(-(-n // 3), prob_each=(0.4, 0.3, 0.3)))
    z = d.sample(rng=1)
    y = np.random.default_rng(2).normal(size=n) + z
    tracemalloc.start()
    t = time.perf_counter()
    tab = ne.multiarm_exposure_contrasts(y, z, g, d, method=method, n_draws=2000, rng=3)
    sec = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return sec, peak, [round(e.estimate, 3) for e in tab]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    one(30, "exact")   # warm-up (imports, compiled kernels)
    print(f"{'n':>6} {'exact s':>9} {'MC s':>8} {'ratio':>6} {'exact MB':>9} {'MC MB':>7}  estimates exact | MC")
    for n in (300, 1000) if args.quick else (300, 1000, 3000):
        te, me, ee = one(n, "exact")
        tm, mm, em = one(n, "monte-carlo")
        print(f"{n:>6} {te:>9.2f} {tm:>8.2f} {te / tm:>6.2f} {me:>9.0f} {mm:>7.0f}  {ee} | {em}")


if __name__ == "__main__":
    main()
