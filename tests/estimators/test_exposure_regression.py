"""Extended exposure regression: WLS, centred covariates and every covariance type on one fit,
against statsmodels; the default behaviour is unchanged."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import netexp as ne
from netexp.estimators import EXPOSURE_COVARIANCE_TYPES, exposure_regression_fit


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    n = 200
    cl = rng.integers(0, 20, n)
    z = rng.random(n) < 0.5
    f = rng.random(n)
    x = rng.normal(size=(n, 2))
    w = rng.uniform(0.5, 4.0, n)
    y = 1 + 0.5 * z + 0.8 * f + x @ [1.0, -1.0] + rng.normal(size=n) + 0.5 * rng.normal(size=20)[cl]
    return y, z, f, x, w, cl


def design(z, f, *extra):
    return np.column_stack([np.ones(len(z)), z, f, *extra]).astype(float)


def check(table, params, cov, share=1.0):
    V = np.asarray(cov)
    assert table["direct effect"].estimate == pytest.approx(params[1], abs=1e-10)
    assert table["direct effect"].std_error == pytest.approx(np.sqrt(V[1, 1]), abs=1e-10)
    assert table["spillover effect"].std_error == pytest.approx(share * np.sqrt(V[2, 2]), abs=1e-10)
    g = V[1, 1] + share**2 * V[2, 2] + 2 * share * V[1, 2]
    assert table["global effect"].estimate == pytest.approx(params[1] + share * params[2], abs=1e-10)
    assert table["global effect"].std_error == pytest.approx(np.sqrt(g), abs=1e-10)


def test_default_behaviour_unchanged(data):
    y, z, f, x, w, cl = data
    X = design(z, f)
    ref = sm.OLS(y, X).fit(cov_type="HC1")
    t = ne.exposure_regression(y, z, f)
    check(t, ref.params, ref.cov_params())
    assert t["direct effect"].variance == "HC1 robust" and t["direct effect"].df == len(y) - 3
    tc = ne.exposure_regression(y, z, f, clusters=cl)
    cr2 = ne.ols(X, y, cov_type="CR2", clusters=cl)
    check(tc, cr2.params, cr2.cov)
    assert tc["direct effect"].variance == "CR2 robust"
    assert tc["direct effect"].df == pytest.approx(cr2.contrast_df([0, 1, 0]), rel=1e-12)


@pytest.mark.parametrize("cov", ["HC0", "HC1", "HC2", "HC3"])
def test_wls_vs_statsmodels(data, cov):
    y, z, f, x, w, cl = data
    ref = sm.WLS(y, design(z, f), weights=w).fit(cov_type=cov)
    t = ne.exposure_regression(y, z, f, weights=w, cov_type=cov)
    check(t, ref.params, ref.cov_params())
    assert t["direct effect"].method == "exposure regression (weighted)"


def test_wls_cluster_vs_statsmodels(data):
    y, z, f, x, w, cl = data
    ref = sm.WLS(y, design(z, f), weights=w).fit(cov_type="cluster", cov_kwds={"groups": cl})
    check(ne.exposure_regression(y, z, f, weights=w, clusters=cl, cov_type="CR1"), ref.params, ref.cov_params())


@pytest.mark.parametrize("weighted", [False, True])
def test_covariates_keep_slopes_and_centre_intercept(data, weighted):
    y, z, f, x, w, cl = data
    ww = w if weighted else np.ones_like(y)
    ref = sm.WLS(y, design(z, f, x), weights=ww).fit(cov_type="HC1")   # uncentred covariates
    fit = exposure_regression_fit(y, z, f, covariates=x, weights=w if weighted else None)
    check(fit.estimates("HC1"), ref.params, ref.cov_params())
    xbar = ww @ x / ww.sum()
    # centring: intercept = fitted outcome of untreated, unexposed units at the (weighted) covariate mean
    assert fit.params[0] == pytest.approx(ref.params[0] + ref.params[3:] @ xbar, abs=1e-10)
    assert fit.names == ("intercept", "z", "fraction", "x0", "x1")


def test_categorical_covariate_and_input_not_mutated(data):
    y, z, f, x, w, cl = data
    region = np.random.default_rng(2).choice(["a", "b", "c"], size=len(y))
    df = pd.DataFrame({"age": x[:, 0], "region": region})
    before = df.copy()
    t = ne.exposure_regression(y, z, f, covariates=df, cov_type="HC2")
    dummies = np.column_stack([region == "b", region == "c"]).astype(float)
    ref = sm.OLS(y, design(z, f, x[:, 0], dummies)).fit(cov_type="HC2")
    check(t, ref.params, ref.cov_params())
    pd.testing.assert_frame_equal(df, before)


def test_every_covariance_on_one_fit(data):
    y, z, f, x, w, cl = data
    g = ne.watts_strogatz(len(y), 4, 0.1, rng=0)
    fit = exposure_regression_fit(y, z, f, clusters=cl, graph=g, isolated=np.arange(len(y)) < 20, bandwidth=1)
    for cov in EXPOSURE_COVARIANCE_TYPES:
        if cov == "cluster-draws":   # needs a cluster design whose draws set z and f: tests/test_analyze_variances.py
            continue
        t = fit.estimates(cov)
        ref = ne.exposure_regression(y, z, f, clusters=cl, graph=g, cov_type=cov, bandwidth=1,
                                     isolated=np.arange(len(y)) < 20)
        assert t.to_frame().equals(ref.to_frame())
        assert np.array_equal(fit.cov(cov), fit.cov(cov))
    assert fit.share == pytest.approx(0.9)
    check(fit.estimates("HC3"), fit.params, sm.OLS(y, design(z, f)).fit(cov_type="HC3").cov_params(), share=0.9)
    with pytest.raises(Exception):
        fit.params = None


def test_errors(data):
    y, z, f, x, w, cl = data
    with pytest.raises(ne.InputError, match="weights must be positive"):
        ne.exposure_regression(y, z, f, weights=np.r_[0.0, w[1:]])
    with pytest.raises(ne.EstimationError, match="'x2' is a linear combination"):
        ne.exposure_regression(y, z, f, covariates=np.column_stack([x, x.sum(1)]))
    with pytest.raises(ne.EstimationError, match="'x1' is constant"):
        ne.exposure_regression(y, z, f, covariates=np.column_stack([x[:, 0], np.ones(len(y))]))
    with pytest.raises(ne.InputError, match="needs clusters="):
        exposure_regression_fit(y, z, f).estimates("CR2")
    with pytest.raises(ne.InputError, match="cov_type"):
        ne.exposure_regression(y, z, f, cov_type="HAC")
