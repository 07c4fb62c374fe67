"""Randomized graph cluster randomization, checked against exact enumeration of every visiting
order on tiny graphs (a pure-Python 3-net / 1-hop-max written here) and against frequencies."""

import itertools
import math

import numpy as np
import pytest
from scipy.sparse.csgraph import shortest_path

import netexp as ne
from netexp.designs._randomized_clusters import RandomizedGraphCluster

# 6 units: a triangle 0-1-2 with a tail 2-3-4-5 and a chord 1-3
TINY = ne.Graph.from_edges([0, 1, 0, 2, 3, 4, 1], [1, 2, 2, 3, 4, 5, 3])


def _ref_labels(D, order, method):
    """Centre naming each unit's cluster for one visiting order (first in order = largest weight)."""
    n = D.shape[0]
    pos = np.empty(n, dtype=int)
    pos[list(order)] = np.arange(n)
    if method == "1-hop-max":
        return np.array([min(np.flatnonzero(D[i] <= 1), key=lambda v: pos[v]) for i in range(n)])
    centres = []
    for u in order:
        if all(D[u, c] > 2 for c in centres):
            centres.append(u)
    return np.array([min(centres, key=lambda c: (D[i, c], pos[c])) for i in range(n)])


def _exact(g, method, p):
    """Over all n! equally likely orders: P(same cluster) for every pair, E[p^D] and E[(1-p)^D]."""
    D = shortest_path(g.adjacency, unweighted=True, directed=False)
    A = g.adjacency.toarray() > 0
    n = g.n_nodes
    same = np.zeros((n, n))
    expo = np.zeros((n, 2))
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        lab = _ref_labels(D, order, method)
        same += lab[:, None] == lab[None, :]
        d = np.array([len(set(lab[A[i] | (np.arange(n) == i)])) for i in range(n)])
        expo += np.c_[p**d, (1 - p) ** d]
    return same / len(orders), expo / len(orders)


@pytest.fixture(scope="module", params=["3-net", "1-hop-max"])
def tiny_truth(request):
    return request.param, _exact(TINY, request.param, 0.3)


def test_labels_follow_the_reference_clustering():
    d = RandomizedGraphCluster(TINY, clustering="3-net")
    Z, L = d.sample_with_clusters(200, rng=0)
    D = shortest_path(TINY.adjacency, unweighted=True, directed=False)
    for z, lab in zip(Z, L):
        centres = np.unique(lab)
        assert np.all(D[np.ix_(centres, centres)][~np.eye(len(centres), dtype=bool)] >= 3)
        assert np.all(D[np.arange(6), lab] == D[:, centres].min(1))
        for c in centres:  # one arm per cluster
            assert len(set(z[lab == c])) == 1


def test_co_clustering_monte_carlo_matches_enumeration(tiny_truth):
    method, (same, _) = tiny_truth
    d = RandomizedGraphCluster(TINY, p=0.3, clustering=method)
    pairs = np.array([(i, j) for i in range(6) for j in range(i + 1, 6)])
    t = d.co_clustering_probabilities(pairs, n_draws=20000, rng=1, method="monte-carlo")
    truth = same[pairs[:, 0], pairs[:, 1]]
    se = np.sqrt(truth * (1 - truth) / 20000)
    assert np.all(np.abs(t["p_same"] - truth) < 4.5 * se + 1e-12)
    assert np.allclose(t["std_error"], np.sqrt(t["p_same"] * (1 - t["p_same"]) / 20000))
    assert np.allclose(t["joint_treated"], 0.3 * t["p_same"] + 0.09 * (1 - t["p_same"]))


def test_full_exposure_monte_carlo_matches_enumeration(tiny_truth):
    method, (_, expo) = tiny_truth
    d = RandomizedGraphCluster(TINY, p=0.3, clustering=method)
    f = d.full_exposure_probabilities(n_draws=20000, rng=2, max_exact_size=0)
    assert not f.exact.any() and f.n_draws == 20000
    assert np.all(np.abs(f.probabilities - expo) < 4.5 * f.std_error + 1e-12)
    # the standard error is that of a mean of values in [0, 1] over 20000 draws
    assert np.all(f.std_error < 0.5 / math.sqrt(20000))


def test_one_hop_max_exact_values_equal_enumeration():
    same, expo = _exact(TINY, "1-hop-max", 0.3)
    d = RandomizedGraphCluster(TINY, p=0.3, clustering="1-hop-max")
    f = d.full_exposure_probabilities(max_exact_size=12)
    assert f.exact.all() and f.n_draws == 0
    np.testing.assert_allclose(f.probabilities, expo, atol=1e-14)
    J = d.joint_probabilities()
    np.testing.assert_allclose(J, 0.3 * same + 0.09 * (1 - same), atol=1e-14)  # diagonal: same = 1 -> p
    t = d.co_clustering_probabilities("edges")
    u, v = TINY.edges()
    np.testing.assert_allclose(t["p_same"], same[u, v], atol=1e-14)
    assert (t["std_error"] == 0).all()


def test_one_hop_max_exact_on_directed_graph_matches_monte_carlo():
    # exposure neighbourhoods are in-neighbours, clusters use the undirected version
    g = ne.Graph.from_edges([0, 1, 2, 3, 4, 0, 5], [1, 2, 3, 4, 5, 3, 1], directed=True)
    d = RandomizedGraphCluster(g, p=0.5, clustering="1-hop-max")
    ex = d.full_exposure_probabilities()
    mc = d.full_exposure_probabilities(n_draws=20000, rng=3, max_exact_size=0)
    assert ex.exact.all()
    assert np.all(np.abs(mc.probabilities - ex.probabilities) < 4.5 * mc.std_error + 1e-12)


def test_marginals_exact_and_frequencies():
    g = ne.load_graph("karate")
    for method in ("3-net", "1-hop-max"):
        d = RandomizedGraphCluster(g, p=0.3, clustering=method)
        assert np.all(d.probabilities == 0.3)
        Z = d.sample_many(20000, rng=4)
        se = math.sqrt(0.3 * 0.7 / 20000)
        assert np.all(np.abs(Z.mean(0) - 0.3) < 4.5 * se)
        Z2, _ = d.sample_with_clusters(20000, rng=4)
        assert np.array_equal(Z, Z2)


def test_three_net_joint_refuses_and_errors():
    d = RandomizedGraphCluster(TINY)
    with pytest.raises(ne.DesignError, match="co_clustering_probabilities"):
        d.joint_probabilities()
    with pytest.raises(ne.DesignError, match="1-hop-max"):
        d.co_clustering_probabilities(method="exact")
    with pytest.raises(ne.InputError, match="clustering must be one of"):
        RandomizedGraphCluster(TINY, clustering="leiden")
    with pytest.raises(ne.InputError, match=r"p must be in \(0, 1\)"):
        RandomizedGraphCluster(TINY, p=1.0)
    with pytest.raises(ne.InputError, match="pairs must"):
        d.co_clustering_probabilities(np.array([[0, 9]]), n_draws=10)
