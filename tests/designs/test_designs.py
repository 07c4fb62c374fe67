"""One contract battery over every design, plus exact closed forms."""

import math

import numpy as np
import pytest

import netexp as ne

LABELS = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4, 4])
DESIGNS = {
    "bernoulli": lambda: ne.Bernoulli(8, p=0.3),
    "bernoulli_half_bits": lambda: ne.Bernoulli(9),  # bit-packed path, not a multiple of 8 units
    "complete": lambda: ne.Complete(8, n_treated=3),
    "complete_large_n": lambda: ne.Complete(5000, n_treated=4000),
    "cluster_complete": lambda: ne.ClusterRandomized(LABELS, n_treated=2),
    "cluster_bernoulli": lambda: ne.ClusterRandomized(LABELS, ne.Bernoulli(5, p=0.4)),
}


@pytest.fixture(params=list(DESIGNS))
def design(request):
    return DESIGNS[request.param]()


def test_shapes_and_dtype(design):
    z = design.sample(rng=0)
    Z = design.sample_many(7, rng=0)
    assert z.shape == (design.n_units,) and z.dtype == bool
    assert Z.shape == (7, design.n_units) and Z.dtype == bool


def test_same_rng_same_draws(design):
    a = design.sample_many(50, rng=123)
    b = design.sample_many(50, rng=np.random.default_rng(123))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, design.sample_many(50, rng=124))


def test_frequencies_match_probabilities(design):
    R = 20000 if design.n_units < 100 else 400
    Z = design.sample_many(R, rng=2024)
    p = design.probabilities
    se = np.sqrt(p * (1 - p) / R)
    # each marginal within 4.5 binomial standard errors (family-wise false alarm < 1e-3 here)
    assert np.all(np.abs(Z.mean(0) - p) < 4.5 * se + 1e-12)


def test_frozen(design):
    with pytest.raises(AttributeError):
        design._n = 3
    with pytest.raises(ValueError):
        design.probabilities[0] = 1


def test_enumeration_matches_closed_form_joint():
    for d in [ne.Bernoulli(5, p=0.3), ne.Complete(6, 2), ne.ClusterRandomized([0, 0, 1, 2, 2, 3], n_treated=2)]:
        Z, w = d.enumerate()
        assert w.sum() == pytest.approx(1.0, abs=1e-14)
        emp = (Z.astype(float) * w[:, None]).T @ Z.astype(float)
        assert np.allclose(emp, d.joint_probabilities(), atol=1e-14)
        assert np.allclose(np.diag(emp), d.probabilities, atol=1e-14)


def test_complete_exact_counts_and_joint():
    d = ne.Complete(10, 4)
    Z = d.sample_many(2000, rng=0)
    assert (Z.sum(1) == 4).all()
    Z, w = d.enumerate()
    assert len(w) == math.comb(10, 4)
    assert d.joint_probabilities()[0, 1] == pytest.approx(4 * 3 / (10 * 9))


def test_complete_subsets_uniform():
    # every one of the C(5,2)=10 subsets equally likely: chi-square goodness of fit
    from scipy import stats

    Z = ne.Complete(5, 2).sample_many(20000, rng=11)
    codes = Z.astype(int) @ (2 ** np.arange(5))
    counts = np.unique(codes, return_counts=True)[1]
    assert counts.shape[0] == 10
    assert stats.chisquare(counts).pvalue > 1e-3


def test_cluster_constant_within_clusters():
    d = ne.ClusterRandomized(LABELS, n_treated=2)
    Z = d.sample_many(200, rng=0)
    for c in np.unique(LABELS):
        block = Z[:, LABELS == c]
        assert (block == block[:, :1]).all()
    assert (Z[:, [0, 2, 5, 6, 8]].sum(1) == 2).all()


def test_cluster_from_clustering_object():
    g = ne.load_graph("karate")
    c = ne.leiden(g, rng=0)
    d = ne.ClusterRandomized(c)
    assert d.n_units == 34 and d.n_clusters == c.n_clusters
    assert np.allclose(d.probabilities, (c.n_clusters // 2) / c.n_clusters)


@pytest.mark.parametrize("make,match", [
    (lambda: ne.Complete(10, 10), r"n_treated must be in \[1, 9\]; got 10"),
    (lambda: ne.Bernoulli(10, p=1.5), r"p must be in \(0, 1\); got 1.5"),
    (lambda: ne.Complete(10, 3, p=0.5), "not both"),
    (lambda: ne.ClusterRandomized([0, 0, 0]), "at least 2 clusters"),
    (lambda: ne.ClusterRandomized([0, 1, 2], ne.Complete(4)), "4 units but there are 3 clusters"),
])
def test_bad_parameters(make, match):
    with pytest.raises(ne.NetexpError, match=match):
        make()


def test_bad_rng():
    with pytest.raises(ne.InputError, match="rng must be"):
        ne.Bernoulli(3).sample(rng="seed")
