"""Recentred exposure regression: expected exposure against enumeration, bias removed under degree confounding."""

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp import InputError

# 9 units, one isolated (8), a hub (0) and a path; node ids are strings to exercise the id order
SRC = [0, 0, 0, 0, 1, 2, 4, 5, 6]
DST = [1, 2, 3, 4, 2, 3, 5, 6, 7]


def _graph():
    ids = [f"u{i}" for i in range(9)]
    return ne.Graph.from_edges([ids[i] for i in SRC], [ids[j] for j in DST], nodes=ids)


def _designs():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3, 3])
    strata = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    return {
        "bernoulli": ne.Bernoulli(9, 0.3),
        "complete": ne.Complete(9, n_treated=4),
        "cluster-complete": ne.ClusterRandomized(labels, ne.Complete(4, n_treated=2)),
        "cluster-bernoulli": ne.ClusterRandomized(labels, ne.Bernoulli(4, 0.4)),
        "stratified": ne.Stratified(strata, p={0: 1 / 3, 1: 0.5, 2: 0.5}),
    }


def _enumerated(g, design, exposure):
    from netexp.estimators._recentred import _exposure_of

    Z, w = design.enumerate()
    return w @ _exposure_of(g, Z, exposure)


@pytest.mark.parametrize("name", list(_designs()))
@pytest.mark.parametrize("exposure", ["fraction", "count"])
def test_expected_linear_exposure_exact_against_enumeration(name, exposure):
    g = _graph()
    design = _designs()[name]
    mu = ne.expected_exposure(g, design, exposure=exposure, method="exact")
    assert mu.exact and mu.std_error is None
    np.testing.assert_allclose(mu.values, _enumerated(g, design, exposure), rtol=0, atol=1e-12)
    assert mu.values[g.index_of(["u8"])[0]] == 0.0   # isolated


@pytest.mark.parametrize("name", ["bernoulli", "cluster-bernoulli"])
def test_expected_any_exposure_exact_against_enumeration(name):
    g = _graph()
    design = _designs()[name]
    mu = ne.expected_exposure(g, design, exposure="any")
    assert mu.exact
    np.testing.assert_allclose(mu.values, _enumerated(g, design, "any"), rtol=0, atol=1e-12)


def test_expected_any_exposure_monte_carlo_where_no_closed_form():
    g = _graph()
    design = _designs()["cluster-complete"]
    with pytest.raises(InputError, match="no closed form"):
        ne.expected_exposure(g, design, exposure="any", method="exact")
    mu = ne.expected_exposure(g, design, exposure="any", n_draws=4000, rng=0)
    assert not mu.exact and mu.n_draws == 4000
    truth = _enumerated(g, design, "any")
    se = np.maximum(mu.std_error, 1e-12)
    assert np.all(np.abs(mu.values - truth) <= 4.5 * se + 1e-12)
    # a callable exposure goes through the same Monte Carlo path
    mu2 = ne.expected_exposure(g, design, exposure=lambda gr, Z: ne.treated_neighbor_counts(gr, Z) >= 2,
                               n_draws=4000, rng=0)
    truth2 = _enumerated(g, design, lambda gr, Z: ne.treated_neighbor_counts(gr, Z) >= 2)
    assert np.all(np.abs(mu2.values - truth2) <= 4.5 * np.maximum(mu2.std_error, 1e-12) + 1e-12)


def _confounded_population(seed=0):
    g = ne.barabasi_albert(1500, 2, rng=seed)
    deg = np.asarray(g.degree, dtype=float)
    # degree-targeted design: hubs treated with probability 0.7, others 0.2
    design = ne.Stratified(deg > np.median(deg), p={False: 0.2, True: 0.7})
    alpha = np.log(deg) + np.random.default_rng(seed + 1).normal(scale=0.3, size=g.n_nodes)   # fixed, degree-driven
    return g, design, alpha


def test_recentred_spillover_unbiased_where_degree_confounds():
    tau, beta = 0.3, 0.5
    g, design, alpha = _confounded_population()
    mu = ne.expected_exposure(g, design)
    assert np.corrcoef(mu.values, np.log(g.degree))[0, 1] < -0.1   # expected exposure does vary with degree
    Z = design.sample_many(300, rng=7)
    F = ne.fraction_treated_neighbors(g, Z)
    raw, rec, cover = [], [], []
    for z, f in zip(Z, F):
        fit = ne.recentred_exposure_regression(alpha + tau * z + beta * f, z, g, design, expected=mu)
        cover.append(fit.recentred["spillover"].covers(beta))
        raw.append([fit.raw["direct effect"].estimate, fit.raw["spillover"].estimate])
        rec.append([fit.recentred["direct effect"].estimate, fit.recentred["spillover"].estimate])
    raw, rec = np.array(raw), np.array(rec)
    mc = rec.std(0, ddof=1) / np.sqrt(len(rec))
    # recentred: mean over the design's draws within 4 Monte Carlo SE of the truth
    assert abs(rec[:, 1].mean() - beta) < 4 * mc[1]
    assert abs(rec[:, 0].mean() - tau) < 4 * mc[0]
    # raw: the spillover coefficient is off by many times its sampling SD
    assert abs(raw[:, 1].mean() - beta) > 3 * raw[:, 1].std()
    # HC2 interval of the recentred spillover: 0.947 in this run (binomial SE 0.013)
    assert np.mean(cover) >= 0.91


def test_fractions_equal_under_one_probability_and_alignment_by_node_id():
    # without isolated units, one p makes p and mu constants: both fits agree
    g8 = ne.Graph.from_edges(SRC, DST)
    d8 = ne.Complete(8, n_treated=4)
    z8 = d8.sample(rng=3)
    a8 = ne.recentred_exposure_regression(np.arange(8.0) + z8, z8, g8, d8)
    for k in ("direct effect", "spillover"):
        assert a8.recentred[k].estimate == pytest.approx(a8.raw[k].estimate, rel=1e-10)
        assert a8.recentred[k].std_error == pytest.approx(a8.raw[k].std_error, rel=1e-8)
    # the isolated unit (exposure 0, expectation 0) makes the recentred fit differ
    g = _graph()
    design = ne.Complete(9, n_treated=4)
    z = design.sample(rng=3)
    y = np.arange(9.0) + z
    a = ne.recentred_exposure_regression(y, z, g, design)
    ids = list(g.node_ids)
    ys = pd.Series(y, index=ids)[ids[::-1]]
    zs = pd.Series(z.astype(int), index=ids).sample(frac=1, random_state=0)
    b = ne.recentred_exposure_regression(ys, zs, g, design)
    assert b.to_frame().equals(a.to_frame())
    assert set(b.to_frame().version) == {"raw", "recentred"}
    with pytest.raises(InputError, match="node ids"):
        ne.recentred_exposure_regression(pd.Series(y), z, g, design)
    with pytest.raises(InputError, match="missing"):
        ne.recentred_exposure_regression(ys.iloc[1:], z, g, design)
    with pytest.raises(InputError, match="design assigns"):
        ne.recentred_exposure_regression(y, z, g, ne.Complete(8, n_treated=4))


def test_cluster_design_defaults_to_cr2():
    g = _graph()
    design = _designs()["cluster-complete"]
    z = design.sample(rng=0)
    fit = ne.recentred_exposure_regression(np.arange(9.0) + z, z, g, design)
    assert fit.raw["spillover"].variance.startswith("CR2") and fit.raw["spillover"].n_clusters == 4


def test_design_without_closed_form_probabilities_uses_monte_carlo():
    # re-randomized complete design with 3 of 9 treated: marginal probabilities have no closed form
    g = _graph()
    cov = np.arange(9.0)[:, None]
    design = ne.Rerandomized(ne.Complete(9, n_treated=3), cov, acceptance=0.5)
    mu = ne.expected_exposure(g, design, n_draws=3000, rng=0)
    assert not mu.exact and mu.std_error is not None
    with pytest.raises(InputError, match="no closed form"):
        ne.expected_exposure(g, design, method="exact")
    z = design.sample(rng=1)
    fit = ne.recentred_exposure_regression(np.arange(9.0) + z, z, g, design, n_draws=3000, rng=0)
    assert fit.treatment_probabilities.shape == (9,) and np.all((fit.treatment_probabilities > 0)
                                                               & (fit.treatment_probabilities < 1))
    assert np.isfinite(fit.recentred["spillover"].estimate)
