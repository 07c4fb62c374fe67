"""The notebook's lessons: against statsmodels, scipy, the notebook's printed values and exact identities."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

import netexp as ne
from netexp.diagnostics import (blocking_precision, regression_adjustment_comparison, repeated_randomization,
                                segment_effects, targeted_vs_randomized)
from netexp.diagnostics._lessons import adjust_p_values
from netexp.simulate import HeterogeneousPopulation


@pytest.fixture(scope="module")
def population():
    return HeterogeneousPopulation().realize(20_000, rng=10)


@pytest.fixture(scope="module")
def experiment(population):
    z = ne.Complete(20_000, p=0.5).sample(rng=101)
    return z, population.outcomes(z)


@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh"])
def test_adjustment_equals_statsmodels(method):
    p = np.random.default_rng(0).uniform(0, 0.2, 12) ** 2
    np.testing.assert_allclose(adjust_p_values(p, method), multipletests(p, method=method)[1], rtol=1e-12)


def test_segment_effects_against_scipy_and_statsmodels(population, experiment):
    z, y = experiment
    seg = population.covariates["segment"].astype(str).to_numpy()
    t = segment_effects(y, z, seg, adjust="holm", truth=population.segment_effects)
    for row in t.itertuples():
        m = seg == row.segment
        want = stats.ttest_ind(y[m & z], y[m & ~z], equal_var=False)
        assert row.estimate == pytest.approx(y[m & z].mean() - y[m & ~z].mean(), rel=1e-12)
        assert row.p_value == pytest.approx(want.pvalue, rel=1e-9)
        assert abs(row.estimate - row.truth) < 4 * row.std_error
    np.testing.assert_allclose(t["p_adjusted"], multipletests(t["p_value"], method="holm")[1], rtol=1e-12)
    with pytest.warns(ne.EstimationWarning, match="false positive"):
        segment_effects(y, z, seg, adjust="none")


def test_regression_comparison_equals_statsmodels_hc1(population, experiment):
    z, y = experiment
    cov = population.covariates
    X = pd.DataFrame({"lu": np.log1p(cov["prior_usage"]), "age": cov["account_age"],
                      "team": cov["is_team_account"].astype(float),
                      "seg_mature": (cov["segment"] == "mature").astype(float),
                      "seg_new": (cov["segment"] == "new").astype(float)})
    ours = regression_adjustment_comparison(y, z, X).set_index("model")
    zf = z.astype(float)
    Xc = X - X.mean()
    fits = {
        "unadjusted": sm.OLS(y, sm.add_constant(zf)).fit(cov_type="HC1"),
        "additive": sm.OLS(y, sm.add_constant(np.column_stack([zf, X]))).fit(cov_type="HC1"),
        "interacted (Lin)": sm.OLS(y, sm.add_constant(np.column_stack([zf, Xc, zf[:, None] * Xc]))).fit(
            cov_type="HC1"),
    }
    for name, f in fits.items():
        assert ours.loc[name, "estimate"] == pytest.approx(f.params[1], rel=1e-10)
        assert ours.loc[name, "std_error"] == pytest.approx(f.bse[1], rel=1e-8)
        assert ours.loc[name, "r_squared"] == pytest.approx(f.rsquared, rel=1e-8)
    # categorical input gives the same adjusted estimates as explicit dummies
    cat = pd.DataFrame({"lu": X["lu"], "age": X["age"], "team": X["team"], "segment": cov["segment"]})
    ours2 = regression_adjustment_comparison(y, z, cat).set_index("model")
    np.testing.assert_allclose(ours2["estimate"], ours["estimate"], rtol=1e-10)


def test_targeted_decomposition_and_notebook_values(population):
    t = targeted_vs_randomized(population, rng=101).set_index("assignment")
    # the notebook prints the targeted estimate 7.636 against a true ATE of 2.327
    assert t.loc["targeted", "estimate"] == pytest.approx(7.636, abs=5e-4)
    assert t.loc["targeted", "truth"] == pytest.approx(2.3273, abs=5e-4)
    # exact identity: estimate = selection bias + effect among treated
    np.testing.assert_allclose(t["estimate"], t["selection_bias"] + t["effect_among_treated"], rtol=1e-12)
    # without interference the second term is the ATT of the targeted units
    cov = population.covariates
    score = 0.9 * np.log1p(cov["prior_usage"]) + 0.05 * cov["account_age"] + 0.6 * cov["is_team_account"]
    zt = (score >= np.quantile(score, 0.5)).to_numpy()
    assert t.loc["targeted", "effect_among_treated"] == pytest.approx(population.tau[zt].mean(), rel=1e-10)


def test_repeated_randomization_unbiased():
    po = HeterogeneousPopulation().realize(1000, rng=2)
    rr = repeated_randomization(ne.Complete(1000, p=0.5), po, n_draws=1500, rng=0)
    assert rr.truth == pytest.approx(np.mean(po.tau))
    assert abs(rr.bias) < 4 * rr.bias_mc_se
    assert rr.n_draws == 1500 and "randomization SD" in rr.to_frame()["quantity"].tolist()


def test_blocking_reduces_variance_by_the_closed_form():
    po = HeterogeneousPopulation().realize(3000, rng=4)
    dx = blocking_precision(po, "segment", n_sims=1500, rng=1)
    sd = dx.compare("sd")
    se = dx.compare("sd_mc_se")
    # exact randomization variances (Imbens & Rubin 2015, ch. 6 and 9) from the known potential outcomes
    seg = po.covariates["segment"].astype(str).to_numpy()
    y1, y0 = po.y1, po.y0

    def v_complete(a, b, n1, n0):
        return a.var(ddof=1) / n1 + b.var(ddof=1) / n0 - (a - b).var(ddof=1) / (n1 + n0)

    v_block = 0.0
    for s in np.unique(seg):
        m = seg == s
        ns = m.sum()
        v_block += (ns / 3000) ** 2 * v_complete(y1[m], y0[m], ns / 2, ns / 2)
    v_c = v_complete(y1, y0, 1500, 1500)
    assert sd.loc["complete", "difference in means"] == pytest.approx(np.sqrt(v_c), abs=4 * se.loc["complete", "difference in means"])
    assert sd.loc["blocked", "stratified"] == pytest.approx(np.sqrt(v_block), abs=4 * se.loc["blocked", "stratified"])
    assert np.sqrt(v_block) < np.sqrt(v_c)


def test_stratified_difference_in_means_equals_groupby_computation():
    import pandas as pd

    import netexp as ne

    rng = np.random.default_rng(7)
    strata = rng.choice(["a", "b", "c"], size=300, p=[0.5, 0.3, 0.2])
    z = ne.Stratified(strata).sample(rng=1)
    y = rng.normal(size=300) + 0.5 * z + (strata == "b") * 2.0
    df = pd.DataFrame({"s": strata, "z": z, "y": y})
    g = df.groupby(["s", "z"]).y.agg(["mean", "var", "size"]).unstack("z")
    w = df.groupby("s").size() / len(df)
    est = (w * (g["mean"][True] - g["mean"][False])).sum()
    var = (w**2 * (g["var"][True] / g["size"][True] + g["var"][False] / g["size"][False])).sum()
    e = ne.stratified_difference_in_means(y, z, strata)
    assert e.estimate == pytest.approx(est, rel=1e-12)
    assert e.std_error == pytest.approx(np.sqrt(var), rel=1e-12)


def test_segment_adjustment_names_agree_with_adjust_pvalues():
    import netexp as ne
    from netexp.diagnostics._lessons import adjust_p_values

    p = np.array([0.001, 0.02, 0.04, 0.3, 0.013])
    assert np.array_equal(adjust_p_values(p, "fdr_bh"), ne.adjust_pvalues(p, method="bh")[0])
    assert np.array_equal(adjust_p_values(p, "bh"), ne.adjust_pvalues(p, method="bh")[0])
    assert np.array_equal(adjust_p_values(p, "none"), p)
