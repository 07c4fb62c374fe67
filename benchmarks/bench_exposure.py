#!/usr/bin/env python3
"""Exposure levels for many draws: the fused bit-packed kernel against the baselines, same run.

    .venv/bin/python benchmarks/bench_exposure.py            # n=10^6, m=10^7, R=1000 (~1-2 min, ~12 GB peak)
    .venv/bin/python benchmarks/bench_exposure.py --quick    # n=10^5, m=10^6
    .venv/bin/python benchmarks/bench_exposure.py --baseline-draws 250   # scipy on 250 draws, scaled

Steps (time.perf_counter; median of ``--repeat`` runs for the fast kernels, one run for the
baselines; "peak" is the step's own high-water mark of resident memory above the RSS it started
from, the OS counter being reset before each step via /proc/self/clear_refs, Linux >= 4.0;
"traced" is tracemalloc's peak of Python/numpy allocations in the step):

1. Graph: ``netexp.erdos_renyi(n, mean_degree=2m/n, rng=0)`` (node order carries no locality).
2. Draws: ``Bernoulli(n, p=0.5).sample_many(R, rng=1)`` (bool, R x n).
3. JIT compile of every kernel on a tiny graph, reported apart.
4. ``pack_draws(Z)``: bool (R, n) -> uint64 (n, ceil(R/64)).
5. ``AronowSamii().level_counts`` on the packed draws (kernel alone) and on Z (packing included);
   ``FractionalExposure(q=0.5).level_counts`` (bit-sliced counter path); ``AronowSamii().map_many``
   (int8 codes, R x n).
6. Baselines: scipy float32 ``A @ Z.T`` (counts only; with ``--baseline-draws`` < R it runs on the
   first draws and the time is scaled by R / draws, marked "scaled") and the uint8 transposed
   ``netexp.treated_neighbor_counts`` kernel (counts only, all draws). Both are then still short of
   the levels: they give the counts that a mapping turns into levels.
7. Agreement: level counts from the fused kernel equal those from the scipy counts on the draws
   the scipy baseline ran on.

Machines are noisy (10-30 % run to run): compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import netexp as ne  # noqa: E402
from netexp.exposure import AronowSamii, FractionalExposure, pack_draws  # noqa: E402


def _rss_kb(field: str) -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measure(fn, repeat: int = 1):
    """(median seconds, step peak RSS increase in MB, tracemalloc peak MB, last result).

    CPU seconds of the process (all threads) for the median run are stored in ``_CPU[0]``: on a
    shared machine they say more than wall time about the kernel itself.
    """
    times, peaks, traced, cpus = [], [], [], []
    out = None
    for _ in range(repeat):
        out = None
        gc.collect()
        _reset_peak()
        base = _rss_kb("VmRSS")
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        traced.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
        peaks.append(max(0, _rss_kb("VmHWM") - base) / 1024)
    _CPU[0] = statistics.median(cpus)
    return statistics.median(times), max(peaks), max(traced), out


_CPU = [0.0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n=10^5, m=10^6")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--m", type=int, default=None, help="number of undirected edges")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-draws", type=int, default=None,
                    help="draws for the scipy baseline (default: all when --quick, 250 at full size)")
    ap.add_argument("--skip-baselines", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="also write the results as JSON to this file")
    args = ap.parse_args(argv)
    n = args.n or (10**5 if args.quick else 10**6)
    m = args.m or 10 * n
    R = args.draws
    rb = args.baseline_draws or (R if args.quick else min(R, 250))
    rows = []

    def row(step, secs, peak, traced, note=""):
        cpu = _CPU[0]
        rows.append({"step": step, "seconds": secs, "cpu_seconds": cpu, "peak_rss_mb": peak, "traced_mb": traced,
                     "note": note})
        print(f"  {step:<56s} {secs:7.3f} s (cpu {cpu:6.2f} s)  peak {peak:6.0f} MB  traced {traced:6.0f} MB  {note}",
              flush=True)

    print(f"# bench_exposure: n={n:,}, m={m:,}, R={R}, threads={__import__('numba').get_num_threads()}, "
          f"load average {open('/proc/loadavg').read().split()[0]}")
    t, p, tr, g = measure(lambda: ne.erdos_renyi(n, mean_degree=2 * m / n, rng=0))
    row("graph: erdos_renyi", t, p, tr, f"nnz={g.indices.shape[0]:,}")
    t, p, tr, Z = measure(lambda: ne.Bernoulli(n, p=0.5).sample_many(R, rng=1))
    row("draws: Bernoulli(0.5).sample_many", t, p, tr)

    # JIT compile (cached on disk after the first run: this is then the load time)
    tiny = ne.erdos_renyi(200, mean_degree=4, rng=0)
    Zt = ne.Bernoulli(200, p=0.5).sample_many(100, rng=0)

    def warm():
        for mp in (AronowSamii(), FractionalExposure(q=0.5)):
            mp.level_counts(tiny, Zt)
            mp.map_many(tiny, Zt)
        ne.treated_neighbor_counts(tiny, Zt)

    t, p, tr, _ = measure(warm)
    row("JIT compile / cache load (tiny graph)", t, p, tr)

    as4, frac = AronowSamii(), FractionalExposure(q=0.5)
    t_pack, p, tr, packed = measure(lambda: pack_draws(Z), args.repeat)
    row("pack_draws(Z)", t_pack, p, tr)
    t_as4, p, tr, lc_as4 = measure(lambda: as4.level_counts(g, packed), args.repeat)
    row("AS4 level_counts (packed draws)", t_as4, p, tr)
    t_as4z, p, tr, _ = measure(lambda: as4.level_counts(g, Z), args.repeat)
    row("AS4 level_counts (bool Z, packing included)", t_as4z, p, tr)
    t_frac, p, tr, lc_frac = measure(lambda: frac.level_counts(g, packed), args.repeat)
    row("q-fractional(0.5) level_counts (packed, bit-sliced)", t_frac, p, tr)
    t_map, p, tr, codes = measure(lambda: as4.map_many(g, packed), 1)
    row("AS4 map_many -> int8 codes (R x n)", t_map, p, tr)
    del codes

    result = {"n": n, "m": m, "nnz": int(g.indices.shape[0]), "draws": R, "rows": rows}
    if not args.skip_baselines:
        t_tnc, p, tr, C = measure(lambda: ne.treated_neighbor_counts(g, Z), 1)
        row("baseline: treated_neighbor_counts (uint8 kernel, counts)", t_tnc, p, tr)
        del C
        gc.collect()
        A = g.adjacency.astype(np.float32)
        Zb = Z[:rb]
        t_sp, p, tr, Cs = measure(lambda: A @ Zb.T.astype(np.float32), 1)
        scale = R / rb
        _CPU[0] *= scale
        row("baseline: scipy float32 A @ Z.T (counts)", t_sp * scale, p, tr,
            "" if rb == R else f"scaled x{scale:g} from {rb} draws")
        # agreement on the draws the baseline ran on
        Cs = Cs.T.astype(np.int64)
        d = g.degree.astype(np.int64)
        zz = Zb.astype(np.int64)
        ok = True
        for mp, lc in ((as4, None), (frac, None)):
            ref = mp.level_from_counts(zz, Cs, d)
            want = np.stack([(ref == lev).sum(0) for lev in range(mp.n_levels)], 1)
            got = mp.level_counts(g, Zb)
            ok &= bool(np.array_equal(got, want))
        print(f"  agreement with scipy counts on {rb} draws: {ok}")
        result.update(agree=ok)
        print("\n| step | seconds | ratio vs AS4 level_counts (packed) |\n|---|---:|---:|")
        for name, secs in (("AS4 level_counts (packed)", t_as4), ("pack_draws", t_pack),
                           ("AS4 level_counts incl. packing", t_as4z), ("q-fractional level_counts", t_frac),
                           ("AS4 map_many (codes)", t_map),
                           ("treated_neighbor_counts (uint8, counts only)", t_tnc),
                           ("scipy float32 A @ Z.T (counts only)", t_sp * scale)):
            print(f"| {name} | {secs:.3f} | {secs / t_as4:.1f} |")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
