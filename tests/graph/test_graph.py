import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import netexp as ne
from tests.conftest import random_graph


def test_string_ids_kept_and_orientation_undirected():
    g = ne.Graph.from_edges(["a", "b", "c"], ["b", "c", "d"])
    assert list(g.node_ids) == ["a", "b", "c", "d"]
    assert g.n_edges == 3 and g.degree.tolist() == [1, 2, 2, 1]
    assert sorted(g.neighbors("b").tolist()) == ["a", "c"]
    a = g.adjacency.toarray()
    assert (a == a.T).all() and np.trace(a) == 0


def test_directed_meaning_source_reaches_target():
    # "a -> b" means a's treatment can reach b: row b lists a
    g = ne.Graph.from_edges(["a"], ["b"], directed=True)
    assert g.neighbors("b").tolist() == ["a"]
    assert g.neighbors("a").tolist() == []
    assert g.n_edges == 1


def test_self_loops_and_duplicates_warn_with_counts():
    with pytest.warns(ne.GraphWarning, match="Dropped 2 self-loop"):
        ne.Graph.from_edges([1, 2, 3, 1], [1, 2, 4, 5])
    with pytest.warns(ne.GraphWarning, match="Merged 2 duplicate"):
        g = ne.Graph.from_edges([1, 2, 1, 3], [2, 1, 2, 4])
    assert g.n_edges == 2


def test_csr_equals_networkx_on_random_multigraph():
    rng = np.random.default_rng(3)
    u, v = rng.integers(0, 300, 2000), rng.integers(0, 300, 2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = ne.Graph.from_edges(u, v, nodes=np.arange(300))
    G = nx.Graph()
    G.add_nodes_from(range(300))
    G.add_edges_from((a, b) for a, b in zip(u.tolist(), v.tolist()) if a != b)
    ref = nx.to_scipy_sparse_array(G, nodelist=range(300)).toarray() > 0
    assert np.array_equal(g.adjacency.toarray() > 0, ref)
    assert g.n_edges == G.number_of_edges()


def test_roundtrip_networkx_igraph():
    G = nx.les_miserables_graph()
    g = ne.Graph.from_networkx(G)
    assert g.n_nodes == 77 and g.n_edges == 254
    G2 = g.to_networkx()
    assert nx.utils.graphs_equal(nx.Graph(G.edges()), nx.Graph(G2.edges()))
    h = ne.Graph.from_igraph(g.to_igraph())
    assert h == g


def test_isolates_from_networkx_kept():
    G = nx.path_graph(3)
    G.add_node(99)
    g = ne.Graph.from_networkx(G)
    assert g.n_nodes == 4 and g.degree[list(g.node_ids).index(99)] == 0


def test_immutable():
    g = ne.load_graph("karate")
    with pytest.raises(ValueError):
        g.indices[0] = 5
    with pytest.raises(AttributeError):
        g._indptr = None


def test_unknown_ids_error_names_them():
    g = ne.load_graph("karate")
    with pytest.raises(ne.GraphError, match="2 node ids are not nodes.*'x'"):
        g.index_of(["x", 0, "y"])


def test_empty_graph_error():
    with pytest.raises(ne.GraphError, match="empty"):
        ne.Graph.from_edges([], [])


def test_info_against_published_facebook_statistics(facebook):
    info = facebook.info()
    # SNAP ego-Facebook, ../shared/data/README.md: 4039 nodes, 88234 edges, 1 component,
    # 1,612,010 triangles, average clustering 0.6055, max degree 1045
    assert info["n_nodes"] == 4039 and info["n_edges"] == 88234 and info["n_components"] == 1
    assert info["n_triangles"] == 1_612_010
    assert round(info["average_clustering"], 4) == 0.6055
    assert info["degree_quantiles"]["max"] == 1045


def test_info_matches_networkx_on_karate():
    g = ne.load_graph("karate")
    G = nx.karate_club_graph()
    info = g.info()
    assert info["n_triangles"] == sum(nx.triangles(G).values()) // 3
    assert info["average_clustering"] == pytest.approx(nx.average_clustering(G), abs=1e-12)
    assert info["transitivity"] == pytest.approx(nx.transitivity(G), abs=1e-12)


def test_components_largest_first():
    g = random_graph(50, 30, seed=1, isolates=3)
    lab = g.connected_components()
    sizes = np.bincount(lab)
    assert (np.diff(sizes) <= 0).all()
    G = g.to_networkx()
    assert sizes.shape[0] == nx.number_connected_components(G)


def test_from_csr_and_pandas():
    a = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    g = ne.Graph.from_csr(a, node_ids=["x", "y", "z"])
    assert not g.directed and g.n_edges == 2
    d = ne.Graph.from_csr(np.array([[0, 1], [0, 0]]))
    assert d.directed and d.neighbors(0).tolist() == [1]
    df = pd.DataFrame({"s": [1, 2], "t": [2, 3]})
    assert ne.Graph.from_pandas(df).n_edges == 2
    with pytest.raises(ne.InputError, match="column 'q'"):
        ne.Graph.from_pandas(df, "q", "t")
