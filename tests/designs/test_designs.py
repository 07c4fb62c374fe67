"""One contract battery over every design, plus exact closed forms."""

import math

import numpy as np
import pytest

import netexp as ne

LABELS = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4, 4])
STRATA = np.array(["b", "a", "b", "c", "a", "b", "c", "c", "a", "b"])
X = np.random.default_rng(0).normal(size=(10, 2))
DESIGNS = {
    "bernoulli": lambda: ne.Bernoulli(8, p=0.3),
    "bernoulli_half_bits": lambda: ne.Bernoulli(9),  # bit-packed path, not a multiple of 8 units
    "complete": lambda: ne.Complete(8, n_treated=3),
    "complete_large_n": lambda: ne.Complete(5000, n_treated=4000),
    "cluster_complete": lambda: ne.ClusterRandomized(LABELS, n_treated=2),
    "cluster_bernoulli": lambda: ne.ClusterRandomized(LABELS, ne.Bernoulli(5, p=0.4)),
    "complete_odd_random_extra": lambda: ne.Complete(7),
    "complete_extra_to_treatment": lambda: ne.Complete(7, extra="treatment"),
    "stratified_unequal_p": lambda: ne.Stratified(STRATA, p={"a": 0.5, "b": 0.25, "c": 0.7}),
    "stratified_counts": lambda: ne.Stratified(STRATA, n_treated={"a": 1, "b": 3, "c": 2}),
    "blocked_ragged": lambda: ne.Blocked(10, block_size=4),
    "stratified_blocked": lambda: ne.StratifiedBlocked(STRATA, block_size=2),
    "rerandomized_symmetric": lambda: ne.Rerandomized(ne.Complete(10), X, acceptance=0.3),
    "cluster_stratified": lambda: ne.ClusterRandomized(LABELS, ne.Stratified(["s", "s", "t", "t", "t"])),
    "matched_pairs_odd": lambda: ne.MatchedPairs(np.random.default_rng(1).normal(size=(9, 2))),
    "cluster_matched_pairs": lambda: ne.ClusterRandomized(LABELS, ne.MatchedPairs(np.arange(5.0))),
}
# Network designs register themselves in their own modules (one file per owner) and join the battery here.
from ._network_designs import NETWORK_DESIGNS  # noqa: E402
from ._randomized_cluster_designs import RANDOMIZED_CLUSTER_DESIGNS  # noqa: E402

DESIGNS.update(NETWORK_DESIGNS)
DESIGNS.update(RANDOMIZED_CLUSTER_DESIGNS)
# designs whose joint_probabilities() is exact (the battery compares it with draw frequencies)
EXACT_JOINT = [k for k in DESIGNS if not k.startswith(("rerandomized", "mc_"))]


@pytest.fixture(params=list(DESIGNS))
def design(request):
    return DESIGNS[request.param]()


def test_shapes_and_dtype(design):
    z = design.sample(rng=0)
    Z = design.sample_many(7, rng=0)
    assert z.shape == (design.n_units,) and z.dtype == bool
    assert Z.shape == (7, design.n_units) and Z.dtype == bool


def test_same_rng_same_draws(design):
    a = design.sample_many(50, rng=123)
    b = design.sample_many(50, rng=np.random.default_rng(123))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, design.sample_many(50, rng=124))


def test_frequencies_match_probabilities(design):
    R = 20000 if design.n_units < 100 else 400
    Z = design.sample_many(R, rng=2024)
    p = design.probabilities
    se = np.sqrt(p * (1 - p) / R)
    # each marginal within 4.5 binomial standard errors (family-wise false alarm < 1e-3 here)
    assert np.all(np.abs(Z.mean(0) - p) < 4.5 * se + 1e-12)


def test_joint_frequencies_match_joint_probabilities(request):
    for name in EXACT_JOINT:
        d = DESIGNS[name]()
        if d.n_units > 100:
            continue
        R = 20000
        Zf = d.sample_many(R, rng=7).astype(float)
        emp = Zf.T @ Zf / R
        J = d.joint_probabilities()
        se = np.sqrt(J * (1 - J) / R)
        assert np.all(np.abs(emp - J) < 4.5 * se + 1e-12), name


def test_pickle_roundtrip(design):
    import pickle

    d2 = pickle.loads(pickle.dumps(design))
    assert np.array_equal(d2.sample_many(5, rng=3), design.sample_many(5, rng=3))


def test_frozen(design):
    with pytest.raises(AttributeError):
        design._anything = 3
    with pytest.raises(ValueError):
        design.probabilities[0] = 1


def test_enumeration_matches_closed_form_joint():
    for d in [ne.Bernoulli(5, p=0.3), ne.Complete(6, 2), ne.ClusterRandomized([0, 0, 1, 2, 2, 3], n_treated=2)]:
        Z, w = d.enumerate()
        assert w.sum() == pytest.approx(1.0, abs=1e-14)
        emp = (Z.astype(float) * w[:, None]).T @ Z.astype(float)
        assert np.allclose(emp, d.joint_probabilities(), atol=1e-14)
        assert np.allclose(np.diag(emp), d.probabilities, atol=1e-14)


def test_complete_exact_counts_and_joint():
    d = ne.Complete(10, 4)
    Z = d.sample_many(2000, rng=0)
    assert (Z.sum(1) == 4).all()
    Z, w = d.enumerate()
    assert len(w) == math.comb(10, 4)
    assert d.joint_probabilities()[0, 1] == pytest.approx(4 * 3 / (10 * 9))


def test_complete_subsets_uniform():
    # every one of the C(5,2)=10 subsets equally likely: chi-square goodness of fit
    from scipy import stats

    Z = ne.Complete(5, 2).sample_many(20000, rng=11)
    codes = Z.astype(int) @ (2 ** np.arange(5))
    counts = np.unique(codes, return_counts=True)[1]
    assert counts.shape[0] == 10
    assert stats.chisquare(counts).pvalue > 1e-3


def test_cluster_constant_within_clusters():
    d = ne.ClusterRandomized(LABELS, n_treated=2)
    Z = d.sample_many(200, rng=0)
    for c in np.unique(LABELS):
        block = Z[:, LABELS == c]
        assert (block == block[:, :1]).all()
    assert (Z[:, [0, 2, 5, 6, 8]].sum(1) == 2).all()


def test_cluster_from_clustering_object():
    g = ne.load_graph("karate")
    c = ne.leiden(g, rng=0)
    d = ne.ClusterRandomized(c)
    assert d.n_units == 34 and d.n_clusters == c.n_clusters
    assert np.allclose(d.probabilities, 0.5)  # Complete over clusters: p = 1/2 exactly, odd count or not


@pytest.mark.parametrize("make,match", [
    (lambda: ne.Complete(10, 10), r"n_treated must be in \[1, 9\]; got 10"),
    (lambda: ne.Bernoulli(10, p=1.5), r"p must be in \(0, 1\); got 1.5"),
    (lambda: ne.Complete(10, 3, p=0.5), "not both"),
    (lambda: ne.ClusterRandomized([0, 0, 0]), "at least 2 clusters"),
    (lambda: ne.ClusterRandomized([0, 1, 2], ne.Complete(4)), "4 units but there are 3 clusters"),
])
def test_bad_parameters(make, match):
    with pytest.raises(ne.NetexpError, match=match):
        make()


def test_bad_rng():
    with pytest.raises(ne.InputError, match="rng must be"):
        ne.Bernoulli(3).sample(rng="seed")


def test_exact_counts_per_stratum_and_block():
    d = ne.Stratified(STRATA, n_treated={"a": 1, "b": 3, "c": 2})
    Z = d.sample_many(3000, rng=1)
    for lab, k in {"a": 1, "b": 3, "c": 2}.items():
        assert (Z[:, STRATA == lab].sum(1) == k).all()
    b = ne.Blocked(10, 4).sample_many(3000, rng=2)
    assert (b[:, :4].sum(1) == 2).all() and (b[:, 4:8].sum(1) == 2).all() and (b[:, 8:].sum(1) == 1).all()
    sb = ne.StratifiedBlocked(STRATA, block_size=2)
    Z = sb.sample_many(2000, rng=3)
    # blocks are the first two arrivals of a stratum, the next two, ...: by hand for STRATA
    blocks = {"a": [[1, 4], [8]], "b": [[0, 2], [5, 9]], "c": [[3, 6], [7]]}
    for lab, groups in blocks.items():
        for members in groups:
            counts = Z[:, members].sum(1)
            if len(members) == 2:
                assert (counts == 1).all()
            else:
                assert set(np.unique(counts)) == {0, 1}


def test_odd_unit_rule():
    z = ne.Complete(7, extra="treatment").sample_many(500, rng=0)
    assert (z.sum(1) == 4).all()
    z = ne.Complete(7, extra="control").sample_many(500, rng=0)
    assert (z.sum(1) == 3).all()
    z = ne.Complete(7).sample_many(4000, rng=0)
    counts = z.sum(1)
    assert set(np.unique(counts)) == {3, 4}
    # extra unit to either arm with probability 1/2 (binomial, 4.5 SE)
    assert abs((counts == 4).mean() - 0.5) < 4.5 * np.sqrt(0.25 / 4000)


def test_stratified_assignments_line_up_with_rows():
    # the seed notebook generated assignments in groupby (sorted stratum) order and pasted them onto
    # rows in the original order; here each unit's draw must follow its own stratum's rule
    strata = np.array(["large", "small", "small", "large", "small", "small"])
    d = ne.Stratified(strata, n_treated={"large": 2, "small": 0})
    z = d.sample(rng=0)
    assert z.tolist() == [True, False, False, True, False, False]


def test_stratified_from_covariate_bins():
    import pandas as pd

    df = pd.DataFrame({"size": np.arange(100, dtype=float), "region": ["NA", "EU"] * 50})
    q = ne.Stratified.from_covariate(df, "size", bins=4)
    assert q.n_strata == 4 and (np.bincount(q.strata) == 25).all()
    c = ne.Stratified.from_covariate(df, "size", bins=[49.5])
    assert np.bincount(c.strata).tolist() == [50, 50]
    r = ne.Stratified.from_covariate(df, "region")
    assert r.n_strata == 2
    with pytest.raises(ne.InputError, match="bins=4"):
        ne.Stratified.from_covariate(df.assign(x=np.linspace(0, 1, 100)), "x")


def test_rerandomized_criterion_and_acceptance_rate():
    from scipy import stats

    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 3))
    d = ne.Rerandomized(ne.Complete(200), x, acceptance=0.2)
    assert d.threshold == pytest.approx(stats.chi2.ppf(0.2, 3))
    dr = d.sample_with_diagnostics(400, rng=6)
    # every accepted draw meets the criterion, recomputed by hand
    for z in dr.assignments[:50]:
        diff = x[z].mean(0) - x[~z].mean(0)
        S = np.cov(x, rowvar=False) * (1 / z.sum() + 1 / (~z).sum())
        assert diff @ np.linalg.solve(S, diff) <= d.threshold + 1e-9
    # acceptance near p_a (chi-square approximation with n = 200; binomial tolerance on the tries)
    assert abs(dr.acceptance_rate - 0.2) < 0.03
    single = ne.Rerandomized(ne.Complete(200), x[:, :1], criterion="mean_difference", threshold=0.05)
    for z in single.sample_many(50, rng=1):
        assert abs(x[z, 0].mean() - x[~z, 0].mean()) <= 0.05


def test_rerandomized_probabilities_and_guard():
    x = np.random.default_rng(1).normal(size=(30, 2))
    d = ne.Rerandomized(ne.Complete(30, 10), x, acceptance=0.1)
    with pytest.raises(ne.DesignError, match="estimate_probabilities"):
        d.probabilities
    p, se = d.estimate_probabilities(2000, rng=0)
    assert abs(p.mean() - 1 / 3) < 1e-12  # exactly 10 treated in every draw
    with pytest.raises(ne.DesignError, match="max_tries"):
        ne.Rerandomized(ne.Complete(30), x, threshold=1e-12, max_tries=5000).sample(rng=0)


def test_rerandomized_enumeration_is_conditional_base():
    x = np.arange(6, dtype=float)
    d = ne.Rerandomized(ne.Complete(6), x, criterion="mean_difference", threshold=1.0)
    Z, w = d.enumerate()
    assert np.allclose(w, 1 / len(w))
    assert all(abs(x[z].mean() - x[~z].mean()) <= 1.0 for z in Z)


@pytest.mark.parametrize("make,cols,n_patterns", [
    (lambda: ne.Blocked(7, 4), slice(0, 4), 6),        # small-stratum path: C(4,2) subsets
    (lambda: ne.Blocked(7, 4), slice(4, 7), 6),        # ragged block of 3, random extra: 3 + 3 subsets
    (lambda: ne.Complete(20, 10), slice(0, 3), 8),     # flip path: any 3 units of a large stratum
])
def test_treated_subsets_uniform(make, cols, n_patterns):
    # every pattern equally likely (for the ragged block: P(K=1) = P(K=2) = 1/2, each subset 1/3 of that)
    from scipy import stats

    Z = make().sample_many(60000, rng=12)[:, cols]
    counts = np.unique(Z.astype(int) @ (2 ** np.arange(Z.shape[1])), return_counts=True)[1]
    assert counts.shape[0] == n_patterns
    if n_patterns == 8:  # 3 units of 20 with 10 treated: hypergeometric pattern probabilities
        k = np.array([bin(c).count("1") for c in range(8)])
        p = np.array([stats.hypergeom(20, 10, 3).pmf(x) / stats.binom(3, 0.5).pmf(x) / 8 for x in k])
        assert stats.chisquare(counts, p / p.sum() * counts.sum()).pvalue > 1e-3
    else:
        assert stats.chisquare(counts).pvalue > 1e-3


def test_rerandomized_collinear_covariates_use_rank_df():
    # shares of every level of a category sum to 1: the chi-square df of M is the covariance rank
    import pandas as pd
    from scipy import stats

    rng = np.random.default_rng(0)
    s1 = rng.choice([0.2, 0.5, 0.7], 400)
    X = pd.DataFrame({"a": rng.normal(size=400), "s1": s1, "s2": 1 - s1})
    d = ne.Rerandomized(ne.Complete(400), X, acceptance=0.2)
    assert d.threshold == pytest.approx(stats.chi2.ppf(0.2, 2))
    dr = d.sample_with_diagnostics(400, rng=1)
    assert abs(dr.acceptance_rate - 0.2) < 0.03
    # the same statistic as the balance table's (one definition of M)
    z = dr.assignments[0]
    assert d.statistic(z)[0] == pytest.approx(ne.balance_table(X, z).mahalanobis, rel=1e-9)
