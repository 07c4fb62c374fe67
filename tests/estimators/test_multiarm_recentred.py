"""Recentred k-arm exposure regression: expectations by enumeration, the fit by statsmodels, bias by simulation."""

import numpy as np
import pytest

import netexp as ne
from netexp.estimators._recentred import _arm_exposure, _expected_arm_exposure, multiarm_recentred_regression


def _tiny():
    g = ne.Graph.from_edges([0, 0, 1, 2, 3, 4], [1, 2, 2, 3, 4, 5]).with_isolated_nodes([6])
    return g, [ne.MultiArmComplete(7, prob_each=(0.5, 0.3, 0.2), arms=("c", "a", "b")),
               ne.MultiArmCluster([0, 0, 1, 1, 2, 3, 3], ne.MultiArmComplete(4, m_each=(2, 1, 1)))]


@pytest.mark.parametrize("exposure", ["share", "count"])
@pytest.mark.parametrize("which", [0, 1])
def test_expected_exposures_equal_enumeration(exposure, which):
    """The closed form sum_j P(Z_j = b) (over d_i for shares) against the probability-weighted mean of
    the exposures over every assignment the design can make."""
    g, designs = _tiny()
    d = designs[which]
    Z, w = d.enumerate()
    truth = np.einsum("r,rnk->nk", w, _arm_exposure(g, Z, d.n_arms, exposure))
    exact, how = _expected_arm_exposure(g, d, exposure, "exact", None, None)
    assert how.startswith("exact")
    np.testing.assert_allclose(exact, truth, atol=1e-14)
    mc, how = _expected_arm_exposure(g, d, exposure, "monte-carlo", 4000, 2)
    assert how.startswith("Monte Carlo")
    np.testing.assert_allclose(mc, truth, atol=0.06)


def test_fit_equals_statsmodels_on_the_recentred_regressors():
    import statsmodels.api as sm

    g = ne.barabasi_albert(400, 2, rng=0)
    d = ne.MultiArmComplete(g.n_nodes, prob_each=(0.4, 0.3, 0.3), arms=("c", "a", "b"))
    z = d.sample(rng=1)
    y = np.random.default_rng(2).normal(size=g.n_nodes) + 0.5 * (z == 2)
    fit = multiarm_recentred_regression(y, z, g, d, exposure="count")
    A = g.adjacency
    counts = np.column_stack([A @ (z == a).astype(float) for a in range(3)])
    own = np.column_stack([(z == a).astype(float) for a in range(3)])
    mu = g.degree[:, None] * np.array([0.4, 0.3, 0.3])
    for version, O, X in (("raw", own, counts), ("recentred", own - [0.4, 0.3, 0.3], counts - mu)):
        D = sm.add_constant(np.column_stack([O[:, 1:], X[:, 1:]]))
        ref = sm.OLS(y, D).fit(cov_type="HC2")
        tab = getattr(fit, version)
        np.testing.assert_allclose([e.estimate for e in tab], ref.params[1:], rtol=1e-10)
        np.testing.assert_allclose([e.std_error for e in tab], ref.bse[1:], rtol=1e-8)


def test_recentring_removes_degree_confounding_of_count_spillovers():
    """Outcomes rise with degree and only arm b's neighbours matter (0.2 each). The raw count
    coefficients absorb degree (a spurious arm-a spillover); recentred ones are centred on the truth
    and their 95% intervals cover. 120 seeded experiments, < 3 s."""
    g = ne.barabasi_albert(600, 2, rng=0)
    d = ne.MultiArmComplete(g.n_nodes, prob_each=(0.5, 0.25, 0.25), arms=("control", "a", "b"))
    base = np.log(g.degree)
    raw_a, rec_a, rec_b, cover = [], [], [], []
    for s in range(120):
        z = d.sample(rng=s)
        cb = g.adjacency @ (z == 2).astype(float)
        y = base + 0.3 * (z == 1) + 0.2 * cb + np.random.default_rng(1000 + s).normal(scale=0.3, size=g.n_nodes)
        fit = multiarm_recentred_regression(y, z, g, d, exposure="count")
        raw_a.append(fit.raw[2].estimate)
        rec_a.append(fit.recentred[2].estimate)
        rec_b.append(fit.recentred[3].estimate)
        lo, hi = fit.recentred[3].ci
        cover.append(lo <= 0.2 <= hi)
    se = lambda x: np.std(x) / np.sqrt(len(x))   # noqa: E731
    assert abs(np.mean(raw_a)) > 5 * se(raw_a)           # raw: a spillover that is not there
    assert abs(np.mean(rec_a)) < 3 * se(rec_a)           # recentred: none
    assert abs(np.mean(rec_b) - 0.2) < 3 * se(rec_b)
    assert np.mean(cover) >= 0.95 - 2 * np.sqrt(0.95 * 0.05 / 120)
