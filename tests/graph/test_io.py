import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from tests.conftest import shared_file


def write(tmp_path, name, text):
    p = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


@pytest.mark.parametrize("name,text", [
    ("e.txt", "# comment\n1 2\n2 3\n\n3 1\n"),
    ("e.tsv", "1\t2\n2\t3\n3\t1\n"),
    ("e.csv", "source,target\n1,2\n2,3\n3,1\n"),
    ("e.csv.gz", "u,v\n1,2\n2,3\n3,1\n"),
    ("e2.txt", "from to\n1 2\n2 3\n3 1\n"),
])
def test_formats(tmp_path, name, text):
    g = ne.read_graph(write(tmp_path, name, text))
    assert g.n_nodes == 3 and g.n_edges == 3
    assert g.node_ids.dtype.kind == "i" and sorted(g.node_ids.tolist()) == [1, 2, 3]


def test_string_ids_csv(tmp_path):
    g = ne.read_graph(write(tmp_path, "s.csv", "alice,bob\nbob,carol\n"))
    assert set(g.node_ids) == {"alice", "bob", "carol"} and g.n_edges == 2


def test_parquet(tmp_path):
    p = tmp_path / "e.parquet"
    pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 1]}).to_parquet(p)
    g = ne.read_graph(p)
    assert g.n_edges == 3


def test_malformed_line_number(tmp_path):
    p = write(tmp_path, "bad.txt", "# header comment\n1 2\n2 3 4 5\n3 1\n")
    with pytest.raises(ne.GraphFormatError, match="line 3"):
        ne.read_graph(p)
    p = write(tmp_path, "bad2.csv", "1,2\n2\n3,1\n")
    with pytest.raises(ne.GraphFormatError, match="line 2"):
        ne.read_graph(p)


def test_missing_and_empty(tmp_path):
    with pytest.raises(ne.GraphError, match="No such file or bundled graph"):
        ne.read_graph(tmp_path / "nope.txt")
    with pytest.raises(ne.GraphError, match="no edges"):
        ne.read_graph(write(tmp_path, "empty.txt", "# nothing\n"))


def test_write_roundtrip_and_no_overwrite(tmp_path):
    g = ne.load_graph("les-miserables")
    p = ne.write_edgelist(g, tmp_path / "g.csv")
    h = ne.read_graph(p)

    def edge_set(graph):
        u, v = graph.edges()
        return {frozenset(e) for e in zip(graph.node_ids[u].tolist(), graph.node_ids[v].tolist())}

    assert edge_set(h) == edge_set(g) and h.n_nodes == g.n_nodes
    with pytest.raises(ne.OutputExistsError):
        ne.write_edgelist(g, p)
    ne.write_edgelist(g, p, overwrite=True)


def test_email_eu_core_directed_and_undirected():
    path = shared_file("networks", "email-Eu-core.txt.gz")
    with pytest.warns(ne.GraphWarning, match="642 self-loop"):
        d = ne.read_graph(path, directed=True)
    # README: 25571 arcs including 642 self-loops
    assert d.n_nodes == 1005 and d.n_edges == 25571 - 642
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = ne.read_graph(path)
    # README says 16706 undirected edges; that count keeps the 642 self-loops (networkx: nx.Graph of the
    # arcs has 16706 edges, 16064 after removing self-loops). Triangles agree with the README exactly.
    assert u.n_edges == 16706 - 642
    assert u.info()["n_triangles"] == 105_461


def test_bundled_graphs():
    assert set(ne.bundled_graphs()) >= {"karate", "les-miserables", "florentine-families", "social"}
    k = ne.load_graph("karate")
    assert (k.n_nodes, k.n_edges) == (34, 78)
    f = ne.load_node_table("karate")
    assert set(f["faction"]) == {"Mr. Hi", "Officer"}
    fl = ne.load_graph("florentine-families")
    assert (fl.n_nodes, fl.n_edges) == (15, 20)


def test_bundled_default_network_is_reproducible():
    # graphs/social.csv.gz was generated once by benchmarks/make_default_graph.py; the same seed and
    # version must give the same graph, bit for bit
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "mk", Path(__file__).resolve().parents[2] / "benchmarks" / "make_default_graph.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    fresh, labels = ne.social_network(mk.N, return_labels=True, **mk.PARAMS)
    bundled = ne.load_graph("social")
    u, v = fresh.edges()
    ids_f = {frozenset(e) for e in zip(u.tolist(), v.tolist())}
    u, v = bundled.edges()
    ids_b = {frozenset(e) for e in zip(bundled.node_ids[u].tolist(), bundled.node_ids[v].tolist())}
    assert ids_f == ids_b and bundled.n_nodes == fresh.n_nodes
    table = ne.load_node_table("social").set_index("node_id")
    assert (table.loc[np.arange(mk.N), "community"].to_numpy() == labels).all()


# ---------------------------------------------------------------- ids, headers, pipes (issue 11)
def edges_of(g):
    """The edge set as frozensets of node ids in the file's own spelling (the independent truth)."""
    u, v = g.edges()
    return {frozenset((str(a), str(b))) for a, b in zip(g.node_ids[u], g.node_ids[v])}


def test_zero_padded_ids_are_distinct_nodes(tmp_path):
    with pytest.warns(ne.GraphWarning, match="kept as text"):
        g = ne.read_graph(write(tmp_path, "z.txt", "007 7\n7 8\n"))
    assert sorted(g.node_ids) == ["007", "7", "8"] and g.n_edges == 2
    with pytest.warns(ne.GraphWarning):
        g = ne.read_graph(write(tmp_path, "z2.txt", "01 1\n1 a\n01 a\n"))
    assert edges_of(g) == {frozenset(("01", "1")), frozenset(("1", "a")), frozenset(("01", "a"))}


def test_canonical_integers_stay_integers(tmp_path):
    g = ne.read_graph(write(tmp_path, "i.txt", "0 -3\n-3 12\n"))
    assert g.node_ids.dtype.kind == "i" and sorted(g.node_ids.tolist()) == [-3, 0, 12]


def test_huge_ids_do_not_wrap(tmp_path):
    big = 2 ** 63
    g = ne.read_graph(write(tmp_path, "b.txt", f"{big} 1\n{big + 1} 1\n"))
    assert set(g.node_ids) == {str(big), str(big + 1), "1"}
    assert not any(str(x).startswith("-") for x in g.node_ids)


def test_inf_nan_na_ids_are_distinct_text(tmp_path):
    with pytest.warns(ne.GraphWarning, match="not every id is a plain integer"):
        g = ne.read_graph(write(tmp_path, "n.txt", "inf 1\n-inf 2\nNA 3\nnan 4\nNone 5\n"))
    assert g.n_nodes == 10 and {"inf", "-inf", "NA", "nan", "None"} <= set(g.node_ids)


def test_bom_and_first_edge_never_a_header(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbf1 2\n2 3\n")
    assert ne.read_graph(p).n_edges == 2
    p.write_bytes(b"\xef\xbb\xbfsource,target\n1,2\n2,3\n")
    assert ne.read_graph(p).n_edges == 2
    # a first line with a non-numeric id is an edge, not a header
    assert ne.read_graph(write(tmp_path, "x.txt", "x 1\n2 3\n")).n_edges == 2
    assert ne.read_graph(write(tmp_path, "s.txt", "alice bob\nbob carol\n")).n_edges == 2
    assert ne.read_graph(write(tmp_path, "h.txt", "user_id friend_id\n1 2\n2 3\n")).n_edges == 2


def test_repeated_header_inside_is_not_an_edge(tmp_path):
    with pytest.warns(ne.GraphWarning, match="repeated header"):
        g = ne.read_graph(write(tmp_path, "cat.csv", "source,target\n1,2\nsource,target\n2,3\n"))
    assert g.node_ids.dtype.kind == "i" and edges_of(g) == {frozenset(("1", "2")), frozenset(("2", "3"))}


@pytest.mark.parametrize("content,match", [
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "truncated|not a valid gzip"),
    (b"1 2\n", "not gzip-compressed"),
])
def test_broken_gzip_is_a_clean_error(tmp_path, content, match):
    p = tmp_path / "e.txt.gz"
    p.write_bytes(content)
    with pytest.raises(ne.GraphFormatError, match=match):
        ne.read_graph(p)


def test_truncated_gzip(tmp_path):
    full = gzip.compress(b"".join(f"{i} {i + 1}\n".encode() for i in range(5000)))
    p = tmp_path / "t.txt.gz"
    p.write_bytes(full[: len(full) // 2])
    with pytest.raises(ne.GraphFormatError, match="truncated"):
        ne.read_graph(p)


def test_gzip_detected_by_content_and_non_utf8(tmp_path):
    p = tmp_path / "hidden.txt"
    p.write_bytes(gzip.compress(b"1 2\n2 3\n"))
    assert ne.read_graph(p).n_edges == 2
    p = tmp_path / "latin.txt"
    p.write_bytes("\xe9t\xe9 1\n2 3\n".encode("latin-1"))
    with pytest.raises(ne.GraphFormatError, match="not UTF-8"):
        ne.read_graph(p)


def test_zero_byte_parquet(tmp_path):
    p = tmp_path / "e.parquet"
    p.write_bytes(b"")
    with pytest.raises(ne.GraphFormatError, match="cannot read as Parquet"):
        ne.read_graph(p)


def test_stdin_dash(monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"# c\n1 2\n2 3\n3 1\n")))
    g = ne.read_graph("-")
    assert g.n_edges == 3 and g.name == "stdin"


def test_pipe_and_process_substitution(tmp_path):
    import subprocess
    import sys

    lines = "".join(f"{i} {i + 1}\n" for i in range(3000))  # > 8 KB, so sniffing must not eat it
    p = write(tmp_path, "e.txt", lines)
    code = "import netexp as ne, sys; print(ne.read_graph(sys.argv[1]).n_edges)"
    out = subprocess.run([sys.executable, "-c", code, "/dev/stdin"], input=lines, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "3000", out.stderr
    out = subprocess.run(["bash", "-c", f'"{sys.executable}" -c "{code}" <(cat "{p}")'], capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "3000", out.stderr


def test_fifo_without_writer_does_not_hang(tmp_path, monkeypatch):
    import os

    from netexp.graph import _io

    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    monkeypatch.setattr(_io, "PIPE_TIMEOUT", 0.3)
    with pytest.raises(ne.GraphError, match="no data arrived"):
        ne.read_graph(fifo)


def test_api_bad_ids():
    for bad in ([1, None], [1, float("nan")], [1.0, float("inf")], [1, pd.NA]):
        with pytest.raises(ne.InputError, match="missing|infinite"):
            ne.Graph.from_edges(bad, [2, 3])
    with pytest.raises(ne.InputError, match=r"1 \(int\) and '1' \(str\)"):
        ne.Graph.from_edges([1, "1"], [2, 3])
    with pytest.raises(ne.InputError, match="NaN"):
        ne.Graph.from_pandas(pd.DataFrame({"a": [1.0, np.nan], "b": [2.0, 3.0]}))
    g = ne.Graph.from_edges(np.array([1.0, 2.0]), np.array([2.0, 3.0]))  # whole floats are integers
    assert g.node_ids.dtype.kind == "i"
    g = ne.Graph.from_edges(np.array([2 ** 64 - 1], dtype=np.uint64), np.array([1], dtype=np.uint64))
    assert str(2 ** 64 - 1) in set(g.node_ids)


def test_from_pandas_nodes_must_list_every_endpoint():
    df = pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 9]})
    with pytest.raises(ne.GraphError, match=r"1 edge endpoints are not in nodes \(e.g. 9\).*add_missing_nodes"):
        ne.Graph.from_pandas(df, nodes=[1, 2, 3, 4])
    g = ne.Graph.from_pandas(df, nodes=[1, 2, 3, 4], add_missing_nodes=True)
    assert sorted(g.node_ids.tolist()) == [1, 2, 3, 4, 9]
    g = ne.Graph.from_pandas(df, nodes=[1, 2, 3, 4, 9])
    assert g.n_nodes == 5 and g.degree[g.index_of([4])[0]] == 0


def test_index_of_keeps_text_rule():
    g = ne.Graph.from_edges([1, 2], [2, 3])
    assert g.index_of(["1", "2.0", 3]).tolist() == [0, 1, 2]
    with pytest.raises(ne.GraphError, match=r"e.g. '007'"):
        g.index_of(["007"])
    with pytest.raises(ne.GraphError, match=r"e.g. 29\)"):
        g.index_of(np.array([29]))


def test_text_ids_round_trip(tmp_path):
    with pytest.warns(ne.GraphWarning):
        g = ne.read_graph(write(tmp_path, "z.txt", "007 7\n7 8\n"))
    out = ne.write_edgelist(g, tmp_path / "out.csv") if hasattr(ne, "write_edgelist") else None
    if out is None:
        from netexp.graph._io import write_edgelist

        out = write_edgelist(g, tmp_path / "out.csv")
    with pytest.warns(ne.GraphWarning):
        g2 = ne.read_graph(out)
    assert edges_of(g2) == edges_of(g)
    p = tmp_path / "s.parquet"
    pd.DataFrame({"a": ["1", "2"], "b": ["2", "3"]}).to_parquet(p)
    assert ne.read_graph(p).node_ids.dtype.kind == "i"  # every id a canonical integer
    pd.DataFrame({"a": ["01", "2"], "b": ["2", "3"]}).to_parquet(p)
    with pytest.warns(ne.GraphWarning):
        assert set(ne.read_graph(p).node_ids) == {"01", "2", "3"}


def test_fifo_with_a_late_writer(tmp_path):
    import os
    import threading
    import time

    fifo = tmp_path / "f"
    os.mkfifo(fifo)

    def writer():
        time.sleep(0.3)
        with open(fifo, "w") as fh:
            fh.write("".join(f"{i} {i + 1}\n" for i in range(2000)))

    t = threading.Thread(target=writer)
    t.start()
    g = ne.read_graph(fifo)
    t.join()
    assert g.n_edges == 2000
