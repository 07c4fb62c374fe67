"""SRM and balance across k arms, checked against scipy.stats.chisquare and f_oneway."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netexp as ne
from netexp import InputError


def test_srm_matches_scipy_chisquare():
    z = np.array(["a"] * 330 + ["b"] * 280 + ["c"] * 390)
    r = ne.multiarm_srm_test(z, prob_each=(0.3, 0.3, 0.4), arms=("a", "b", "c"))
    ref = stats.chisquare([330, 280, 390], [300, 300, 400])
    assert (r.chi2, r.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    assert r.df == 2 and r.observed == (330, 280, 390)


def test_srm_with_design_and_lost_units_flagged():
    design = ne.MultiArmComplete(9000, prob_each=(0.5, 0.25, 0.25), arms=("control", "a", "b"))
    z = design.sample(rng=0)
    keep = np.ones(9000, bool)
    keep[np.flatnonzero(z == 1)[:300]] = False                    # 300 of arm a's units lost
    r = ne.multiarm_srm_test(z[keep], design=design)
    ref = stats.chisquare(np.bincount(z[keep], minlength=3), keep.sum() * np.array([0.5, 0.25, 0.25]))
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert r.mismatch and "'a'" in r.message
    assert not ne.multiarm_srm_test(z, design=design).mismatch
    with pytest.raises(InputError, match="exactly one"):
        ne.multiarm_srm_test(z)


def test_balance_against_scipy():
    gen = np.random.default_rng(0)
    X = pd.DataFrame({"age": gen.normal(40, 10, 90), "plan": gen.choice(["free", "pro"], 90)})
    z = ne.MultiArmComplete(90, num_arms=3).sample(rng=1)
    tab = ne.multiarm_balance(X, z, arms=("T1", "T2", "T3")).set_index("covariate")
    age = X["age"].to_numpy()
    assert tab.loc["age", "f_p_value"] == pytest.approx(stats.f_oneway(*[age[z == a] for a in range(3)]).pvalue)
    sd = np.sqrt((age[z == 2].var(ddof=1) + age[z == 0].var(ddof=1)) / 2)
    assert tab.loc["age", "std_diff[T3]"] == pytest.approx((age[z == 2].mean() - age[z == 0].mean()) / sd)
    assert tab.loc["age", "mean[T2]"] == pytest.approx(age[z == 1].mean())
