"""Two-stage estimators: Hudgens-Halloran by hand and by exact enumeration of a two-stage
design; the Baird et al. saturation regression against statsmodels."""

import itertools
import types
from unittest import mock

import numpy as np
import pytest
import statsmodels.api as sm

import netexp as ne
from netexp.estimators import _two_stage, saturation_regression, two_stage_estimates

NAMES = ["direct effect (alpha=0.5)", "direct effect (alpha=0.25)", "indirect effect (alpha=0.5 vs 0.25)",
         "total effect (alpha=0.5 vs 0.25)", "overall effect (alpha=0.5 vs 0.25)"]


def test_hand_computation_small_table():
    # 4 groups of 4; groups 0, 2 at saturation 0.5 (2 treated), groups 1, 3 at 0.25 (1 treated)
    clusters = np.repeat([0, 1, 2, 3], 4)
    z = np.array([1, 1, 0, 0,  1, 0, 0, 0,  0, 1, 1, 0,  0, 0, 1, 0])
    y = np.array([5., 7, 2, 4,  6, 1, 2, 3,  3, 8, 6, 1,  2, 4, 9, 0])
    sat = [0.5, 0.25, 0.5, 0.25]
    t = two_stage_estimates(y, z, clusters, sat, alpha=0.5, alpha_prime=0.25)
    assert [e.estimand for e in t] == NAMES
    # group means: Y_i(1), Y_i(0), Y_i
    # g0: 6, 3, 4.5   g2: 7, 2, 4.5   g1: 6, 2, 3   g3: 9, 2, 3.75
    assert t[NAMES[0]].estimate == pytest.approx((6 + 7) / 2 - (3 + 2) / 2)          # 4
    assert t[NAMES[1]].estimate == pytest.approx((6 + 9) / 2 - (2 + 2) / 2)          # 5.5
    assert t[NAMES[2]].estimate == pytest.approx((3 + 2) / 2 - (2 + 2) / 2)          # 0.5
    assert t[NAMES[3]].estimate == pytest.approx((6 + 7) / 2 - (2 + 2) / 2)          # 4.5
    assert t[NAMES[4]].estimate == pytest.approx((4.5 + 4.5) / 2 - (3 + 3.75) / 2)   # 1.125
    # indirect: s^2 of {3, 2} / 2 + s^2 of {2, 2} / 2 = 0.5 / 2
    assert t[NAMES[2]].std_error == pytest.approx(np.sqrt(0.25))
    # overall: s^2{4.5, 4.5}/2 + s^2{3, 3.75}/2 = 0.28125 / 2
    assert t[NAMES[4]].std_error == pytest.approx(np.sqrt(0.140625))
    # direct at 0.5: group effects {3, 5}: (1 - 2/4) * 2 / 2 + within / (4 * 2);
    # within g0: s1^2 = 2, s0^2 = 2 -> 2/2 + 2/2 = 2; g2: s1^2 = 2, s0^2 = 2 -> 2; total 4
    assert t[NAMES[0]].std_error == pytest.approx(np.sqrt(0.5 * 2 / 2 + 4 / 8))
    assert t[NAMES[0]].df == 1
    # direct at 0.25 has one treated unit per group: between-group form s^2{4, 7} / 2
    assert t[NAMES[1]].std_error == pytest.approx(np.sqrt(4.5 / 2))
    assert t[NAMES[1]].variance.startswith("between groups")
    # per-unit saturations give the same table
    t2 = two_stage_estimates(y, z, clusters, np.array(sat)[clusters], alpha=0.5, alpha_prime=0.25)
    assert t2.to_frame().equals(t.to_frame())


def enumerate_design(Y):
    """All stage-1 x stage-2 assignments of 4 groups of 4 units: 2 groups at 0.5 (2 treated each),
    2 at 0.25 (1 treated each); Y[i, j, z, s] with s = 0 for saturation 0.5, 1 for 0.25."""
    N, m = Y.shape[:2]
    k = {0: 2, 1: 1}
    clusters = np.repeat(np.arange(N), m)
    est, var = [], []
    # the 3,456 calls only need estimate and std_error: skip the t quantiles of the shared result type
    light = types.SimpleNamespace(from_se=lambda **kw: types.SimpleNamespace(**kw))
    with mock.patch.object(_two_stage, "Estimate", light), mock.patch.object(_two_stage, "EstimateTable", list):
        return _enumerate(Y, N, m, k, clusters, est, var)


def _enumerate(Y, N, m, k, clusters, est, var):
    for first in itertools.combinations(range(N), 2):
        s = np.array([0 if i in first else 1 for i in range(N)])
        per_group = [list(itertools.combinations(range(m), k[s[i]])) for i in range(N)]
        for choice in itertools.product(*per_group):
            z = np.zeros((N, m), int)
            for i, c in enumerate(choice):
                z[i, list(c)] = 1
            y = Y[np.arange(N)[:, None], np.arange(m)[None, :], z, s[:, None]].ravel()
            t = two_stage_estimates(y, z.ravel(), clusters, np.where(s == 0, 0.5, 0.25), alpha=0.5,
                                    alpha_prime=0.25)
            assert [e.estimand for e in t] == NAMES
            est.append([e.estimate for e in t])
            var.append([e.std_error ** 2 for e in t])
    return np.array(est), np.array(var)


def estimands(Y):
    p = np.array([2 / 4, 1 / 4])
    Yz = Y.mean(axis=(0, 1))                                  # Ybar(z; s), shape (2 z, 2 s)
    Ys = (p * Y[:, :, 1, :] + (1 - p) * Y[:, :, 0, :]).mean(axis=(0, 1))
    return np.array([Yz[1, 0] - Yz[0, 0], Yz[1, 1] - Yz[0, 1], Yz[0, 0] - Yz[0, 1], Yz[1, 0] - Yz[0, 1],
                     Ys[0] - Ys[1]])


@pytest.fixture(scope="module")
def generic():
    rng = np.random.default_rng(4)
    Y = rng.normal(size=(4, 4, 2, 2)) * 2 + rng.normal(size=(4, 1, 1, 1)) * 3
    return Y, *enumerate_design(Y)


def test_unbiased_point_estimates_exact(generic):
    Y, est, _ = generic
    assert est.shape == (6 * 6 * 6 * 4 * 4, 5)   # stage 1 x stage 2 in two groups of each kind
    assert np.allclose(est.mean(0), estimands(Y), atol=1e-12)


def test_variance_estimators_conservative_exact(generic):
    Y, est, var = generic
    true_var = est.var(axis=0)
    assert np.all(var.mean(0) >= true_var - 1e-12)
    # and strictly conservative for these heterogeneous outcomes
    assert np.all(var.mean(0) > true_var + 1e-6)


def test_direct_variance_unbiased_under_within_group_additivity():
    # unit effects constant within each group (vary across groups and saturations)
    rng = np.random.default_rng(8)
    Y0 = rng.normal(size=(4, 4, 1, 2)) * 2
    tau = rng.normal(size=(4, 1, 1, 2)) * 3
    Y = np.concatenate([Y0, Y0 + tau], axis=2)
    est, var = enumerate_design(Y)
    assert var[:, 0].mean() == pytest.approx(est[:, 0].var(), rel=1e-10)   # Cochran form (2 treated, 2 not)
    assert var[:, 1].mean() > est[:, 1].var() + 1e-6                      # between-group form: group effects differ


def test_all_variances_unbiased_when_effects_are_constant():
    rng = np.random.default_rng(9)
    base = rng.normal(size=(4, 4, 1, 1)) * 2
    c = np.array([[0.0, 0.7], [2.0, 1.5]])[None, None]                      # c[z, s]
    Y = base + c
    est, var = enumerate_design(Y)
    assert np.allclose(var.mean(0), est.var(axis=0), rtol=1e-10, atol=1e-12)


def test_two_stage_errors():
    clusters = np.repeat([0, 1, 2, 3], 2)
    z = [1, 0, 1, 0, 1, 0, 0, 0]
    with pytest.raises(ne.EstimationError, match="1 group"):
        two_stage_estimates(np.ones(8), z, clusters, [0.5, 0.5, 0.5, 0.0], alpha=0.5, alpha_prime=0.0)
    with pytest.raises(ne.InputError, match="must differ"):
        two_stage_estimates(np.ones(8), z, clusters, [0.5, 0.5, 0.0, 0.0], alpha=0.5, alpha_prime=0.5)
    with pytest.raises(ne.InputError, match="varies within 1 cluster"):
        two_stage_estimates(np.ones(8), z, clusters, [0.5, 0.0] + [0.5] * 6, alpha=0.5, alpha_prime=0.0)
    with pytest.raises(ne.InputError, match="4 values"):
        two_stage_estimates(np.ones(8), z, clusters, [0.5, 0.0, 0.5], alpha=0.5, alpha_prime=0.0)
    # a group at 0.5 without an untreated unit: the direct and indirect effects are undefined and say why,
    # while the total and overall effects (which need no untreated unit at 0.5) are still estimated
    y = np.array([1.0, 2.0, 3.0, 0.5, 0.0, 1.0, 0.2, 0.4])
    tab = two_stage_estimates(y, [1, 1, 1, 0, 0, 0, 0, 0], clusters, [0.5, 0.5, 0.0, 0.0], alpha=0.5,
                              alpha_prime=0.0)
    rows = {e.estimand: e for e in tab}
    for name in ("direct effect (alpha=0.5)", "indirect effect (alpha=0.5 vs 0)"):
        assert not rows[name].estimable and np.isnan(rows[name].estimate)
        assert "1 of 2 groups at saturation 0.5 have no untreated" in rows[name].note
    # overall effect: mean of group means at 0.5 minus at 0 (hand computation)
    assert rows["overall effect (alpha=0.5 vs 0)"].estimate == pytest.approx(
        np.mean([1.5, np.mean([3.0, 0.5])]) - np.mean([0.5, 0.3]), rel=1e-12)
    assert rows["total effect (alpha=0.5 vs 0)"].estimate == pytest.approx(
        np.mean([1.5, 3.0]) - np.mean([0.5, 0.3]), rel=1e-12)


def test_pure_control_comparison_omits_unidentified_direct_effect():
    clusters = np.repeat(np.arange(6), 4)
    sat = np.array([0.5, 0.0, 0.5, 0.0, 0.5, 0.0])
    z = np.tile([1, 1, 0, 0], 6) * (sat[clusters] == 0.5)
    y = np.random.default_rng(0).normal(size=24)
    t = two_stage_estimates(y, z, clusters, sat, alpha=0.5, alpha_prime=0.0)
    assert [e.estimand for e in t] == ["direct effect (alpha=0.5)", "indirect effect (alpha=0.5 vs 0)",
                                       "total effect (alpha=0.5 vs 0)", "overall effect (alpha=0.5 vs 0)"]


@pytest.fixture
def saturation_data():
    rng = np.random.default_rng(12)
    K = 40
    labels = np.repeat(np.arange(K), rng.integers(4, 12, K))
    sat = np.tile([0.0, 0.25, 0.5, 1.0], K // 4)
    u = rng.random(labels.shape[0])
    z = (u < sat[labels]).astype(int)
    y = 1 + 2 * z + 0.7 * (1 - z) * (sat[labels] > 0) + rng.normal(size=labels.shape[0]) + rng.normal(size=K)[labels]
    return y, z, labels, sat


def baird_dummies(z, s, pooled):
    if pooled:
        return np.column_stack([z * (s > 0), (1 - z) * (s > 0)]).astype(float)
    cols = [z * (s == v) for v in (0.25, 0.5, 1.0)] + [(1 - z) * (s == v) for v in (0.25, 0.5)]
    return np.column_stack(cols).astype(float)


@pytest.mark.parametrize("pooled", [False, True])
def test_saturation_regression_vs_statsmodels_cr1(saturation_data, pooled):
    y, z, labels, sat = saturation_data
    X = sm.add_constant(baird_dummies(z, sat[labels], pooled))
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": labels})
    t = saturation_regression(y, z, labels, sat, pooled=pooled, cov_type="CR1")
    names = (["treated vs pure control (pooled)", "spillover on untreated (pooled)"] if pooled else
             ["treated at 0.25 vs pure control", "treated at 0.5 vs pure control", "treated at 1 vs pure control",
              "spillover on untreated at 0.25", "spillover on untreated at 0.5"])
    assert [e.estimand for e in t] == names
    assert np.allclose([e.estimate for e in t], ref.params[1:], atol=1e-10)
    assert np.allclose([e.std_error for e in t], ref.bse[1:], atol=1e-10)
    assert t[0].df == 39 and t[0].n_clusters == 40


def test_saturation_regression_cr2_default(saturation_data):
    y, z, labels, sat = saturation_data
    X = sm.add_constant(baird_dummies(z, sat[labels], False))
    fit = ne.ols(X, y, cov_type="CR2", clusters=labels)
    t = saturation_regression(y, z, labels, sat)
    assert np.allclose([e.std_error for e in t], np.sqrt(np.diag(fit.cov))[1:], atol=1e-12)
    assert t[0].variance == "CR2 cluster-robust"


def test_saturation_regression_errors(saturation_data):
    y, z, labels, sat = saturation_data
    with pytest.raises(ne.EstimationError, match="pure-control clusters"):
        saturation_regression(y, z, labels, np.where(sat == 0, 0.25, sat))
    z2 = z.copy()
    z2[np.flatnonzero(sat[labels] == 0)[0]] = 1
    with pytest.raises(ne.EstimationError, match="1 unit\\(s\\) in pure-control clusters"):
        saturation_regression(y, z2, labels, sat)
    with pytest.raises(ne.InputError, match="cov_type"):
        saturation_regression(y, z, labels, sat, cov_type="HC1")
