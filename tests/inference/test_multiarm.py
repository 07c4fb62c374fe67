"""Randomization tests for k arms: the F statistic is scipy's, exact p by hand, valid size under the null."""

import itertools

import numpy as np
import pytest
from scipy import stats

import netexp as ne


def test_observed_f_equals_scipy_and_exact_p_by_hand():
    design = ne.MultiArmComplete(6, m_each=[2, 2, 2])
    z = np.array([0, 0, 1, 1, 2, 2])
    y = np.array([1.0, 2.0, 2.5, 3.0, 6.0, 5.5])
    res = ne.multiarm_randomization_test(y, z, design)
    assert res.observed == pytest.approx(stats.f_oneway(y[:2], y[2:4], y[4:]).statistic)
    # hand enumeration: the 90 arrangements of two units per arm, equally likely
    T = []
    for perm in set(itertools.permutations([0, 0, 1, 1, 2, 2])):
        zz = np.array(perm)
        T.append(stats.f_oneway(*[y[zz == a] for a in range(3)]).statistic)
    T = np.array(T)
    assert len(T) == 90 and res.n_draws == 90
    assert res.p_value == pytest.approx(np.mean(T >= res.observed - 1e-9), abs=1e-12)


def test_pair_statistic_and_cluster_null_draws():
    labels = np.repeat(np.arange(9), 4)
    design = ne.MultiArmCluster(labels, ne.MultiArmComplete(9, num_arms=3, arms=("c", "a", "b")))
    z = design.sample(rng=0)
    y = np.random.default_rng(2).normal(size=36) + 2.0 * (z == 2)
    res = ne.multiarm_randomization_test(y, z, design, statistic=("c", "b"))
    assert res.exact and res.n_draws == 1680                      # 9! / (3! 3! 3!) cluster arrangements
    assert res.observed == pytest.approx(y[z == 2].mean() - y[z == 0].mean())
    assert res.p_value < 0.05


def test_monte_carlo_size_under_the_null():
    # no effect: p-values from design draws reject at 10% about 10% of the time (binomial SE 0.02)
    design = ne.MultiArmBernoulli(60, prob_each=(0.5, 0.25, 0.25))
    gen = np.random.default_rng(5)
    y = gen.exponential(size=60)                                  # fixed outcomes, skewed
    ps = [ne.multiarm_randomization_test(y, design.sample(rng=s), design, n_draws=199, rng=1000 + s).p_value
          for s in range(250)]
    assert 0.05 <= np.mean(np.array(ps) <= 0.1) <= 0.15
