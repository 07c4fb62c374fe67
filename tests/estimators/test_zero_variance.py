"""A variance that cannot be estimated (0, or 0 to rounding) gives a nan standard error, interval and p-value
with an EstimationWarning saying why, never a zero-width interval (issue 13). Each case below has outcomes
that leave no variation to estimate the variance from, so the correct answer is 'not estimable'."""

import warnings

import numpy as np
import pandas as pd
import pytest

import netexp as ne

N = 40
Z = np.tile([0, 1], N // 2)
CL = np.repeat(np.arange(10), 4)
ZC = (CL % 2).astype(int)
Y = 1.0 + 2.0 * Z                       # constant within each arm
YC = 1.0 + 2.0 * ZC
G = ne.erdos_renyi(N, 0.1, rng=0)
F = ne.fraction_treated_neighbors(G, Z)
ISO = np.asarray(G.degree) == 0
YF = 1.0 + 0.5 * Z + F                  # the exposure model fits exactly

CASES = {
    "difference_in_means": lambda: [ne.difference_in_means(Y, Z)],
    "cluster_difference_in_means": lambda: [ne.cluster_difference_in_means(YC, ZC, CL)],
    "cluster_ols": lambda: [ne.cluster_ols(YC, ZC, CL)],
    "cluster_ols wild": lambda: [ne.cluster_ols(YC, ZC, CL, inference="wild", rng=0)],
    "exposure_regression HC1": lambda: list(ne.exposure_regression(YF, Z, F, isolated=ISO)),
    "exposure_regression CR2": lambda: list(ne.exposure_regression(YF, Z, F, clusters=CL, isolated=ISO)),
    "exposure_regression HAC": lambda: list(ne.exposure_regression(YF, Z, F, graph=G, cov_type="network-HAC")),
    "lin_estimator": lambda: [ne.lin_estimator(Y, Z, np.arange(N, dtype=float)[:, None])],
    "regression": lambda: list(ne.regression(pd.DataFrame({"y": Y, "z": Z}), "y", ["z"])),
    "exact zero effect": lambda: [ne.cluster_ols(np.ones(N), ZC, CL)],
}


@pytest.mark.parametrize("name", list(CASES))
def test_zero_variance_is_nan_with_a_reason(name):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        estimates = CASES[name]()
    msgs = [str(w.message) for w in rec if issubclass(w.category, ne.EstimationWarning)]
    assert any("reported as nan" in m and "no variation" in m for m in msgs), msgs
    for e in estimates:
        assert np.isfinite(e.estimate)
        assert np.isnan(e.std_error) and np.isnan(e.ci[0]) and np.isnan(e.ci[1]) and np.isnan(e.p_value), e


def test_estimable_variance_is_untouched():
    # the same calls with noise: finite standard errors, no warning from the guard
    rng = np.random.default_rng(1)
    y = Y + rng.normal(size=N)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ne.EstimationWarning)
        e = ne.difference_in_means(y, Z)
        c = ne.cluster_ols(YC + rng.normal(size=N), ZC, CL)
    s1, s0 = y[Z == 1].var(ddof=1), y[Z == 0].var(ddof=1)
    assert e.std_error == pytest.approx(np.sqrt(s1 / 20 + s0 / 20), rel=1e-12)   # Neyman, by hand
    assert np.isfinite(c.std_error) and c.ci[1] > c.ci[0]


def test_hajek_constant_outcomes_by_level_is_nan():
    # Hajek residuals are all 0 when outcomes are constant within each exposure level: variance 0, not estimable
    g = ne.erdos_renyi(40, 0.1, rng=0)
    cl = ne.three_net(g, rng=0)
    design = ne.ClusterRandomized(cl, ne.Bernoulli(cl.n_clusters, p=0.5))
    m = ne.FullNeighborhood()
    pr = ne.exposure_probabilities(g, design, m, method="exact")
    z = design.sample(rng=1)
    lv = m.map(g, z)
    y = 1.0 + 2.0 * (lv == m.levels.index("treated"))
    for variance in ("abs-young", "aronow-samii"):
        with pytest.warns(ne.EstimationWarning, match="reported as nan"):
            e = ne.hajek(y, lv, pr, contrasts=[("treated", "control")], variance=variance)[0]
        assert e.estimate == pytest.approx(2.0, abs=1e-12) and np.isnan(e.std_error) and np.isnan(e.ci[1])
