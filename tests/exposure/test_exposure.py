import numpy as np
import pytest

import netexp as ne
from tests.conftest import random_graph


def brute_force(graph, z):
    """The seed notebook's definition, one node at a time: mean of neighbours' treatment, 0 if none."""
    G = graph.to_networkx()
    zid = dict(zip(graph.node_ids.tolist(), np.asarray(z).tolist()))
    counts, fracs = [], []
    for v in graph.node_ids.tolist():
        nb = list(G.predecessors(v)) if graph.directed else list(G.neighbors(v))
        counts.append(sum(zid[w] for w in nb))
        fracs.append(np.mean([zid[w] for w in nb]) if nb else 0.0)
    return np.array(counts), np.array(fracs)


@pytest.mark.parametrize("seed", range(5))
def test_one_assignment_equals_brute_force(seed):
    g = random_graph(80, 120, seed=seed, isolates=4)
    z = np.random.default_rng(seed).random(g.n_nodes) < 0.4
    e = ne.exposure(g, z)
    c, f = brute_force(g, z)
    assert np.array_equal(e.n_treated_neighbors, c)
    assert np.allclose(e.fraction, f, atol=1e-15)
    assert e.n_isolated >= 4 and (e.fraction[e.isolated] == 0).all()
    assert np.array_equal(e.treatment, z)


def test_batch_equals_brute_force_and_scipy():
    g = random_graph(300, 900, seed=9, isolates=2)
    Z = ne.Bernoulli(g.n_nodes, p=0.3).sample_many(130, rng=1)  # not a multiple of the 64 block
    C = ne.treated_neighbor_counts(g, Z)
    F = ne.fraction_treated_neighbors(g, Z)
    ref = (g.adjacency @ Z.T.astype(float)).T
    assert np.array_equal(C, ref)
    for r in (0, 77, 129):
        c, f = brute_force(g, Z[r])
        assert np.array_equal(C[r], c) and np.allclose(F[r], f, atol=1e-15)
    # batching does not change the answer
    assert np.array_equal(ne.treated_neighbor_counts(g, Z, batch_size=17), C)


def test_directed_exposure_counts_in_neighbours():
    g = ne.Graph.from_edges(["a", "a", "b"], ["b", "c", "c"], directed=True)
    e = ne.exposure(g, [1, 0, 0])  # a treated; reaches b and c
    assert e.n_treated_neighbors.tolist() == [0, 1, 1]
    c, f = brute_force(g, [1, 0, 0])
    assert np.array_equal(e.n_treated_neighbors, c)


def test_frame_keyed_by_node_ids():
    g = ne.load_graph("les-miserables")
    z = ne.Complete(g.n_nodes).sample(rng=0)
    df = ne.exposure(g, z).to_frame()
    assert df["node_id"].tolist() == g.node_ids.tolist()
    assert set(df.columns) >= {"treatment", "n_treated_neighbors", "fraction_treated_neighbors", "isolated"}


def test_bad_assignment():
    g = ne.load_graph("karate")
    with pytest.raises(ne.InputError, match="shape"):
        ne.exposure(g, [0, 1])
    with pytest.raises(ne.InputError, match="0/1"):
        ne.exposure(g, np.full(34, 2))
