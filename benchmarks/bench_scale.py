#!/usr/bin/env python3
"""Scale benchmark: netexp's hot paths on a 10^6-node, 10^7-edge graph, against baselines
measured in the same run.

    .venv/bin/python benchmarks/bench_scale.py                 # full size (several minutes, ~15 GB peak)
    .venv/bin/python benchmarks/bench_scale.py --quick         # n=10^5, m=10^6: a check in ~1-2 minutes
    .venv/bin/python benchmarks/bench_scale.py --skip-baselines

Steps (each timed with time.perf_counter, memory from getrusage ru_maxrss):

1. Generate a planted-community graph with numpy (seeded): blocks of 100 nodes, a share
   ``--p-in`` of the edges inside blocks, the rest uniform between any two nodes; exactly
   ``m`` distinct undirected edges, no self-loops, edge order shuffled, endpoints randomly
   oriented and node ids a random permutation of 0..n-1. Written to a Parquet edge list
   (two int64 columns) in a temporary directory.
2. Load: ``netexp.read_graph(path)``, with compact ids and with random 62-bit ids, vs the obvious way (``pandas.read_parquet`` + ``np.unique``
   id mapping + scipy coo -> csr, symmetrized and deduplicated); plus a breakdown of
   ``read_graph`` into its internal pieces (the functions are called, not edited).
2b. Ingest (``--steps ingest``): read_graph's streaming Parquet reader against the whole-file path
   it replaced (``pd.read_parquet`` -> ``Graph.from_edges``), compact and 62-bit ids, interleaved,
   with each one's peak RSS increase; the Graphs must be identical.
3. Leiden (netexp's defaults) / Louvain at full size, igraph build timed separately; optionally
   Leiden run until stable; the leidenalg backend against igraph on a 10^5-node graph from the
   same generator (leidenalg is too slow at 10^6).
4. Draws: ``Bernoulli(n, 0.5).sample_many(R)`` vs ``rng.random((R, n)) < 0.5``.
   Exposure counts for R draws of Bernoulli(1/2): ``netexp.treated_neighbor_counts`` vs scipy
   float32 ``A @ Z.T`` and vs the seed notebook's per-row pandas ``df.apply`` (one draw on a
   10^4-node graph, extrapolated per node-draw). Numba JIT compile time is reported apart.
5. Peak RSS: the OS's peak-RSS counter is reset before every step (Linux >= 4.0,
   ``/proc/self/clear_refs``), so "peak increase" is the step's own high-water mark above the
   RSS it started from; the process-wide peak so far is reported too.

The table is printed as Markdown and written as JSON to ``benchmarks/results/``.
Machines are noisy (10-30 % run to run): compare the ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------
# memory and timing helpers
# ---------------------------------------------------------------------------------------------
_LIFETIME_PEAK = 0
_CAN_RESET = None


def _ru_maxrss() -> int:
    """Peak RSS in bytes as getrusage reports it (KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss_now() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter to the current RSS (Linux >= 4.0). False if unsupported."""
    global _LIFETIME_PEAK, _CAN_RESET
    _LIFETIME_PEAK = max(_LIFETIME_PEAK, _ru_maxrss())
    if _CAN_RESET is False:
        return False
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        _CAN_RESET = _ru_maxrss() <= _rss_now() + (64 << 20)
    except OSError:
        _CAN_RESET = False
    return bool(_CAN_RESET)


def lifetime_peak() -> int:
    global _LIFETIME_PEAK
    _LIFETIME_PEAK = max(_LIFETIME_PEAK, _ru_maxrss())
    return _LIFETIME_PEAK


def mem_available() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_counters():
    """(busy CPU seconds of the whole machine, steal seconds, this process's CPU seconds)."""
    hz = os.sysconf("SC_CLK_TCK")
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
        busy = (f[0] + f[1] + f[2] + f[5] + f[6]) / hz  # user nice system irq softirq
        steal = f[7] / hz if len(f) > 7 else 0.0
    except (OSError, ValueError, IndexError):
        busy = steal = float("nan")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return busy, steal, ru.ru_utime + ru.ru_stime


class Meter:
    """``with Meter() as mt: ...`` -> mt.seconds, mt.peak_increase (bytes), mt.process_peak (bytes),
    mt.cpu_self (this process's CPU seconds / wall seconds), mt.cpu_others (CPU used by other
    processes on the machine during the step, in cores: the machine is shared, this flags
    contention), mt.steal (cores stolen by the hypervisor)."""

    def __enter__(self):
        gc.collect()
        self.rss0 = _rss_now()
        self.reset = _reset_peak()
        self.c0 = _cpu_counters()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        c1 = _cpu_counters()
        wall = max(self.seconds, 1e-9)
        self.cpu_self = (c1[2] - self.c0[2]) / wall
        # /proc/stat ticks are coarse (10 ms): only meaningful for steps longer than ~0.5 s
        self.cpu_others = max(0.0, (c1[0] - self.c0[0]) - (c1[2] - self.c0[2])) / wall if wall > 0.5 else None
        self.steal = (c1[1] - self.c0[1]) / wall if wall > 0.5 else None
        peak = _ru_maxrss()
        self.peak_increase = max(0, peak - self.rss0) if self.reset else None
        self.process_peak = lifetime_peak()
        return False


class Summary:
    """Several Meters of the same step: median time, largest peak increase, busiest neighbours."""

    def __init__(self, meters):
        ms = sorted(meters, key=lambda x: x.seconds)
        mid = ms[(len(ms) - 1) // 2]
        self.times = [x.seconds for x in meters]
        self.seconds = statistics.median(self.times)
        incs = [x.peak_increase for x in meters]
        self.peak_increase = None if None in incs else max(incs)
        self.process_peak = max(x.process_peak for x in meters)
        self.cpu_self = mid.cpu_self
        others = [x.cpu_others for x in meters if x.cpu_others is not None]
        self.cpu_others = max(others) if others else None
        steal = [x.steal for x in meters if x.steal is not None]
        self.steal = max(steal) if steal else None


def gb(x):
    return None if x is None else round(x / 2**30, 3)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# the test graph
# ---------------------------------------------------------------------------------------------
def planted_graph(n: int, m: int, *, block: int = 100, p_in: float = 0.7, seed: int = 0):
    """Exactly ``m`` distinct undirected edges on ``n`` nodes with planted blocks.

    Returns ``(src, dst, block_of_id)``: int64 endpoint ids (a random permutation of the
    internal numbering, edge order shuffled, orientation random) and the planted block of
    every id (indexed by id).
    """
    import numpy as np

    if n % block or block < 2:
        raise SystemExit(f"--n must be a multiple of the block size {block}")
    if m > 0.5 * n * (n - 1) * 0.5:
        raise SystemExit("--m is too large for --n")
    rng = np.random.default_rng(seed)
    keys = np.empty(0, dtype=np.int64)
    need = m
    while need > 0:
        k = need + need // 8 + 1000
        u = rng.integers(0, n, size=k, dtype=np.int64)
        inside = rng.random(k) < p_in
        start = (u // block) * block
        v_in = start + (u - start + rng.integers(1, block, size=k, dtype=np.int64)) % block
        v_out = (u + rng.integers(1, n, size=k, dtype=np.int64)) % n
        v = np.where(inside, v_in, v_out)
        lo = np.minimum(u, v)
        hi = np.maximum(u, v)
        keys = np.unique(np.concatenate([keys, lo * n + hi]))
        need = m - keys.shape[0]
        del u, inside, start, v_in, v_out, v, lo, hi
    keys = keys[rng.permutation(keys.shape[0])[:m]]
    a, b = np.divmod(keys, n)
    del keys
    swap = rng.random(m) < 0.5
    src = np.where(swap, b, a)
    dst = np.where(swap, a, b)
    del a, b, swap
    perm = rng.permutation(n).astype(np.int64)  # internal node i gets id perm[i]
    src = perm[src]
    dst = perm[dst]
    block_of_id = np.empty(n, dtype=np.int64)
    block_of_id[perm] = np.arange(n, dtype=np.int64) // block
    return src, dst, block_of_id


def write_parquet(path: Path, src, dst) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"source": src, "target": dst}), path)


# ---------------------------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------------------------
def baseline_load(path: Path):
    """The obvious way: pandas.read_parquet, np.unique id mapping, scipy coo -> csr (sym + dedupe)."""
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    df = pd.read_parquet(path)
    s = df.iloc[:, 0].to_numpy()
    t = df.iloc[:, 1].to_numpy()
    ids, codes = np.unique(np.concatenate([s, t]), return_inverse=True)
    n, m = ids.shape[0], s.shape[0]
    u, v = codes[:m], codes[m:]
    keep = u != v
    u, v = u[keep], v[keep]
    a = sp.coo_array((np.ones(2 * u.shape[0], dtype=np.float64),
                      (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n)).tocsr()
    a.sum_duplicates()
    a.data[:] = 1.0
    return ids, a


def baseline_pandas_apply(graph, z):
    """The seed notebook's exposure ("Social Media effect" section): a DataFrame with a
    neighbour list per user and ``df.apply`` over rows with ``df.loc`` lookups. Returns
    (seconds for the apply, the fraction of treated neighbours)."""
    import numpy as np
    import pandas as pd

    n = graph.n_nodes
    ptr, idx = graph.indptr, graph.indices
    df = pd.DataFrame({"user_id": np.arange(n)})
    df["neighbors"] = [idx[ptr[i]:ptr[i + 1]].tolist() for i in range(n)]
    df["n_neighbors"] = df["neighbors"].apply(len)
    df["treatment_individual"] = z.astype(int)

    def frac(row, treatment_col="treatment_individual"):
        return np.mean([df.loc[k, treatment_col] for k in row["neighbors"]]) if row["n_neighbors"] > 0 else 0

    t0 = time.perf_counter()
    out = df.apply(frac, axis=1)
    return time.perf_counter() - t0, out.to_numpy(dtype=float)


# ---------------------------------------------------------------------------------------------
# read_graph broken into its pieces (internal functions called as read_graph calls them)
# ---------------------------------------------------------------------------------------------
def profile_read_graph(path: Path, sparse_ids_seed: int | None = 7):
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from netexp.graph import _csr
    from netexp.graph._graph import Graph, _factorize_ids

    out = {}
    T = time.perf_counter

    t = T(); tbl = pq.read_table(path); out["pyarrow.parquet.read_table (reference)"] = T() - t
    del tbl
    t = T(); df = pd.read_parquet(path); out["pd.read_parquet"] = T() - t
    t = T()
    s_col, t_col = df[df.columns[0]], df[df.columns[1]]
    _ = s_col.isna().any() or t_col.isna().any()
    src, dst = s_col.to_numpy(), t_col.to_numpy()
    out["from_pandas: isna checks + to_numpy"] = T() - t
    t = T(); ids, codes = _factorize_ids(src, dst, None); out["_factorize_ids (compact int ids)"] = T() - t
    n, m = ids.shape[0], src.shape[0]
    t = T()
    u, v = codes[:m], codes[m:]
    loops = u == v
    _ = int(loops.sum())
    out["_from_codes: self-loop check"] = T() - t
    # build_csr's pieces, following whichever kernels this version of netexp has
    t = T()
    rows = np.ascontiguousarray(u, dtype=np.int64)
    cols = np.ascontiguousarray(v, dtype=np.int64)
    if hasattr(_csr, "_scatter") and (hasattr(_csr, "_transpose") or hasattr(_csr, "_sort_dedupe")):
        indptr, indices = _csr._scatter(n, rows, cols, True)
        out["build_csr: _scatter (counting sort into rows)"] = T() - t
        if hasattr(_csr, "_transpose"):
            t = T(); indptr, indices = _csr._transpose(n, indptr, indices)
            out["build_csr: _transpose (second counting pass, sorts rows)"] = T() - t
            t = T(); indptr, indices = _csr._dedupe_sorted(n, indptr, indices)
            out["build_csr: _dedupe_sorted"] = T() - t
        else:
            t = T(); indptr, indices = _csr._sort_dedupe(n, indptr, indices)
            out["build_csr: _sort_dedupe (np.sort per row)"] = T() - t
        t = T(); indices = indices.copy(); out["build_csr: final copy"] = T() - t
    else:
        indptr, indices = _csr.build_csr(n, rows, cols, True)
        out["build_csr (whole)"] = T() - t
    t = T(); g = Graph(indptr, indices, ids); out["Graph.__init__ (validation, unique-id check)"] = T() - t
    total = sum(v for k, v in out.items() if "reference" not in k)
    out["sum of the pieces"] = total
    del g, indptr, indices, rows, cols, codes, u, v, loops, df, s_col, t_col

    if sparse_ids_seed is not None:
        # the same edges with non-compact ids (random 62-bit integers, like real user ids):
        # read_graph's compact-id fast path does not apply
        rng = np.random.default_rng(sparse_ids_seed)
        big = rng.choice(2**62, size=n, replace=False).astype(np.int64)
        s2, d2 = big[src], big[dst]
        t = T(); _factorize_ids(s2, d2, None); out["_factorize_ids (random 62-bit ids, non-compact path)"] = T() - t
        t = T()
        codes2, uniq = pd.factorize(np.concatenate([s2, d2]))
        out["pd.factorize on the same (reference, unsorted ids)"] = T() - t
        del s2, d2, codes2, uniq, big
    return out


# ---------------------------------------------------------------------------------------------
# JIT compile measurements
# ---------------------------------------------------------------------------------------------
_JIT_PROBE = r"""
import json, time, sys
import numpy as np
t = time.perf_counter(); import netexp as ne; t_import = time.perf_counter() - t
path = sys.argv[1]
t = time.perf_counter(); g = ne.read_graph(path); t_load = time.perf_counter() - t
Z = ne.Bernoulli(g.n_nodes, 0.5).sample_many(3, rng=0)
t = time.perf_counter(); ne.treated_neighbor_counts(g, Z); ne.treated_neighbor_counts(g, Z[0])
t_exp = time.perf_counter() - t
print(json.dumps({"import_netexp": t_import, "read_graph_first_call": t_load, "exposure_first_call": t_exp}))
"""


def ingest_step(ne, np, path: Path, path_sparse: Path, repeat: int, add) -> None:
    """read_graph's streaming Parquet reader (record batches -> ids -> int32 codes -> CSR) against the
    whole-file path it replaced (pandas.read_parquet -> Graph.from_edges, still used for text ids),
    interleaved in one run, with each one's peak RSS increase; the two Graphs must be identical."""
    from netexp.graph import _io

    for label, pth in (("compact ids", path), ("random 62-bit ids", path_sparse)):
        st_m, pd_m = [], []
        for rep in range(max(1, repeat)):
            gc.collect()
            with Meter() as mt:
                g_s = _io._read_parquet_edges(pth, str(pth), None, None, False, "e")
            st_m.append(mt)
            if rep:
                del g_s
            gc.collect()
            with Meter() as mt:
                g_p = _io._read_parquet_edges_pandas(pth, str(pth), None, None, False, "e")
            pd_m.append(mt)
            if rep == 0:
                assert np.array_equal(g_s.node_ids, g_p.node_ids) and np.array_equal(g_s.indptr, g_p.indptr) \
                    and np.array_equal(g_s.indices, g_p.indices), "streaming Graph differs from the whole-file one"
                del g_s
            del g_p
        ss, sp_ = Summary(st_m), Summary(pd_m)
        add(f"ingest: streaming Parquet -> Graph ({label})", ss,
            baseline="whole file: pd.read_parquet -> Graph.from_edges (the previous read_graph path)",
            baseline_s=sp_.seconds,
            notes=f"median of {len(ss.times)} ({', '.join(fmt_s(x) for x in ss.times)}); peak incr. "
                  f"{gb(ss.peak_increase)} GB vs {gb(sp_.peak_increase)} GB whole-file "
                  f"({', '.join(fmt_s(x) for x in sp_.times)}); Graphs identical",
            baseline_peak_increase_gb=gb(sp_.peak_increase), baseline_times=sp_.times, netexp_times=ss.times)


def tiny_graph_files(tmp: Path):
    s, d, _ = planted_graph(1000, 5000, seed=123)
    p = tmp / "tiny.parquet"
    write_parquet(p, s, d)
    return p


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
def machine_info() -> dict:
    info = {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
            "platform": platform.platform(), "python": platform.python_version()}
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    info["mem_total_gib"] = round(int(line.split()[1]) / 2**20, 1)
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for name in ("netexp-interference", "numpy", "scipy", "pandas", "pyarrow", "igraph", "leidenalg", "numba"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    try:
        out["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent, capture_output=True,
                                    text=True, timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "netexp"], cwd=HERE.parent,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        out["netexp_tree_dirty"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def fmt_s(x):
    if x is None:
        return "-"
    if x >= 86400:
        return f"{x / 86400:.1f} days"
    if x >= 100:
        return f"{x:.0f} s"
    if x >= 1:
        return f"{x:.2f} s"
    return f"{x * 1000:.1f} ms"


def fmt_ratio(x):
    if x is None:
        return "-"
    if x >= 1000:
        return f"{x:,.0f}x"
    if x < 0.1:
        return f"{x:.2g}x (1/{1 / x:,.0f})"
    return f"{x:.1f}x"


def _cpu_cell(r) -> str:
    if r.get("cpu_self") is None:
        return "-"
    others = "-" if r.get("cpu_others") is None else f"{r['cpu_others']:.1f}"
    return f"{r['cpu_self']:.1f} / {others}"


def markdown_table(rows) -> str:
    head = ["step", "netexp", "baseline (same run)", "baseline time", "baseline / netexp", "target",
            "peak RSS incr.", "process peak", "CPU self / others", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        target = "-"
        if r.get("target_s") is not None:
            ok = r["netexp_s"] is not None and r["netexp_s"] < r["target_s"]
            target = f"< {r['target_s']:g} s {'ok' if ok else 'MISSED'}"
        cells = [r["step"], fmt_s(r.get("netexp_s")), r.get("baseline") or "-", fmt_s(r.get("baseline_s")),
                 fmt_ratio(r.get("ratio")), target,
                 "-" if r.get("peak_increase_gb") is None else f"{r['peak_increase_gb']:.2f} GB",
                 "-" if r.get("process_peak_gb") is None else f"{r['process_peak_gb']:.2f} GB",
                 _cpu_cell(r), r.get("notes", "")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="nodes (multiple of 100)")
    ap.add_argument("--m", type=int, default=10_000_000, help="undirected edges")
    ap.add_argument("--draws", type=int, default=1000, help="assignments R for the exposure step")
    ap.add_argument("--quick", action="store_true", help="n=10^5, m=10^6: a fast check")
    ap.add_argument("--skip-baselines", action="store_true", help="only netexp's own timings")
    ap.add_argument("--p-in", type=float, default=0.7, help="share of edges inside the 100-node blocks")
    ap.add_argument("--seed", type=int, default=0, help="seed of the graph generator")
    ap.add_argument("--repeat", type=int, default=3,
                    help="repetitions of the load, draw and exposure timings (median reported; netexp and "
                         "baseline interleaved)")
    ap.add_argument("--scipy-draws", default="auto",
                    help="draws for the scipy A @ Z baseline: an int, or 'auto' (all R if the memory it "
                         "needs is < 60%% of MemAvailable, else 250), scaled linearly to R")
    ap.add_argument("--small-n", type=int, default=100_000, help="graph size for the leidenalg comparison")
    ap.add_argument("--pandas-n", type=int, default=10_000, help="graph size for the per-row pandas baseline")
    ap.add_argument("--steps", default="load,ingest,cluster,exposure",
                    help="comma-separated subset of load,ingest,cluster,exposure to run (the graph is always "
                         "generated and loaded; default all)")
    ap.add_argument("--skip-leiden", action="store_true", help="skip step 3 (same as leaving 'cluster' out of --steps)")
    ap.add_argument("--leiden-until-stable", action="store_true",
                    help="also time leiden(n_iterations=-1) (minutes at 10^6 nodes)")
    ap.add_argument("--out", type=Path, default=None, help="JSON output path (default benchmarks/results/)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.m = 100_000, 1_000_000
    steps = {x.strip() for x in args.steps.split(",") if x.strip()}
    bad = steps - {"load", "ingest", "cluster", "exposure"}
    if bad:
        ap.error(f"--steps: unknown {sorted(bad)}; choose from load, ingest, cluster, exposure")
    if args.skip_leiden:
        steps.discard("cluster")

    # A private numba cache so the first calls measure a real (cold) JIT compile, and nothing is
    # written next to netexp's sources. Must be set before numba is imported.
    tmp_ctx = tempfile.TemporaryDirectory(prefix="bench_scale-")
    tmp = Path(tmp_ctx.name)
    os.environ["NUMBA_CACHE_DIR"] = str(tmp / "numba_cache")

    import numpy as np

    t = time.perf_counter()
    import netexp as ne
    t_import = time.perf_counter() - t

    n, m, R = args.n, args.m, args.draws
    mach = machine_info()
    vers = versions()  # at the start: others may commit while the run goes on
    log(f"machine: {mach.get('nproc')} CPUs, {mach.get('mem_total_gib')} GiB, {mach.get('cpu', '?')}")
    log(f"graph n={n:,} m={m:,}, R={R}, p_in={args.p_in}, seed={args.seed}; tmp={tmp}")
    rows: list[dict] = []
    details: dict = {"import_netexp_s": t_import}

    def add(step, mt=None, netexp_s=None, baseline=None, baseline_s=None, target_s=None, notes="", **extra):
        if netexp_s is None and mt is not None:
            netexp_s = mt.seconds
        ratio = baseline_s / netexp_s if (baseline_s and netexp_s) else None
        row = {"step": step, "netexp_s": netexp_s, "baseline": baseline, "baseline_s": baseline_s,
               "ratio": ratio, "target_s": target_s,
               "peak_increase_gb": gb(mt.peak_increase) if mt is not None else None,
               "process_peak_gb": gb(mt.process_peak) if mt is not None else gb(lifetime_peak()),
               "cpu_self": getattr(mt, "cpu_self", None), "cpu_others": getattr(mt, "cpu_others", None),
               "steal": getattr(mt, "steal", None),
               "notes": notes}
        row.update(extra)
        rows.append(row)
        log(f"{step}: netexp {fmt_s(netexp_s)}" + (f", baseline {fmt_s(baseline_s)} ({fmt_ratio(ratio)})"
                                                     if baseline_s else "") + (f"  {notes}" if notes else ""))

    # ---------------------------------------------------------------- 0. JIT compile (cold cache)
    tiny = tiny_graph_files(tmp)
    with Meter() as mt:
        g_tiny = ne.read_graph(tiny)
    t_csr_cold = mt.seconds
    t = time.perf_counter(); ne.read_graph(tiny); t_csr_warm = time.perf_counter() - t
    Zt = ne.Bernoulli(g_tiny.n_nodes, 0.5).sample_many(3, rng=0)
    with Meter() as mt:
        ne.treated_neighbor_counts(g_tiny, Zt)
        ne.treated_neighbor_counts(g_tiny, Zt[0])
    t_exp_cold = mt.seconds
    t = time.perf_counter()
    ne.treated_neighbor_counts(g_tiny, Zt); ne.treated_neighbor_counts(g_tiny, Zt[0])
    t_exp_warm = time.perf_counter() - t
    probe = subprocess.run([sys.executable, "-c", _JIT_PROBE, str(tiny)], capture_output=True, text=True,
                           env=dict(os.environ), timeout=600)
    try:
        cached = json.loads(probe.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        cached = {}
        log(f"JIT cache probe failed: {probe.stderr[-500:]}")
    details["jit"] = {"csr_first_call_cold_s": t_csr_cold, "csr_warm_call_s": t_csr_warm,
                      "exposure_first_call_cold_s": t_exp_cold, "exposure_warm_call_s": t_exp_warm,
                      "new_process_with_cache": cached}
    add("JIT compile: CSR build kernels (read_graph, tiny graph)", netexp_s=t_csr_cold - t_csr_warm,
        notes=f"cold numba cache; a new process with the on-disk cache: first read_graph "
              f"{fmt_s(cached.get('read_graph_first_call'))}; import netexp {fmt_s(t_import)}")
    add("JIT compile: exposure kernels (tiny graph)", netexp_s=t_exp_cold - t_exp_warm,
        notes=f"cold numba cache; with the on-disk cache: first call {fmt_s(cached.get('exposure_first_call'))}")
    del g_tiny, Zt

    # ---------------------------------------------------------------- memory first-touch probe
    # On these VMs memory freed by a process goes back to the host within seconds, and touching it
    # again costs ~1-3 s per GiB (against ~0.1 s when the pages are still mapped). Every step that
    # allocates gigabytes pays this; the probe records how large the effect is in this run.
    time.sleep(6)
    t = time.perf_counter(); buf = np.ones(2**30, dtype=np.uint8); t_cold = time.perf_counter() - t
    del buf
    t = time.perf_counter(); buf = np.ones(2**30, dtype=np.uint8); t_warm = time.perf_counter() - t
    del buf
    add("memory: first touch of 1 GiB (after 6 s idle)", netexp_s=t_cold, baseline="the same again at once",
        baseline_s=t_warm, notes="not netexp: the machine's cost of fresh pages, paid by every large allocation "
        "below (ratio < 1: re-touching is that much cheaper)", first_touch_s=t_cold, retouch_s=t_warm)

    # ---------------------------------------------------------------- 1. generate + write
    with Meter() as mt:
        src, dst, block_of_id = planted_graph(n, m, p_in=args.p_in, seed=args.seed)
    add("generate graph (numpy, seeded)", mt, notes=f"{n:,} nodes, {m:,} edges, 100-node blocks, "
        f"p_in={args.p_in}, ids shuffled")
    path = tmp / "edges.parquet"
    with Meter() as mt:
        write_parquet(path, src, dst)
    add("write Parquet edge list", mt, notes=f"{path.stat().st_size / 2**20:.0f} MiB, two int64 columns")
    # the same edges with non-compact ids (random 62-bit integers, like real user ids): read_graph's
    # compact-id fast path does not apply
    path_sparse = tmp / "edges_sparse_ids.parquet"
    big = np.random.default_rng(args.seed + 7).choice(2**62, size=n, replace=False).astype(np.int64)
    write_parquet(path_sparse, big[src], big[dst])
    del src, dst, big
    gc.collect()

    # ---------------------------------------------------------------- 2. load
    prof = {}
    if "load" not in steps:
        graph = ne.read_graph(path)
    else:
        ne_m, bl_m = [], []
        graph = None
        for rep in range(max(1, args.repeat)):
            graph = None
            gc.collect()
            with Meter() as mt:
                graph = ne.read_graph(path)
            ne_m.append(mt)
            if not args.skip_baselines:
                with Meter() as mt:
                    ids_b, a_b = baseline_load(path)
                bl_m.append(mt)
                if rep == 0:
                    assert np.array_equal(ids_b, graph.node_ids), "baseline ids differ"
                    assert np.array_equal(a_b.indptr, graph.indptr) and np.array_equal(a_b.indices, graph.indices), \
                        "baseline CSR differs from netexp's"
                del ids_b, a_b
        assert graph.n_nodes == n and graph.n_edges == m, (graph.n_nodes, graph.n_edges)
        sm, sb = Summary(ne_m), (Summary(bl_m) if bl_m else None)
        add("load: netexp.read_graph(parquet)", sm,
            baseline="pd.read_parquet + np.unique + scipy coo->csr" if sb else None,
            baseline_s=sb.seconds if sb else None, target_s=3.0,
            notes=f"median of {len(sm.times)} ({', '.join(fmt_s(x) for x in sm.times)})" + (
                f"; baseline peak incr. {gb(sb.peak_increase)} GB; CSR identical to baseline" if sb else ""),
            baseline_times=sb.times if sb else None, netexp_times=sm.times)

        ne_m, bl_m = [], []
        for rep in range(max(1, args.repeat)):
            g2 = None
            gc.collect()
            with Meter() as mt:
                g2 = ne.read_graph(path_sparse)
            ne_m.append(mt)
            if not args.skip_baselines:
                with Meter() as mt:
                    ids_b, a_b = baseline_load(path_sparse)
                bl_m.append(mt)
                if rep == 0:
                    assert np.array_equal(ids_b, g2.node_ids) and np.array_equal(a_b.indices, g2.indices)
                del ids_b, a_b
        assert g2.n_nodes == n and g2.n_edges == m
        del g2
        sm, sb = Summary(ne_m), (Summary(bl_m) if bl_m else None)
        add("load: netexp.read_graph(parquet), ids random 62-bit ints", sm,
            baseline="pd.read_parquet + np.unique + scipy coo->csr" if sb else None,
            baseline_s=sb.seconds if sb else None, target_s=3.0, notes=f"same edges, non-compact ids; median of {len(sm.times)} "
            f"({', '.join(fmt_s(x) for x in sm.times)})", baseline_times=sb.times if sb else None,
            netexp_times=sm.times)

        log("profiling read_graph's pieces")
        prof = profile_read_graph(path)
        details["read_graph_breakdown_s"] = prof
        for k, v in prof.items():
            log(f"   {k:58s} {fmt_s(v)}")
        gc.collect()

    # ---------------------------------------------------------------- 2b. streaming vs whole-file ingest
    if "ingest" in steps:
        ingest_step(ne, np, path, path_sparse, args.repeat, add)
        gc.collect()

    # ---------------------------------------------------------------- 3. clustering
    if "cluster" in steps:
        with Meter() as mt:
            G = graph._igraph_plain()
        t_build = mt.seconds
        add("igraph build: graph._igraph_plain()", mt, notes="paid inside every leiden/louvain call")
        del G
        with Meter() as mt:
            cl = ne.leiden(graph, rng=0)
        t_leiden = mt.seconds
        t = time.perf_counter(); q = cl.modularity; t_q = time.perf_counter() - t
        q_planted = ne.modularity(graph, block_of_id[graph.node_ids])
        add("leiden (igraph): total", mt, notes=f"build {fmt_s(t_build)} (timed apart) + clustering "
            f"{fmt_s(t_leiden - t_build)}; {cl.n_clusters:,} clusters, modularity {q:.4f} (planted blocks "
            f"{q_planted:.4f}); largest cluster {int(cl.sizes.max()):,}; modularity() {fmt_s(t_q)}",
            n_clusters=cl.n_clusters, modularity=q, planted_modularity=q_planted,
            build_s=t_build, clustering_s=t_leiden - t_build)
        del cl
        if args.leiden_until_stable:
            with Meter() as mt:
                cl = ne.leiden(graph, n_iterations=-1, rng=0)
            add("leiden (igraph), n_iterations=-1 (until stable): total", mt,
                notes=f"{mt.seconds / t_leiden:.1f}x the default's time; {cl.n_clusters:,} clusters, modularity "
                      f"{cl.modularity:.4f}", n_clusters=cl.n_clusters, modularity=cl.modularity)
            del cl
        with Meter() as mt:
            cl = ne.louvain(graph, rng=0)
        q = cl.modularity
        add("louvain (igraph multilevel): total", mt, notes=f"incl. build; {cl.n_clusters:,} clusters, "
            f"modularity {q:.4f}; largest cluster {int(cl.sizes.max()):,}",
            n_clusters=cl.n_clusters, modularity=q)
        del cl
        gc.collect()

        if not args.skip_baselines:
            ns = args.small_n
            ms = int(round(ns * m / n))
            if ns == n and ms == m:
                gs = graph
            else:
                s_, d_, _ = planted_graph(ns, ms, p_in=args.p_in, seed=args.seed)
                gs = ne.Graph.from_edges(s_, d_)
                del s_, d_
            with Meter() as mt_i:
                ci = ne.leiden(gs, rng=0)
            with Meter() as mt_l:
                cla = ne.leiden(gs, backend="leidenalg", rng=0)
            per_i = mt_i.seconds / gs.n_edges
            per_l = mt_l.seconds / gs.n_edges
            add(f"leiden at {gs.n_nodes:,} nodes: igraph vs leidenalg backend", mt_i, baseline="leidenalg backend",
                baseline_s=mt_l.seconds,
                notes=f"{gs.n_edges:,} edges; per edge igraph {per_i * 1e6:.2f} us, leidenalg {per_l * 1e6:.2f} us; "
                      f"clusters {ci.n_clusters:,} vs {cla.n_clusters:,}, modularity {ci.modularity:.4f} vs "
                      f"{cla.modularity:.4f}",
                per_edge_igraph_us=per_i * 1e6, per_edge_leidenalg_us=per_l * 1e6)
            del gs, ci, cla
            gc.collect()

    if "exposure" in steps:
        # ---------------------------------------------------------------- 4. exposure, R draws
        dr_m = []
        Z = None
        for rep in range(max(1, args.repeat)):
            Z = None
            gc.collect()
            with Meter() as mt:
                Z = ne.Bernoulli(n, 0.5).sample_many(R, rng=1)
            dr_m.append(mt)
        mt_draw = Summary(dr_m)
        dr_times = mt_draw.times
        ref_obvious = None
        t_p03 = None
        if not args.skip_baselines:
            # the obvious way (netexp's sample_many before it drew p = 1/2 from random bits): an R x n
            # float64 temporary, 8 bytes per unit-draw
            with Meter() as mt:
                Zo = np.random.default_rng(1).random((R, n)) < 0.5
            ref_obvious = mt
            del Zo
            gc.collect()
            # p != 1/2 takes netexp's other path (float64 uniforms compared in bounded chunks)
            with Meter() as mt:
                Zq = ne.Bernoulli(n, 0.3).sample_many(R, rng=1)
            t_p03 = mt
            del Zq
        add(f"draws: Bernoulli(n, 0.5).sample_many({R})", mt_draw,
            baseline="rng.random((R, n)) < 0.5" if ref_obvious else None,
            baseline_s=ref_obvious.seconds if ref_obvious else None,
            notes=f"median of {len(dr_times)} ({', '.join(fmt_s(x) for x in dr_times)})" + (
                f"; baseline once, peak incr. {gb(ref_obvious.peak_increase)} GB; "
                f"Bernoulli(n, 0.3) (chunked uniforms): {fmt_s(t_p03.seconds)}, peak incr. {gb(t_p03.peak_increase)} GB" if ref_obvious else ""),
            p03_s=t_p03.seconds if t_p03 else None, netexp_times=dr_times)

        ex_m = []
        out = None
        for rep in range(max(1, args.repeat)):
            out = None
            gc.collect()
            with Meter() as mt:
                out = ne.treated_neighbor_counts(graph, Z)
            ex_m.append(mt)
        mt_ex = Summary(ex_m)
        ex_times = mt_ex.times
        check = sorted({0, 1, R // 2, R - 1})
        a64 = graph.adjacency
        for d in check:
            ref = a64 @ Z[d].astype(np.float64)
            assert np.array_equal(out[d], ref.astype(out.dtype)), f"counts differ from scipy on draw {d}"
        out_dtype = out.dtype
        del out
        gc.collect()

        bl_exp = None
        notes_sc = ""
        if not args.skip_baselines:
            if args.scipy_draws == "auto":
                need = 3 * R * n * 4 + 2 * graph.indices.shape[0] * 4
                S = R if need < 0.6 * mem_available() else min(R, 250)
            else:
                S = min(R, int(args.scipy_draws))
            A = graph.adjacency.astype(np.float32)
            with Meter() as mt_sc:
                res = A @ Z[:S].T.astype(np.float32)
            for d in [c for c in check if c < S]:
                assert np.array_equal(res[:, d].astype(out_dtype), (a64 @ Z[d].astype(np.float64)).astype(out_dtype))
            del res, A
            gc.collect()
            bl_exp = mt_sc.seconds * R / S
            notes_sc = (f"scipy on {S} draws" + (f", scaled x{R / S:g} to {R}" if S < R else "") +
                        f": {fmt_s(mt_sc.seconds)}, peak incr. {gb(mt_sc.peak_increase)} GB")
        add(f"exposure: treated_neighbor_counts, R={R}", mt_ex, baseline="scipy float32 A @ Z.T" if bl_exp else None,
            baseline_s=bl_exp, target_s=5.0,
            notes=f"median of {len(ex_times)} ({', '.join(fmt_s(x) for x in ex_times)}), JIT excluded; "
                  f"output {out_dtype} (R, n) {R * n * np.dtype(out_dtype).itemsize / 2**30:.1f} GB; "
                  f"equal to scipy on draws {check}" + (f"; {notes_sc}" if notes_sc else ""),
            netexp_times=ex_times)
        a64 = None

        if not args.skip_baselines:
            npd = args.pandas_n
            s_, d_, _ = planted_graph(npd, int(round(npd * m / n)), p_in=args.p_in, seed=args.seed)
            gp = ne.Graph.from_edges(s_, d_)
            zp = ne.Bernoulli(npd, 0.5).sample(rng=1)
            t_apply, frac = baseline_pandas_apply(gp, zp)
            assert np.allclose(frac, ne.fraction_treated_neighbors(gp, zp)), "pandas baseline disagrees with netexp"
            per_nd = t_apply / npd
            extrap = per_nd * n * R
            add(f"exposure: seed notebook df.apply + df.loc, R={R}", netexp_s=mt_ex.seconds,
                baseline="per-row pandas (seed notebook)", baseline_s=extrap,
                notes=f"EXTRAPOLATED: one draw on a {npd:,}-node graph took {fmt_s(t_apply)} "
                      f"({per_nd * 1e6:.0f} us per node-draw) x {n:,} nodes x {R} draws; same fractions as netexp",
                measured_s=t_apply, per_node_draw_us=per_nd * 1e6)
            del gp, s_, d_

        del Z
    gc.collect()
    details["final_process_peak_gb"] = gb(lifetime_peak())

    # ---------------------------------------------------------------- report
    table = markdown_table(rows)
    date = _dt.date.today().isoformat()
    print()
    print(f"## bench_scale: n={n:,}, m={m:,}, R={R} ({date}, {mach.get('nproc')} CPUs, "
          f"{mach.get('mem_total_gib')} GiB)")
    print()
    print(table)
    print()
    if prof:
        print("read_graph breakdown:")
        for k, v in prof.items():
            print(f"  {k:58s} {fmt_s(v)}")
    print(f"\nprocess peak RSS over the run: {details['final_process_peak_gb']:.2f} GB")
    result = {"benchmark": "bench_scale", "date": date, "timestamp": _dt.datetime.now().isoformat(timespec="seconds"),
              "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "machine": mach, "versions": vers, "peak_reset_supported": bool(_CAN_RESET),
              "rows": rows, "details": details, "markdown": table}
    out_path = args.out
    if out_path is None:
        suffix = "-quick" if args.quick else ("" if (n, m, R) == (1_000_000, 10_000_000, 1000) else f"-n{n}-m{m}-R{R}")
        if steps != {"load", "cluster", "exposure"}:
            suffix += "-" + "-".join(sorted(steps))
        if args.skip_baselines:
            suffix += "-nobaselines"
        out_path = HERE / "results" / f"bench_scale-{date}{suffix}.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2, default=float))
    log(f"wrote {out_path}")
    tmp_ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
