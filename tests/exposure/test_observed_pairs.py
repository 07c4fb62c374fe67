"""The observed-units route of the Aronow-Samii pair sums (independent clusters, threshold mapping):
against sums built from exact enumeration of every assignment, and against the previous kernel."""

import warnings

import numpy as np
import pytest

import netexp as ne
from netexp.exposure import _observed_pairs
from netexp.exposure._probabilities import exposure_probabilities
from tests.conftest import random_graph
from tests.exposure.test_probabilities import enumerate_probs


def _brute_pair_terms(marg, joint, codes, U, mask):
    """S and zc of ``_pair_terms`` from the enumerated joints (L, L, n, n), every pair visited."""
    L, n = marg.shape[1], marg.shape[0]
    S = np.zeros((U.shape[1], L, L))
    zc = np.zeros((n, L), dtype=np.int64)
    for i in np.flatnonzero(mask):
        a = codes[i]
        for j in np.flatnonzero(mask):
            for l in range(L):
                zc[i, l] += joint[a, l, i, j] == 0.0
            if j == i:
                continue
            b = codes[j]
            J = joint[a, b, i, j]
            if J > 0:
                S[:, a, b] += (J - marg[i, a] * marg[j, b]) / J * U[i] * U[j]
    return S, zc


@pytest.mark.parametrize("mp", [ne.FullNeighborhood(), ne.FullNeighborhood(hops=2), ne.AronowSamii()],
                         ids=["fn1", "fn2", "as1"])
def test_observed_route_equals_enumeration(mp):
    """Unequal clusters, own cluster partly outside the neighbourhood, singletons, an isolate; some units
    with U = 0 (their zc rows are not needed and not filled), the rest against brute-force sums."""
    g = random_graph(10, 11, 5, isolates=1)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
    d = ne.ClusterRandomized(labels, ne.Bernoulli(5, p=0.35))
    pr = exposure_probabilities(g, d, mp, method="exact")
    assert "thr" in pr._pairs
    marg, joint = enumerate_probs(g, d, mp)
    n, L = marg.shape
    rng = np.random.default_rng(0)
    for rep in range(4):
        codes = rng.integers(0, L, n)
        codes = np.where(marg[np.arange(n), codes] > 0, codes, marg.argmax(1))
        U = rng.normal(size=(n, 2))
        U[rng.random(n) < 0.3] = 0.0
        mask = rng.random(n) < 0.9
        S, zc = pr._pair_terms(codes, U, mask)
        Sb, zcb = _brute_pair_terms(marg, joint, codes, np.where(mask[:, None], U, 0.0), mask)
        np.testing.assert_allclose(S, Sb, rtol=1e-12, atol=1e-12)
        rows = mask & (U != 0).any(1)
        np.testing.assert_array_equal(zc[rows], zcb[rows])


def _social(n, seed):
    g, lab = ne.social_network(n, mean_degree=12, rng=seed, return_labels=True)
    return g, np.asarray(lab)


@pytest.mark.parametrize("mp", [ne.FullNeighborhood(), ne.AronowSamii()], ids=["fn", "as"])
def test_observed_route_equals_previous_kernel(mp, monkeypatch):
    """On a heavy-tailed 3,000-node graph with its planted communities: HT and Hajek standard errors (every
    contrast) equal to the previous kernel's to 1e-12."""
    g, lab = _social(3000, 1)
    K = int(lab.max()) + 1
    d = ne.ClusterRandomized(lab, ne.Bernoulli(K, p=0.5))
    pr = exposure_probabilities(g, d, mp, method="exact")
    z = d.sample(rng=3)
    lv = mp.map(g, z)
    y = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2).outcomes(z)
    contrast = ([("direct_indirect", "no_exposure"), ("indirect", "no_exposure")] if isinstance(mp, ne.AronowSamii)
                else [("treated", "control")])
    ok = (pr.marginal[:, [pr.level_code(k) for c in contrast for k in c]] > 0).all(1)

    def ses():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.array([e.std_error for f in (ne.horvitz_thompson, ne.hajek)
                             for e in f(y, lv, pr, contrasts=contrast, units=ok, variance="aronow-samii")])

    new = ses()
    monkeypatch.setattr(_observed_pairs, "ENABLED", False)
    old = ses()
    assert np.isfinite(new).all()
    np.testing.assert_allclose(new, old, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("mp", [ne.FullNeighborhood(), ne.FullNeighborhood(hops=2), ne.AronowSamii()],
                         ids=["fn1", "fn2", "as1"])
def test_estimate_cost_counts_zero_joint_pairs_as_enumeration(mp):
    """estimate_cost's zero-joint pairs: ordered pairs i != j with pi_ij(k, l) = 0 where pi_i(k), pi_j(l) > 0,
    counted from the enumerated joints (independent pairs never qualify: their joint is the product)."""
    g = random_graph(10, 11, 5, isolates=1)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
    d = ne.ClusterRandomized(labels, ne.Bernoulli(5, p=0.35))
    marg, joint = enumerate_probs(g, d, mp)
    pos = marg > 0
    zero = (joint == 0) & pos.T[:, None, :, None] & pos.T[None, :, None, :]  # (k, l, i, j)
    brute = zero.any(axis=(0, 1))
    np.fill_diagonal(brute, False)
    cost = ne.estimate_cost(g, d, mp)
    assert cost.zero_joint_pairs_exact and cost.zero_joint_pairs == int(brute.sum()) > 0
    assert "with a zero joint" in str(cost)


def test_estimate_cost_sampled_counts_within_their_standard_error(monkeypatch):
    """Beyond the exact-count limits the pair counts come from a fixed-seed sample of units: within 3 of
    their stated standard errors of the exact counts (3,000-node heavy-tailed graph, 500 units sampled)."""
    import sys

    g, lab = _social(3000, 1)
    d = ne.ClusterRandomized(lab, ne.Bernoulli(int(lab.max()) + 1, p=0.5))
    exact = ne.estimate_cost(g, d, ne.AronowSamii())
    assert exact.dependent_pairs_exact and exact.zero_joint_pairs_exact
    cm = sys.modules["netexp.exposure._cost"]
    monkeypatch.setattr(cm, "_EXACT_PAIR_COUNT_MAX", 0)
    monkeypatch.setattr(cm, "_EXACT_ZERO_COUNT_MAX", 0)
    monkeypatch.setattr(cm, "_SAMPLE_UNITS", 500)
    est = ne.estimate_cost(g, d, ne.AronowSamii())
    assert not est.dependent_pairs_exact and not est.zero_joint_pairs_exact
    assert 0 < est.dependent_pairs_se and abs(est.dependent_pairs - exact.dependent_pairs) < 3 * est.dependent_pairs_se
    assert 0 < est.zero_joint_pairs_se
    assert abs(est.zero_joint_pairs - exact.zero_joint_pairs) < 3 * est.zero_joint_pairs_se
    assert "sampled, SE" in str(est)


def test_second_call_reuses_zero_counts_and_walks_active_partners_only():
    """A second call with the same levels, mask and active units (Hajek after HT) takes the Young's counts
    from the first and walks the active partners only: S still equals the brute-force sums."""
    g = random_graph(10, 11, 5, isolates=1)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
    d = ne.ClusterRandomized(labels, ne.Bernoulli(5, p=0.35))
    mp = ne.AronowSamii()
    pr = exposure_probabilities(g, d, mp, method="exact")
    marg, joint = enumerate_probs(g, d, mp)
    n, L = marg.shape
    rng = np.random.default_rng(1)
    codes = np.array([rng.choice(np.flatnonzero(marg[i] > 0)) for i in range(n)])  # levels each unit can take
    mask = np.ones(n, bool)
    U1 = rng.normal(size=(n, 1))
    U2 = U1 * rng.uniform(0.5, 2.0, size=(n, 1))  # same zero rows, other values
    S1, zc1 = pr._pair_terms(codes, U1, mask)
    assert "zc_cache" in pr._pairs["observed"]
    S2, zc2 = pr._pair_terms(codes, U2, mask)
    for U, S, zc in ((U1, S1, zc1), (U2, S2, zc2)):
        Sb, zcb = _brute_pair_terms(marg, joint, codes, U, mask)
        np.testing.assert_allclose(S, Sb, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(zc, zcb)


def test_long_jobs_announce_and_run_the_observed_route_in_blocks(monkeypatch, capsys):
    """Above the announcement threshold the cost (with the zero-joint pairs) is printed and kept, and the
    observed-units route runs in 100 blocks behind a progress bar with the same sums as in one call."""
    import sys

    g = random_graph(10, 11, 5, isolates=1)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
    d = ne.ClusterRandomized(labels, ne.Bernoulli(5, p=0.35))
    mp = ne.FullNeighborhood()
    plain = exposure_probabilities(g, d, mp, method="exact")
    monkeypatch.setattr(sys.modules["netexp.exposure._probabilities"], "_ANNOUNCE_SECONDS", -1.0)
    bars = []
    import tqdm

    class Bar(tqdm.tqdm):
        def __init__(self, *a, **k):
            bars.append(k.get("desc"))
            super().__init__(*a, **k)

    monkeypatch.setattr(tqdm, "tqdm", Bar)
    pr = exposure_probabilities(g, d, mp, method="exact", progress=True)
    assert pr._long() and pr.cost.zero_joint_pairs is not None
    assert "with a zero joint" in capsys.readouterr().err
    rng = np.random.default_rng(1)
    codes = np.asarray(mp.map(g, d.sample(rng=2))).astype(np.int64)
    mask = np.ones(11, bool)
    U = rng.normal(size=(11, 1))
    S0, zc0 = plain._pair_terms(codes, U, mask)
    S1, zc1 = pr._pair_terms(codes, U, mask)
    assert bars == ["exact pair joints (observed units)"]
    np.testing.assert_allclose(S1, S0, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(zc1, zc0)
