"""The exposure regression of Experiment.analyze / netexp analyze follows the design, as netexp run does: the
network HAC under unit designs, the variance over the cluster draws under a ClusterRandomized design, HC1 / CR2
with outcomes on a subset of the units (each row says which and why); and the public
``exposure_regression(cov_type="cluster-draws", graph=, design=)``: the same numbers as its engine, its covariance
against exact enumeration of every cluster assignment, and its refusals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp.estimators import exposure_regression_fit
from netexp.estimators._draw_variance import cluster_draw_estimates

N, G = 300, 30


@pytest.fixture(scope="module")
def graph():
    return ne.watts_strogatz(N, 6, 0.1, rng=1)      # a ring: blocks of 10 consecutive units border each other


def _cluster_design(n_clusters=G, inner=None):
    labels = np.arange(N) * n_clusters // N
    return ne.ClusterRandomized(labels, cluster_design=inner or ne.Bernoulli(n_clusters, p=0.5))


def _experiment(g, design, *, seed=4, missing=None):
    ex = ne.Experiment(g, design, seed=seed)
    y = ne.LinearInMeans(direct=0.2, spillover=0.3, noise_sd=1.0).realize(g, rng=2).outcomes(ex.assignment)
    if missing is not None:
        y = y.copy()
        y[missing] = np.nan
    return ex.with_outcomes(y), y


def _regression_rows(res):
    rows = [r for r in res.rows if r["estimator"].startswith("exposure regression")]
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)
    return rows


def _analyze(ex):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)       # few-clusters caveat (30 clusters)
        return ex.analyze(estimators=["regression"], mapping="fraction")


# --------------------------------------------------------------------------- (a) unit design: network HAC
def test_unit_design_rows_carry_the_network_hac(graph):
    ex, y = _experiment(graph, ne.Complete(N, n_treated=N // 2))
    rows = _regression_rows(_analyze(ex))
    expo = ne.exposure(graph, ex.assignment)
    ref = ne.exposure_regression(y, ex.assignment, expo, graph=graph, cov_type="network-HAC")
    hc1 = ne.exposure_regression(y, ex.assignment, expo, cov_type="HC1")
    for r in rows:
        assert r["estimator"] == "exposure regression (network HAC)"
        assert "network HAC" in r["why"] and "overlap" in r["why"]
        e = ref[r["estimand"]]
        assert r["std_error"] == pytest.approx(e.std_error, rel=1e-12)
        assert (r["ci_lower"], r["ci_upper"]) == pytest.approx(e.ci, rel=1e-12)
        assert r["variance"] == e.variance
        assert abs(r["std_error"] / hc1[r["estimand"]].std_error - 1) > 1e-3    # not HC1 under another name


def test_unit_design_falls_back_to_hc1_when_the_hac_kernel_is_too_large(graph, monkeypatch):
    from netexp.estimators import _hac

    monkeypatch.setattr(_hac, "_KERNEL_MAX_NNZ", 10)
    ex, y = _experiment(graph, ne.Bernoulli(N, p=0.5))
    rows = _regression_rows(_analyze(ex))
    ref = ne.exposure_regression(y, ex.assignment, ne.exposure(graph, ex.assignment), cov_type="HC1")
    for r in rows:
        assert r["estimator"] == "exposure regression (HC1)" and "too many pairs" in r["why"]
        assert r["std_error"] == pytest.approx(ref[r["estimand"]].std_error, rel=1e-12)


# --------------------------------------------------------------------------- (b) cluster design: cluster draws
@pytest.mark.parametrize("inner", [ne.Bernoulli(G, p=0.5), ne.Complete(G, n_treated=G // 2)])
def test_cluster_design_rows_carry_the_cluster_draw_variance(graph, inner):
    design = _cluster_design(inner=inner)
    ex, y = _experiment(graph, design)
    rows = _regression_rows(_analyze(ex))
    expo = ne.exposure(graph, ex.assignment)
    ref = ne.exposure_regression(y, ex.assignment, expo, graph=graph, design=design, cov_type="cluster-draws")
    cr2 = ne.exposure_regression(y, ex.assignment, expo, clusters=design.labels, cov_type="CR2")
    for r in rows:
        assert r["estimator"] == "exposure regression (cluster draws)"
        assert f"draws of the {G} randomized clusters" in r["why"] and "CR2 assumes" in r["why"]
        e = ref[r["estimand"]]
        assert np.isfinite(e.std_error)
        assert r["std_error"] == pytest.approx(e.std_error, rel=1e-12)
        assert (r["ci_lower"], r["ci_upper"]) == pytest.approx(e.ci, rel=1e-12)
        assert r["variance"].startswith("design-based over the cluster draws")
        assert abs(r["std_error"] / cr2[r["estimand"]].std_error - 1) > 1e-3


def test_few_clusters_fall_back_to_cr2_and_say_why(graph):
    design = _cluster_design(4, ne.Complete(4, n_treated=2))      # nu <= k + 1: no draw-based standard error
    ex, y = _experiment(graph, design, seed=1)
    rows = _regression_rows(_analyze(ex))
    ref = ne.exposure_regression(y, ex.assignment, ne.exposure(graph, ex.assignment), clusters=design.labels,
                                 cov_type="CR2")
    for r in rows:
        assert r["estimator"] == "exposure regression (CR2)"
        assert "not the variance over the cluster draws" in r["why"] and "too few" in r["why"]
        assert r["std_error"] == pytest.approx(ref[r["estimand"]].std_error, rel=1e-12)


# --------------------------------------------------------------------------- (c) outcomes on a subset
def test_subset_of_outcomes_falls_back_and_says_why(graph):
    missing = np.arange(0, N, 7)
    keep = np.setdiff1d(np.arange(N), missing)
    for design, label, cov_type, needle in [
            (ne.Complete(N, n_treated=N // 2), "exposure regression (HC1)", "HC1", "network HAC needs every unit's"),
            (_cluster_design(), "exposure regression (CR2)", "CR2", "needs every unit's outcome")]:
        ex, y = _experiment(graph, design, missing=missing)
        rows = _regression_rows(_analyze(ex))
        expo = ne.exposure(graph, ex.assignment)
        ref = ne.exposure_regression(y[keep], ex.assignment[keep], expo.fraction[keep], isolated=expo.isolated[keep],
                                     clusters=design.labels[keep] if cov_type == "CR2" else None, cov_type=cov_type)
        for r in rows:
            assert r["estimator"] == label
            assert needle in r["why"] and f"outcomes on {keep.shape[0]} of {N} units" in r["why"]
            assert r["std_error"] == pytest.approx(ref[r["estimand"]].std_error, rel=1e-12)


def test_redrawn_clusters_are_not_analysed_as_unit_randomized(graph):
    ex, _ = _experiment(graph, ne.RandomizedGraphCluster(graph, p=0.5), seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ne.InputError, match="nothing could be estimated") as info:
            ex.analyze(estimators=["naive", "regression"], mapping="fraction")
    assert "exposure regression: the clustering was redrawn" in str(info.value)


# --------------------------------------------------------------------------- (d) refusals of the public option
def _cluster_data(graph, design=None, seed=0):
    design = design or _cluster_design()
    z = design.sample(rng=seed)
    expo = ne.exposure(graph, z)
    y = 1 + 0.2 * z + 0.3 * expo.fraction + np.random.default_rng(seed + 1).normal(size=N)
    return design, z, expo, y


def test_public_option_refuses_what_its_draws_do_not_determine(graph):
    design, z, expo, y = _cluster_data(graph)
    with pytest.raises(ne.InputError, match=r"got Complete\. Under a unit design use cov_type='network-HAC'"):
        ne.exposure_regression(y, z, expo, graph=graph, design=ne.Complete(N, n_treated=int(z.sum())),
                               cov_type="cluster-draws")
    with pytest.raises(ne.InputError, match=r"unweighted.*Drop weights= or use cov_type='CR2' with clusters="):
        ne.exposure_regression(y, z, expo, graph=graph, design=design, cov_type="cluster-draws",
                               weights=np.full(N, 2.0))
    with pytest.raises(ne.InputError, match="needs graph="):
        ne.exposure_regression(y, z, expo, design=design, cov_type="cluster-draws")
    with pytest.raises(ne.InputError, match="needs design="):
        ne.exposure_regression(y, z, expo, graph=graph, cov_type="cluster-draws")
    with pytest.raises(ne.InputError, match="design must assign one unit per outcome"):
        ne.exposure_regression(y[:-1], z[:-1], expo.fraction[:-1], isolated=expo.isolated[:-1], design=design,
                               cov_type="cluster-draws")
    zu = ne.Bernoulli(N, p=0.5).sample(rng=3)                     # not the design's draw: not constant in clusters
    with pytest.raises(ne.InputError, match="not constant.*cov_type='CR2' with clusters="):
        ne.exposure_regression(y, zu, ne.exposure(graph, zu), graph=graph, design=design, cov_type="cluster-draws")
    rr = ne.ClusterRandomized(design.labels, cluster_design=ne.Rerandomized(
        ne.Complete(G, n_treated=G // 2), np.arange(G, dtype=float)[:, None], threshold=0.5))
    with pytest.raises(ne.InputError, match="exact joint probabilities.*cov_type='CR2' with clusters="):
        ne.exposure_regression(y, z, expo, graph=graph, design=rr, cov_type="cluster-draws")


def test_design_given_defaults_to_the_cluster_draws_and_aligns_pandas_by_node_id(graph):
    design, z, expo, y = _cluster_data(graph, seed=5)
    ref = ne.exposure_regression(y, z, expo, graph=graph, design=design, cov_type="cluster-draws")
    assert ne.exposure_regression(y, z, expo, graph=graph, design=design).to_frame().equals(ref.to_frame())
    ids = np.asarray(graph.node_ids)
    perm = np.random.default_rng(0).permutation(N)
    got = ne.exposure_regression(pd.Series(y[perm], index=ids[perm]), pd.Series(z, index=ids),
                                 pd.Series(expo.fraction[perm[::-1]], index=ids[perm[::-1]]),
                                 isolated=pd.Series(expo.isolated, index=ids), graph=graph, design=design,
                                 cov_type="cluster-draws")
    for a, b in zip(got, ref):
        assert a.std_error == pytest.approx(b.std_error, rel=1e-12) and a.estimate == pytest.approx(b.estimate)


# --------------------------------------------------------------------------- (e) engine and exact enumeration
def test_public_option_is_the_engine_with_covariates(graph):
    design, z, expo, y = _cluster_data(graph, seed=2)
    x = pd.DataFrame({"x": np.random.default_rng(9).normal(size=N)})
    fit = exposure_regression_fit(y, z, expo, graph=graph, covariates=x)
    eng = cluster_draw_estimates(fit, graph, design, confidence_level=0.9)
    pub = ne.exposure_regression(y, z, expo, graph=graph, covariates=x, design=design, cov_type="cluster-draws",
                                 confidence_level=0.9)
    assert pub.to_frame().equals(eng.to_frame())


def test_cluster_draw_cov_against_enumeration_of_every_cluster_assignment():
    # 10 clusters of a 40-unit graph, cluster Bernoulli(0.3): 1024 assignments. With the residuals e of the
    # observed fit held fixed, the score X(Z)'e over every assignment has covariance Cov_enum; the linearized
    # covariance of the coefficients is M Cov_enum M with M = (X'X)^{-1} at the observed X.
    g = ne.watts_strogatz(40, 4, 0.3, rng=2)
    labels = np.arange(40) % 10
    inner = ne.Bernoulli(10, p=0.3)
    design = ne.ClusterRandomized(labels, cluster_design=inner)
    z = design.sample(rng=4)
    expo = ne.exposure(g, z)
    y = 1 + 0.5 * z + expo.fraction + np.random.default_rng(5).normal(size=40)
    fit = exposure_regression_fit(y, z, expo, graph=g, design=design)
    X = fit._X
    e = y - X @ fit.params
    Zs, w = inner.enumerate()
    S = np.array([np.column_stack([np.ones(40), Zc[labels], ne.fraction_treated_neighbors(g, Zc[labels])]).T @ e
                  for Zc in Zs])
    mean = w @ S
    cov_enum = (S - mean).T @ ((S - mean) * w[:, None])
    M = np.linalg.inv(X.T @ X)
    V = fit.cov("cluster-draws")
    np.testing.assert_allclose(V, M @ cov_enum @ M, rtol=1e-10, atol=1e-14)
    for est, c in zip(fit.estimates("cluster-draws"), ([0, 1, 0], [0, 0, fit.share], [0, 1, fit.share])):
        c = np.asarray(c, float)
        if np.isfinite(est.std_error):
            assert est.std_error ** 2 == pytest.approx(c @ V @ c * est.df / (est.df - 3), rel=1e-10)


# --------------------------------------------------------------------------- same experiment, same interval
@pytest.mark.parametrize("cluster", [False, True])
def test_analyze_and_the_main_job_give_the_same_interval(graph, cluster):
    from netexp._pipeline import analyze as pipeline_analyze

    design = _cluster_design() if cluster else ne.Complete(N, n_treated=N // 2)
    ex, y = _experiment(graph, design, seed=7)
    rows = _regression_rows(_analyze(ex))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        main = pipeline_analyze(graph, ex.assignment, y, clusters=design.labels if cluster else None,
                                design=design if cluster else None)
    main = {(label, e.estimand): e for label, e in main if label.startswith("exposure regression")}
    for r in rows:
        e = main[(r["estimator"], r["estimand"])]
        assert (r["std_error"], r["ci_lower"], r["ci_upper"]) == pytest.approx((e.std_error, *e.ci), rel=1e-12)
