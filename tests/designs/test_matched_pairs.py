"""MatchedPairs: optimal pairing (against brute force and networkx), the design's exact
probabilities, the contract (reproducible, frozen, picklable) and input errors."""

import pickle
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist, squareform

import netexp as ne
from netexp.designs import _matched
from netexp.designs._matched import MatchedPairs


# ---------------------------------------------------------------------- independent truth
def reference_distances(X, distance):
    """Distance matrix from scipy's own metrics (not the design's whitening)."""
    X = np.asarray(X, dtype=float)
    if distance == "standardized":
        return squareform(pdist(X, "seuclidean", V=X.var(axis=0, ddof=1)))
    return squareform(pdist(X, "mahalanobis", VI=np.linalg.inv(np.atleast_2d(np.cov(X, rowvar=False)))))


def brute_force_optimum(D):
    """Smallest total distance over all perfect matchings (odd n: over the unit left out, too)."""
    best = np.inf

    def rec(rest, acc, may_skip):
        nonlocal best
        if acc >= best:
            return
        if not rest:
            best = acc
            return
        i, others = rest[0], rest[1:]
        if may_skip:
            rec(others, acc, False)
        for t, j in enumerate(others):
            rec(others[:t] + others[t + 1:], acc + D[i, j], may_skip)

    rec(list(range(len(D))), 0.0, len(D) % 2 == 1)
    return best


def assert_valid_pairing(d, n):
    units = np.concatenate([d.pairs.ravel(), [] if d.odd_unit is None else [d.odd_unit]])
    assert np.array_equal(np.sort(units), np.arange(n))  # every unit exactly once
    assert (d.odd_unit is None) == (n % 2 == 0)


def nx_optimum(D):
    n = len(D)
    g = nx.complete_graph(n + n % 2)  # odd: a dummy node at distance 0 from everyone
    for i, j in g.edges:
        g[i][j]["weight"] = D[i, j] if max(i, j) < n else 0.0
    return sum(g[i][j]["weight"] for i, j in nx.min_weight_matching(g))


# ---------------------------------------------------------------------- optimality
@pytest.mark.parametrize("distance", ["mahalanobis", "standardized"])
def test_total_distance_equals_brute_force(distance):
    rng = np.random.default_rng(2024)
    for n in range(4, 11):
        for rep in range(4):
            X = rng.normal(size=(n, 3))
            while rep == 3:  # ties and repeated rows (the pre-pairing of identical units)
                X = rng.integers(0, 3, size=(n, 2)).astype(float)
                if np.linalg.cond(np.cov(X, rowvar=False)) < 1e6:
                    break
            d = MatchedPairs(X, distance=distance)
            assert_valid_pairing(d, n)
            D = reference_distances(X, distance)
            assert d.total_distance == pytest.approx(brute_force_optimum(D), rel=1e-9, abs=1e-12)
            assert np.allclose(d.pair_distances, D[d.pairs[:, 0], d.pairs[:, 1]], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n, kind", [(45, "normal"), (52, "cauchy"), (61, "clusters"), (60, "integers")])
def test_total_distance_equals_networkx_blossom(n, kind):
    # above _DENSE_BELOW units, so the sparse candidate graph and the dual certificate are used
    rng = np.random.default_rng(n)
    if kind == "normal":
        X = rng.normal(size=(n, 4))
    elif kind == "cauchy":
        X = rng.standard_cauchy(size=(n, 3))
    elif kind == "clusters":  # odd-sized far-apart clusters: optimal pairs need long edges
        X = np.repeat(rng.normal(size=(n // 5 + 1, 3)) * 50, 5, axis=0)[:n] + rng.normal(size=(n, 3))
    else:
        X = rng.integers(0, 4, size=(n, 3)).astype(float)
    d = MatchedPairs(X, distance="standardized")
    assert_valid_pairing(d, n)
    assert d.total_distance == pytest.approx(nx_optimum(reference_distances(X, "standardized")), rel=1e-9)


@pytest.mark.parametrize("max_rounds", [8, 1], ids=["pricing", "complete-graph-fallback"])
def test_certificate_repairs_a_poor_candidate_graph(monkeypatch, max_rounds):
    # with 1 nearest neighbour the first candidate graph misses optimal edges; the dual check
    # must find and add them (here over 2-5 rounds), or give up to the complete graph
    monkeypatch.setattr(_matched, "_K_NEIGHBOURS", 1)
    monkeypatch.setattr(_matched, "_DENSE_BELOW", 4)
    monkeypatch.setattr(_matched, "_MAX_ROUNDS", max_rounds)
    rng = np.random.default_rng(5)
    for n in (41, 58):
        X = rng.normal(size=(n, 2))
        d = MatchedPairs(X, distance="standardized")
        assert_valid_pairing(d, n)
        assert d.total_distance == pytest.approx(nx_optimum(reference_distances(X, "standardized")), rel=1e-9)


def test_compiled_blossom_matches_networkx_on_sparse_graphs():
    # the kernel alone: maximum-weight perfect matchings of random graphs with a perfect matching,
    # integer weights with many ties (many blossoms) and continuous ones
    rng = np.random.default_rng(3)
    for trial in range(60):
        n = 2 * int(rng.integers(2, 25))
        perm = rng.permutation(n)
        edges = {(min(a, b), max(a, b)) for a, b in zip(perm[:-1], perm[1:])}
        iu, ju = np.triu_indices(n, 1)
        keep = rng.random(iu.size) < rng.uniform(0.05, 0.7)
        edges = sorted(edges | set(zip(iu[keep].tolist(), ju[keep].tolist())))
        w = rng.integers(0, 4, len(edges)).astype(float) if trial % 2 else rng.normal(size=len(edges))
        eu, ev = np.array(edges).T
        partner, *_ = _matched._max_weight_matching(n, n, eu, ev, w)
        assert np.array_equal(partner[partner], np.arange(n))
        weight = dict(zip(edges, w))
        mine = sum(weight[(i, j)] for i, j in enumerate(partner) if i < j)
        g = nx.Graph()
        g.add_weighted_edges_from((a, b, x) for (a, b), x in zip(edges, w))
        ref = sum(weight[(min(a, b), max(a, b))] for a, b in nx.max_weight_matching(g, maxcardinality=True))
        assert mine == pytest.approx(ref, abs=1e-9)


def test_greedy_failure_case_from_seed_notebook():
    # The seed notebook's loop pops a unit and pairs it with its nearest neighbour only if that
    # neighbour is still unpaired; otherwise the unit is silently dropped. Its own data (20
    # clusters, legacy seed 42) leaves 8 of 20 units unpaired; an optimal matching pairs all.
    rs = np.random.RandomState(42)
    df = pd.DataFrame({"cluster_id": range(1, 21), "size": rs.randint(50, 200, 20),
                       "baseline_engagement": rs.uniform(0.1, 0.5, 20), "region_code": rs.choice([0, 1, 2], 20)})
    cols = ["size", "baseline_engagement", "region_code"]
    X = (df[cols] - df[cols].mean()) / df[cols].std()
    dist = squareform(pdist(X.to_numpy()))
    np.fill_diagonal(dist, np.inf)
    greedy, unpaired = [], set(df.index)
    while unpaired:
        i = unpaired.pop()
        j = int(np.argmin(dist[i]))
        if j in unpaired:
            unpaired.remove(j)
            greedy.append((i, j))
    assert greedy == [(0, 12), (1, 17), (2, 18), (3, 13), (4, 6), (7, 10)]  # as printed in the notebook
    d = MatchedPairs(df, cols, distance="standardized")
    assert d.n_pairs == 10 and d.odd_unit is None
    assert_valid_pairing(d, 20)
    assert d.total_distance == pytest.approx(nx_optimum(np.where(np.isinf(dist), 0, dist)), rel=1e-9)

    # the smallest such case: nearest neighbours not mutual (0 <- 2 -> 1 -> 0 ... 3 -> 2)
    x = np.array([0.0, 1.0, 1.5, 10.0])
    d = MatchedPairs(x, distance="standardized")
    assert d.pairs.tolist() == [[0, 1], [2, 3]]


def test_identical_rows_are_paired_together():
    X = np.array([[0.0, 1], [5, 5], [0, 1], [5, 5], [0, 1], [9, 0], [5, 5]])
    d = MatchedPairs(X, distance="standardized")
    assert_valid_pairing(d, 7)
    assert d.total_distance == pytest.approx(brute_force_optimum(reference_distances(X, "standardized")))


def test_mahalanobis_is_affine_invariant_and_standardized_scale_invariant():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(50, 3))
    A = np.array([[2.0, 0.3, 0.0], [0.0, 1000.0, 1.0], [0.5, 0.0, 0.01]])
    base = MatchedPairs(X).pairs
    assert np.array_equal(MatchedPairs(X @ A + 7.0).pairs, base)
    s = MatchedPairs(X, distance="standardized").pairs
    assert np.array_equal(MatchedPairs(X * [1e-3, 1.0, 1e4], distance="standardized").pairs, s)


def test_categorical_covariates_become_dummies():
    df = pd.DataFrame({"age": [30, 31, 50, 52, 29, 49], "region": ["n", "s", "n", "s", "n", "n"]})
    for distance in ("mahalanobis", "standardized"):
        d = MatchedPairs(df, distance=distance)
        assert_valid_pairing(d, 6)
    assert MatchedPairs(df, ["region"], distance="standardized").total_distance == pytest.approx(0.0)


# ---------------------------------------------------------------------- the distribution
@pytest.fixture(params=[8, 9], ids=["even", "odd"])
def small(request):
    X = np.random.default_rng(request.param).normal(size=(request.param, 2))
    return MatchedPairs(X)


def test_exactly_one_treated_per_pair(small):
    Z = small.sample_many(5000, rng=1)
    a, b = small.pairs.T
    assert (Z[:, a] != Z[:, b]).all()
    assert Z.shape == (5000, small.n_units) and Z.dtype == bool


def test_frequencies_match_probabilities(small):
    R = 40_000
    Z = small.sample_many(R, rng=2024).astype(float)
    p = small.probabilities
    assert np.array_equal(p, np.full(small.n_units, 0.5))
    # marginals (odd unit included) within 4.5 binomial standard errors
    assert np.all(np.abs(Z.mean(0) - p) < 4.5 * np.sqrt(0.25 / R))
    if small.odd_unit is not None:
        assert abs(Z[:, small.odd_unit].mean() - 0.5) < 4.5 * np.sqrt(0.25 / R)
    # joint frequencies: 0 for partners, 1/4 otherwise (4.5 standard errors of a 1/4 frequency)
    J = small.joint_probabilities()
    emp = Z.T @ Z / R
    se = np.sqrt(J * (1 - J) / R)
    assert np.all(np.abs(emp - J) <= 4.5 * se + 1e-12)
    assert np.all(emp[small.pairs[:, 0], small.pairs[:, 1]] == 0)


def test_enumeration_is_exact(small):
    Z, w = small.enumerate()
    n_bits = small.n_pairs + (small.odd_unit is not None)
    assert Z.shape == (2**n_bits, small.n_units) and len(np.unique(Z, axis=0)) == 2**n_bits
    assert w.sum() == 1.0
    Zf = Z.astype(float)
    J = (Zf * w[:, None]).T @ Zf
    assert np.array_equal(J, small.joint_probabilities())  # powers of two: no rounding at all
    assert np.array_equal(np.diag(J), small.probabilities)
    a, b = small.pairs.T
    assert (Z[:, a] != Z[:, b]).all()


def test_enumeration_refuses_large_designs():
    d = MatchedPairs(pairs=np.arange(44).reshape(22, 2))
    with pytest.raises(ne.DesignError, match="enumerate"):
        d.enumerate()
    assert d.joint_probabilities().shape == (44, 44)


def test_cluster_level_inside_cluster_randomized():
    labels = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 4, 4, 5, 6, 6])
    covs = pd.DataFrame({"size": np.bincount(labels), "baseline": [0.2, 0.25, 0.9, 0.21, 0.85, 0.5, 0.26]})
    design = ne.ClusterRandomized(labels, cluster_design=MatchedPairs(covs, distance="standardized"))
    pairs = design.cluster_design.pairs
    assert design.n_units == 15 and design.n_clusters == 7
    Zc = design.sample_clusters(2000, rng=3)
    assert (Zc[:, pairs[:, 0]] != Zc[:, pairs[:, 1]]).all()
    Z = design.sample_many(2000, rng=3)
    assert np.array_equal(Z, Zc[:, labels])
    Ze, w = design.enumerate()
    Zf = Ze.astype(float)
    assert np.array_equal((Zf * w[:, None]).T @ Zf, design.joint_probabilities())
    assert np.array_equal(design.probabilities, np.full(15, 0.5))


# ---------------------------------------------------------------------- the contract
def test_same_rng_same_draws(small):
    a = small.sample_many(50, rng=123)
    assert np.array_equal(a, small.sample_many(50, rng=np.random.default_rng(123)))
    assert not np.array_equal(a, small.sample_many(50, rng=124))
    assert np.array_equal(small.sample(rng=7), small.sample_many(1, rng=7)[0])


def test_frozen(small):
    with pytest.raises(AttributeError):
        small._pairs = np.zeros((1, 2), int)
    for arr in (small.pairs, small.pair_distances, small.probabilities):
        with pytest.raises(ValueError):
            arr[0] = 0


def test_pickle_round_trip(small):
    d = pickle.loads(pickle.dumps(small))
    assert np.array_equal(d.pairs, small.pairs) and d.odd_unit == small.odd_unit
    assert d.total_distance == small.total_distance
    assert np.array_equal(d.sample_many(20, rng=5), small.sample_many(20, rng=5))
    with pytest.raises(ValueError):
        d.pairs[0, 0] = 1
    with pytest.raises(AttributeError):
        d._odd = 3


def test_repr_and_summary_report_the_odd_unit_without_warnings():
    X = np.random.default_rng(1).normal(size=(9, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = MatchedPairs(X)
        text = repr(d)
        s = d.summary()
    assert f"odd_unit={d.odd_unit}" in text and "n_pairs=4" in text
    assert s["odd_unit"] == d.odd_unit and s["n_pairs"] == 4 and s["distance"] == "mahalanobis"
    assert s["total_distance"] == pytest.approx(d.pair_distances.sum())
    assert MatchedPairs(X[:8]).summary()["odd_unit"] is None


def test_explicit_pairs():
    d = MatchedPairs(pairs=[[0, 3], [2, 1]])
    assert d.n_units == 4 and d.odd_unit is None and d.distance is None
    assert d.pairs.tolist() == [[0, 3], [2, 1]] and np.isnan(d.total_distance)
    x = np.array([0.0, 1.0, 5.0])
    d = MatchedPairs(x, pairs=np.array([[2, 0]]), distance="standardized")
    assert d.odd_unit == 1 and d.n_units == 3
    assert d.total_distance == pytest.approx(5.0 / np.std(x, ddof=1))
    assert np.array_equal(d.partner(), [2, -1, 0])


# ---------------------------------------------------------------------- errors
def test_errors_name_parameter_requirement_and_value():
    with pytest.raises(ne.DesignError, match="at least 2 units.*got 1"):
        MatchedPairs(np.array([[1.0, 2.0]]))
    with pytest.raises(ne.InputError, match="give covariates.*or pairs.*got neither"):
        MatchedPairs()
    with pytest.raises(ne.InputError, match="distance must be one of.*got 'euclid'"):
        MatchedPairs(np.ones((4, 1)), distance="euclid")
    with pytest.raises(ne.InputError, match="'b'.*missing"):
        MatchedPairs(pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, np.nan, 3, 4]}))
    with pytest.raises(ne.InputError, match="infinite"):
        MatchedPairs(np.array([[1.0], [np.inf], [2.0], [3.0]]))
    with pytest.raises(ne.InputError, match=r"\['c'\] are constant.*standard deviation"):
        MatchedPairs(pd.DataFrame({"a": [1.0, 2, 3, 4], "c": [5.0] * 4}), distance="standardized")
    with pytest.raises(ne.InputError, match="every covariate column is constant"):
        MatchedPairs(np.ones((4, 2)))


def test_singular_covariance_warns_and_uses_pseudo_inverse():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 2))
    X = np.column_stack([x, x[:, 0] + 2 * x[:, 1]])  # collinear third column
    with pytest.warns(ne.NetexpWarning, match="singular.*rank 2.*pseudo-inverse"):
        d = MatchedPairs(X)
    assert np.array_equal(d.pairs, MatchedPairs(x).pairs)  # the redundant column changes nothing
    with pytest.warns(ne.NetexpWarning, match=r"constant column\(s\) \['x1'\]"):
        MatchedPairs(np.column_stack([x[:, 0], np.ones(12)]))


@pytest.mark.parametrize("pairs, match", [
    ([0, 1, 2, 3], r"shape \(n_pairs, 2\).*got shape \(4,\)"),
    (np.empty((0, 2), int), "at least one pair"),
    ([[0, 1], [1, 2]], r"at most one pair; unit\(s\) \[1\] appear \[2\] times"),
    ([[0, 0], [1, 2]], r"unit\(s\) \[0\]"),
    ([[0, 1], [2, 9]], r"positions in \[0, 4\].*got \[9\]"),
    ([[0, 1]], r"3 units are in no pair, e.g. \[2, 3, 4\]"),
    ([[0.5, 1], [2, 3]], "integer unit positions"),
    ([[-1, 1], [2, 3]], "positions in"),
])
def test_bad_pairs(pairs, match):
    with pytest.raises((ne.InputError, ne.DesignError), match=match):
        MatchedPairs(np.arange(5.0), pairs=pairs)


def test_pairs_errors_are_value_errors():
    with pytest.raises(ValueError):
        MatchedPairs(pairs=[[0, 1], [1, 2]])
