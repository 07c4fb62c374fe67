"""Sample ratio mismatch: statistics against scipy, the lost-units test, cluster level, errors."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netexp as ne
from tests.diagnostics._doubles import CoinDesign
from netexp.diagnostics import SRMResult, srm_test




# ------------------------------------------------------------------ goodness of fit vs scipy
@pytest.mark.parametrize("observed, expected, f_exp", [
    ((5188, 4812), 0.5, (5000, 5000)),
    ((120, 80), (0.7, 0.3), (140, 60)),                     # unequal planned shares
    ((120, 80), (700, 300), (140, 60)),                     # planned counts become shares
    ((913, 87), {"treated": 0.1, "control": 0.9}, (900, 100)),
    ((50, 50), 0.5, (50, 50)),                              # perfect match
    ((3, 17), 0.25, (15, 5)),
])
def test_goodness_of_fit_equals_scipy_chisquare(observed, expected, f_exp):
    r = srm_test(observed=observed, expected=expected)
    ref = stats.chisquare(observed, f_exp=f_exp)
    assert r.method == "goodness of fit" and r.df == 1 and r.level == "units"
    assert r.chi2 == pytest.approx(ref.statistic, rel=1e-12, abs=1e-12)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert r.expected == pytest.approx(f_exp, rel=1e-12)
    assert r.observed == observed
    assert r.mismatch == (ref.pvalue < 0.001)


def test_observed_from_z_and_value_counts_agree():
    z = np.r_[np.ones(480, bool), np.zeros(520, bool)]
    a = srm_test(z, expected=0.5)
    b = srm_test(observed=pd.Series(z).value_counts(), expected=0.5)  # mapping with keys True/False
    c = srm_test(observed={0: 520, 1: 480}, expected=0.5)
    assert a.observed == b.observed == c.observed == (520, 480)
    assert a.chi2 == b.chi2 == c.chi2


def test_bernoulli_design_expected_counts_are_sum_of_probabilities():
    p = np.r_[np.full(600, 0.2), np.full(400, 0.6)]         # unequal probabilities
    design = CoinDesign(p)
    z = design.sample(rng=3)
    r = srm_test(z, design=design)
    assert r.expected[1] == pytest.approx(p.sum(), rel=1e-12)
    assert r.expected[0] == pytest.approx(1000 - p.sum(), rel=1e-12)
    ref = stats.chisquare([1000 - z.sum(), z.sum()], f_exp=[1000 - p.sum(), p.sum()])
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    # analyzed subset: planned share is the design's mean probability
    r2 = srm_test(z[:900], design=design)
    ref2 = stats.chisquare([900 - z[:900].sum(), z[:900].sum()], f_exp=[900 * (1 - p.mean()), 900 * p.mean()])
    assert r2.chi2 == pytest.approx(ref2.statistic, rel=1e-12)
    assert "Analyzed 900 of the design's 1,000 units" in r2.message


def test_bernoulli_srm_false_alarm_rate():
    # counts of a Bernoulli design are binomial: false alarms at about alpha
    design = ne.Bernoulli(500, p=0.3)
    Z = design.sample_many(2000, rng=11)
    p = np.array([srm_test(z, design=design, alpha=0.05).p_value for z in Z])
    lo, hi = stats.binom.interval(0.999, 2000, 0.05)
    assert lo <= (p < 0.05).sum() <= hi


# ------------------------------------------------------------------ designs that fix the count
def test_complete_full_assignment_cannot_fail():
    design = ne.Complete(10_000)
    r = srm_test(design.sample(rng=0), design=design)
    assert r.chi2 == 0 and r.p_value == 1 and not r.mismatch
    assert r.method == "lost units" and r.planned == (5000, 5000)
    assert "cannot fail here" in r.message


def test_lost_units_equals_scipy_contingency_table():
    design = ne.Complete(2000, n_treated=600)
    z = design.sample(rng=1)
    gen = np.random.default_rng(2)
    keep = gen.random(2000) > np.where(z, 0.08, 0.05)          # treated lost more often
    r = srm_test(z[keep], design=design)
    o1 = int(z[keep].sum())
    o0 = int(keep.sum()) - o1
    table = [[o0, 1400 - o0], [o1, 600 - o1]]                   # arm x (analyzed, lost)
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert r.method == "lost units" and dof == 1
    assert r.chi2 == pytest.approx(chi2, rel=1e-10)
    assert r.p_value == pytest.approx(p, rel=1e-8)
    assert r.planned == (1400, 600)
    assert r.expected == pytest.approx((keep.sum() * 0.7, keep.sum() * 0.3), rel=1e-12)
    assert f"{1400 - o0 + 600 - o1} units lost since assignment, {600 - o1} were treated" in r.message


def test_lost_units_detects_what_goodness_of_fit_misses():
    design = ne.Complete(10_000)
    z = design.sample(rng=0)
    keep = np.ones(10_000, bool)
    keep[np.flatnonzero(z)[:100]] = False                      # 100 treated units lost, no control unit
    r = srm_test(z[keep], design=design)
    gof = srm_test(z[keep], expected=0.5)
    assert r.mismatch and r.p_value < 1e-16
    assert not gof.mismatch and gof.p_value == pytest.approx(0.3149, abs=1e-3)
    assert r.chi2 == pytest.approx(gof.chi2 * 10_000 / 100, rel=1e-12)
    assert r.message.startswith("Sample ratio mismatch: 4,900 treated vs 4,950 expected (p < 1e-16 < 0.001).")


def test_lost_units_false_alarm_rate_under_random_loss():
    # loss that ignores the arm: the hypergeometric reference gives p-values close to uniform
    design = ne.Complete(1000, n_treated=400)
    z = design.sample(rng=5)
    gen = np.random.default_rng(6)
    ps = np.array([srm_test(z[gen.random(1000) > 0.1], design=design).p_value for _ in range(1000)])
    lo, hi = stats.binom.interval(0.999, 1000, 0.05)
    assert lo <= (ps < 0.05).sum() <= hi


def test_more_units_than_planned_is_impossible():
    design = ne.Complete(100)
    r = srm_test(observed=(50, 51), design=design)
    assert r.mismatch and r.p_value == 0 and r.method == "planned counts"
    assert "the design assigns exactly 50 control and 50 treated" in r.message
    z = np.zeros(100, bool)
    z[:49] = True                                               # full length but not a draw of the design
    assert srm_test(z, design=design).mismatch


def test_complete_with_random_extra_unit_uses_both_counts():
    design = ne.Complete(7)                                     # 3 or 4 treated
    assert not srm_test(observed=(4, 3), design=design).mismatch
    assert not srm_test(observed=(3, 4), design=design).mismatch
    assert srm_test(observed=(4, 4), design=design).mismatch


# ------------------------------------------------------------------ clusters
LABELS = np.repeat(np.arange(40), 25)


def test_cluster_design_counts_clusters():
    design = ne.ClusterRandomized(LABELS)
    z = design.sample(rng=0)
    r = srm_test(z, design=design)
    assert r.level == "clusters" and r.observed == (20, 20) and r.planned == (20, 20) and r.p_value == 1
    keep = ~np.isin(LABELS, np.unique(LABELS[z])[:6])          # lose 6 treated clusters entirely
    r = srm_test(z[keep], design=design, clusters=LABELS[keep])
    table = [[20, 0], [14, 6]]
    chi2, p, *_ = stats.chi2_contingency(table, correction=False)
    assert r.observed == (20, 14) and r.chi2 == pytest.approx(chi2, rel=1e-12) and r.p_value == pytest.approx(p)
    assert "treated clusters" in r.message


def test_cluster_bernoulli_design_goodness_of_fit_on_clusters():
    design = ne.ClusterRandomized(LABELS, ne.Bernoulli(40, p=0.25))
    z = design.sample(rng=4)
    r = srm_test(z, design=design)
    k1 = len(np.unique(LABELS[z]))
    ref = stats.chisquare([40 - k1, k1], f_exp=[30, 10])
    assert r.method == "goodness of fit" and r.chi2 == pytest.approx(ref.statistic, rel=1e-12)


def test_clusters_with_expected_shares():
    z = np.repeat([1, 0, 1, 0, 0], 3).astype(bool)
    r = srm_test(z, expected=0.5, clusters=np.repeat(list("abcde"), 3))
    assert r.level == "clusters" and r.observed == (3, 2)


def test_cluster_errors():
    design = ne.ClusterRandomized(LABELS)
    z = design.sample(rng=0)
    with pytest.raises(ne.InputError, match="pass clusters="):
        srm_test(z[:500], design=design)
    mixed = z.copy()
    mixed[0] = ~mixed[0]
    with pytest.raises(ne.InputError, match="1 clusters have units in both arms"):
        srm_test(mixed, design=design)
    with pytest.raises(ne.InputError, match="randomizes units"):
        srm_test(z, design=ne.Complete(1000), clusters=LABELS)
    with pytest.raises(ne.InputError, match="ambiguous with a cluster design"):
        srm_test(observed=(10, 10), design=design)
    with pytest.raises(ne.InputError, match="one label per analyzed unit"):
        srm_test(z, expected=0.5, clusters=LABELS[:10])


# ------------------------------------------------------------------ result type and errors
def test_result_views():
    r = srm_test(observed=(5188, 4812), expected=0.5)
    assert isinstance(r, SRMResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.p_value = 1.0
    df = r.to_frame()
    assert df.shape == (1, 13) and df.loc[0, "observed_treated"] == 4812 and bool(df.loc[0, "mismatch"])
    assert "Sample ratio mismatch: 4,812 treated vs 5,000 expected (p = 0.00017 < 0.001)" in r.summary()
    assert "<table" in r._repr_html_() and "Do not trust" in r._repr_html_()
    assert r.planned_share == 0.5 and r.observed_share == pytest.approx(0.4812)
    ok = srm_test(observed=(5010, 4990), expected=0.5)
    assert ok.message.startswith("No sample ratio mismatch: 4,990 treated vs 5,000 expected (p = 0.84 >= 0.001)")


@pytest.mark.parametrize("kwargs, match", [
    (dict(), "exactly one of them"),
    (dict(z=[0, 1], observed=(1, 1), expected=0.5), "exactly one of them"),
    (dict(observed=(1, 1)), "design= or as expected="),
    (dict(observed=(1, 1), expected=0.5, design=ne.Complete(2)), "design= or as expected="),
    (dict(observed=(1, 1), expected=1.5), r"expected \(planned treated share\) must be in \(0, 1\)"),
    (dict(observed=(1, 1), expected=(0, 1)), "must be positive"),
    (dict(observed=(1, 2, 3), expected=0.5), "two numbers"),
    (dict(observed={"treatment": 1, "control": 2}, expected=0.5), "unknown arm 'treatment'"),
    (dict(observed=(1.5, 2), expected=0.5), "non-negative integers"),
    (dict(observed=(0, 0), expected=0.5), "no analyzed units"),
    (dict(z=[[0, 1]], expected=0.5), "1-D"),
    (dict(z=[0, 2], expected=0.5), "only 0/1"),
    (dict(observed=(1, 1), expected=0.5, alpha=0), "alpha must be in"),
    (dict(observed=(1, 1), design="complete"), "must be a netexp Design"),
])
def test_errors(kwargs, match):
    with pytest.raises(ne.NetexpError, match=match):
        srm_test(**kwargs)


@pytest.mark.parametrize("make", [
    lambda: ne.Stratified(np.repeat(["a", "b", "c"], [100, 150, 50])),
    lambda: ne.Blocked(300, 4),
    lambda: ne.MatchedPairs(np.random.default_rng(3).normal(size=(300, 2))),
])
def test_lost_units_for_every_fixed_count_design(make):
    # designs that fix the planned arm totals get the lost-units test: arm x (analyzed, lost) table
    from scipy.stats import chi2_contingency

    d = make()
    z = d.sample(rng=4)
    keep = np.ones(z.shape[0], bool)
    keep[np.flatnonzero(z)[:9]] = False
    keep[np.flatnonzero(~z)[:2]] = False
    res = ne.srm_test(z[keep], design=d)
    assert res.method == "lost units"
    table = [[(~z[keep]).sum(), 2], [z[keep].sum(), 9]]
    ref = chi2_contingency(table, correction=False)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
