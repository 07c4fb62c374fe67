"""Network designs: graph cluster, colouring / independent set, randomized saturation, ego-clusters, mixed.

Truth comes from outside the code under test: the graph itself (edges, scipy shortest paths),
counting rules written out by hand, exact enumeration of every assignment, an explicit covariance
matrix for the saturation variances, and binomial tolerances (4.5 standard errors) for frequencies.
"""

import itertools
import json
import math
import warnings

import numpy as np
import pytest
from scipy.sparse.csgraph import shortest_path

import netexp as ne
from netexp.designs import (ColoringDesign, EgoClusterDesign, IndependentSetDesign, MixedInterferenceDesign,
                            RandomizedSaturation, greedy_coloring, graph_cluster_randomized, recommend_saturations)
from tests.designs._network_designs import NETWORK_DESIGNS, PATH_GRAPH, SIZES_LABELS, SMALL_GRAPH


def _random_graph(n, mean_degree, seed, directed=False):
    rng = np.random.default_rng(seed)
    m = int(n * mean_degree / 2)
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        return ne.Graph.from_edges(u, v, nodes=np.arange(n), directed=directed)


def _within(emp, p, R, k=4.5):
    se = np.sqrt(p * (1 - p) / R)
    return np.all(np.abs(emp - p) <= k * se + 1e-12)


def _enumerated_joint(d):
    Z, w = d.enumerate()
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    Zf = Z.astype(float)
    return (Zf * w[:, None]).T @ Zf


# ----------------------------------------------------------------------------- colouring
@pytest.mark.parametrize("method", ["largest-first", "dsatur"])
@pytest.mark.parametrize("seed,directed", [(0, False), (1, False), (2, True)])
def test_greedy_coloring_is_proper(method, seed, directed):
    g = _random_graph(400, 8, seed, directed=directed)
    colors = greedy_coloring(g, method=method)
    u, v = g.edges()
    assert colors.shape == (g.n_nodes,) and colors.min() == 0
    assert not (colors[u] == colors[v]).any()
    # first fit never needs more than max degree + 1 colours (degree in the undirected graph)
    A = g.adjacency
    deg = np.asarray(((A + A.T) > 0).sum(1)).ravel()
    assert colors.max() + 1 <= deg.max() + 1


def test_no_two_treated_neighbours():
    g = _random_graph(300, 6, 5)
    A = g.adjacency
    for d in (IndependentSetDesign(g, rng=1), IndependentSetDesign(g, n_treated=20, rng=2),
              ColoringDesign(g, p=1.0), ColoringDesign(g, p=0.5, class_probabilities="size", method="dsatur")):
        Z = d.sample_many(500, rng=3).astype(np.int64)
        treated_neighbours = (A @ Z.T).T  # (draws, units)
        assert not (treated_neighbours[Z.astype(bool)] > 0).any(), repr(d)


def test_greedy_independent_set_is_independent_and_maximal():
    g = _random_graph(500, 5, 7)
    d = IndependentSetDesign(g, rng=0)
    m = d.independent_set
    u, v = g.edges()
    assert not (m[u] & m[v]).any()
    # maximal: every unit outside the set has a neighbour in it
    covered = (g.adjacency @ m.astype(int)) > 0
    assert (covered | m).all()
    assert d.n_eligible == int(m.sum()) and d.summary()["n_eligible"] == d.n_eligible
    # construction-time choice: same seed, same set; different seed, different set
    assert np.array_equal(IndependentSetDesign(g, rng=0).independent_set, m)
    assert not np.array_equal(IndependentSetDesign(g, rng=1).independent_set, m)


def test_user_sets_are_checked():
    mask = np.zeros(12, dtype=bool)
    mask[[0, 1]] = True  # 0-1 is an edge
    with pytest.raises(ne.DesignError, match=r"units 0 and 1 are neighbours"):
        IndependentSetDesign(SMALL_GRAPH, independent_set=mask)
    ok = np.zeros(12, dtype=bool)
    ok[[0, 3, 6, 10]] = True
    d = IndependentSetDesign(SMALL_GRAPH, independent_set=ok, p=0.25)
    assert np.array_equal(d.probabilities, np.where(ok, 0.25, 0.0))
    bad_colors = np.zeros(12, dtype=np.int64)
    bad_colors[1::2] = 1  # alternating colours: proper on this graph (even cycle, chords 0-5 and 2-7)
    assert ColoringDesign(SMALL_GRAPH, coloring=bad_colors).n_colors == 2
    bad_colors[5] = 0     # now 4-5, 5-6 and 0-5 join colour-0 units
    with pytest.raises(ne.DesignError, match=r"neighbours \d+ and 5 share a colour \(3 such edge"):
        ColoringDesign(SMALL_GRAPH, coloring=bad_colors)
    with pytest.raises(ne.InputError, match="bool mask"):
        IndependentSetDesign(SMALL_GRAPH, independent_set=[0, 3])


@pytest.mark.parametrize("p,rule", [(0.5, "uniform"), (1.0, "size"), (0.3, "size")])
def test_coloring_probabilities_by_hand_and_enumeration(p, rule):
    d = ColoringDesign(SMALL_GRAPH, p=p, class_probabilities=rule)
    c = d.colors
    K = c.max() + 1
    sizes = np.bincount(c)
    q = np.full(K, 1 / K) if rule == "uniform" else sizes / 12
    assert np.allclose(d.probabilities, q[c] * p, atol=1e-15)
    J = d.joint_probabilities()
    # independent truth: sum over the enumerated assignments
    assert np.allclose(_enumerated_joint(d), J, atol=1e-13)
    u, v = SMALL_GRAPH.edges()
    assert (J[u, v] == 0).all()


# ----------------------------------------------------------------------------- randomized saturation
def test_saturation_exact_counts_per_cluster_and_level():
    labels = np.repeat(np.arange(7), [5, 3, 8, 4, 4, 6, 1])
    levels = (0.0, 0.25, 0.6, 1.0)
    d = RandomizedSaturation(labels, levels, (0.1, 0.3, 0.4, 0.2))
    Z, S = d.sample_with_saturations(3000, rng=0)
    sizes = np.bincount(labels)
    s = np.asarray(levels)[S]                       # (R, K) saturation of each cluster
    counts = np.stack([Z[:, labels == c].sum(1) for c in range(7)], axis=1)
    lo = np.floor(s * sizes + 1e-9)
    assert ((counts == lo) | (counts == lo + 1)).all()
    whole = np.isclose(s * sizes, np.round(s * sizes))
    assert (counts[whole] == np.round(s * sizes)[whole]).all()
    # stage 1: level l is given to floor(7 share_l) or one more clusters, K in all
    per_level = np.stack([(S == l).sum(1) for l in range(4)], axis=1)
    lo1 = np.floor(7 * np.array([0.1, 0.3, 0.4, 0.2]) + 1e-9)
    assert ((per_level == lo1) | (per_level == lo1 + 1)).all() and (per_level.sum(1) == 7).all()
    # each cluster gets each level with probability share_l (binomial tolerance)
    for l, share in enumerate((0.1, 0.3, 0.4, 0.2)):
        assert _within((S == l).mean(0), share, 3000)
    # within a cluster at saturation s, P(Z_i = 1 | s) = s: frequencies among draws at that level
    P = d.unit_probability_given_saturation()
    assert np.allclose(P, np.asarray(levels)[None, :], atol=1e-12)
    at_quarter = S[:, labels[0]] == 1
    assert _within(Z[at_quarter][:, 0].mean(), 0.25, int(at_quarter.sum()))
    # sample_many and sample_with_saturations share one stream
    assert np.array_equal(d.sample_many(50, rng=9), d.sample_with_saturations(50, rng=9)[0])


def test_saturation_marginals_mixture_by_hand():
    d = RandomizedSaturation(SIZES_LABELS, (1.0, 0.0, 0.4), (0.25, 0.35, 0.4))
    assert d.saturation_levels == (0.0, 0.4, 1.0)
    assert d.cluster_shares == pytest.approx((0.35, 0.4, 0.25))
    expected = 0.35 * 0.0 + 0.4 * 0.4 + 0.25 * 1.0
    assert np.allclose(d.probabilities, expected, atol=1e-14)
    R = 20000
    assert _within(d.sample_many(R, rng=1).mean(0), d.probabilities, R)


@pytest.mark.parametrize("within,stage1", [("complete", "complete"), ("bernoulli", "complete"),
                                           ("complete", "bernoulli"), ("bernoulli", "bernoulli")])
def test_saturation_enumeration_equals_closed_form(within, stage1):
    labels = np.repeat(np.arange(4), [3, 2, 1, 3])
    d = RandomizedSaturation(labels, (0.0, 0.5, 2 / 3), (0.3, 0.45, 0.25), within=within, stage1=stage1)
    emp = _enumerated_joint(d)
    assert np.allclose(np.diag(emp), d.probabilities, atol=1e-12)
    assert np.allclose(emp, d.joint_probabilities(), atol=1e-12)


def test_saturation_stage1_probabilities_are_shares_exactly():
    # 5 clusters, shares 1/3 each: every level gets 1 cluster plus 2 leftovers, each level among
    # the leftovers with probability 2/3; a cluster's probability of each level is 1/3.
    d = RandomizedSaturation(SIZES_LABELS, (0.0, 0.5, 1.0))
    dist = d._count_distribution()
    assert sum(w for _, w in dist) == pytest.approx(1.0)
    assert all(N.sum() == 5 and set(N.tolist()) <= {1, 2} for N, _ in dist)
    expected_counts = sum(w * N for N, w in dist)
    assert np.allclose(expected_counts / 5, 1 / 3)


def test_saturation_errors():
    with pytest.raises(ne.DesignError, match="distinct"):
        RandomizedSaturation([0, 0, 1, 1], (0.5, 0.5))
    with pytest.raises(ne.DesignError, match="sum to 1"):
        RandomizedSaturation([0, 0, 1, 1], (0.0, 0.5), (0.5, 0.6))
    with pytest.raises(ne.InputError, match=r"each saturation must be in \[0, 1\]; got 1.5"):
        RandomizedSaturation([0, 0, 1, 1], (0.0, 1.5))
    with pytest.raises(ne.DesignError, match="nobody is ever treated"):
        RandomizedSaturation([0, 0, 1, 1], (0.0,))
    with pytest.raises(ne.DesignError, match="at least 2 clusters"):
        RandomizedSaturation([0, 0, 0], (0.0, 0.5))


def _explicit_variances(icc, K, n, n_control, n_treated_units):
    """Var of the pooled contrasts from the covariance matrix tau^2 (same cluster) + sigma^2 I, built unit by unit."""
    tau2, sig2 = icc, 1 - icc
    N = K * n
    cl = np.repeat(np.arange(K), n)
    Sigma = tau2 * (cl[:, None] == cl[None, :]) + sig2 * np.eye(N)
    pos = np.tile(np.arange(n), K)
    control = cl < n_control
    treated = ~control & (pos < n_treated_units)
    spill = ~control & (pos >= n_treated_units)
    out = []
    for grp in (treated, spill):
        c = grp / grp.sum() - control / control.sum()
        out.append(float(c @ Sigma @ c))
    return out


@pytest.mark.parametrize("icc,K,n,nc,nt", [(0.0, 10, 6, 4, 3), (0.2, 10, 6, 4, 2), (0.7, 8, 5, 3, 4)])
def test_saturation_variance_formula_against_explicit_covariance(icc, K, n, nc, nt):
    from netexp.designs._saturation import _pooled_variances

    v_t, v_s = _pooled_variances(icc, K, n, nc / K, nt / n)
    e_t, e_s = _explicit_variances(icc, K, n, nc, nt)
    assert v_t == pytest.approx(e_t, rel=1e-12) and v_s == pytest.approx(e_s, rel=1e-12)


@pytest.mark.parametrize("icc,weights", [(0.0, (1, 1)), (0.1, (1, 1)), (0.5, (2, 1)), (0.9, (1, 3))])
def test_recommend_saturations_is_the_grid_optimum(icc, weights):
    from netexp.designs._saturation import _pooled_variances

    r = recommend_saturations(icc, n_clusters=60, cluster_size=25, weights=weights)
    grid = np.linspace(0.01, 0.99, 981)
    psi, pi = np.meshgrid(grid, grid, indexing="ij")
    vt, vs = _pooled_variances(icc, 60, 25, psi, pi)
    obj = weights[0] * vt + weights[1] * vs
    i, j = np.unravel_index(np.argmin(obj), obj.shape)
    assert r.control_share == pytest.approx(grid[i], abs=2e-3)
    assert r.treated_saturation == pytest.approx(grid[j], abs=2e-3)
    best = weights[0] * r.variance_treatment + weights[1] * r.variance_spillover
    assert best <= obj.min() + 1e-12


def test_recommend_saturations_limits_and_design():
    r0 = recommend_saturations(0.0, n_clusters=100, cluster_size=20)
    assert r0.control_share == pytest.approx(1 / (1 + math.sqrt(2)))
    shares = [recommend_saturations(icc, n_clusters=100, cluster_size=20).control_share
              for icc in (0.0, 0.05, 0.2, 0.5, 0.95)]
    assert np.all(np.diff(shares) > 0) and shares[-1] < 0.5
    from scipy import stats

    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert r0.mde_treatment == pytest.approx(z * math.sqrt(r0.variance_treatment))
    d = r0.design(np.repeat(np.arange(10), 4))
    assert d.saturation_levels == (0.0, 0.5) and d.cluster_shares[0] == pytest.approx(r0.control_share)
    with pytest.raises(ne.InputError, match="icc must be in"):
        recommend_saturations(1.0, n_clusters=10, cluster_size=5)


# ----------------------------------------------------------------------------- ego-clusters
@pytest.mark.parametrize("seed,max_alters", [(0, None), (1, 6), (2, 3)])
def test_ego_selection_disjoint_two_hop_and_maximal(seed, max_alters):
    g = _random_graph(600, 3, seed)
    d = EgoClusterDesign(g, max_alters=max_alters, rng_selection=seed)
    A = g.adjacency
    deg = np.asarray((A > 0).sum(1)).ravel()
    egos = d.egos
    D = shortest_path(A, unweighted=True, directed=False)
    De = D[np.ix_(egos, egos)]
    np.fill_diagonal(De, np.inf)
    assert De.min() >= 5                      # 2-hop neighbourhoods pairwise disjoint
    eligible = (deg >= 1) if max_alters is None else (deg >= 1) & (deg <= max_alters)
    assert eligible[egos].all()
    others = np.flatnonzero(eligible & ~np.isin(np.arange(600), egos))
    assert (D[np.ix_(others, egos)].min(1) <= 4).all()   # maximal: every other candidate conflicts
    # ego-cluster = ego + its 1-hop neighbours; -1 elsewhere
    lab = d.ego_cluster_labels
    for k, e in enumerate(egos):
        assert set(np.flatnonzero(lab == k).tolist()) == {int(e)} | set(g.neighbors(e).tolist()) or \
            set(np.flatnonzero(lab == k).tolist()) == {int(e)} | set(np.flatnonzero(D[e] == 1).tolist())
    assert d.n_units_used == int((lab >= 0).sum())


def test_ego_assignment_rules():
    g = _random_graph(600, 3, 4)
    d = EgoClusterDesign(g, p=0.5, rng_selection=0)
    Z = d.sample_many(400, rng=1)
    lab = d.ego_cluster_labels
    assert Z[:, d.egos].all()                 # egos treated in both arms
    assert not Z[:, lab < 0].any()            # outside: never treated
    arms = Z[:, d.egos]
    is_ego = np.isin(np.arange(600), d.egos)
    for k in range(d.n_egos):
        block = Z[:, (lab == k) & ~is_ego]
        assert (block == block[:, :1]).all()  # alters follow their ego-cluster's arm
    alters_arm = np.stack([Z[:, (lab == k) & ~np.isin(np.arange(600), d.egos)].any(1)
                           for k in range(d.n_egos)], axis=1)
    E = d.n_egos
    assert set(alters_arm.sum(1).tolist()) <= {E // 2, E // 2 + 1}   # complete: half the ego-clusters
    assert arms.shape == (400, E)
    # exact enumeration equals the closed-form joint on the path graph
    dp = EgoClusterDesign(PATH_GRAPH, rng_selection=3)
    assert np.allclose(_enumerated_joint(dp), dp.joint_probabilities(), atol=1e-13)


def test_ego_errors():
    with pytest.raises(ne.DesignError, match="need at least 2"):
        EgoClusterDesign(ne.load_graph("karate"), rng_selection=0)
    with pytest.raises(ne.InputError, match="max_alters"):
        EgoClusterDesign(PATH_GRAPH, min_alters=3, max_alters=2)


# ----------------------------------------------------------------------------- mixed design
@pytest.mark.parametrize("arm_share,p,n_clusters", [(0.5, 0.5, 10), (0.3, 0.4, 7)])
def test_mixed_arm_counts_and_cluster_constancy(arm_share, p, n_clusters):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, n_clusters, 80)
    labels[:n_clusters] = np.arange(n_clusters)
    d = MixedInterferenceDesign(labels, arm_share=arm_share, p=p)
    Z, arm = d.sample_with_arms(2000, rng=1)
    K = n_clusters
    m = arm.sum(1)
    assert set(m.tolist()) <= {math.floor(arm_share * K + 1e-9), math.floor(arm_share * K + 1e-9) + 1}
    ua = d.unit_arm(arm)
    for r in range(200):
        for c in np.flatnonzero(arm[r]):
            blk = Z[r, labels == c]
            assert (blk == blk[0]).all()
        tc = sum(Z[r, labels == c][0] for c in np.flatnonzero(arm[r]))
        assert tc in (math.floor(p * m[r] + 1e-9), math.floor(p * m[r] + 1e-9) + 1)
        N = ua[r].sum()
        assert Z[r, ua[r]].sum() in (math.floor(p * N + 1e-9), math.floor(p * N + 1e-9) + 1)
    assert _within(arm.mean(0), arm_share, 2000)
    assert _within(Z.mean(0), p, 2000)
    assert np.allclose(d.probabilities, p)


def test_mixed_pairs_by_size_and_enumeration():
    sizes = [5, 1, 3, 2, 4, 6]
    labels = np.repeat(np.arange(6), sizes)
    d = MixedInterferenceDesign(labels, stratify_clusters_by_size=True)
    _, arm = d.sample_with_arms(500, rng=2)
    order = np.argsort(sizes, kind="stable")
    for a, b in order.reshape(3, 2):
        assert (arm[:, a] != arm[:, b]).all()   # one cluster of each size pair per arm
    tiny = MixedInterferenceDesign(np.repeat(np.arange(3), [2, 1, 2]), arm_share=0.5, p=0.5)
    emp = _enumerated_joint(tiny)
    assert np.allclose(np.diag(emp), 0.5, atol=1e-13)


# ----------------------------------------------------------------------------- graph cluster randomization
def test_graph_cluster_stratified_by_size_and_errors():
    sizes = [1, 1, 2, 2, 5, 5, 9, 9]
    labels = np.repeat(np.arange(8), sizes)
    d = graph_cluster_randomized(labels, cluster_design="stratified-by-size", n_size_strata=4)
    assert isinstance(d, ne.ClusterRandomized)
    Zc = d.sample_clusters(300, rng=0)
    for pair in ([0, 1], [2, 3], [4, 5], [6, 7]):
        assert (Zc[:, pair].sum(1) == 1).all()
    with pytest.raises(ne.DesignError, match="needs at least 2 clusters"):
        graph_cluster_randomized(np.repeat(np.arange(5), [1, 2, 3, 4, 50]), cluster_design="stratified-by-size",
                                 n_size_strata=5)
    with pytest.raises(ne.InputError, match="cluster_design must be one of"):
        graph_cluster_randomized(labels, cluster_design="pairs")
    b = graph_cluster_randomized(labels, cluster_design="bernoulli", p=0.2)
    assert np.allclose(b.probabilities, 0.2)


def test_graph_cluster_rerandomized_balances_size():
    g = ne.load_graph("social")
    c = ne.leiden(g, rng=0)
    x = np.random.default_rng(0).normal(size=g.n_nodes)
    d = graph_cluster_randomized(c, cluster_design="rerandomized", covariates=x, acceptance=0.2)
    base = d.cluster_design
    assert isinstance(base, ne.Rerandomized) and "size" in base.covariate_names
    draws = base.sample_with_diagnostics(50, rng=1)
    assert (draws.statistics <= base.threshold).all()
    assert d.n_clusters == c.n_clusters


# ----------------------------------------------------------------------------- declarations and summaries
@pytest.mark.parametrize("name", [k for k in NETWORK_DESIGNS if not k.startswith(("graph_cluster", "mc_"))])
def test_declaration_and_summary_are_json(name):
    d = NETWORK_DESIGNS[name]()
    dec = d.declaration()
    assert dec["type"] == type(d).__name__ and dec["n_units"] == d.n_units
    json.dumps(dec)
    json.dumps(d.summary())
    assert type(d).__name__ in repr(d)


def test_every_subset_of_cluster_equally_likely():
    # within-cluster complete draws: the 3 units of a cluster at saturation 1/3 -> each single unit 1/3
    from scipy import stats

    d = RandomizedSaturation([0, 0, 0, 1, 1, 1], (1 / 3, 2 / 3), stage1="bernoulli")
    Z, S = d.sample_with_saturations(30000, rng=4)
    rows = Z[S[:, 0] == 0][:, :3]
    assert (rows.sum(1) == 1).all()
    counts = np.bincount(rows.argmax(1), minlength=3)
    assert stats.chisquare(counts).pvalue > 1e-3
    codes = Z[S[:, 1] == 1][:, 3:].astype(int) @ np.array([1, 2, 4])
    counts = np.unique(codes, return_counts=True)[1]
    assert counts.shape[0] == 3 and stats.chisquare(counts).pvalue > 1e-3


def test_enumeration_support_is_all_assignments():
    # the mixed design's enumeration puts mass only on assignments its sampler can produce
    d = MixedInterferenceDesign(np.repeat(np.arange(3), [2, 1, 2]))
    Z, w = d.enumerate()
    seen = {tuple(z) for z in d.sample_many(5000, rng=0).tolist()}
    assert seen == {tuple(z) for z in Z.tolist()}
    assert all(isinstance(x, tuple) for x in itertools.islice(seen, 1))
