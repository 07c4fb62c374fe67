"""k-arm designs: randomizr's documented probabilities, exact enumeration, empirical frequencies."""

from math import comb

import numpy as np
import pytest

import netexp as ne
from netexp import DesignError


def _enumerated_moments(design):
    Z, w = design.enumerate()
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    k = design.n_arms
    P = np.stack([w @ (Z == a) for a in range(k)], axis=1)
    J = {(a, b): np.einsum("r,ri,rj->ij", w, (Z == a).astype(float), (Z == b).astype(float))
         for a in range(k) for b in range(k)}
    return P, J


DESIGNS = {
    "complete-m_each": lambda: ne.MultiArmComplete(6, m_each=[1, 2, 3]),
    "complete-prob_each": lambda: ne.MultiArmComplete(5, prob_each=(0.2, 0.3, 0.5)),
    "complete-num_arms": lambda: ne.MultiArmComplete(7, num_arms=3),
    "bernoulli": lambda: ne.MultiArmBernoulli(5, prob_each=(0.2, 0.2, 0.6)),
    "cluster": lambda: ne.MultiArmCluster([0, 0, 1, 2, 2, 2, 3, 4], ne.MultiArmComplete(5, prob_each=(0.5, 0.3, 0.2))),
}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_marginals_and_joints_equal_enumeration(name):
    d = DESIGNS[name]()
    P, J = _enumerated_moments(d)
    np.testing.assert_allclose(d.probabilities, P, atol=1e-12)
    np.testing.assert_allclose(d.probabilities.sum(1), 1.0, atol=1e-12)
    for (a, b), Jab in J.items():
        np.testing.assert_allclose(d.joint_probabilities(a, b), Jab, atol=1e-12)


def test_pmf_of_complete_by_hand():
    # m_each = (1, 2, 3) of 6: every arrangement has probability 1 / (6! / (1! 2! 3!)) = 1/60
    Z, w = ne.MultiArmComplete(6, m_each=[1, 2, 3]).enumerate()
    assert Z.shape[0] == 60 and np.allclose(w, 1 / 60)
    # prob_each (0.2, 0.3, 0.5) of 5: floor (1, 1, 2), one unit left with second-stage shares (0, 1/2, 1/2)
    Z, w = ne.MultiArmComplete(5, prob_each=(0.2, 0.3, 0.5)).enumerate()
    # so sizes (1, 2, 2) or (1, 1, 3), each with probability 1/2, spread over 5!/(1!2!2!) = 30 and
    # 5!/(1!1!3!) = 20 equally likely arrangements
    sizes = np.array([tuple(np.bincount(z, minlength=3)) for z in Z])
    a = (sizes == (1, 2, 2)).all(1)
    b = (sizes == (1, 1, 3)).all(1)
    assert a.sum() == 5 * comb(4, 2) == 30 and b.sum() == 20 and (a | b).all()
    np.testing.assert_allclose(w[a], 0.5 / 30)
    np.testing.assert_allclose(w[b], 0.5 / 20)


@pytest.mark.parametrize("n, kw, expected", [
    # randomizr documentation: complete_ra(N = 100, num_arms = 3) and declare_ra: every unit 1/3 per arm
    (100, {"num_arms": 3}, [1 / 3, 1 / 3, 1 / 3]),
    # complete_ra(N = 100, m_each = c(30, 30, 40)): probabilities 0.3, 0.3, 0.4
    (100, {"m_each": [30, 30, 40]}, [0.3, 0.3, 0.4]),
    # complete_ra(N = 100, prob_each = c(.1, .1, .8)) and a non-integer split: exactly prob_each
    (100, {"prob_each": (0.1, 0.1, 0.8)}, [0.1, 0.1, 0.8]),
    (7, {"prob_each": (0.25, 0.25, 0.5)}, [0.25, 0.25, 0.5]),
])
def test_randomizr_documented_complete_probabilities(n, kw, expected):
    d = ne.MultiArmComplete(n, **kw)
    np.testing.assert_allclose(d.probabilities, np.tile(expected, (n, 1)), atol=1e-12)


def test_randomizr_documented_simple_probabilities_and_default_names():
    # simple_ra(N = 100, prob_each = c(.2, .2, .6)): conditions T1, T2, T3 with these probabilities
    d = ne.MultiArmBernoulli(100, prob_each=(0.2, 0.2, 0.6))
    assert d.arms == ("T1", "T2", "T3")
    np.testing.assert_allclose(d.probabilities[0], [0.2, 0.2, 0.6])


@pytest.mark.parametrize("name", ["complete-prob_each", "bernoulli", "cluster"])
def test_empirical_frequencies_match_probabilities(name):
    d = DESIGNS[name]()
    Z = d.sample_many(40_000, rng=0)
    for a in range(d.n_arms):
        freq = (Z == a).mean(0)
        p = d.probabilities[:, a]
        se = np.sqrt(p * (1 - p) / 40_000)
        assert np.all(np.abs(freq - p) <= 4.5 * se + 1e-12)


def test_complete_fixes_sizes_and_reproducible():
    d = ne.MultiArmComplete(30, m_each=[10, 5, 15], arms=("control", "a", "b"))
    Z = d.sample_many(50, rng=3)
    assert (np.stack([(Z == a).sum(1) for a in range(3)], 1) == [10, 5, 15]).all()
    assert np.array_equal(d.sample_many(50, rng=3), Z)
    assert d.labels(Z[0])[:3].tolist() == [d.arms[c] for c in Z[0][:3]]


def test_cluster_same_cluster_joint_and_errors():
    d = DESIGNS["cluster"]()
    J = d.joint_probabilities(0, 0)
    assert J[0, 1] == pytest.approx(0.5)               # same cluster: P(W = a)
    assert d.joint_probabilities(0, 1)[0, 1] == 0.0
    with pytest.raises(DesignError, match="sum to 1"):
        ne.MultiArmBernoulli(5, prob_each=(0.5, 0.6))
    with pytest.raises(DesignError, match="summing to n_units=6"):
        ne.MultiArmComplete(6, m_each=[1, 2, 2])
    with pytest.raises(DesignError, match="one of m_each"):
        ne.MultiArmComplete(6, m_each=[1, 2, 3], num_arms=3)


def test_declarations_rebuild_the_design():
    for d in (ne.MultiArmComplete(10, m_each=[2, 3, 5], arms=("c", "a", "b")),
              ne.MultiArmComplete(10, prob_each=(0.25, 0.25, 0.5)), ne.MultiArmBernoulli(10, prob_each=(0.3, 0.7))):
        dec = d.declaration()
        kind = dec.pop("type")
        again = getattr(ne, kind)(**dec)
        assert np.array_equal(again.sample_many(5, rng=1), d.sample_many(5, rng=1))
        np.testing.assert_allclose(again.probabilities, d.probabilities)
    c = ne.MultiArmCluster([0, 0, 1, 1], ne.MultiArmBernoulli(2, num_arms=3)).declaration()
    assert c["cluster_design"]["type"] == "MultiArmBernoulli" and len(c["labels_sha256"]) == 16
