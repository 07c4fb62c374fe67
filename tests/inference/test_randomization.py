"""randomization_test / randomization_confidence_interval against independent truth:
itertools enumeration, scipy.stats.permutation_test, least squares, and null uniformity."""

import itertools
import sys
import types

import numpy as np
import pytest
from scipy import stats

import netexp as ne
from netexp._executor import design_draws
from netexp.inference import randomization_confidence_interval, randomization_test


def _dim(y, z):
    return y[z].mean() - y[~z].mean()


def _enum_p(values, weights, t, alternative):
    """p-value by brute force from (value, weight) pairs; two-sided centred at the weighted mean."""
    values, weights = np.asarray(values), np.asarray(weights)
    weights = weights / weights.sum()
    if alternative == "greater":
        hit = values >= t - 1e-9
    elif alternative == "less":
        hit = values <= t + 1e-9
    else:
        c = weights @ values
        hit = np.abs(values - c) >= abs(t - c) - 1e-9
    return float(weights[hit].sum())


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("ties", [False, True])
def test_exact_complete_matches_itertools_count(alternative, ties):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 6).astype(float) if ties else rng.normal(size=6)
    z = np.array([1, 0, 1, 1, 0, 0], dtype=bool)
    vals = []
    for treated in itertools.combinations(range(6), 3):
        zz = np.zeros(6, bool)
        zz[list(treated)] = True
        vals.append(_dim(y, zz))
    want = _enum_p(vals, np.ones(len(vals)), _dim(y, z), alternative)
    res = randomization_test(y, z, ne.Complete(6, n_treated=3), alternative=alternative, rng=0)
    assert res.method == "exact enumeration over 20 assignments"
    assert res.exact and res.n_draws == 20
    assert res.p_value == pytest.approx(want, abs=1e-12)
    assert res.observed == pytest.approx(_dim(y, z))


def test_exact_cluster_design_matches_itertools():
    labels = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4])
    design = ne.ClusterRandomized(labels, n_treated=2)
    rng = np.random.default_rng(5)
    y = rng.normal(size=9)
    zc_obs = np.array([1, 0, 0, 1, 0], dtype=bool)
    z = zc_obs[labels]
    vals_unit, vals_cl = [], []
    for treated in itertools.combinations(range(5), 2):
        zc = np.zeros(5, bool)
        zc[list(treated)] = True
        zz = zc[labels]
        vals_unit.append(_dim(y, zz))
        means = np.array([y[labels == c].mean() for c in range(5)])
        vals_cl.append(means[zc].mean() - means[~zc].mean())
    means = np.array([y[labels == c].mean() for c in range(5)])
    t_cl = means[zc_obs].mean() - means[~zc_obs].mean()
    r1 = randomization_test(y, z, design, rng=0)
    assert r1.n_draws == 10
    assert r1.p_value == pytest.approx(_enum_p(vals_unit, np.ones(10), _dim(y, z), "two-sided"), abs=1e-12)
    r2 = randomization_test(y, z, design, statistic="cluster-difference-in-means", alternative="greater", rng=0)
    assert r2.observed == pytest.approx(t_cl)
    assert r2.p_value == pytest.approx(_enum_p(vals_cl, np.ones(10), t_cl, "greater"), abs=1e-12)
    # a plain permutation of units would give a different (wrong) null: 84 assignments, not 10
    assert np.unique(np.round(r1.null_distribution, 10)).size <= 10


def test_exact_bernoulli_weights_and_empty_arms():
    """Bernoulli(p=0.3): weighted support, draws with an empty arm left out (conditional test)."""
    rng = np.random.default_rng(2)
    y = rng.normal(size=5)
    z = np.array([1, 0, 0, 1, 0], dtype=bool)
    vals, ws = [], []
    for bits in itertools.product((0, 1), repeat=5):
        zz = np.array(bits, dtype=bool)
        if 0 < zz.sum() < 5:
            vals.append(_dim(y, zz))
            ws.append(0.3 ** zz.sum() * 0.7 ** (5 - zz.sum()))
    res = randomization_test(y, z, ne.Bernoulli(5, p=0.3), alternative="greater", rng=0)
    assert res.n_undefined == 2 and res.n_draws == 32
    assert res.weights.sum() == pytest.approx(1.0)
    assert res.p_value == pytest.approx(_enum_p(vals, ws, _dim(y, z), "greater"), abs=1e-12)


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
@pytest.mark.parametrize("statistic", ["difference-in-means", "studentized"])
def test_complete_design_equals_scipy_permutation_test(alternative, statistic):
    """Complete(8, 4): both exact. Two-sided agrees too: with equal arms the null distribution is
    symmetric about 0 (swapping arms negates T), so P(|T - 0| >= |t|) = 2 min(p_less, p_greater)."""
    rng = np.random.default_rng(11)
    y = rng.exponential(size=8)
    z = np.array([1, 1, 0, 1, 0, 0, 1, 0], dtype=bool)
    if statistic == "difference-in-means":
        def f(a, b, axis):
            return a.mean(axis=axis) - b.mean(axis=axis)
    else:
        def f(a, b, axis):
            return stats.ttest_ind(a, b, equal_var=False, axis=axis).statistic
    ref = stats.permutation_test((y[z], y[~z]), f, permutation_type="independent", alternative=alternative,
                                 n_resamples=np.inf, vectorized=True)
    res = randomization_test(y, z, ne.Complete(8, n_treated=4), statistic=statistic, alternative=alternative, rng=0)
    assert res.n_draws == 70
    assert res.observed == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_regression_statistic_is_the_ols_coefficient():
    rng = np.random.default_rng(4)
    n = 30
    X = rng.normal(size=(n, 2))
    design = ne.Complete(n, n_treated=15)
    z = design.sample(rng=1)
    y = X @ [1.0, -2.0] + 0.5 * z + rng.normal(size=n)
    res = randomization_test(y, z, design, statistic="regression", covariates=X, n_draws=50, rng=7)
    D = np.column_stack([np.ones(n), z, X])
    assert res.observed == pytest.approx(np.linalg.lstsq(D, y, rcond=None)[0][1], rel=1e-10)
    draws = design_draws(design, 50, 7)             # the test's own null draws for rng=7
    want = [np.linalg.lstsq(np.column_stack([np.ones(n), d, X]), y, rcond=None)[0][1] for d in draws]
    np.testing.assert_allclose(res.null_distribution, want, rtol=1e-9)
    # under a constant-effect null the imputed outcomes are y - tau z + tau z*
    tau = 0.7
    r2 = randomization_test(y, z, design, statistic="regression", covariates=X, n_draws=50, rng=7, null_effect=tau)
    want2 = [np.linalg.lstsq(np.column_stack([np.ones(n), d, X]), y - tau * z + tau * d, rcond=None)[0][1]
             for d in draws]
    np.testing.assert_allclose(r2.null_distribution, want2, rtol=1e-9)


def test_callable_statistic_and_imputation_agree_with_linear_path():
    rng = np.random.default_rng(8)
    design = ne.Complete(40, n_treated=20)
    z = design.sample(rng=0)
    y = rng.normal(size=40) + z

    def dim(Z, Y):
        Zf = Z.astype(float)
        if Y.ndim == 1:
            return Zf @ Y / Zf.sum(1) - (1 - Zf) @ Y / (1 - Zf).sum(1)
        return (Zf * Y).sum(1) / Zf.sum(1) - ((1 - Zf) * Y).sum(1) / (1 - Zf).sum(1)

    for tau in (0.0, 1.3):
        a = randomization_test(y, z, design, statistic=dim, n_draws=300, rng=3, null_effect=tau)
        b = randomization_test(y, z, design, n_draws=300, rng=3, null_effect=tau)
        np.testing.assert_allclose(a.null_distribution, b.null_distribution, atol=1e-12)
        assert a.p_value == b.p_value
    assert a.statistic == "dim"


@pytest.mark.parametrize("case", ["complete", "cluster", "bernoulli-studentized", "shifted-null"])
def test_pvalues_uniform_under_sharp_null(case):
    """300 seeded replications: fixed skewed outcomes, assignment redrawn from the design each time.
    Monte Carlo p-values (199 draws) live on {1/200, ..., 1}; the KS distance of that grid from
    U(0,1) is <= 1/200, far below the 300-sample critical distance (~0.078). Tolerance: KS p > 0.001."""
    rng = np.random.default_rng(100)
    n = 30
    y0 = rng.exponential(size=n) ** 2
    stat, tau = "difference-in-means", 0.0
    if case == "complete":
        design = ne.Complete(n, n_treated=12)
    elif case == "cluster":
        design = ne.ClusterRandomized(np.repeat(np.arange(10), 3), n_treated=5)
        stat = "cluster-difference-in-means"
    elif case == "bernoulli-studentized":
        design, stat = ne.Bernoulli(n, p=0.4), "studentized"
    else:
        design, tau = ne.Complete(n, n_treated=15), 2.5
    ps = []
    for rep in range(300):
        z = design.sample(rng=10_000 + rep)
        y = y0 + tau * z
        ps.append(randomization_test(y, z, design, statistic=stat, n_draws=199, rng=rep, null_effect=tau,
                                     exact=False).p_value)
    ps = np.array(ps)
    assert stats.kstest(ps, "uniform").pvalue > 0.001
    assert abs(np.mean(ps <= 0.05) - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 300) + 1e-12


def test_reproducible_and_frozen():
    design = ne.Complete(50, n_treated=25)
    z = design.sample(rng=0)
    y = np.random.default_rng(1).normal(size=50)
    a = randomization_test(y, z, design, n_draws=500, rng=9)
    b = randomization_test(y, z, design, n_draws=500, rng=9)
    assert a.p_value == b.p_value and np.array_equal(a.null_distribution, b.null_distribution)
    assert a.method == "Monte Carlo: (count+1)/(n_draws+1) over 500 design draws"
    with pytest.raises(Exception):
        a.p_value = 0.0
    with pytest.raises(ValueError):
        a.null_distribution[0] = 1.0
    assert "p-value" in a.summary() and set(a.to_dict()) >= {"p_value", "observed", "method"}
    assert "<div>" in a._repr_html_()
    # p-value identity: (count + 1) / (R + 1), two-sided around the mean of draws and observation
    c = (a.null_distribution.sum() + a.observed) / 501
    count = np.sum(np.abs(a.null_distribution - c) >= abs(a.observed - c) - 1e-9 * np.abs(a.null_distribution).max())
    assert a.p_value == (count + 1) / 501


def test_plot_delegates_to_plots_module(monkeypatch):
    seen = {}
    fake = types.ModuleType("netexp.plots")
    fake.plot_randomization_test = lambda result, ax=None: seen.setdefault("args", (result, ax))
    monkeypatch.setitem(sys.modules, "netexp.plots", fake)
    monkeypatch.setattr(ne, "plots", fake, raising=False)
    res = randomization_test(np.arange(6.0), [1, 1, 1, 0, 0, 0], ne.Complete(6, n_treated=3))
    res.plot(ax="AX")
    assert seen["args"] == (res, "AX")


def test_errors():
    design = ne.Complete(6, n_treated=3)
    y, z = np.arange(6.0), np.array([1, 1, 1, 0, 0, 0])
    with pytest.raises(ne.InputError, match="design assigns 6 units"):
        randomization_test(y[:5], z[:5], design)
    with pytest.raises(ne.InputError, match="statistic must be one of"):
        randomization_test(y, z, design, statistic="median")
    with pytest.raises(ne.InputError, match="alternative"):
        randomization_test(y, z, design, alternative="both")
    with pytest.raises(ne.DesignError, match="partly treated"):
        randomization_test(y, z, design, statistic="cluster-difference-in-means", clusters=[0, 0, 1, 1, 2, 2])
    with pytest.raises(ne.DesignError, match="cannot enumerate"):
        randomization_test(np.zeros(30), np.r_[np.ones(15), np.zeros(15)], ne.Complete(30, n_treated=15), exact=True)
    with pytest.raises(ne.DesignError, match="probability 0"):
        randomization_test(y, [1, 1, 0, 0, 0, 0], design)
    with pytest.raises(ne.InputError, match="collinear"):
        randomization_test(y, z, design, statistic="regression", covariates=np.ones(6))


# ------------------------------------------------------------------ confidence intervals
def test_exact_inversion_matches_brute_force_grid():
    """The exact interval equals the set of effects a brute-force itertools test keeps."""
    rng = np.random.default_rng(6)
    y = rng.normal(size=8)
    z = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=bool)
    ci = randomization_confidence_interval(y, z, ne.Complete(8, n_treated=4), confidence_level=0.9)
    assert "exact enumeration over 70" in ci.method and np.isfinite([ci.low, ci.high]).all()
    supp = []
    for t in itertools.combinations(range(8), 4):
        zz = np.zeros(8, bool)
        zz[list(t)] = True
        supp.append(zz)
    t_obs = _dim(y, z)

    def p_at(tau):
        y0 = y - tau * z
        return _enum_p([_dim(y0 + tau * zz, zz) for zz in supp], np.ones(70), t_obs, "two-sided")

    grid = np.linspace(ci.low - 2, ci.high + 2, 301)
    keep = np.array([p_at(t) > 0.1 + 1e-12 for t in grid])
    inside = (grid > ci.low + 1e-9) & (grid < ci.high - 1e-9)
    outside = (grid < ci.low - 1e-9) | (grid > ci.high + 1e-9)
    assert keep[inside].all() and not keep[outside].any()


def test_inversion_coverage_by_simulation():
    """200 replications at 90%: coverage within 3 binomial sd (0.021) of 0.90 (Monte Carlo tests of
    199 draws are exact, so the interval covers at least at the nominal rate)."""
    design = ne.Complete(30, n_treated=15)
    hits = 0
    for rep in range(200):
        r = np.random.default_rng(rep)
        z = design.sample(rng=r)
        y = r.standard_t(3, size=30) + 1.5 * z
        ci = randomization_confidence_interval(y, z, design, confidence_level=0.9, n_draws=199, rng=r)
        hits += ci.covers(1.5)
    sd = np.sqrt(0.9 * 0.1 / 200)
    assert 0.9 - 3 * sd <= hits / 200 <= 0.9 + 3 * sd


def test_studentized_interval_endpoints_are_test_boundaries():
    design = ne.Complete(24, n_treated=12)
    z = design.sample(rng=3)
    y = np.random.default_rng(4).normal(size=24) + 1.0 * z
    ci = randomization_confidence_interval(y, z, design, statistic="studentized", n_draws=400, rng=5)
    assert "brentq" in ci.method and ci.low < 1.0 < ci.high
    lin = randomization_confidence_interval(y, z, design, n_draws=400, rng=5)
    assert abs(ci.low - lin.low) < 0.5 and abs(ci.high - lin.high) < 0.5
    # just outside the endpoints the test rejects; inside it does not (same draws: common seed)
    seed = int(np.random.default_rng(5).integers(0, 2**63 - 1))

    def p(tau):
        return randomization_test(y, z, design, statistic="studentized", n_draws=400, rng=seed, null_effect=tau,
                                  exact=False).p_value

    eps = 1e-3 * (ci.high - ci.low)
    assert p(ci.low - eps) <= 0.05 < p(ci.low + eps)
    assert p(ci.high + eps) <= 0.05 < p(ci.high - eps)


# ------------------------------------------------------------------ design-based (HT / Hajek) statistics
def _estimator(kind):
    return ne.horvitz_thompson if kind == "horvitz-thompson" else ne.hajek


def _loop_estimates(kind, y, graph, mapping, probs, Z, contrast, units=None):
    """The statistic draw by draw with the public estimator (the independent truth)."""
    import warnings

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)   # empty level (Hajek nan), no joints
        for zz in Z:
            lv = mapping.map(graph, zz)
            out.append(_estimator(kind)(y, lv, probs, contrasts=[contrast], units=units)[0].estimate)
    return np.array(out)


@pytest.mark.parametrize("kind", ["horvitz-thompson", "hajek"])
@pytest.mark.parametrize("case", ["cluster-full-neighbourhood", "bernoulli-aronow-samii-units"])
def test_exposure_statistic_null_draws_equal_estimator_loop(kind, case):
    """Monte Carlo: every null value equals the public estimator at the same design draw
    (draws re-created from the same seed and batch sizes: 64 + 64 + 22)."""
    g = ne.erdos_renyi(60, mean_degree=3, rng=1)
    if case == "cluster-full-neighbourhood":
        design = ne.ClusterRandomized(ne.three_net(g, rng=2), p=0.5)
        mapping, contrast, units = ne.FullNeighborhood(), ("treated", "control"), None
    else:
        design = ne.Bernoulli(60, p=0.4)
        mapping, contrast = ne.AronowSamii(), ("direct_indirect", "no_exposure")
    probs = ne.exposure_probabilities(g, design, mapping, method="exact")   # independent of the test's own
    if contrast[0] != "treated":      # positivity holds on a subset only (isolated units): pass that subset
        P = probs.marginal
        units = (P[:, 0] > 0) & (P[:, 3] > 0) & (np.arange(60) >= 5)
        assert 30 < units.sum() < 55
    z = design.sample(rng=3)
    y = np.random.default_rng(4).normal(size=60) + 1.5 * z
    res = randomization_test(y, z, design, statistic=kind, graph=g, mapping=mapping, contrast=contrast, units=units,
                             n_draws=150, rng=7, batch_size=64, exact=False)
    Z = design_draws(design, 150, 7)    # the seeded blocks of rng=7 (batch_size does not change them)
    want = _loop_estimates(kind, y, g, mapping, probs, Z, contrast, units)
    ok = np.isfinite(want)
    assert res.n_draws == 150 and res.n_undefined == int((~ok).sum())
    np.testing.assert_allclose(res.null_distribution, want[ok], rtol=1e-12, atol=1e-12)
    obs = _loop_estimates(kind, y, g, mapping, probs, z[None, :], contrast, units)[0]
    assert res.observed == pytest.approx(obs, rel=1e-12, abs=1e-12)
    assert res.statistic == f"{kind}: Y({contrast[0]}) - Y({contrast[1]})"
    # p-value: the Monte Carlo identity over the same values
    c = (want[ok].sum() + obs) / (ok.sum() + 1)
    count = np.sum(np.abs(want[ok] - c) >= abs(obs - c) - 1e-9 * max(abs(obs), np.abs(want[ok]).max(), abs(c)))
    assert res.p_value == (count + 1) / (ok.sum() + 1)
    # given probabilities are used as is (same values)
    res2 = randomization_test(y, z, design, statistic=kind, graph=g, mapping=mapping, contrast=contrast,
                              units=units, probabilities=probs, n_draws=150, rng=7, batch_size=64, exact=False)
    np.testing.assert_allclose(res2.null_distribution, res.null_distribution, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["horvitz-thompson", "hajek"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("case", ["complete-cycle", "bernoulli-er"])
def test_exposure_statistic_exact_pvalue_matches_enumeration(kind, alternative, case):
    """Exact enumeration: p-value = brute-force weighted count over design.enumerate(), each
    assignment's statistic from the public estimator."""
    if case == "complete-cycle":
        n = 8
        g = ne.Graph.from_edges(range(n), [(i + 1) % n for i in range(n)])
        design = ne.Complete(n, n_treated=4)
    else:
        n = 7
        g = ne.erdos_renyi(n, mean_degree=2, rng=5)
        design = ne.Bernoulli(n, p=0.3)
    mapping = ne.FullNeighborhood()
    probs = ne.exposure_probabilities(g, design, mapping, method="exact")
    Zs, w = design.enumerate()
    both = [k for k, zz in enumerate(Zs) if w[k] > 0 and {0, 1} <= set(mapping.map(g, zz).tolist())]
    z = Zs[both[len(both) // 3]]                 # an assignment with units at both levels (Hajek defined)
    y = np.random.default_rng(6).normal(size=n) + z
    res = randomization_test(y, z, design, statistic=kind, graph=g, mapping=mapping, alternative=alternative, rng=0)
    assert res.exact and res.method == f"exact enumeration over {Zs.shape[0]} assignments"
    vals = _loop_estimates(kind, y, g, mapping, probs, Zs, ("treated", "control"))
    ok = np.isfinite(vals) & (w > 0)
    obs = _loop_estimates(kind, y, g, mapping, probs, z[None, :], ("treated", "control"))[0]
    assert res.observed == pytest.approx(obs, rel=1e-12)
    assert res.p_value == pytest.approx(_enum_p(vals[ok], w[ok], obs, alternative), abs=1e-12)
    assert res.n_undefined == int(np.isnan(vals).sum())


def test_exposure_statistic_monte_carlo_probabilities_keep_null_draws():
    """A design without closed-form exposure probabilities: they are estimated by Monte Carlo from a
    spawned child of rng, which leaves the null draws as they would be without it."""
    g = ne.erdos_renyi(40, mean_degree=2, rng=0)
    design = ne.Stratified(np.repeat([0, 1], 20), p=0.5)
    mapping = ne.FullNeighborhood()
    z = design.sample(rng=1)
    y = np.random.default_rng(2).normal(size=40) + z
    P = ne.exposure_probabilities(g, design, mapping, n_draws=2000, rng=0).marginal
    units = (P[:, 0] > 0.05) & (P[:, 1] > 0.05)
    a = randomization_test(y, z, design, statistic="hajek", graph=g, mapping=mapping, units=units, n_draws=50,
                           rng=3, exact=False)
    b = randomization_test(y, z, design, statistic="hajek", graph=g, mapping=mapping, units=units, n_draws=50,
                           rng=3, exact=False)
    assert np.array_equal(a.null_distribution, b.null_distribution) and a.p_value == b.p_value
    probs = ne.exposure_probabilities(g, design, mapping, method="monte-carlo", joint=False,
                                      rng=np.random.default_rng(3).spawn(1)[0])
    assert not probs.exact
    Z = design_draws(design, 50, np.random.default_rng(3))            # the null draws of rng=3
    want = _loop_estimates("hajek", y, g, mapping, probs, Z, ("treated", "control"), units)
    np.testing.assert_allclose(a.null_distribution, want[np.isfinite(want)], rtol=1e-12, atol=1e-12)


def test_exposure_statistic_errors():
    g = ne.Graph.from_edges([0, 0, 0, 0, 0], [1, 2, 3, 4, 5])        # a star: the hub sees everyone
    design = ne.Complete(6, n_treated=3)
    z = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    y = np.arange(6.0)
    kw = dict(statistic="horvitz-thompson", graph=g, mapping=ne.FullNeighborhood())
    with pytest.raises(ne.ExposureError, match="positivity fails"):
        randomization_test(y, z, design, **kw)                         # hub can never be fully treated
    res = randomization_test(y, z, design, units=np.arange(1, 6), **kw)
    assert res.exact and 0 < res.p_value <= 1
    with pytest.raises(ne.InputError, match="no unique meaning"):
        randomization_test(y, z, design, null_effect=1.0, units=np.arange(1, 6), **kw)
    with pytest.raises(ne.InputError, match="needs graph="):
        randomization_test(y, z, design, statistic="hajek", mapping=ne.FullNeighborhood())
    with pytest.raises(ne.InputError, match="needs mapping="):
        randomization_test(y, z, design, statistic="hajek", graph=g)
    with pytest.raises(ne.InputError, match="level must be one of"):
        randomization_test(y, z, design, contrast=("treated", "nobody"), units=np.arange(1, 6), **kw)
    with pytest.raises(ne.InputError, match="used only by the exposure statistics"):
        randomization_test(y, z, design, graph=g)
    with pytest.raises(ne.InputError, match="graph has 6 units but y and z have 5"):
        randomization_test(y[:5], z[:5], ne.Complete(5, n_treated=2), statistic="hajek",
                           graph=g, mapping=ne.FullNeighborhood())
    with pytest.raises(ne.InputError, match="no unique meaning"):
        randomization_confidence_interval(y, z, design, statistic="hajek")
