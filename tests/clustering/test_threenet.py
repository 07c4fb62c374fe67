"""3-net and 1-hop-max clustering, checked against all-pairs shortest paths (scipy) and a
pure-Python greedy reference written here."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

import netexp as ne
from netexp.clustering import cluster, one_hop_max, three_net
from tests.conftest import random_graph


def _undirected_dist(g):
    a = g.adjacency
    a = ((a + a.T) != 0).astype(float)
    return shortest_path(sp.csr_array(a), unweighted=True, directed=False)


def _graphs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        rng = np.random.default_rng(3)
        directed = ne.Graph.from_edges(rng.integers(0, 30, 60), rng.integers(0, 30, 60), directed=True,
                                       nodes=np.arange(30))
    return {
        "sparse_disconnected_isolates": random_graph(40, 30, seed=1, isolates=5),
        "random": random_graph(60, 120, seed=2),
        "erdos_renyi": ne.erdos_renyi(80, 0.05, rng=4),
        "karate": ne.load_graph("karate"),
        "directed": directed,
    }


GRAPHS = _graphs()


@pytest.mark.parametrize("name", list(GRAPHS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_net_is_a_maximal_3_net_with_nearest_centres(name, seed):
    g = GRAPHS[name]
    D = _undirected_dist(g)
    c, centres = three_net(g, rng=seed, return_centres=True)
    lab = c.labels
    assert lab.shape == (g.n_nodes,) and c.sizes.sum() == g.n_nodes
    # centres pairwise at distance >= 3
    Dc = D[np.ix_(centres, centres)]
    off = ~np.eye(len(centres), dtype=bool)
    assert np.all(Dc[off] >= 3)
    # maximal: every unit within distance 2 of some centre
    to_c = D[:, centres]
    assert np.all(to_c.min(axis=1) <= 2)
    # every unit in the cluster of a nearest centre, at distance <= 2; centre k is in cluster k
    own = to_c[np.arange(g.n_nodes), lab]
    assert np.all(own <= 2)
    assert np.array_equal(own, to_c.min(axis=1))
    assert np.array_equal(lab[centres], np.arange(len(centres)))
    # isolated units are their own centres
    iso = np.flatnonzero((D == np.inf).sum(1) == g.n_nodes - 1)
    assert np.isin(iso, centres).all()


@pytest.mark.parametrize("name", ["random", "directed", "erdos_renyi"])
def test_three_net_matches_greedy_reference(name):
    # reference: greedy centres over the visiting order (the rng's uniform permutation), then the
    # nearest centre, ties to the centre earliest in that order
    g = GRAPHS[name]
    D = _undirected_dist(g)
    order = np.random.default_rng(11).permutation(g.n_nodes)
    centres = []
    for u in order:
        if all(D[u, c] > 2 for c in centres):
            centres.append(u)
    ref = np.empty(g.n_nodes, dtype=int)
    for i in range(g.n_nodes):
        dmin = min(D[i, c] for c in centres)
        ref[i] = next(c for c in centres if D[i, c] == dmin)  # first in order among the nearest
    c, got_centres = three_net(g, rng=11, return_centres=True)
    assert sorted(centres) == got_centres.tolist()
    assert np.array_equal(got_centres[c.labels], ref)


def test_three_net_reproducible_and_seed_dependent():
    g = GRAPHS["random"]
    a, b = three_net(g, rng=5), three_net(g, rng=np.random.default_rng(5))
    assert np.array_equal(a.labels, b.labels)
    assert any(not np.array_equal(a.labels, three_net(g, rng=s).labels) for s in range(6, 10))


def test_one_hop_max_picks_first_of_closed_ball():
    g = GRAPHS["directed"]
    D = _undirected_dist(g)
    order = np.random.default_rng(2).permutation(g.n_nodes)
    pos = np.argsort(order)
    ref = [min(np.flatnonzero(D[i] <= 1), key=lambda v: pos[v]) for i in range(g.n_nodes)]
    c = one_hop_max(g, rng=2)
    ref_codes = np.unique(ref, return_inverse=True)[1]
    assert np.array_equal(c.labels, ref_codes)


def test_cluster_accepts_3net_names_and_sizes():
    g = ne.load_graph("les-miserables")
    a = cluster(g, "3-net", rng=3)
    b = cluster(g, "randomized-3-net", rng=3)
    assert np.array_equal(a.labels, b.labels) and b.method == "randomized-3-net"
    capped = cluster(g, "3-net", rng=3, max_size=10)
    assert capped.sizes.max() <= 10
    with pytest.raises(ne.InputError, match="no resolution"):
        cluster(g, "3-net", resolution=2.0)
    with pytest.raises(ne.InputError, match="graph must be a netexp Graph"):
        three_net(np.eye(3))
