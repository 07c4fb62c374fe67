"""netexp analyze EDGES.parquet --engine duckdb equals the in-memory estimators on the same data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp.cli import main

pytest.importorskip("duckdb")


def test_cli_engine_duckdb_matches_in_memory(tmp_path, capsys):
    g = ne.load_graph("social")
    e = g.to_pandas()
    e.columns = ["src", "dst"]
    e.to_parquet(tmp_path / "edges.parquet")
    pd.DataFrame({"user_id": g.node_ids}).to_parquet(tmp_path / "users.parquet")
    design = ne.HashedDesign("exp-1", p=0.5)
    z = design.assign(g.node_ids)
    y = ne.LinearInMeans(direct=0.2, spillover=0.1, noise_sd=1).realize(g, rng=2).outcomes(z)
    pd.DataFrame({"user_id": g.node_ids, "y": y}).to_parquet(tmp_path / "y.parquet")
    rc = main(["analyze", str(tmp_path / "edges.parquet"), "--engine", "duckdb", "--units",
               str(tmp_path / "users.parquet"), "--salt", "exp-1", "--outcomes", str(tmp_path / "y.parquet"),
               "--source-column", "src", "--target-column", "dst", "--id-column", "user_id", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    rows = {(r["method"], r["estimand"]): r for r in json.loads(out.out)["estimates"]}
    naive = ne.difference_in_means(y, z)
    got = rows[("difference in means", "global effect")]
    assert got["estimate"] == pytest.approx(naive.estimate, rel=1e-12)
    assert got["std_error"] == pytest.approx(naive.std_error, rel=1e-12)
    er = ne.exposure_regression(y, z, ne.exposure(g, z))
    for est in ("direct effect", "spillover effect", "global effect"):
        assert rows[("exposure regression", est)]["estimate"] == pytest.approx(er[est].estimate, rel=1e-10)
        assert rows[("exposure regression", est)]["std_error"] == pytest.approx(er[est].std_error, rel=1e-10)
    rc = main(["analyze", str(tmp_path / "edges.parquet"), "--engine", "duckdb", "--outcomes",
               str(tmp_path / "y.parquet")])
    err = capsys.readouterr().err
    assert rc == 2 and "--units" in err and "--salt" in err
