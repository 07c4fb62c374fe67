"""Streaming Parquet ingest: record batches go straight into the id factorization and the CSR.

The reference is ``Graph.from_edges`` on the columns read whole by pandas (the path the streaming
reader replaced, kept for non-integer ids), so every case checks the same Graph: node ids and order,
CSR arrays, warnings and errors."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import netexp as ne
from netexp.graph import _io


def _write(path, s, t, row_group_size=None, stats=True, **extra):
    cols = {"src": pa.array(s), "dst": pa.array(t), **{k: pa.array(v) for k, v in extra.items()}}
    pq.write_table(pa.table(cols), path, row_group_size=row_group_size, write_statistics=stats)
    return path


def _same(a: ne.Graph, b: ne.Graph):
    assert a.n_nodes == b.n_nodes and a.directed == b.directed
    assert np.array_equal(np.asarray(a.node_ids), np.asarray(b.node_ids))
    assert np.asarray(a.node_ids).dtype == np.asarray(b.node_ids).dtype
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert a.indices.dtype == b.indices.dtype


def _reference(path, directed=False):
    df = pd.read_parquet(path)
    return ne.Graph.from_edges(df["src"].to_numpy(), df["dst"].to_numpy(), directed=directed)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(_io, "_PARQUET_BATCH", 1000)      # many batches on small files


@pytest.mark.parametrize("ids", ["compact", "sparse", "compact, no statistics"])
@pytest.mark.parametrize("directed", [False, True])
def test_stream_equals_whole_file(tmp_path, ids, directed):
    rng = np.random.default_rng(0)
    n, m = 3000, 12000
    s, t = rng.integers(0, n, m), rng.integers(0, n, m)     # with self-loops and repeated edges
    if ids == "sparse":
        big = rng.integers(-2**62, 2**62, n)
        s, t = big[s], big[t]
    p = _write(tmp_path / "e.parquet", s, t, row_group_size=2500, stats="statistics" not in ids, w=rng.random(m))
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        g = ne.read_graph(p, directed=directed)
    with warnings.catch_warnings(record=True) as want:
        warnings.simplefilter("always")
        ref = _reference(p, directed)
    _same(g, ref)
    assert sorted(str(w.message) for w in got) == sorted(str(w.message) for w in want)
    assert any("self-loop" in str(w.message) for w in got) and any("Merged" in str(w.message) for w in got)


def test_stream_small_int_types_columns_by_name_and_stdin_bytes(tmp_path):
    s = np.array([5, 1, 3, 1], dtype=np.int16)
    t = np.array([1, 3, 5, 7], dtype=np.uint8)
    p = tmp_path / "e.parquet"
    pq.write_table(pa.table({"w": pa.array([0.1] * 4), "a": s, "b": t}), p)
    g = ne.read_edgelist(p, source="a", target="b")
    assert np.asarray(g.node_ids).tolist() == [1, 3, 5, 7]
    assert g.n_edges == 4
    _same(ne.read_edgelist(p, source=1, target=2), g)
    _same(_io._read_parquet_edges(io.BytesIO(p.read_bytes()), "<stdin>", "a", "b", False, "x"), g)


def test_missing_endpoint_is_refused_with_count_and_first_row(tmp_path):
    s = pa.array(list(range(2500)), type=pa.int64())
    t = pa.array([1] * 1500 + [None] + [2] * 998 + [None], type=pa.int64())
    p = tmp_path / "e.parquet"
    pq.write_table(pa.table({"src": s, "dst": t}), p)
    with pytest.raises(ne.GraphFormatError, match=r"2 rows miss an endpoint \(first at row 1500\)"):
        ne.read_graph(p)


def test_text_and_uint64_ids_still_read(tmp_path):
    p = _write(tmp_path / "s.parquet", ["a", "b", "007"], ["b", "7", "a"])
    assert list(ne.read_graph(p).node_ids) == ["a", "b", "007", "7"]
    big = np.array([2**64 - 1, 1, 5], dtype=np.uint64)
    p2 = _write(tmp_path / "u.parquet", big, np.array([1, 5, 2**63], dtype=np.uint64))
    g = ne.read_graph(p2)
    assert g.n_nodes == 4 and str(2**64 - 1) in [str(x) for x in g.node_ids]


def test_empty_and_one_column_files(tmp_path):
    p = tmp_path / "e.parquet"
    pq.write_table(pa.table({"src": pa.array([], type=pa.int64()), "dst": pa.array([], type=pa.int64())}), p)
    with pytest.raises(ne.GraphError, match="no edges"):
        ne.read_graph(p)
    pq.write_table(pa.table({"src": pa.array([1, 2])}), p)
    with pytest.raises(ne.GraphFormatError, match="two id columns"):
        ne.read_graph(p)
