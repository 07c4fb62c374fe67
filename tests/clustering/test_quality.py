"""Cluster quality: distinct clusters per closed neighbourhood against networkx neighbourhoods,
full-exposure probabilities against exact enumeration of ClusterRandomized designs and Monte Carlo."""

import warnings

import numpy as np
import pytest

import netexp as ne
from netexp.clustering import (ClusterQuality, cluster_quality, distinct_clusters_in_neighborhood,
                               full_exposure_probability, three_net)
from tests.conftest import random_graph


def _directed():
    rng = np.random.default_rng(8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        return ne.Graph.from_edges(rng.integers(0, 25, 50), rng.integers(0, 25, 50), directed=True,
                                   nodes=np.arange(25))


def _exposure_by_enumeration(g, design):
    """Exact P(unit and all units that can affect it are treated / control), summed over the support."""
    Z, w = design.enumerate()
    A = g.adjacency.toarray() > 0  # row i: units that can affect i
    closed = A | np.eye(g.n_nodes, dtype=bool)
    out = np.zeros((g.n_nodes, 2))
    for z, wt in zip(Z, w):
        out[:, 0] += wt * np.array([z[closed[i]].all() for i in range(g.n_nodes)])
        out[:, 1] += wt * np.array([(~z[closed[i]]).all() for i in range(g.n_nodes)])
    return out


@pytest.mark.parametrize("make", [lambda: random_graph(50, 80, seed=5, isolates=3), _directed,
                                  lambda: ne.load_graph("karate")])
def test_distinct_clusters_equal_networkx_neighbourhoods(make):
    g = make()
    c = three_net(g, rng=1)
    G = g.to_networkx()
    lab = dict(zip(g.node_ids.tolist(), c.labels.tolist()))
    nbrs = G.predecessors if G.is_directed() else G.neighbors  # units whose treatment reaches v
    ref = [len({lab[v]} | {lab[u] for u in nbrs(v)}) for v in g.node_ids.tolist()]
    assert distinct_clusters_in_neighborhood(c).tolist() == ref


def _tiny():
    g = random_graph(9, 12, seed=6, isolates=1)
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 4, 4, 5])
    return g, ne.Clustering(g, labels)


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_full_exposure_bernoulli_equals_enumeration(p):
    g, c = _tiny()
    exact = _exposure_by_enumeration(g, ne.ClusterRandomized(c.labels, ne.Bernoulli(c.n_clusters, p=p)))
    np.testing.assert_allclose(full_exposure_probability(c, p=p), exact, atol=1e-14)


@pytest.mark.parametrize("m", [1, 2, 4])
def test_full_exposure_complete_equals_enumeration(m):
    g, c = _tiny()
    exact = _exposure_by_enumeration(g, ne.ClusterRandomized(c.labels, ne.Complete(c.n_clusters, n_treated=m)))
    got = full_exposure_probability(c, design="complete", n_treated_clusters=m)
    np.testing.assert_allclose(got, exact, atol=1e-14)


def test_full_exposure_complete_fractional_share_is_the_mixture():
    # p * K = 0.3 * 6 = 1.8: Complete treats 1 or 2 clusters (the latter with probability 0.8)
    g, c = _tiny()
    exact = _exposure_by_enumeration(g, ne.ClusterRandomized(c.labels, ne.Complete(c.n_clusters, p=0.3)))
    np.testing.assert_allclose(full_exposure_probability(c, p=0.3, design="complete"), exact, atol=1e-14)


def test_full_exposure_monte_carlo_larger_graph():
    g = ne.erdos_renyi(400, 0.01, rng=2)
    c = three_net(g, rng=0)
    p = 0.4
    R = 20000
    Z = ne.ClusterRandomized(c.labels, ne.Bernoulli(c.n_clusters, p=p)).sample_many(R, rng=9)
    # fully treated: treated count over the closed neighbourhood equals its size
    cnt = ne.treated_neighbor_counts(g, Z)
    deg = np.asarray(g.degree)
    full_t = (cnt == deg) & Z
    full_c = (cnt == 0) & ~Z
    prob = full_exposure_probability(c, p=p)
    for col, emp in ((0, full_t.mean(0)), (1, full_c.mean(0))):
        se = np.sqrt(prob[:, col] * (1 - prob[:, col]) / R)
        assert np.all(np.abs(emp - prob[:, col]) < 4.5 * se + 1e-12)  # binomial, 4.5 SE per unit


def test_cluster_quality_object():
    g = ne.load_graph("karate")
    c = ne.leiden(g, rng=0)
    q = cluster_quality(c, p=0.5)
    assert isinstance(q, ClusterQuality)
    d = distinct_clusters_in_neighborhood(c)
    assert q.cut_fraction == c.cut_fraction
    assert q.interior_fraction == pytest.approx(c.interior_fraction)  # d_i = 1 <=> no neighbour outside
    assert q.histogram["n_units"].sum() == g.n_nodes
    assert np.array_equal(q.histogram["d"], np.unique(d))
    assert np.allclose(q.histogram["p_full_treatment"], 0.5 ** q.histogram["d"])
    s = q.to_dict()
    assert s["distinct_clusters_max"] == d.max() and s["p_full_treatment_mean"] == pytest.approx((0.5 ** d).mean())
    assert "Cluster quality" in q.summary() and "<table" in q._repr_html_()
    with pytest.raises(AttributeError):
        q.p = 0.3
    with pytest.raises(ValueError):
        q.distinct_clusters[0] = 7
    qc = cluster_quality(c, design="complete", n_treated_clusters=1)
    assert qc.to_dict()["n_never_fully_treated"] == (d > 1).sum()  # one treated cluster: d >= 2 impossible


def test_quality_errors():
    g, c = _tiny()
    with pytest.raises(ne.InputError, match="design must be one of"):
        full_exposure_probability(c, design="pairs")
    with pytest.raises(ne.InputError, match="complete"):
        full_exposure_probability(c, n_treated_clusters=2)
    with pytest.raises(ne.InputError, match=r"n_treated_clusters must be in \[1, 5\]"):
        full_exposure_probability(c, design="complete", n_treated_clusters=6)
    with pytest.raises(ne.InputError, match="p must be in"):
        cluster_quality(c, p=1.0)
    with pytest.raises(ne.InputError, match="Clustering"):
        distinct_clusters_in_neighborhood(np.zeros(3))


def test_clustering_quality_method():
    g, c = _tiny()
    q = c.quality(p=0.3)
    np.testing.assert_allclose(q.full_exposure, full_exposure_probability(c, p=0.3), atol=0)
