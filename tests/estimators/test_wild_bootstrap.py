"""Restricted wild cluster bootstrap: the closed-form p-value equals a brute-force bootstrap (refit OLS
and CR1 on every y*), the interval inverts it, and the contrast reparametrization is exact."""

import numpy as np
import pytest

import netexp as ne
from netexp.estimators._wild_bootstrap import _WCR, _draw_weights, wild_cluster_bootstrap


def _data(G=9, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, G)
    labels = np.repeat(np.arange(G), sizes)
    n = labels.size
    z = (rng.random(G) < 0.5)[labels].astype(float)
    x = rng.normal(size=n)
    y = 1 + 0.5 * z + 0.3 * x + rng.normal(size=G)[labels] + rng.normal(size=n)
    return np.column_stack([np.ones(n), z, x]), y, labels


def _brute_pvalue(X, y, labels, j, b0, V):
    n, k = X.shape
    G = labels.max() + 1
    c = G / (G - 1) * (n - 1) / (n - k)

    def t_stat(yy):
        H = np.linalg.inv(X.T @ X)
        b = H @ X.T @ yy
        u = yy - X @ b
        sc = np.array([X[labels == g].T @ u[labels == g] for g in range(G)])
        V1 = c * H @ (sc.T @ sc) @ H
        return (b[j] - b0) / np.sqrt(V1[j, j])

    t = abs(t_stat(y))
    others = [i for i in range(k) if i != j]
    yr = y - b0 * X[:, j]
    g_ = np.linalg.lstsq(X[:, others], yr, rcond=None)[0]
    ur = yr - X[:, others] @ g_
    fitted = X[:, others] @ g_ + b0 * X[:, j]
    ts = np.array([abs(t_stat(fitted + v[labels] * ur)) for v in V])
    return np.mean(ts >= t * (1 - 1e-12))


@pytest.mark.parametrize("weights", ["webb", "rademacher"])
def test_closed_form_pvalue_equals_brute_force_bootstrap(weights):
    X, y, labels = _data()
    V = _draw_weights(weights, 199, labels.max() + 1, np.random.default_rng(1))
    w = _WCR(X, y, labels, labels.max() + 1, 1)
    for b0 in (0.0, 0.5, w.beta + 1.3 * w.se, -2.0):
        assert w.pvalue(b0, V) == pytest.approx(_brute_pvalue(X, y, labels, 1, b0, V), abs=1e-12)


def test_interval_inverts_the_test_and_contrast_reparametrization():
    X, y, labels = _data(G=12, seed=3)
    r = wild_cluster_bootstrap(X, y, labels, 1, n_boot=399, rng=0)
    lo, hi = r["ci"]
    assert lo < r["estimate"] < hi
    V = _draw_weights("webb", 399, 12, np.random.default_rng(0))
    w = _WCR(X, y, labels, 12, 1)
    eps = 1e-5 * r["std_error"]
    assert w.pvalue(lo + eps, V) > 0.05 and w.pvalue(lo - eps, V) <= 0.05
    assert w.pvalue(hi - eps, V) > 0.05 and w.pvalue(hi + eps, V) <= 0.05
    # a contrast picking one coefficient gives the same interval
    r2 = wild_cluster_bootstrap(X, y, labels, [0.0, 1.0, 0.0], n_boot=399, rng=0)
    assert r2["ci"] == pytest.approx(r["ci"], rel=1e-9)
    # c' beta = beta_1 + 2 beta_2: the estimate is the same combination of the OLS coefficients
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    r3 = wild_cluster_bootstrap(X, y, labels, [0.0, 1.0, 2.0], n_boot=399, rng=0)
    assert r3["estimate"] == pytest.approx(beta[1] + 2 * beta[2], rel=1e-10)


def test_cluster_ols_wild_interval_and_few_clusters_warning():
    X, y, labels = _data(G=10, seed=5)
    z = X[:, 1].astype(bool)
    e = ne.cluster_ols(y, z, labels, inference="wild", rng=0)
    assert "only 10 clusters" in e.note
    from netexp.estimators._estimators import few_clusters_warning

    with pytest.warns(ne.EstimationWarning, match="only 10 clusters"):
        few_clusters_warning(10, "cluster_ols")
    r = wild_cluster_bootstrap(X[:, :2], y, labels, 1, rng=0)
    assert e.ci == pytest.approx(r["ci"], rel=1e-12)
    assert "wild cluster bootstrap" in e.variance


def test_cr3_is_the_leave_one_cluster_out_jackknife():
    X, y, labels = _data(G=11, seed=2)
    fit = ne.ols(X, y, cov_type="CR3", clusters=labels)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    D = np.array([beta - np.linalg.lstsq(X[labels != g], y[labels != g], rcond=None)[0] for g in range(11)])
    np.testing.assert_allclose(fit.cov, 10 / 11 * D.T @ D, rtol=1e-10)
    assert fit.df == 10
    e = ne.cluster_ols(y, X[:, 1].astype(bool), labels, cov_type="CR3")
    assert e.df == 10
