"""Intra-cluster correlation: scipy's one-way ANOVA, statsmodels' REML, exact-interval coverage by simulation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netexp as ne
from netexp import InputError


def _sample(G, m, rho, seed):
    gen = np.random.default_rng(seed)
    cl = np.repeat(np.arange(G), m)
    y = gen.normal(scale=np.sqrt(rho), size=G)[cl] + gen.normal(scale=np.sqrt(1 - rho), size=G * m)
    return y, cl


def test_hand_computed_small_example():
    # clusters {1,2,3}, {4,5,6}, {2,4,9}: means 2, 5, 5; grand 4
    y = np.array([1.0, 2, 3, 4, 5, 6, 2, 4, 9])
    cl = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    msb = 3 * ((2 - 4) ** 2 + 1 + 1) / 2                         # 9
    msw = (2 + 2 + (9 + 1 + 16)) / 6                             # 30 / 6 = 5
    r = ne.intra_cluster_correlation(y, cl)
    assert (r.ms_between, r.ms_within) == pytest.approx((msb, msw))
    assert r.icc == pytest.approx((9 - 5) / (9 + 2 * 5))
    assert r.n0 == 3


def test_f_statistic_matches_scipy_and_unbalanced_n0():
    gen = np.random.default_rng(1)
    sizes = gen.integers(2, 30, size=25)
    cl = np.repeat(np.arange(25), sizes)
    y = gen.normal(size=25)[cl] * 0.5 + gen.normal(size=cl.size)
    r = ne.intra_cluster_correlation(y, cl)
    f = stats.f_oneway(*[y[cl == g] for g in range(25)])
    assert r.f_statistic == pytest.approx(f.statistic, rel=1e-10)
    assert r.p_value == pytest.approx(f.pvalue, rel=1e-8)
    N = sizes.sum()
    assert r.n0 == pytest.approx((N - (sizes**2).sum() / N) / 24)
    assert r.mean_cluster_size == pytest.approx(sizes.mean())


def test_balanced_equals_statsmodels_reml():
    # for balanced data with a positive estimate, REML variance components equal the ANOVA ones
    import statsmodels.formula.api as smf

    y, cl = _sample(30, 8, 0.2, seed=4)
    r = ne.intra_cluster_correlation(y, cl)
    fit = smf.mixedlm("y ~ 1", pd.DataFrame({"y": y, "g": cl}), groups="g").fit(reml=True)
    s_b = float(fit.cov_re.iloc[0, 0])
    assert r.icc == pytest.approx(s_b / (s_b + fit.scale), rel=1e-4)


def test_exact_interval_coverage_by_simulation():
    # equal sizes, normal random intercepts: the F interval is exact, coverage 0.95 (binomial SE 0.007)
    rho = 0.1
    hits, est = [], []
    for s in range(1000):
        y, cl = _sample(20, 10, rho, seed=100 + s)
        r = ne.intra_cluster_correlation(y, cl)
        hits.append(r.ci[0] <= rho <= r.ci[1])
        est.append(r.icc)
    assert 0.93 <= np.mean(hits) <= 0.97
    assert np.mean(est) == pytest.approx(rho, abs=0.01)          # ANOVA estimator: small bias only


def test_pandas_alignment_clustering_and_errors():
    y, cl = _sample(10, 5, 0.3, seed=0)
    ids = [f"n{i}" for i in range(50)]
    ys = pd.Series(y, index=ids)
    cs = pd.Series(cl, index=ids).iloc[::-1]
    assert ne.intra_cluster_correlation(ys, cs).icc == pytest.approx(ne.intra_cluster_correlation(y, cl).icc)
    with pytest.raises(InputError, match="index does not match"):
        ne.intra_cluster_correlation(ys, pd.Series(cl))
    g = ne.load_graph("karate")
    c = ne.leiden(g, rng=0)
    yk = pd.Series(np.arange(34.0), index=g.node_ids)
    a = ne.intra_cluster_correlation(yk.iloc[::-1], c)
    b = ne.intra_cluster_correlation(np.arange(34.0), np.asarray(c.labels))
    assert a.icc == pytest.approx(b.icc)
    assert b.design_effect() == pytest.approx(ne.design_effect(b.mean_cluster_size, max(b.icc, 0), b.cluster_size_cv))
