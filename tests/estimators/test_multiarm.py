"""Pairwise difference in means of a k-arm experiment: two-arm numbers, exact unbiasedness."""

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp import InputError


def test_each_comparison_is_the_two_arm_estimator_on_its_units():
    gen = np.random.default_rng(0)
    z = np.array(["c", "a", "b"] * 20)
    y = gen.normal(size=60) + (z == "a") * 0.5
    tab = ne.multiarm_difference_in_means(y, z, arms=("c", "a", "b"), comparisons="all")
    assert [e.estimand for e in tab] == ["a - c", "b - c", "b - a"]
    keep = (z == "a") | (z == "b")
    ref = ne.difference_in_means(y[keep], z[keep] == "b")
    e = tab["b - a"]
    assert (e.estimate, e.std_error, e.df) == pytest.approx((ref.estimate, ref.std_error, ref.df))
    # codes from a design map to its arm names; Series align by index
    codes = pd.Series(np.array([0, 1, 2] * 20), index=np.arange(60)[::-1])
    t2 = ne.multiarm_difference_in_means(pd.Series(y), codes, arms=("c", "a", "b"))
    yr = y[::-1]
    assert t2["a - c"].estimate == pytest.approx(yr[codes.to_numpy() == 1].mean() - yr[codes.to_numpy() == 0].mean())
    with pytest.raises(InputError, match="control 'x' is not an arm"):
        ne.multiarm_difference_in_means(y, z, control="x")


def test_unbiased_for_every_pair_by_exact_enumeration():
    design = ne.MultiArmComplete(7, m_each=[2, 2, 3], arms=("c", "a", "b"))
    gen = np.random.default_rng(3)
    Y = np.column_stack([gen.normal(size=7), gen.normal(size=7) + 1, gen.normal(size=7) + 2])  # Y_i(arm)
    Z, w = design.enumerate()
    est = {"a - c": [], "b - c": [], "b - a": []}
    var = {k: [] for k in est}
    for z in Z:
        y = Y[np.arange(7), z]
        for e in ne.multiarm_difference_in_means(y, z, arms=design.arms, comparisons="all"):
            est[e.estimand].append(e.estimate)
            var[e.estimand].append(e.std_error**2)
    truth = {"a - c": (Y[:, 1] - Y[:, 0]).mean(), "b - c": (Y[:, 2] - Y[:, 0]).mean(), "b - a": (Y[:, 2] - Y[:, 1]).mean()}
    for k in est:
        e = np.array(est[k])
        assert w @ e == pytest.approx(truth[k], abs=1e-12)
        assert w @ np.array(var[k]) >= w @ (e - truth[k]) ** 2      # Neyman: conservative


def test_cluster_design_uses_cr2():
    design = ne.MultiArmCluster(np.repeat(np.arange(12), 3), ne.MultiArmComplete(12, num_arms=3))
    z = design.sample(rng=0)
    y = np.random.default_rng(1).normal(size=36)
    tab = ne.multiarm_difference_in_means(y, z, arms=design.arms, clusters=np.repeat(np.arange(12), 3))
    assert all(e.variance.startswith("CR2") and e.n_clusters == 8 for e in tab)


def test_coverage_of_every_comparison_by_seeded_simulation():
    # fixed population of 150 with heterogeneous effects, 1000 draws of a 3-arm complete design
    gen = np.random.default_rng(7)
    x = gen.normal(size=150)
    Y = np.column_stack([x, x + 0.5 + 0.3 * gen.normal(size=150), x + 1.0 + 0.3 * gen.normal(size=150)])
    design = ne.MultiArmComplete(150, prob_each=(0.4, 0.3, 0.3), arms=("c", "a", "b"))
    truth = {"a - c": (Y[:, 1] - Y[:, 0]).mean(), "b - c": (Y[:, 2] - Y[:, 0]).mean(),
             "b - a": (Y[:, 2] - Y[:, 1]).mean()}
    hits = {k: 0 for k in truth}
    Z = design.sample_many(1000, rng=0)
    for z in Z:
        for e in ne.multiarm_difference_in_means(Y[np.arange(150), z], z, arms=design.arms, comparisons="all"):
            hits[e.estimand] += e.covers(truth[e.estimand])
    for k, h in hits.items():
        assert 0.935 <= h / 1000 <= 0.985, (k, h)      # Neyman: at or above 95% (binomial SE 0.007)
