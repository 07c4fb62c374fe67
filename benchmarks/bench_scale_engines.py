"""netexp.scale engines against the in-memory path on the same Parquet edge table (not a timed test).

    python benchmarks/bench_scale_engines.py                       # 10^6 edges: memory, DuckDB, Spark local[2]
    python benchmarks/bench_scale_engines.py --edges 10000000
    python benchmarks/bench_scale_engines.py --edges 100000000 --engines duckdb --memory-limit 6GB   # out of core

The edge table (random graph, ~10 edges per unit, clusters of 100 consecutive ids, each edge once)
is generated on the fly by DuckDB into a temporary folder and deleted afterwards; nothing is
committed. Each path runs in its own process, so peak memory is that path's alone: the Python
process's peak RSS, plus the JVM's for Spark. The three runs happen in one invocation: compare the
ratios, not the absolute times (the machines are noisy). Every path computes the same hashed
cluster-Bernoulli assignment, exposure (treated-neighbour counts and fractions) and the naive,
cluster and regression estimates; the script checks that the estimates agree to 1e-9.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SALT = "bench-scale-engines"
ESTIMATORS = ["naive", "cluster", "regression"]


def generate(folder: Path, m: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """Edges (each undirected pair once, no self-loops), units (id, cluster) and outcomes, as Parquet.

    One DuckDB query per table, out of core: endpoint pairs from a seeded hash of the row number
    (about ``m`` distinct pairs after dropping self-loops and repeats; mean degree ~10), clusters of
    100 consecutive ids, outcomes uniform noise. Nothing passes through Python memory.
    """
    import duckdb

    n = max(1000, m // 5)
    draw = int(m * 1.0005) + 1000            # a few repeats and loops are dropped
    con = duckdb.connect(config={"temp_directory": str(folder / "duckdb_gen_tmp")})
    e = folder / "edges.parquet"
    con.execute(f"""
        COPY (SELECT DISTINCT LEAST(a, b) AS src, GREATEST(a, b) AS dst FROM (
                SELECT CAST(hash(range, {seed}) % {n} AS BIGINT) AS a,
                       CAST(hash(range, {seed + 1}) % {n} AS BIGINT) AS b FROM range({draw})) AS t
              WHERE a <> b)
        TO '{e}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    u = folder / "units.parquet"
    con.execute(f"COPY (SELECT range AS id, range // 100 AS cluster FROM range({n})) TO '{u}' (FORMAT parquet)")
    y = folder / "outcomes.parquet"
    con.execute(f"COPY (SELECT range AS id, 0.05 + (hash(range, {seed + 2}) % 1000000) / 1e7 AS y "
                f"FROM range({n})) TO '{y}' (FORMAT parquet)")
    con.close()
    return e, u, y


def _descendant_peak_kb() -> int:
    """Sum of VmHWM over this process's descendants (the JVM under PySpark)."""
    me, total = os.getpid(), 0
    parents = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parents[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    kids, frontier = set(), {me}
    while frontier:
        frontier = {c for c, par in parents.items() if par in frontier} - kids
        kids |= frontier
    for c in kids:
        try:
            for line in Path(f"/proc/{c}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def run_one(engine: str, edges: Path, units: Path, outcomes: Path, memory_limit: str | None) -> dict:
    import pandas as pd

    import netexp as ne
    from netexp import scale

    design = scale.HashedDesign(SALT, p=0.5, level="cluster")
    t0 = time.perf_counter()
    extra = {}
    if engine == "memory":
        e = pd.read_parquet(edges)
        u = pd.read_parquet(units)
        y = pd.read_parquet(outcomes)
        g = ne.Graph.from_edges(e["src"].to_numpy(), e["dst"].to_numpy(), nodes=u["id"].to_numpy())
        del e
        t_load = time.perf_counter() - t0
        pos = g.index_of(u["id"].to_numpy())
        clusters = np.empty(g.n_nodes, dtype=np.int64)
        clusters[pos] = u["cluster"].to_numpy()
        yy = np.empty(g.n_nodes)
        yy[g.index_of(y["id"].to_numpy())] = y["y"].to_numpy()
        z = design.assign(np.asarray(g.node_ids), clusters)
        x = ne.exposure(g, z)
        res = [ne.difference_in_means(yy, z, estimand="global effect"),
               ne.cluster_difference_in_means(yy, z, clusters), ne.cluster_ols(yy, z, clusters),
               *ne.exposure_regression(yy, z, x.fraction, clusters=clusters, isolated=x.isolated)]
        extra["load_s"] = round(t_load, 2)
    else:
        if engine == "duckdb":
            cfg = {"memory_limit": memory_limit} if memory_limit else {}
            cfg["temp_directory"] = str(edges.parent / "duckdb_tmp")
            s = scale.connect(**cfg)
        else:
            from pyspark.sql import SparkSession

            spark = (SparkSession.builder.master("local[2]").appName("netexp-bench")
                     .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8")
                     .config("spark.driver.memory", "4g")
                     .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
            extra["start_s"] = round(time.perf_counter() - t0, 2)
            s = scale.connect(spark)
        ed = s.edges(str(edges), source="src", target="dst")
        un = s.units(str(units), id="id", cluster="cluster")
        a = s.assign(un, design)
        x = s.exposure(ed, a)
        res = list(s.analyze(x, str(outcomes), estimators=ESTIMATORS))
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    jvm_kb = _descendant_peak_kb() if engine == "spark" else 0
    return {"engine": engine, "seconds": round(wall, 2), "peak_rss_mb": round(peak_kb / 1024),
            "jvm_peak_mb": round(jvm_kb / 1024) if jvm_kb else None, **extra,
            "estimates": [[r.estimand, r.method, r.estimate, r.std_error] for r in res]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--engines", default="memory,duckdb,spark")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 4GB (out-of-core runs)")
    ap.add_argument("--child", nargs=4, metavar=("ENGINE", "EDGES", "UNITS", "OUTCOMES"), help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.child:
        eng, e, u, y = a.child
        print(json.dumps(run_one(eng, Path(e), Path(u), Path(y), a.memory_limit)))
        return 0
    with tempfile.TemporaryDirectory(prefix="netexp-bench-scale-") as tmp:
        t0 = time.perf_counter()
        e, u, y = generate(Path(tmp), a.edges)
        import pyarrow.parquet as pq

        m = pq.ParquetFile(e).metadata.num_rows
        print(f"[bench] {m:,} edges, {pq.ParquetFile(u).metadata.num_rows:,} units, Parquet "
              f"{e.stat().st_size / 2**20:.0f} MB (generated in {time.perf_counter() - t0:.1f} s)", flush=True)
        rows = []
        for eng in a.engines.split(","):
            cmd = [sys.executable, __file__, "--child", eng, str(e), str(u), str(y)]
            if a.memory_limit:
                cmd += ["--memory-limit", a.memory_limit]
            out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
            if out.returncode != 0:
                print(f"[bench] {eng} failed:\n{out.stderr[-3000:]}", flush=True)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(f"[bench] {eng:7s} {r['seconds']:8.2f} s  peak RSS {r['peak_rss_mb']} MB"
                  + (f" + JVM {r['jvm_peak_mb']} MB" if r.get("jvm_peak_mb") else "")
                  + "".join(f"  {k}={v}" for k, v in r.items() if k in ("load_s", "start_s")), flush=True)
        base = next((r for r in rows if r["engine"] == "memory"), None)
        for r in rows:
            if base is not None and r is not base:
                a_ = np.array([x[2:] for x in r["estimates"]], float)
                b_ = np.array([x[2:] for x in base["estimates"]], float)
                # differences in units of each estimate's standard error (estimates near 0 make plain
                # relative differences meaningless), and relative differences of the SEs
                d_est = float(np.max(np.abs(a_[:, 0] - b_[:, 0]) / b_[:, 1]))
                d_se = float(np.max(np.abs(a_[:, 1] - b_[:, 1]) / b_[:, 1]))
                print(f"[bench] {r['engine']}: {r['seconds'] / base['seconds']:.1f}x the in-memory time; largest "
                      f"difference from the in-memory path: estimates {d_est:.1e} SE, SEs {d_se:.1e} relative",
                      flush=True)
                assert max(d_est, d_se) < 1e-9, "engine estimates differ from the in-memory path"
        if a.json:
            print(json.dumps({"edges": m, "runs": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
