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


def _mc_p(T, obs, alternative):
    """(1 + #{draws at least as extreme})/(R + 1) over the defined draws; two-sided centred at the mean."""
    T = T[np.isfinite(T)]
    c = (T.sum() + obs) / (T.shape[0] + 1)
    d, d_obs = {"greater": (T, obs), "two-sided": (np.abs(T - c), abs(obs - c))}[alternative]
    scale = max(abs(obs), np.abs(T).max(), abs(c))
    return (int(np.sum(d >= d_obs - 1e-9 * scale)) + 1) / (T.shape[0] + 1)


def test_monte_carlo_p_value_equals_scipy_on_the_same_draws():
    """``design_draws(design, R, rng)`` are the test's null draws: scipy's F (and the difference of
    means by hand) on them give the test's null distribution and p-value, draws with an empty arm left out."""
    from netexp._executor import design_draws

    design = ne.MultiArmBernoulli(14, prob_each=(0.5, 0.25, 0.25))
    z = np.array([0, 1, 2, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2])
    y = np.random.default_rng(3).normal(size=14) + 0.8 * (z == 2)
    R = 400
    Z = design_draws(design, R, 9)
    assert Z.shape == (R, 14)

    def f(zz):
        groups = [y[zz == a] for a in range(3)]
        return stats.f_oneway(*groups).statistic if all(len(g) for g in groups) else np.nan

    def dm(zz):
        return y[zz == 2].mean() - y[zz == 0].mean() if (zz == 2).any() and (zz == 0).any() else np.nan

    for statistic, fn, alt in [("F", f, "greater"), ((0, 2), dm, "two-sided")]:
        res = ne.multiarm_randomization_test(y, z, design, statistic=statistic, n_draws=R, rng=9, exact=False)
        want = np.array([fn(zz) for zz in Z])
        ok = np.isfinite(want)
        assert (~ok).any() and res.n_undefined == int((~ok).sum())     # some draws leave an arm empty
        np.testing.assert_allclose(res.null_distribution, want[ok], rtol=1e-10, atol=1e-12)
        assert res.observed == pytest.approx(fn(z), rel=1e-12)
        assert res.p_value == _mc_p(want, res.observed, alt)


def test_monte_carlo_p_value_near_exact_enumeration():
    """Tiny complete design: the blocked Monte Carlo p-value is within 4 MC SE of the exact one by hand."""
    design = ne.MultiArmComplete(6, m_each=[2, 2, 2])
    z = np.array([0, 1, 0, 2, 1, 2])
    y = np.array([1.0, 2.0, 2.5, 3.0, 6.0, 5.5])
    T = []
    for perm in set(itertools.permutations([0, 0, 1, 1, 2, 2])):
        zz = np.array(perm)
        T.append(stats.f_oneway(*[y[zz == a] for a in range(3)]).statistic)
    obs = stats.f_oneway(*[y[z == a] for a in range(3)]).statistic
    p_exact = float(np.mean(np.array(T) >= obs - 1e-9))
    R = 5000
    res = ne.multiarm_randomization_test(y, z, design, n_draws=R, rng=4, exact=False)
    assert 0.1 < p_exact < 0.9 and res.n_draws == R
    assert abs(res.p_value - p_exact) < 4 * np.sqrt(p_exact * (1 - p_exact) / R)
