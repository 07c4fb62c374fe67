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
