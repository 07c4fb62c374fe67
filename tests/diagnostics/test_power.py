"""Closed-form power against simulated cluster-randomized and individually randomized experiments."""

import functools

import numpy as np
import pytest
from scipy import stats

import netexp as ne
from netexp.diagnostics import (design_effect, mde_cluster, mde_individual, power_cluster, power_curve,
                                power_individual, simulate_power)
from netexp.simulate import CustomOutcomes

N_SIMS = 2000


def _binomial_tol(p, n=N_SIMS):
    """4 binomial standard errors of a simulated rejection rate."""
    return 4 * np.sqrt(p * (1 - p) / n)


def test_design_effect_closed_form():
    assert design_effect(10, 0.1) == pytest.approx(1 + 9 * 0.1)
    assert design_effect(10, 0.1, cluster_size_cv=0.5) == pytest.approx(1 + (1.25 * 10 - 1) * 0.1)
    assert design_effect(50, 0.0) == 1.0


@pytest.mark.parametrize("effect", [0.0, 0.25, 0.4])
def test_power_cluster_matches_random_effects_simulation(effect):
    # normal random-effects data, equal cluster sizes, half the clusters treated, t test on cluster means
    K, m, icc, sd = 30, 15, 0.1, 2.0
    rng = np.random.default_rng(11)
    sb, sw = sd * np.sqrt(icc), sd * np.sqrt(1 - icc)
    u = rng.normal(0, sb, (N_SIMS, K, 1))
    e = rng.normal(0, sw, (N_SIMS, K, m))
    treat = np.zeros(K, bool)
    treat[: K // 2] = True
    y = u + e + effect * treat[None, :, None]
    means = y.mean(axis=2)
    p = stats.ttest_ind(means[:, treat], means[:, ~treat], axis=1, equal_var=True).pvalue
    simulated = np.mean(p < 0.05)
    closed = power_cluster(effect * 1.0 if effect else 0.0, n_clusters=K, cluster_size=m, icc=icc, sd=sd)
    assert abs(simulated - closed) < _binomial_tol(closed)
    if effect == 0:
        assert closed == pytest.approx(0.05)


def test_power_individual_matches_simulation():
    n, effect = 200, 0.35
    rng = np.random.default_rng(5)
    y = rng.normal(0, 1, (N_SIMS, n))
    z = np.zeros(n, bool)
    z[: n // 2] = True
    y[:, z] += effect
    p = stats.ttest_ind(y[:, z], y[:, ~z], axis=1).pvalue
    closed = power_individual(effect, n=n)
    assert abs(np.mean(p < 0.05) - closed) < _binomial_tol(closed)
    # normal version: the textbook formula
    d = effect / np.sqrt(4 / n)
    want = stats.norm.cdf(d - 1.959963984540054) + stats.norm.cdf(-d - 1.959963984540054)
    assert power_individual(effect, n=n, distribution="normal") == pytest.approx(want, rel=1e-12)


def test_mde_inverts_power():
    e = mde_cluster(n_clusters=40, cluster_size=25, icc=0.02, power=0.9)
    assert power_cluster(e, n_clusters=40, cluster_size=25, icc=0.02) == pytest.approx(0.9, abs=1e-8)
    e = mde_individual(n=500, sd=3.0, p=0.3)
    assert power_individual(e, n=500, sd=3.0, p=0.3) == pytest.approx(0.8, abs=1e-8)
    # normal MDE closed form (z_{1-a/2} + z_power) * SE, which drops the far rejection tail
    # Phi(-delta - z) ~ 1e-6, hence the 1e-5 relative tolerance
    se = np.sqrt(1 / (1000 * 0.25))
    assert mde_individual(n=1000, distribution="normal") == pytest.approx(
        (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * se, rel=1e-5)


def test_power_curve_frame():
    pc = power_curve("effect", [0.0, 0.1, 0.2], n_clusters=50, cluster_size=10, icc=0.05)
    assert list(pc["effect"]) == [0.0, 0.1, 0.2]
    assert pc["power"].is_monotonic_increasing
    assert pc["power"].iloc[2] == pytest.approx(power_cluster(0.2, n_clusters=50, cluster_size=10, icc=0.05))
    with pytest.raises(ne.InputError, match="effect"):
        power_curve("n_clusters", [10, 20], cluster_size=10, icc=0.05)


def _constant_effect(Z, graph, effect):
    return effect * Z


def _model(effect):
    return CustomOutcomes(functools.partial(_constant_effect, effect=effect), noise_sd=1.0)


def test_simulate_power_agrees_with_closed_form():
    n, effect = 100, 0.5
    r = simulate_power(ne.Complete(n, p=0.5), "difference-in-means", _model, effect=effect, n_sims=1000, rng=3)
    closed = power_individual(effect, n=n)  # Welch vs pooled t: same to O(1/n) with equal arms
    assert abs(r.power - closed) < 4 * np.sqrt(closed * (1 - closed) / 1000) + 0.01
    assert r.mc_se == pytest.approx(np.sqrt(r.power * (1 - r.power) / 1000))
