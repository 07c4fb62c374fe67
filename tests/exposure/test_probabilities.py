"""Exact exposure probabilities against exact enumeration over every assignment; Monte Carlo within
binomial tolerance; conventions of the R package `interference` reproduced by hand counts."""

import numpy as np
import pytest
import scipy.sparse as sp

import netexp as ne
from netexp.exposure._probabilities import ExposureProbabilities, exposure_probabilities
from tests.conftest import random_graph

try:  # the exposure-mapping module (another engineer's); a stand-in until it lands
    from netexp.exposure._mappings import AronowSamii  # type: ignore
except ImportError:  # pragma: no cover - depends on the other module's progress
    AronowSamii = None


def _khop_dense(graph, k):
    A = graph.adjacency.toarray().astype(bool)
    n = A.shape[0]
    reach = np.zeros_like(A)
    step = np.eye(n, dtype=bool)
    for _ in range(k):
        step = (step.astype(int) @ A.astype(int)) > 0
        reach |= step
    np.fill_diagonal(reach, False)
    return reach


class StandInAS:
    """Aronow-Samii 4 levels from (own treatment, any treated within k hops); brute-force map."""

    levels = ("direct_indirect", "isolated_direct", "indirect", "no_exposure")
    count_based = True

    def __init__(self, hops=1):
        self.hops = hops

    def level_from_counts(self, z, c, d):
        z = np.asarray(z).astype(bool)
        c = np.asarray(c) > 0
        return np.where(z, np.where(c, 0, 1), np.where(c, 2, 3)).astype(np.int8)

    def map_many(self, graph, Z):
        Z = np.asarray(Z, dtype=bool)
        R = _khop_dense(graph, self.hops).astype(np.int64)
        c = Z.astype(np.int64) @ R.T
        d = np.broadcast_to(R.sum(1), c.shape)
        return self.level_from_counts(Z, c, d)


class StandInFraction(StandInAS):
    """Three levels from the treated fraction (a threshold mapping: exercises c and d)."""

    levels = ("control", "low", "high")

    def level_from_counts(self, z, c, d):
        c, d = np.asarray(c), np.asarray(d)
        frac = np.divide(c, d, out=np.zeros(c.shape), where=d > 0)
        return np.where(frac >= 0.5, 2, np.where(frac > 0, 1, 0)).astype(np.int8)


def mapping(hops=1):
    return AronowSamii(hops=hops) if AronowSamii is not None else StandInAS(hops)


def enumerate_probs(graph, design, mp):
    """(marginal (n, L), joint (L, L, n, n)) by summing over every assignment in the support."""
    Z, w = design.enumerate()
    E = np.asarray(mp.map_many(graph, Z))
    L = len(mp.levels)
    onehot = (E[:, :, None] == np.arange(L)).astype(float)  # (S, n, L)
    marg = np.einsum("s,snk->nk", w, onehot)
    joint = np.einsum("s,sik,sjl->klij", w, onehot, onehot)
    return marg, joint


def tiny_graph(n=9, m=12, seed=3):
    g = random_graph(n, m, seed)
    return g


DESIGNS = {
    "bernoulli": lambda n: ne.Bernoulli(n, p=0.3),
    "complete": lambda n: ne.Complete(n, n_treated=3),
    "complete-odd": lambda n: ne.Complete(n, p=0.35),
    "cluster-bernoulli": lambda n: ne.ClusterRandomized(np.arange(n) % 4, ne.Bernoulli(4, p=0.4)),
    "cluster-complete": lambda n: ne.ClusterRandomized(np.arange(n) % 4, ne.Complete(4, n_treated=2)),
}


@pytest.mark.parametrize("hops", [1, 2])
@pytest.mark.parametrize("name", list(DESIGNS))
def test_exact_marginals_equal_enumeration(name, hops):
    g = tiny_graph()
    d = DESIGNS[name](g.n_nodes)
    mp = mapping(hops)
    pr = exposure_probabilities(g, d, mp, method="exact", joint=False)
    marg, _ = enumerate_probs(g, d, mp)
    assert pr.exact and pr.method == "exact"
    np.testing.assert_allclose(pr.marginal, marg, atol=1e-12)
    np.testing.assert_allclose(pr.marginal.sum(1), 1.0, atol=1e-12)


def test_exact_marginals_threshold_mapping_with_isolate():
    g = random_graph(10, 11, 5, isolates=1)
    mp = StandInFraction(1)
    for d in (ne.Bernoulli(11, p=0.45), ne.Complete(11, n_treated=4)):
        pr = exposure_probabilities(g, d, mp, method="exact", joint=False)
        np.testing.assert_allclose(pr.marginal, enumerate_probs(g, d, mp)[0], atol=1e-12)


def _full_joint(pr, a, b):
    """Dense joint from the package: sparse (independent designs: unstored pairs are products) or dense."""
    J = pr.joint(a, b)
    if not sp.issparse(J):
        return J
    full = J.tocoo()
    dense = np.outer(pr.marginal[:, a], pr.marginal[:, b])
    dense[full.row, full.col] = full.data
    return dense


@pytest.mark.parametrize("threshold", [False, True])
@pytest.mark.parametrize("hops", [1, 2])
@pytest.mark.parametrize("name", list(DESIGNS))
def test_exact_joints_equal_enumeration(name, hops, threshold):
    """Every pairwise joint (every pair of levels) equals the enumerated frequency over design.enumerate()."""
    g = tiny_graph()
    d = DESIGNS[name](g.n_nodes)
    mp = StandInFraction(hops) if threshold else mapping(hops)
    pr = exposure_probabilities(g, d, mp, method="exact")
    _, joint = enumerate_probs(g, d, mp)
    L = len(mp.levels)
    for a in range(L):
        for b in range(L):
            np.testing.assert_allclose(_full_joint(pr, a, b), joint[a, b], atol=1e-12, err_msg=f"levels {a},{b}")


def test_exact_complete_joints_irregular_clusters_and_isolate():
    """Cluster-Complete with unequal clusters (own cluster partly in the neighbourhood) and an isolate."""
    g = random_graph(10, 11, 5, isolates=1)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
    mp = mapping(1)
    for d in (ne.ClusterRandomized(labels, ne.Complete(5, n_treated=2)), ne.Complete(11, n_treated=5)):
        pr = exposure_probabilities(g, d, mp)  # auto: exact, joints included
        assert pr.exact and pr.joint_available
        marg, joint = enumerate_probs(g, d, mp)
        np.testing.assert_allclose(pr.marginal, marg, atol=1e-12)
        for a in range(4):
            for b in range(4):
                np.testing.assert_allclose(pr.joint(a, b), joint[a, b], atol=1e-12)


def test_monte_carlo_within_tolerance():
    g = ne.erdos_renyi(300, 0.02, rng=1)
    d = ne.Bernoulli(300, p=0.3)
    mp = mapping(1)
    exact = exposure_probabilities(g, d, mp, method="exact", joint=False)
    mc = exposure_probabilities(g, d, mp, method="monte-carlo", n_draws=4000, rng=2, joint=False, batch_size=700)
    assert not mc.exact and mc.n_draws == 4000
    se = np.sqrt(exact.marginal * (1 - exact.marginal) / 4000)
    z = np.abs(mc.marginal - exact.marginal) / np.where(se > 0, se, 1)
    # 1200 comparisons: a 5-sigma tolerance fails with probability < 1e-3 under a correct sampler
    assert z.max() < 5.0
    again = exposure_probabilities(g, d, mp, method="monte-carlo", n_draws=4000, rng=2, joint=False)
    np.testing.assert_array_equal(again.marginal, mc.marginal)


def test_user_draws_and_interference_convention():
    g = tiny_graph()
    mp = mapping(1)
    Z = ne.Complete(g.n_nodes, n_treated=3).sample_many(50, rng=4)
    E = np.asarray(mp.map_many(g, Z))
    R = Z.shape[0]
    a, b = 0, 3
    pr = exposure_probabilities(g, None, mp, draws=Z, convention="interference")
    Ia, Ib = (E == a).astype(int), (E == b).astype(int)
    np.testing.assert_allclose(pr.marginal[:, a], (Ia.sum(0) + 1) / (R + 1))
    Jaa = pr.joint(a, a)
    np.testing.assert_allclose(Jaa, (Ia.T @ Ia + np.eye(g.n_nodes)) / (R + 1))
    np.testing.assert_allclose(pr.joint(a, b), Ia.T @ Ib / R)
    nx = exposure_probabilities(g, None, mp, draws=Z)
    np.testing.assert_allclose(nx.marginal[:, a], Ia.mean(0))
    np.testing.assert_allclose(nx.joint(a, a), Ia.T @ Ia / R)


def test_positivity_and_check_contrast():
    g = ne.Graph.from_edges([0, 1], [1, 2], nodes=[3])  # node 3 isolated: never indirectly exposed
    pr = exposure_probabilities(g, ne.Bernoulli(4, p=0.5), mapping(1), method="exact")
    tab = pr.positivity()
    assert tab.set_index("level").loc["indirect", "n_zero"] == 1
    with pytest.raises(ne.ExposureError, match="1 units have zero probability of exposure 'indirect'.*units="):
        pr.check_contrast("indirect", "no_exposure")
    pr.check_contrast("indirect", "no_exposure", units=np.array([True, True, True, False]))


def test_result_frozen_and_errors():
    g = tiny_graph()
    pr = exposure_probabilities(g, ne.Bernoulli(g.n_nodes), mapping(1))
    assert isinstance(pr, ExposureProbabilities) and pr.exact  # auto picks exact for Bernoulli
    with pytest.raises(Exception):
        pr.exact = False
    with pytest.raises(ValueError):
        pr.marginal[0, 0] = 1.0
    with pytest.raises(ne.InputError, match="method must be one of"):
        exposure_probabilities(g, ne.Bernoulli(g.n_nodes), mapping(1), method="magic")
    auto = exposure_probabilities(g, ne.Complete(g.n_nodes, n_treated=3), mapping(1), n_draws=200, rng=0)
    assert auto.method == "exact" and auto.joint_available  # exact joints under Complete too
    ex = exposure_probabilities(g, ne.Complete(g.n_nodes, n_treated=3), mapping(1), method="exact", joint=False)
    with pytest.raises(ne.ExposureError, match="joint=False"):
        ex.joint(0, 0)


@pytest.mark.parametrize("mp", [ne.FullNeighborhood(), ne.FullNeighborhood(hops=2), ne.AronowSamii(),
                                ne.OwnTreatment()], ids=["fn1", "fn2", "as1", "own"])
def test_closed_form_cluster_bernoulli_joints_equal_enumeration(mp):
    """Threshold mappings under cluster Bernoulli (closed-form pair joints): unequal clusters, the own
    cluster partly inside the neighbourhood, singleton clusters and an isolate, against enumeration."""
    g = random_graph(10, 11, 5, isolates=1)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
    d = ne.ClusterRandomized(labels, ne.Bernoulli(5, p=0.35))
    pr = exposure_probabilities(g, d, mp, method="exact")
    assert "thr" in pr._pairs  # the closed-form path is the one under test
    marg, joint = enumerate_probs(g, d, mp)
    np.testing.assert_allclose(pr.marginal, marg, atol=1e-12)
    L = len(mp.levels)
    for a in range(L):
        for b in range(L):
            np.testing.assert_allclose(_full_joint(pr, a, b), joint[a, b], atol=1e-12, err_msg=f"levels {a},{b}")
            z_pkg = _full_joint(pr, a, b) == 0
            assert (z_pkg == (joint[a, b] == 0)).all()  # exact zeros (Young's correction counts them)


SAT_LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3])  # 4 clusters of 2-3 units


def _sat_design(within, stage1):
    # K * shares = (1.2, 1.2, 1.6): one fixed cluster per level and one leftover drawn by systematic sampling
    return ne.RandomizedSaturation(SAT_LABELS, saturations=(0.0, 0.4, 1.0), shares=(0.3, 0.3, 0.4), within=within,
                                   stage1=stage1)


@pytest.mark.parametrize("hops", [1, 2])
@pytest.mark.parametrize("within", ["complete", "bernoulli"])
@pytest.mark.parametrize("stage1", ["bernoulli", "complete"])
def test_saturation_marginals_and_joints_equal_enumeration(stage1, within, hops):
    """Randomized saturation, every stage-1 x within mode: exact marginals and every pairwise joint (every
    pair of levels, exact zeros included) against frequencies over design.enumerate(). Four clusters of
    2-3 units with edges across clusters; the 10-node graph has its own cross-cluster edges."""
    g = random_graph(10, 13, 7)
    d = _sat_design(within, stage1)
    for mp in (ne.AronowSamii(hops=hops), ne.FullNeighborhood(hops=hops), StandInFraction(hops)):
        pr = exposure_probabilities(g, d, mp)  # auto: exact, with exact joints
        assert pr.exact and pr.joint_available
        marg, joint = enumerate_probs(g, d, mp)
        np.testing.assert_allclose(pr.marginal, marg, atol=1e-12)
        L = len(mp.levels)
        for a in range(L):
            for b in range(L):
                J = _full_joint(pr, a, b)
                np.testing.assert_allclose(J, joint[a, b], atol=1e-12, err_msg=f"{type(mp).__name__} levels {a},{b}")
                assert ((J == 0) == (joint[a, b] == 0)).all()  # exact zeros (Young's correction counts them)
        if stage1 == "bernoulli":  # independent levels: joint() stores the near pairs only, far pairs are products
            assert sp.issparse(pr.joint(0, 0))


def test_saturation_two_levels_unequal_shares_and_isolate():
    """Stage 1 complete with two levels and a leftover (K shares = (1.5, 2.5)), an isolate in its own cluster."""
    g = random_graph(8, 9, 2, isolates=1)
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3])
    for within in ("complete", "bernoulli"):
        d = ne.RandomizedSaturation(labels, saturations=(0.0, 0.6), shares=(0.375, 0.625), within=within)
        mp = ne.AronowSamii()
        pr = exposure_probabilities(g, d, mp, method="exact")
        marg, joint = enumerate_probs(g, d, mp)
        np.testing.assert_allclose(pr.marginal, marg, atol=1e-12)
        for a in range(4):
            for b in range(4):
                np.testing.assert_allclose(pr.joint(a, b), joint[a, b], atol=1e-12)


def test_saturation_too_many_types_falls_back_to_monte_carlo(monkeypatch):
    """When the far-pair type table of stage 1 complete is too large: method='exact' keeps exact marginals and
    says the joints need Monte Carlo; method='auto' warns and uses Monte Carlo for everything."""
    import importlib

    mod = importlib.import_module("netexp.exposure._probabilities")

    g = random_graph(10, 13, 7)
    d = _sat_design("complete", "complete")
    monkeypatch.setattr(mod, "_TYPE_TABLE_MAX", 1)
    pr = exposure_probabilities(g, d, ne.AronowSamii(), method="exact")
    assert pr.exact and not pr.joint_available
    np.testing.assert_allclose(pr.marginal, enumerate_probs(g, d, ne.AronowSamii())[0], atol=1e-12)
    with pytest.raises(ne.ExposureError, match="distinct neighbourhood types.*method='monte-carlo'"):
        pr.joint(0, 0)
    with pytest.warns(ne.NetexpWarning, match="Falling back to Monte Carlo"):
        mc = exposure_probabilities(g, d, ne.AronowSamii(), n_draws=200, rng=0)
    assert mc.method == "monte-carlo" and mc.joint_available


def test_monte_carlo_zero_is_reported_as_never_drawn():
    # a leaf of a 12-star is fully treated only when the hub and itself are: p = 1/4; the hub needs all 13
    # treated: 2^-13, which 200 draws almost surely miss. The message must not call that probability zero.
    g = ne.Graph.from_edges([0] * 12, list(range(1, 13)))
    pr = exposure_probabilities(g, ne.Bernoulli(13, p=0.5), ne.FullNeighborhood(), method="monte-carlo",
                                n_draws=200, rng=0)
    assert pr.marginal[0, pr.level_code("treated")] == 0
    with pytest.raises(ne.ExposureError, match=r"never at exposure 'treated' in 200 Monte Carlo draws.*n_draws="):
        pr.check_contrast("treated", "control")


@pytest.mark.parametrize("within", ["complete", "bernoulli"])
@pytest.mark.parametrize("mp", [ne.AronowSamii(), ne.FullNeighborhood(), ne.FullNeighborhood(hops=2)],
                         ids=["as1", "fn1", "fn2"])
def test_saturation_closed_form_threshold_joints_equal_enumeration(mp, within):
    """Stage 1 bernoulli + threshold mapping: the closed-form pair joints (per-cluster all-0 / all-1
    probabilities, inclusion-exclusion for mixed) are the path used, and every joint, exact zeros included,
    equals enumeration; the AS pair sums equal the per-pair dynamic programme's."""
    import dataclasses

    g = random_graph(10, 13, 7)
    d = _sat_design(within, "bernoulli")
    pr = exposure_probabilities(g, d, mp, method="exact")
    assert "sthr" in pr._pairs  # the closed-form path is the one under test
    marg, joint = enumerate_probs(g, d, mp)
    np.testing.assert_allclose(pr.marginal, marg, atol=1e-12)
    L = len(mp.levels)
    for a in range(L):
        for b in range(L):
            J = _full_joint(pr, a, b)
            np.testing.assert_allclose(J, joint[a, b], atol=1e-12, err_msg=f"levels {a},{b}")
            assert ((J == 0) == (joint[a, b] == 0)).all()
    old = dataclasses.replace(pr, _pairs={k: v for k, v in pr._pairs.items() if k != "sthr"})
    codes = np.asarray(mp.map_many(g, d.sample(rng=1)[None, :]))[0]
    U = np.random.default_rng(2).normal(size=(10, 2))
    mask = np.ones(10, bool)
    mask[3] = False
    S1, z1 = pr._pair_terms(codes, U, mask)
    S0, z0 = old._pair_terms(codes, U, mask)
    np.testing.assert_allclose(S1, S0, rtol=1e-10, atol=1e-12)
    assert (z1 == z0).all()
    V = np.random.default_rng(3).normal(size=(10, L))
    np.testing.assert_allclose(pr._cov_terms(V, mask), old._cov_terms(V, mask), rtol=1e-10, atol=1e-12)
