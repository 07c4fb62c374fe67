"""Matched-pair and fine-stratified difference in means: closed form, exact enumeration, coverage."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netexp as ne
from netexp import EstimationError, InputError


def test_hand_computed_closed_form():
    # pairs (0,1), (2,3), (4,5); pair differences 1, 1, 2 -> mean 4/3,
    # variance 1/(J(J-1)) * sum (d - 4/3)^2 = (1/6) * (1/9 + 1/9 + 4/9) = 1/9
    y = [1.0, 2.0, 2.5, 3.5, 3.0, 5.0]
    z = [0, 1, 0, 1, 0, 1]
    e = ne.paired_difference_in_means(y, z, [0, 0, 1, 1, 2, 2])
    assert e.estimate == pytest.approx(4 / 3, abs=1e-12)
    assert e.std_error == pytest.approx(1 / 3, abs=1e-12)
    assert e.df == 2
    q = stats.t.ppf(0.975, 2)
    assert e.ci == pytest.approx((4 / 3 - q / 3, 4 / 3 + q / 3))
    # same as a one-sample t on the pair differences (scipy)
    t = stats.ttest_1samp([1.0, 1.0, 2.0], 0.0)
    assert e.p_value == pytest.approx(t.pvalue, rel=1e-12)
    # the stratified estimator with the pairs as strata gives the same numbers
    s = ne.stratified_difference_in_means(y, z, [0, 0, 1, 1, 2, 2])
    assert (s.estimate, s.std_error, s.df) == pytest.approx((e.estimate, e.std_error, e.df))


def test_cluster_pairs_closed_form_imai_king_nall():
    # pairs of clusters: pair A = clusters 0 (2 units, treated) and 1 (1 unit); pair B = 2 (1 unit) and 3
    # (3 units, treated); pair C = 4 (treated, 1 unit) and 5 (1 unit)
    clusters = np.array([0, 0, 1, 2, 3, 3, 3, 4, 5])
    pairs = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    z = np.array([1, 1, 0, 0, 1, 1, 1, 1, 0])
    y = np.array([3.0, 5.0, 1.0, 2.0, 4.0, 5.0, 6.0, 7.0, 3.0])
    tau = np.array([4.0 - 1.0, 5.0 - 2.0, 7.0 - 3.0])
    n = np.array([3.0, 4.0, 2.0])
    N, J = 9.0, 3
    est = (n * tau).sum() / N
    var = J / ((J - 1) * N**2) * ((n * tau - N * est / J) ** 2).sum()
    e = ne.paired_difference_in_means(y, z, pairs, clusters=clusters)
    assert e.estimate == pytest.approx(est, abs=1e-12)
    assert e.std_error == pytest.approx(np.sqrt(var), abs=1e-12)
    assert e.n_clusters == 6 and e.n == 9 and e.df == 2


def _population(n_pairs, seed, heterogeneity=0.8):
    gen = np.random.default_rng(seed)
    x = gen.normal(size=2 * n_pairs)
    y0 = 1.0 + 2.0 * x + gen.normal(scale=0.3, size=2 * n_pairs)
    y1 = y0 + 0.5 + heterogeneity * x + gen.normal(scale=0.2, size=2 * n_pairs)   # heterogeneous effects
    return x, y0, y1


def test_exact_enumeration_unbiased_and_conservative_with_known_gap():
    x, y0, y1 = _population(6, seed=3)
    design = ne.MatchedPairs(x[:, None])
    Z, w = design.enumerate()
    assert Z.shape[0] == 2**6 and np.isclose(w.sum(), 1)
    est = np.empty(len(w))
    var = np.empty(len(w))
    for r, z in enumerate(Z):
        e = ne.paired_difference_in_means(np.where(z, y1, y0), z, design)
        est[r], var[r] = e.estimate, e.std_error**2
    ate = (y1 - y0).mean()
    assert w @ est == pytest.approx(ate, abs=1e-12)           # unbiased, exactly
    true_var = w @ (est - ate) ** 2
    P = design.pairs
    tau_pair = ((y1 - y0)[P[:, 0]] + (y1 - y0)[P[:, 1]]) / 2
    J = P.shape[0]
    gap = ((tau_pair - tau_pair.mean()) ** 2).sum() / (J * (J - 1))
    # E[V] = Var + J/((J-1)N^2) sum (mu_j - mu_bar)^2, with mu_j = 2 tau_j and N = 2J
    assert w @ var == pytest.approx(true_var + gap, rel=1e-10)
    assert w @ var >= true_var


def test_exact_enumeration_cluster_pairs():
    gen = np.random.default_rng(5)
    sizes = np.array([2, 3, 1, 4, 2, 2, 3, 1, 2, 5])
    labels = np.repeat(np.arange(10), sizes)
    cov = pd.DataFrame({"size": sizes, "b": gen.normal(size=10)})
    design = ne.ClusterRandomized(labels, ne.MatchedPairs(cov))
    n = labels.shape[0]
    y0 = gen.normal(size=n) + sizes[labels]
    y1 = y0 + 1.0 + 0.3 * gen.normal(size=n)
    Z, w = design.enumerate()
    est = np.empty(len(w))
    var = np.empty(len(w))
    for r, z in enumerate(Z):
        e = ne.paired_difference_in_means(np.where(z, y1, y0), z, design)
        est[r], var[r] = e.estimate, e.std_error**2
    # estimand: pair-size-weighted average of the two clusters' mean effects
    P = design.cluster_design.pairs
    eff = y1 - y0
    cmean = np.bincount(labels, weights=eff) / sizes
    n_j = sizes[P[:, 0]] + sizes[P[:, 1]]
    target = (n_j * (cmean[P[:, 0]] + cmean[P[:, 1]]) / 2).sum() / n_j.sum()
    assert w @ est == pytest.approx(target, abs=1e-12)
    assert w @ var >= w @ (est - target) ** 2


@pytest.mark.parametrize("heterogeneity, low, high", [(0.0, 0.935, 0.975), (0.8, 0.95, 1.0)])
def test_coverage_by_seeded_simulation(heterogeneity, low, high):
    # 30 pairs, 2000 draws of the design on a fixed population. Effects varying only by unit noise:
    # the variance is nearly unbiased and coverage near 95% (binomial SE 0.005). Effects varying with
    # the matched covariate: the between-pair spread of effects enters the variance, coverage above 95%.
    x, y0, y1 = _population(30, seed=11, heterogeneity=heterogeneity)
    design = ne.MatchedPairs(x[:, None])
    ate = (y1 - y0).mean()
    Z = design.sample_many(2000, rng=0)
    cover, est, se = [], [], []
    for z in Z:
        e = ne.paired_difference_in_means(np.where(z, y1, y0), z, design)
        cover.append(e.covers(ate))
        est.append(e.estimate)
        se.append(e.std_error)
    cover = np.mean(cover)
    assert low <= cover <= high
    assert np.mean(est) == pytest.approx(ate, abs=4 * np.std(est) / np.sqrt(len(est)))
    unpaired = np.mean([ne.difference_in_means(np.where(z, y1, y0), z).std_error for z in Z[:200]])
    assert np.mean(se) < unpaired / 2   # the pairing's precision shows in the SE


def test_stratified_mixed_strata_enumeration_conservative():
    # strata: three pairs and one stratum of 6 with 3 treated -> hybrid variance
    strata = np.array([0, 0, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3])
    gen = np.random.default_rng(2)
    y0 = gen.normal(size=12) + strata
    y1 = y0 + 1 + gen.normal(scale=0.5, size=12)
    design = ne.Stratified(strata, p=0.5)
    Z, w = design.enumerate()
    assert Z.shape[0] == 8 * 20
    est, var = [], []
    for z in Z:
        e = ne.stratified_difference_in_means(np.where(z, y1, y0), z, strata)
        est.append(e.estimate)
        var.append(e.std_error**2)
    est, var = np.array(est), np.array(var)
    ate = (y1 - y0).mean()
    assert w @ est == pytest.approx(ate, abs=1e-12)
    assert w @ var >= w @ (est - ate) ** 2
    e = ne.stratified_difference_in_means(np.where(Z[0], y1, y0), Z[0], strata)
    assert e.df is None and "3 strata" in e.variance


def test_stratified_refuses_single_fine_stratum_and_one_arm():
    y = np.arange(8.0)
    with pytest.raises(EstimationError, match="exactly one stratum"):
        ne.stratified_difference_in_means(y, [1, 0, 1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 1, 1, 1, 1])
    with pytest.raises(EstimationError, match="only one arm"):
        ne.stratified_difference_in_means(y, [1, 1, 1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 1, 1, 1, 1])


def test_pandas_inputs_aligned_by_index():
    y = pd.Series([1.0, 2.0, 2.5, 3.5, 3.0, 5.0], index=list("abcdef"))
    z = pd.Series([0, 1, 0, 1, 0, 1], index=list("abcdef"))
    pairs = pd.Series([0, 0, 1, 1, 2, 2], index=list("abcdef"))
    ref = ne.paired_difference_in_means(y, z, pairs)
    arr = ne.paired_difference_in_means(y.to_numpy(), z.to_numpy(), pairs.to_numpy())
    assert (arr.estimate, arr.std_error) == (ref.estimate, ref.std_error)
    perm = list("fbdace")
    # pairs number units by position: Series in different orders are refused, never used by position
    with pytest.raises(InputError, match="indexes differ"):
        ne.paired_difference_in_means(y, z[perm], pairs[perm])
    s = ne.stratified_difference_in_means(y[perm], z, pairs[list("cabdef")])   # strata: aligned by index
    assert s.estimate == pytest.approx(ref.estimate)
    with pytest.raises(InputError, match="5 entries but y has 6"):
        ne.paired_difference_in_means(y.to_numpy(), z.to_numpy()[:5], pairs.to_numpy())


def test_design_with_odd_unit_and_series_positions():
    x = np.array([0.1, 0.2, 1.0, 1.1, 5.0])
    design = ne.MatchedPairs(x[:, None])
    z = design.sample(rng=1)
    y = 3.0 + z
    e = ne.paired_difference_in_means(y, z, design)
    assert e.n == 4 and "1 unpaired" in e.note
    assert e.estimate == pytest.approx(1.0)
    with pytest.raises(InputError, match="indexes differ"):
        ne.paired_difference_in_means(pd.Series(y, index=list("abcde")), pd.Series(z, index=list("edcba")), design)


def test_pairs_must_hold_one_treated_one_control():
    with pytest.raises(EstimationError, match="exactly one treated and one control"):
        ne.paired_difference_in_means([1.0, 2, 3, 4], [1, 1, 0, 0], [0, 0, 1, 1])
    with pytest.raises(EstimationError, match="at least 2 pairs"):
        ne.paired_difference_in_means([1.0, 2], [1, 0], [0, 0])


def test_cluster_pair_coverage_by_seeded_simulation():
    # 40 clusters of 3-12 units paired on size and a baseline; effects vary by cluster
    gen = np.random.default_rng(21)
    sizes = gen.integers(3, 13, size=40)
    base = gen.normal(size=40)
    labels = np.repeat(np.arange(40), sizes)
    design = ne.ClusterRandomized(labels, ne.MatchedPairs(pd.DataFrame({"size": sizes, "base": base})))
    n = labels.shape[0]
    y0 = 2 * base[labels] + gen.normal(scale=0.5, size=n)
    y1 = y0 + 0.4 + 0.1 * base[labels]
    P = design.cluster_design.pairs
    cmean = np.bincount(labels, weights=y1 - y0) / sizes
    n_j = sizes[P[:, 0]] + sizes[P[:, 1]]
    target = (n_j * (cmean[P[:, 0]] + cmean[P[:, 1]]) / 2).sum() / n_j.sum()
    hits, est = [], []
    for z in design.sample_many(1000, rng=3):
        e = ne.paired_difference_in_means(np.where(z, y1, y0), z, design)
        hits.append(e.covers(target))
        est.append(e.estimate)
    assert np.mean(hits) >= 0.94                               # conservative (binomial SE 0.007)
    assert abs(np.mean(est) - target) < 4 * np.std(est) / np.sqrt(1000)


def test_design_read_at_a_subset_drops_broken_pairs():
    from netexp.designs import UnitSubset

    x = np.arange(10.0)
    design = ne.MatchedPairs(x[:, None])                      # pairs (0,1), (2,3), ...
    z = design.sample(rng=0)
    y = 2.0 + 3.0 * z + x
    keep = np.array([0, 1, 2, 4, 5, 6, 7])                    # unit 3 and the pair (8, 9) have no outcome
    e = ne.paired_difference_in_means(y[keep], z[keep], UnitSubset(design, keep))
    labels = np.array([0, 0, -1, 1, 1, 2, 2], dtype=float)   # unit 2 has lost its partner
    ref = ne.paired_difference_in_means(y[keep], z[keep], np.where(labels < 0, np.nan, labels))
    # the within-pair differences are equal: variance 0, reported as nan (both ways of reading the pairs)
    np.testing.assert_equal((e.estimate, e.std_error, e.n), (ref.estimate, ref.std_error, 6))
    assert "1 pair(s) with a member missing" in e.note
