import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import linalg, stats

import netexp as ne


@pytest.fixture
def data():
    rng = np.random.default_rng(42)
    n = 240
    cl = rng.integers(0, 24, n)
    z = rng.random(n) < 0.5
    f = rng.random(n)
    y = 1 + 0.5 * z + 0.3 * f + rng.normal(size=n) + 0.5 * rng.normal(size=24)[cl]
    return y, z, f, cl


def test_difference_in_means_vs_scipy_welch(data):
    y, z, *_ = data
    e = ne.difference_in_means(y, z)
    ref = stats.ttest_ind(y[z], y[~z], equal_var=False)
    assert e.estimate == pytest.approx(y[z].mean() - y[~z].mean(), abs=1e-14)
    assert e.estimate / e.std_error == pytest.approx(ref.statistic, rel=1e-12)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert e.ci == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_neyman_equals_hc2_identity(data):
    # textbook identity: HC2 variance of the treatment coefficient = s1^2/n1 + s0^2/n0
    y, z, *_ = data
    X = sm.add_constant(z.astype(float))
    hc2 = sm.OLS(y, X).fit(cov_type="HC2").bse[1]
    assert ne.difference_in_means(y, z).std_error == pytest.approx(hc2, rel=1e-12)


@pytest.mark.parametrize("cov", ["HC0", "HC1", "HC2"])
def test_ols_hc_vs_statsmodels(data, cov):
    y, z, f, _ = data
    X = sm.add_constant(np.column_stack([z, f]).astype(float))
    ref = sm.OLS(y, X).fit(cov_type=cov)
    fit = ne.ols(X, y, cov_type=cov)
    assert np.allclose(fit.params, ref.params, atol=1e-13)
    assert np.allclose(fit.cov, ref.cov_params(), atol=1e-14)


def test_ols_cr1_vs_statsmodels(data):
    y, z, f, cl = data
    X = sm.add_constant(np.column_stack([z, f]).astype(float))
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": cl})
    assert np.allclose(ne.ols(X, y, cov_type="CR1", clusters=cl).cov, ref.cov_params(), atol=1e-14)


def dense_cr2(X, y, cl):
    """Bell-McCaffrey CR2 straight from the definition, with a dense matrix square root per cluster."""
    M = linalg.inv(X.T @ X)
    e = y - X @ (M @ X.T @ y)
    meat = np.zeros((X.shape[1],) * 2)
    for g in np.unique(cl):
        Xg = X[cl == g]
        A = np.real(linalg.inv(linalg.sqrtm(np.eye(len(Xg)) - Xg @ M @ Xg.T)))
        s = Xg.T @ A @ e[cl == g]
        meat += np.outer(s, s)
    return M @ meat @ M


def dense_bm_df(X, cl, c):
    """Bell-McCaffrey df from the definition: eigenvalues of G'G, G_g = (I-H)_{.g} (I-H_gg)^{-1/2} X_g M c."""
    n = X.shape[0]
    M = linalg.inv(X.T @ X)
    H = X @ M @ X.T
    cols = []
    for g in np.unique(cl):
        J = np.flatnonzero(cl == g)
        A = np.real(linalg.inv(linalg.sqrtm(np.eye(len(J)) - H[np.ix_(J, J)])))
        cols.append((np.eye(n) - H)[:, J] @ A @ X[J] @ M @ c)
    lam = np.linalg.eigvalsh(np.column_stack(cols).T @ np.column_stack(cols))
    return lam.sum() ** 2 / (lam**2).sum()


@pytest.mark.parametrize("c", [[0, 1, 0], [0, 1, 1], [0, 0, 1]])
def test_bell_mccaffrey_df_vs_definition(data, c):
    y, z, f, cl = data
    X = sm.add_constant(np.column_stack([z, f]).astype(float))
    fit = ne.ols(X, y, cov_type="CR2", clusters=cl)
    assert fit.contrast_df(c) == pytest.approx(dense_bm_df(X, cl, np.array(c, float)), rel=1e-10)


def test_bell_mccaffrey_df_binary_closed_form():
    # Imbens & Kolesar (2016): with a binary regressor and HC2 (= CR2 on singletons),
    # K_BM = (n0 + n1)^2 (n0 - 1)(n1 - 1) / (n1^2 (n1 - 1) + n0^2 (n0 - 1))
    n1, n0 = 7, 13
    z = np.r_[np.ones(n1), np.zeros(n0)]
    X = np.column_stack([np.ones(20), z])
    fit = ne.ols(X, np.random.default_rng(0).normal(size=20), cov_type="CR2", clusters=np.arange(20))
    ref = (n0 + n1) ** 2 * (n0 - 1) * (n1 - 1) / (n1**2 * (n1 - 1) + n0**2 * (n0 - 1))
    assert fit.contrast_df([0, 1]) == pytest.approx(ref, rel=1e-12)


def test_cr2_vs_dense_definition(data):
    y, z, f, cl = data
    X = sm.add_constant(np.column_stack([z, f]).astype(float))
    assert np.allclose(ne.ols(X, y, cov_type="CR2", clusters=cl).cov, dense_cr2(X, y, cl), atol=1e-14)


def test_cr2_singletons_equal_hc2(data):
    y, z, f, _ = data
    X = sm.add_constant(np.column_stack([z, f]).astype(float))
    ref = sm.OLS(y, X).fit(cov_type="HC2").cov_params()
    assert np.allclose(ne.ols(X, y, cov_type="CR2", clusters=np.arange(len(y))).cov, ref, atol=1e-14)


def test_cluster_estimators_closed_forms():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(12), rng.integers(3, 9, 12))
    zc = np.zeros(12, bool)
    zc[rng.choice(12, 6, replace=False)] = True
    z = zc[labels]
    y = rng.normal(size=labels.shape[0]) + z
    e = ne.cluster_difference_in_means(y, z, labels)
    means = pd.Series(y).groupby(labels).mean().to_numpy()
    ref = stats.ttest_ind(means[zc], means[~zc], equal_var=False)
    assert e.estimate == pytest.approx(means[zc].mean() - means[~zc].mean(), abs=1e-14)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert e.n_clusters == 12
    c = ne.cluster_ols(y, z, labels, cov_type="CR1", inference="t")
    X = sm.add_constant(z.astype(float))
    sref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": labels})
    assert c.estimate == pytest.approx(sref.params[1], abs=1e-14)
    assert c.std_error == pytest.approx(sref.bse[1], rel=1e-12)
    assert c.df == 11
    c2 = ne.cluster_ols(y, z, labels, inference="t")
    assert c2.std_error == pytest.approx(np.sqrt(dense_cr2(X, y, labels)[1, 1]), rel=1e-12)
    assert c2.df == pytest.approx(dense_bm_df(X, labels, np.array([0.0, 1.0])), rel=1e-10)


def test_cluster_estimator_rejects_mixed_clusters():
    with pytest.raises(ne.EstimationError, match="both treated and control"):
        ne.cluster_difference_in_means([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 0], [0, 0, 1, 1, 2, 2])


def test_exposure_regression_global_se_from_covariance(data):
    y, z, f, cl = data
    X = sm.add_constant(np.column_stack([z, f]).astype(float))
    ref = sm.OLS(y, X).fit(cov_type="HC1")
    t = ne.exposure_regression(y, z, f)
    V = ref.cov_params()
    assert t["direct effect"].estimate == pytest.approx(ref.params[1], abs=1e-13)
    assert t["spillover effect"].std_error == pytest.approx(ref.bse[2], rel=1e-12)
    assert t["global effect"].estimate == pytest.approx(ref.params[1] + ref.params[2], abs=1e-13)
    assert t["global effect"].std_error == pytest.approx(np.sqrt(V[1, 1] + V[2, 2] + 2 * V[1, 2]), rel=1e-12)
    assert t["global effect"].df == len(y) - 3
    tc = ne.exposure_regression(y, z, f, clusters=cl, cov_type="CR1")
    rc = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": cl})
    assert tc["direct effect"].std_error == pytest.approx(rc.bse[1], rel=1e-12)


def test_result_type_interface(data):
    y, z, *_ = data
    e = ne.difference_in_means(y, z)
    lo, hi = e.confidence_interval(0.9)
    assert e.ci[0] < lo < hi < e.ci[1]
    df = e.to_frame()
    assert list(df.columns)[:5] == ["estimand", "estimate", "std_error", "ci_low", "ci_high"]
    assert "<table" in e._repr_html_() and "Neyman" in e.summary()
    with pytest.raises(Exception):
        e.estimate = 0


@pytest.mark.parametrize("call,match", [
    (lambda: ne.difference_in_means([1.0, np.nan, 3.0, 4.0], [1, 1, 0, 0]), "1 missing or non-finite"),
    (lambda: ne.difference_in_means([1.0, 2.0, 3.0], [1, 0, 0]), "at least 2 units"),
    (lambda: ne.exposure_regression([1.0, 2, 3, 4, 5], [1, 0, 1, 0, 1], [0.5] * 5), "not identified"),
])
def test_bad_input(call, match):
    with pytest.raises(ne.NetexpError, match=match):
        call()
