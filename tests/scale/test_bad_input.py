"""Bad input on an engine: one clear error each, naming the parameter and the fix, and nothing left behind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp import scale


@pytest.fixture
def s():
    return scale.connect()


def _netexp_objects(s) -> set:
    con = s._engine.con
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    return {n for n in views | tables if n.startswith("netexp_")}


EDGES = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 3, 4, 1]})
UNITS = pd.DataFrame({"uid": [1, 2, 3, 4], "c": [1, 1, 2, 2]})


def test_missing_column_names_parameter_and_columns(s):
    before = _netexp_objects(s)
    with pytest.raises(ne.InputError, match=r"column 'src' \(given as source=\).*\['a', 'b'\].*source="):
        s.edges(EDGES, source="src", target="b")
    with pytest.raises(ne.InputError, match=r"column 'user' \(given as id=\)"):
        s.units(UNITS, id="user")
    assert _netexp_objects(s) == before


def test_ids_of_different_types(s):
    e = s.edges(EDGES, source="a", target="b")
    u = s.units(pd.DataFrame({"uid": ["1", "2", "3", "4"]}), id="uid")
    a = s.assign(u, scale.HashedDesign("x", p=0.5))
    before = _netexp_objects(s)
    with pytest.raises(ne.InputError, match="edge endpoints are int ids but unit ids are string"):
        s.exposure(e, a)
    with pytest.raises(ne.InputError, match="must both be integers or both strings"):
        s.edges(pd.DataFrame({"a": [1, 2], "b": ["2", "3"]}), source="a", target="b")
    assert _netexp_objects(s) == before


def test_self_loops_and_duplicates(s):
    before = _netexp_objects(s)
    with pytest.raises(ne.InputError, match="1 self-loops"):
        s.edges(pd.DataFrame({"a": [1, 2, 3], "b": [2, 2, 4]}), source="a", target="b")
    with pytest.raises(ne.InputError, match="2 repeated edges .*either direction"):
        s.edges(pd.DataFrame({"a": [1, 2, 2, 3], "b": [2, 1, 1, 4]}), source="a", target="b")
    assert _netexp_objects(s) == before


def test_edges_naming_unknown_units(s):
    e = s.edges(EDGES, source="a", target="b")
    a = s.assign(s.units(UNITS.iloc[:3], id="uid"), scale.HashedDesign("x"))
    before = _netexp_objects(s)
    with pytest.raises(ne.InputError, match="2 edge endpoints are not among the units"):
        s.exposure(e, a)
    assert _netexp_objects(s) == before


def test_unreachable_engine(tmp_path):
    with pytest.raises(scale.EngineError, match="cannot open DuckDB database"):
        scale.connect(f"duckdb:{tmp_path}/no/such/dir/db.duckdb")
    import duckdb

    con = duckdb.connect()
    con.close()
    with pytest.raises(scale.EngineError, match="not usable"):
        scale.connect(con)
    with pytest.raises(ne.InputError, match="connect: engine must be"):
        scale.connect(42)


def test_missing_file_and_bad_outcomes(s, tmp_path):
    with pytest.raises(ne.InputError, match="no file matches"):
        s.edges(str(tmp_path / "nothing*.parquet"))
    e = s.edges(EDGES, source="a", target="b")
    u = s.units(UNITS, id="uid", cluster="c")
    x = s.exposure(e, s.assign(u, scale.HashedDesign("x", level="cluster")))
    before = _netexp_objects(s)
    with pytest.raises(ne.InputError, match="1 outcomes are missing or not finite"):
        s.analyze(x, pd.DataFrame({"id": [1, 2, 3, 4], "y": [1.0, float("nan"), 2.0, 3.0]}))
    with pytest.raises(ne.InputError, match="estimators must be among"):
        s.analyze(x, pd.DataFrame({"id": [1, 2, 3, 4], "y": [1.0, 2.0, 2.0, 3.0]}), estimators=["lin"])
    assert _netexp_objects(s) == before


def test_hashed_design_checks():
    with pytest.raises(ne.InputError, match="salt must be a non-empty string"):
        scale.HashedDesign("")
    with pytest.raises(ne.InputError, match="Floating ids are ambiguous"):
        scale.hash_uniform("s", [1.0, 2.0])
    with pytest.raises(ne.DesignError, match="both arms"):
        scale.HashedDesign("s", p=0.1, method="complete").assign([1, 2, 3])


def test_string_ids_hash_like_numpy(s):
    """Text ids (and text cluster ids) hash as their text: the engine's assignment equals numpy's."""
    import numpy as np

    ids = np.array([f"user-{i}" for i in range(200)], dtype=object)
    clusters = np.array([f"c{i // 7}" for i in range(200)], dtype=object)
    units = s.units(pd.DataFrame({"uid": ids, "c": clusters}), id="uid", cluster="c")
    edges = s.edges(pd.DataFrame({"a": ids[:-1], "b": ids[1:]}), source="a", target="b")
    for d in (scale.HashedDesign("t", p=0.3), scale.HashedDesign("t", level="cluster", method="complete")):
        x = s.exposure(edges, s.assign(units, d)).to_pandas().set_index("id").loc[ids]
        z = d.assign(ids, clusters)
        assert np.array_equal(x["z"].to_numpy().astype(bool), z)
        assert np.array_equal(x["n_treated_neighbors"].to_numpy(), np.r_[0, z[:-1]] + np.r_[z[1:], 0])


def test_close_drops_everything_and_closes_what_connect_opened():
    with scale.connect() as s:
        s.exposure(s.edges(EDGES, source="a", target="b"), s.assign(s.units(UNITS, id="uid"), scale.HashedDesign("x")))
        assert _netexp_objects(s)
        con = s._engine.con
    with pytest.raises(Exception):
        con.execute("SELECT 1")


def test_assignment_file_must_match_its_design(s):
    d = scale.HashedDesign("x", p=0.5)
    ids = np.arange(1, 41)
    z = d.assign(ids).astype(int)
    ok = s.assignment(pd.DataFrame({"id": ids, "z": z}), design=d)
    assert ok.count() == 40
    with pytest.raises(ne.InputError, match="1 units' treatment differs from HashedDesign"):
        s.assignment(pd.DataFrame({"id": ids, "z": np.r_[1 - z[:1], z[1:]]}), design=d)
