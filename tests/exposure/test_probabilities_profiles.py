"""The profile route (complete randomization of clusters, threshold mappings): joints, Aronow-Samii pair
sums and covariance sums against brute force over every assignment of ``design.enumerate()``."""

import numpy as np
import pytest

import sys

import netexp as ne
from netexp.exposure._probabilities import exposure_probabilities
from tests.conftest import random_graph

MAPPINGS = {"fn1": ne.FullNeighborhood(), "fn2": ne.FullNeighborhood(hops=2), "as1": ne.AronowSamii(),
            "as2": ne.AronowSamii(hops=2), "own": ne.OwnTreatment()}

# unequal clusters, singletons, the own cluster partly inside the neighbourhood, an isolate (unit 10)
LABELS = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
CLUSTER_DESIGNS = {
    "k2": lambda: ne.ClusterRandomized(LABELS, ne.Complete(5, n_treated=2)),
    "odd": lambda: ne.ClusterRandomized(LABELS, ne.Complete(5, p=0.5)),  # 2.5 clusters: the odd one at random
    "k4": lambda: ne.ClusterRandomized(LABELS, ne.Complete(5, n_treated=4)),
}


def _enumerate(graph, design, mp):
    """Marginals (n, L) and joints (L, L, n, n) by summing over the whole support."""
    Z, w = design.enumerate()
    E = np.asarray(mp.map_many(graph, Z))
    onehot = (E[:, :, None] == np.arange(len(mp.levels))).astype(float)
    return np.einsum("s,snk->nk", w, onehot), np.einsum("s,sik,sjl->klij", w, onehot, onehot)


def _brute_pair_terms(marg, joint, codes, U, mask):
    """The Aronow-Samii pair sums and zero-joint counts, straight from the enumerated joints."""
    n, L = marg.shape
    M = U.shape[1]
    S = np.zeros((M, L, L))
    zc = np.zeros((n, L), dtype=np.int64)
    for i in np.flatnonzero(mask):
        a = codes[i]
        for j in np.flatnonzero(mask):
            for l in range(L):
                pij = (marg[i, a] if l == a else 0.0) if i == j else joint[a, l, i, j]
                zc[i, l] += pij == 0
            if i == j:
                continue
            b = codes[j]
            v = joint[a, b, i, j]
            if v > 0:
                S[:, a, b] += (v - marg[i, a] * marg[j, b]) / v * U[i] * U[j]
    return S, zc


def _brute_cov_terms(marg, joint, V, mask):
    L = marg.shape[1]
    T = np.zeros((L, L))
    for i in np.flatnonzero(mask):
        for j in np.flatnonzero(mask):
            if i != j:
                T += (joint[:, :, i, j] - np.outer(marg[i], marg[j])) * np.outer(V[i], V[j])
    return T


@pytest.mark.parametrize("dname", list(CLUSTER_DESIGNS))
@pytest.mark.parametrize("mname", list(MAPPINGS))
def test_profile_route_equals_enumeration(mname, dname):
    """Marginals, every joint (exact zeros included), AS pair sums and covariance sums against enumeration."""
    g = random_graph(10, 11, 5, isolates=1)
    mp, d = MAPPINGS[mname], CLUSTER_DESIGNS[dname]()
    pr = exposure_probabilities(g, d, mp, method="exact")
    assert "profile" in pr._pairs  # the route under test
    marg, joint = _enumerate(g, d, mp)
    np.testing.assert_allclose(pr.marginal, marg, atol=1e-12)
    L = len(mp.levels)
    for a in range(L):
        for b in range(L):
            J = pr.joint(a, b)
            np.testing.assert_allclose(J, joint[a, b], atol=1e-12, err_msg=f"levels {a},{b}")
            off = ~np.eye(g.n_nodes, dtype=bool)
            assert ((J == 0) == (joint[a, b] == 0))[off].all()  # structural zeros are exact zeros
    rng = np.random.default_rng(7)
    Z, _ = d.enumerate()
    codes = np.asarray(mp.map_many(g, Z[3:4]))[0].astype(np.int64)
    mask = rng.random(g.n_nodes) < 0.8
    U = rng.normal(size=(g.n_nodes, 2))
    S, zc = pr._pair_terms(codes, U, mask)
    S0, zc0 = _brute_pair_terms(marg, joint, codes, np.where(mask[:, None], U, 0.0), mask)
    np.testing.assert_allclose(S, S0, atol=1e-10)
    np.testing.assert_array_equal(zc, zc0)
    V = rng.normal(size=(g.n_nodes, L))
    T = pr._cov_terms(V, mask)
    np.testing.assert_allclose(T, _brute_cov_terms(marg, joint, np.where(mask[:, None], V, 0.0), mask), atol=1e-10)


def test_profile_route_matches_previous_route(monkeypatch):
    """HT and Hajek standard errors (both variance types) equal those of the per-pair route."""
    g = ne.social_network(300, mean_degree=8, community_size=(20, 60), rng=1)
    cl = ne.leiden(g, rng=0)
    d = ne.ClusterRandomized(cl, p=0.5)
    z = d.sample(rng=3)
    y = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2).outcomes(z)
    mp = ne.AronowSamii()
    contrast = [("direct_indirect", "no_exposure"), ("indirect", "no_exposure")]
    out = {}
    for route, cap in (("profile", 10**6), ("pairs", 0)):
        monkeypatch.setattr(sys.modules["netexp.exposure._probabilities"], "_PROFILE_MAX", cap)
        pr = exposure_probabilities(g, d, mp, method="exact")
        assert ("profile" in pr._pairs) == (route == "profile")
        ok = (pr.marginal[:, [pr.level_code(k) for c in contrast for k in c]] > 0).all(1)
        assert ok.sum() > 20
        lv = mp.map(g, z)
        out[route] = [e.std_error for f in (ne.horvitz_thompson, ne.hajek) for v in ("aronow-samii", "constant-effects")
                      for e in f(y, lv, pr, contrasts=contrast, units=ok, variance=v)]
    np.testing.assert_allclose(out["profile"], out["pairs"], rtol=1e-12)


def test_non_threshold_mapping_keeps_the_pair_route():
    g = random_graph(10, 11, 5, isolates=1)
    pr = exposure_probabilities(g, CLUSTER_DESIGNS["k2"](), ne.FractionBins([0.5]), method="exact")
    assert "profile" not in pr._pairs


def test_estimate_cost_routes_and_dependent_pairs():
    """The route matches the one exposure_probabilities takes; dependent pairs equal a brute-force count
    (ordered pairs whose closed neighbourhoods touch a common cluster)."""
    g = random_graph(10, 11, 5, isolates=1)
    A = g.adjacency.toarray() > 0
    closed = A | np.eye(11, dtype=bool)
    touch = np.zeros((11, 5), dtype=bool)
    for i in range(11):
        touch[i, LABELS[closed[i]]] = True
    share = (touch.astype(int) @ touch.T.astype(int)) > 0
    brute = int(share.sum() - 11)
    d = CLUSTER_DESIGNS["k2"]()
    cost = ne.estimate_cost(g, d, ne.FullNeighborhood())
    assert cost.route == "profile-pairs" and cost.exact and cost.dependent_pairs_exact
    assert cost.dependent_pairs == brute
    assert cost.n_profiles == exposure_probabilities(g, d, ne.FullNeighborhood())._pairs["reps"].shape[0]
    assert ne.estimate_cost(g, d, ne.FractionBins([0.5])).route == "near-pairs"
    mc = ne.estimate_cost(g, d, ne.FullNeighborhood(), method="monte-carlo", n_draws=128)
    assert mc.route == "monte-carlo" and not mc.exact and mc.work == 11 * 11 * 2
    assert "profile-pairs" in str(cost)


def test_long_jobs_announce_the_estimate_and_split_the_pair_sums(monkeypatch, capsys):
    """With an estimate above the threshold the cost is printed, kept on the result, and the per-pair
    route runs in row blocks (behind a progress bar) with the same sums as in one call."""
    g = random_graph(10, 11, 5, isolates=1)
    d = CLUSTER_DESIGNS["odd"]()
    mp = ne.FractionBins([0.5])
    plain = exposure_probabilities(g, d, mp, method="exact")
    monkeypatch.setattr(sys.modules["netexp.exposure._probabilities"], "_ANNOUNCE_SECONDS", -1.0)
    pr = exposure_probabilities(g, d, mp, method="exact", progress=True)
    assert pr.cost is not None and pr.cost.route == "near-pairs" and pr._long()
    assert "near-pairs" in capsys.readouterr().err
    rng = np.random.default_rng(1)
    codes = np.asarray(mp.map(g, d.sample(rng=2))).astype(np.int64)
    mask = np.ones(11, bool)
    U = rng.normal(size=(11, 1))
    S0, zc0 = plain._pair_terms(codes, U, mask)
    S1, zc1 = pr._pair_terms(codes, U, mask)
    np.testing.assert_allclose(S1, S0, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(zc1, zc0)
    _, joint = _enumerate(g, d, mp)
    S2, zc2 = _brute_pair_terms(pr.marginal, joint, codes, U, mask)
    np.testing.assert_allclose(S1, S2, atol=1e-10)
    np.testing.assert_array_equal(zc1, zc2)
