"""Random graph generators, checked against independent truth.

Truth comes from the models' definitions (Binomial edge counts, uniform pairs, ring lattices,
``m * (n - m)`` attachment edges), from closed forms (ring-lattice clustering
``3(k-2)/(4(k-1))``, the BA tail exponent 3) and from networkx's own generators. Nothing is
compared with numbers these generators produced earlier.

Statistical checks use fixed seeds. Counts are allowed ``Z = 4`` standard deviations (a
two-sided false-alarm rate of 6e-5 per check had the seeds been random); goodness-of-fit tests
(chi-square, contingency) fail below ``ALPHA = 1e-3``.
"""

from __future__ import annotations

import doctest
import itertools
import math
import random

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from netexp._errors import InputError
from netexp.graph import _generators as G
from netexp.graph._generators import (barabasi_albert, erdos_renyi, social_network, stochastic_block_model,
                                      watts_strogatz)
from netexp.graph._graph import Graph

Z = 4.0
ALPHA = 1e-3


def edge_set(g: Graph) -> set[tuple[int, int]]:
    u, v = g.edges()
    return set(zip(u.tolist(), v.tolist()))


def within_binomial(x: float, n_trials: float, p: float, z: float = Z) -> bool:
    return abs(x - n_trials * p) <= z * math.sqrt(max(n_trials * p * (1 - p), 1e-12))


def chisquare_pvalue(observed: np.ndarray, expected: np.ndarray, min_expected: float = 5.0) -> float:
    """Chi-square goodness of fit after pooling adjacent cells until each expects >= 5."""
    obs, exp = [], []
    o_acc = e_acc = 0.0
    for o, e in zip(observed, expected):
        o_acc += o
        e_acc += e
        if e_acc >= min_expected:
            obs.append(o_acc)
            exp.append(e_acc)
            o_acc = e_acc = 0.0
    if e_acc > 0:
        obs[-1] += o_acc
        exp[-1] += e_acc
    obs, exp = np.asarray(obs), np.asarray(exp)
    exp *= obs.sum() / exp.sum()
    return float(stats.chisquare(obs, exp).pvalue)


# ----------------------------------------------------------------------------- all generators
ALL = {
    "erdos_renyi": lambda rng: erdos_renyi(300, 0.05, rng=rng),
    "erdos_renyi_dense": lambda rng: erdos_renyi(60, 0.8, rng=rng),
    "sbm": lambda rng: stochastic_block_model([40, 60, 30], [[0.3, 0.02, 0.0], [0.02, 0.2, 0.05],
                                                              [0.0, 0.05, 0.9]], rng=rng),
    "watts_strogatz": lambda rng: watts_strogatz(200, 6, 0.3, rng=rng),
    "barabasi_albert": lambda rng: barabasi_albert(300, 3, rng=rng),
    "social_network": lambda rng: social_network(1500, mean_degree=8, rng=rng),
}


@pytest.mark.parametrize("name", list(ALL))
def test_same_seed_same_graph_other_seed_other_graph(name):
    make = ALL[name]
    assert make(7) == make(7)
    assert make(np.random.SeedSequence(7)) == make(np.random.SeedSequence(7))
    assert make(7) != make(8)
    gen = np.random.default_rng(5)
    assert make(gen) != make(gen)  # a Generator is advanced, not reset


@pytest.mark.parametrize("name", list(ALL))
def test_global_random_state_untouched(name):
    np_state = np.random.get_state()[1].copy()
    py_state = random.getstate()
    ALL[name](3)
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert random.getstate() == py_state


@pytest.mark.parametrize("name", list(ALL))
def test_output_is_simple_undirected_graph_on_range(name):
    g = ALL[name](11)
    assert isinstance(g, Graph) and not g.directed
    assert np.array_equal(g.node_ids, np.arange(g.n_nodes))
    a = g.adjacency
    assert (a != a.T).nnz == 0 and a.diagonal().sum() == 0 and a.max() == 1


@pytest.mark.parametrize("name", list(ALL))
def test_bad_rng_is_refused(name):
    with pytest.raises(InputError, match="rng"):
        ALL[name](np.random.RandomState(0))


def test_docstring_examples_run():
    res = doctest.testmod(G, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 5 and res.failed == 0


# ----------------------------------------------------------------------------- Erdos-Renyi
@pytest.mark.parametrize("n, p, seed", [(2000, 0.005, 0), (500, 0.1, 1), (300, 0.3, 2), (200, 0.75, 3),
                                        (120, 0.97, 4), (50, 1.0, 5), (50, 0.0, 6)])
def test_er_edge_count_is_binomial(n, p, seed):
    N = n * (n - 1) // 2
    g = erdos_renyi(n, p, rng=seed)
    assert g.n_nodes == n
    assert within_binomial(g.n_edges, N, p)


def test_er_mean_degree_is_p_times_n_minus_1():
    n, md = 5000, 12.0
    a = erdos_renyi(n, mean_degree=md, rng=3)
    b = erdos_renyi(n, md / (n - 1), rng=3)
    assert a == b
    assert within_binomial(a.n_edges, n * (n - 1) / 2, md / (n - 1))


@pytest.mark.parametrize("n, p, seed", [(3000, 0.004, 10), (400, 0.7, 11)])
def test_er_degree_distribution_is_binomial(n, p, seed):
    g = erdos_renyi(n, p, rng=seed)
    deg = np.asarray(g.degree)
    support = np.arange(n)
    observed = np.bincount(deg, minlength=n)
    expected = n * stats.binom.pmf(support, n - 1, p)
    assert chisquare_pvalue(observed, expected) > ALPHA


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_er_tiny_graph_is_exact_gnp(p):
    """n = 5: every pair appears with frequency p, the edge count is Binomial(10, p), and
    given its edge count every graph is equally likely (the law of G(n, p))."""
    n, draws = 5, 10000
    pairs = list(itertools.combinations(range(n), 2))
    gen = np.random.default_rng(2024)
    hits = np.zeros(len(pairs))
    graphs = []
    for _ in range(draws):
        es = edge_set(erdos_renyi(n, p, rng=gen))
        code = sum(1 << i for i, e in enumerate(pairs) if e in es)
        graphs.append(code)
        for i, e in enumerate(pairs):
            hits[i] += e in es
    for h in hits:
        assert within_binomial(h, draws, p)
    graphs = np.asarray(graphs)
    counts = np.array([bin(c).count("1") for c in graphs])
    assert chisquare_pvalue(np.bincount(counts, minlength=11), draws * stats.binom.pmf(np.arange(11), 10, p)) > ALPHA
    for m in range(11):
        in_class = graphs[counts == m]
        n_graphs = math.comb(10, m)
        if in_class.size < 5 * n_graphs or n_graphs == 1:
            continue
        _, freq = np.unique(in_class, return_counts=True)
        freq = np.concatenate([freq, np.zeros(n_graphs - freq.size)])
        assert stats.chisquare(freq).pvalue > ALPHA


def test_er_trivial_sizes():
    assert erdos_renyi(1, 0.5, rng=0).n_edges == 0
    assert erdos_renyi(2, 1.0, rng=0).n_edges == 1
    assert erdos_renyi(30, 1.0, rng=0).n_edges == 435


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=10, p=0.1, mean_degree=2), "exactly one of p or mean_degree; got both"),
    (dict(n=10), "exactly one of p or mean_degree; got neither"),
    (dict(n=10, p=1.5), r"erdos_renyi: p must be in \[0, 1\]; got 1.5"),
    (dict(n=10, p=-0.1), "p must be in"),
    (dict(n=10, mean_degree=10), r"mean_degree must be in \[0, n - 1\] = \[0, 9\]; got 10"),
    (dict(n=10, mean_degree=-1), "mean_degree must be a finite number >= 0"),
    (dict(n=0, p=0.1), r"erdos_renyi: n must be in \[1, "),
    (dict(n=2.5, p=0.1), "n must be an integer"),
])
def test_er_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        erdos_renyi(**kwargs, rng=0)


def test_triangle_decode_enumerates_all_pairs():
    n = 60
    lo, hi = G._triangle_decode(np.arange(n * (n - 1) // 2))
    assert set(zip(lo.tolist(), hi.tolist())) == set(itertools.combinations(range(n), 2))
    big = np.random.default_rng(0).integers(0, 2**61, 10000)
    lo, hi = G._triangle_decode(big)
    assert np.all((0 <= lo) & (lo < hi)) and np.array_equal(hi * (hi - 1) // 2 + lo, big)


# ----------------------------------------------------------------------------- SBM
def test_sbm_block_edge_counts_are_binomial():
    sizes = np.array([300, 200, 150, 40])
    P = np.array([[0.05, 0.002, 0.01, 0.0],
                  [0.002, 0.08, 0.004, 0.3],
                  [0.01, 0.004, 0.6, 0.02],
                  [0.0, 0.3, 0.02, 1.0]])
    g, labels = stochastic_block_model(sizes, P, rng=12, return_labels=True)
    assert np.array_equal(labels, np.repeat(np.arange(4), sizes))
    u, v = g.edges()
    a, b = np.minimum(labels[u], labels[v]), np.maximum(labels[u], labels[v])
    counts = np.zeros((4, 4), dtype=int)
    np.add.at(counts, (a, b), 1)
    for i in range(4):
        for j in range(i, 4):
            n_pairs = sizes[i] * (sizes[i] - 1) // 2 if i == j else sizes[i] * sizes[j]
            assert within_binomial(counts[i, j], n_pairs, P[i, j]), (i, j, counts[i, j], n_pairs * P[i, j])
    assert counts[0, 3] == 0 and counts[3, 3] == 40 * 39 // 2  # p = 0 and p = 1 are exact


def test_sbm_tiny_pairs_have_their_block_probability():
    sizes, P = [2, 3], np.array([[0.5, 0.2], [0.2, 0.7]])
    labels = np.repeat([0, 1], sizes)
    pairs = list(itertools.combinations(range(5), 2))
    gen = np.random.default_rng(99)
    draws = 8000
    hits = dict.fromkeys(pairs, 0)
    for _ in range(draws):
        for e in edge_set(stochastic_block_model(sizes, P, rng=gen)):
            hits[e] += 1
    for (i, j), h in hits.items():
        assert within_binomial(h, draws, P[labels[i], labels[j]]), ((i, j), h)


def test_sbm_many_blocks_matches_expected_total():
    k, s = 400, 25
    P = np.full((k, k), 0.001)
    np.fill_diagonal(P, 0.3)
    g, labels = stochastic_block_model([s] * k, P, rng=4, return_labels=True)
    u, v = g.edges()
    within = int(np.sum(labels[u] == labels[v]))
    assert within_binomial(within, k * s * (s - 1) // 2, 0.3)
    assert within_binomial(g.n_edges - within, s * s * k * (k - 1) // 2, 0.001)


def test_sbm_equals_er_in_law_for_one_block():
    g = stochastic_block_model([400], [[0.05]], rng=1)
    assert within_binomial(g.n_edges, 400 * 399 // 2, 0.05)


@pytest.mark.parametrize("sizes, p, match", [
    ([10, 10], [[0.1, 0.2], [0.3, 0.1]], r"p must be symmetric .* p\[0, 1\] = 0.2 but p\[1, 0\] = 0.3"),
    ([10, 10], [[0.1, 0.2]], r"p must have shape \(2, 2\) to match 2 blocks; got shape \(1, 2\)"),
    ([10, 10], [[0.1, 1.2], [1.2, 0.1]], r"probabilities in \[0, 1\]; got p\[0, 1\] = 1.2"),
    ([10, -1], [[0.1, 0.1], [0.1, 0.1]], "sizes must be non-negative; got -1 at block 1"),
    ([], [], "non-empty 1-D sequence"),
    ([1.5, 2], [[0.1, 0.1], [0.1, 0.1]], "integers"),
    ([0, 0], [[0.1, 0.1], [0.1, 0.1]], "add up to a number of units"),
])
def test_sbm_errors(sizes, p, match):
    with pytest.raises(InputError, match=match):
        stochastic_block_model(sizes, p, rng=0)


# ----------------------------------------------------------------------------- Watts-Strogatz
@pytest.mark.parametrize("n, k", [(10, 2), (50, 4), (101, 10), (30, 28), (7, 6)])
def test_ws_p0_is_networkx_ring_lattice(n, k):
    g = watts_strogatz(n, k, 0.0, rng=0)
    ref = nx.watts_strogatz_graph(n, k, 0)
    assert edge_set(g) == {tuple(sorted(e)) for e in ref.edges()}


@pytest.mark.parametrize("n, k", [(200, 4), (300, 10), (500, 20)])
def test_ws_p0_clustering_closed_form(n, k):
    g = watts_strogatz(n, k, 0.0, rng=0)
    assert nx.average_clustering(g.to_networkx()) == pytest.approx(3 * (k - 2) / (4 * (k - 1)), abs=1e-12)


@pytest.mark.parametrize("n, k, p, seed", [(1000, 10, 0.1, 0), (2000, 6, 0.5, 1), (500, 20, 1.0, 2)])
def test_ws_rewiring_keeps_edges_and_rewires_fraction_p(n, k, p, seed):
    g = watts_strogatz(n, k, p, rng=seed)
    assert g.n_edges == n * k // 2
    # each unit keeps its own k/2 edges (only their far ends move)
    assert g.degree.min() >= k // 2
    # rewired edges never land on lattice pairs, so lattice pairs left = Binomial(nk/2, 1-p)
    u, v = g.edges()
    d = np.abs(u - v)
    on_lattice = int(np.sum(np.minimum(d, n - d) <= k // 2))
    assert within_binomial(on_lattice, n * k // 2, 1 - p)


def test_ws_full_rewiring_destroys_clustering():
    n, k = 2000, 10
    g = watts_strogatz(n, k, 1.0, rng=3)
    c = nx.average_clustering(g.to_networkx())
    assert c < 5 * k / n  # ER-like, far below the lattice's 0.667


def test_ws_complete_when_no_room_to_rewire():
    g = watts_strogatz(7, 6, 1.0, rng=0)  # every pair is a lattice pair
    assert g.n_edges == 21


@pytest.mark.parametrize("args, match", [
    ((10, 3, 0.1), "k must be even .* got 3"),
    ((10, 10, 0.1), "k must be smaller than n=10; got 10"),
    ((10, 4, 1.1), r"watts_strogatz: p must be in \[0, 1\]; got 1.1"),
    ((10, -2, 0.1), "k must be in"),
])
def test_ws_errors(args, match):
    with pytest.raises(InputError, match=match):
        watts_strogatz(*args, rng=0)


# ----------------------------------------------------------------------------- Barabasi-Albert
@pytest.mark.parametrize("n, m", [(10, 1), (100, 3), (1000, 5), (50, 49), (30, 20)])
def test_ba_edge_count_matches_networkx(n, m):
    g = barabasi_albert(n, m, rng=1)
    assert g.n_edges == nx.barabasi_albert_graph(n, m, seed=1).number_of_edges() == m * (n - m)


def test_ba_seed_is_star_and_each_new_unit_has_m_earlier_neighbours():
    assert edge_set(barabasi_albert(6, 5, rng=0)) == {(0, i) for i in range(1, 6)}
    n, m = 500, 4
    g = barabasi_albert(n, m, rng=2)
    u, v = g.edges()  # u < v: v is the newer unit
    assert np.array_equal(np.bincount(v, minlength=n)[m + 1:], np.full(n - m - 1, m))


def test_ba_degrees_match_networkx_in_distribution():
    """20 seeds each of netexp and networkx (n=2000, m=3): mean max degree within 25%
    (about 3 standard errors of the difference), pooled degree tables alike (contingency)."""
    n, m, reps = 2000, 3, 20
    ours = [np.asarray(barabasi_albert(n, m, rng=s).degree) for s in range(reps)]
    ref = [np.array([d for _, d in nx.barabasi_albert_graph(n, m, seed=1000 + s).degree()]) for s in range(reps)]
    max_ours = np.mean([d.max() for d in ours])
    max_ref = np.mean([d.max() for d in ref])
    assert abs(max_ours - max_ref) <= 0.25 * max_ref
    edges = [3, 4, 5, 6, 8, 10, 14, 20, 30, 50, 10**9]
    table = np.array([np.histogram(np.concatenate(x), bins=edges)[0] for x in (ours, ref)])
    assert stats.chi2_contingency(table).pvalue > ALPHA


def test_ba_tail_exponent_is_about_3():
    g = barabasi_albert(100_000, 3, rng=5)
    d = np.asarray(g.degree, dtype=float)
    d_min = 15
    tail = d[d >= d_min]
    alpha = 1 + tail.size / np.sum(np.log(tail / (d_min - 0.5)))  # discrete power-law MLE (Clauset et al.)
    assert 2.6 < alpha < 3.4
    assert d.max() > 30 * d.mean()


def test_ba_resumes_when_the_random_buffer_runs_out(monkeypatch):
    calls = []
    kernel = G._ba_kernel

    def counting(*args):
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(G, "_BA_MARGIN", 0)
    monkeypatch.setattr(G, "_ba_kernel", counting)
    n, m = 200, 40  # dense: many redraws of duplicate targets
    g = barabasi_albert(n, m, rng=0)
    assert len(calls) > 1
    assert g.n_edges == m * (n - m)
    u, v = g.edges()
    assert np.array_equal(np.bincount(v, minlength=n)[m + 1:], np.full(n - m - 1, m))


@pytest.mark.parametrize("args, match", [
    ((10, 0), r"barabasi_albert: m must be in \[1, inf\]; got 0"),
    ((10, 10), r"m must be in \[1, n - 1\] = \[1, 9\]; got 10"),
    ((1, 1), r"n must be in \[2, "),
])
def test_ba_errors(args, match):
    with pytest.raises(InputError, match=match):
        barabasi_albert(*args, rng=0)


# ----------------------------------------------------------------------------- social network
@pytest.mark.parametrize("mixing, mean_degree, seed", [(0.1, 15.0, 0), (0.3, 10.0, 1), (0.6, 8.0, 2)])
def test_social_mixing_and_mean_degree(mixing, mean_degree, seed):
    """Mixing and mean degree hold in expectation; allowed 0.02 and 3%, well over the
    sampling error (about 0.002 and 0.5% at 20k units)."""
    n = 20_000
    g, labels = social_network(n, mean_degree=mean_degree, mixing=mixing, rng=seed, return_labels=True)
    u, v = g.edges()
    assert abs(np.mean(labels[u] != labels[v]) - mixing) < 0.02
    assert abs(g.degree.mean() - mean_degree) < 0.03 * mean_degree


def test_social_degrees_are_heavy_tailed():
    g = social_network(20_000, mean_degree=15, rng=3)
    d = np.asarray(g.degree, dtype=float)
    assert d.max() > 5 * d.mean()
    assert d.var() > 3 * d.mean()  # a Poisson (ER-like) degree would have var == mean
    # heavier exponent -> lighter tail
    d_light = np.asarray(social_network(20_000, mean_degree=15, degree_exponent=4.0, rng=3).degree, dtype=float)
    assert d_light.var() < d.var()


def test_social_communities_follow_community_size_and_are_denser_inside():
    lo, hi = 30, 120
    g, labels = social_network(10_000, mean_degree=10, community_size=(lo, hi), rng=4, return_labels=True)
    sizes = np.bincount(labels)
    assert sizes.sum() == 10_000 and sizes.min() >= lo and sizes.max() < hi + lo
    # labels are not contiguous runs of ids (ids are shuffled)
    assert np.count_nonzero(np.diff(labels)) > 0.5 * 10_000
    u, v = g.edges()
    inside = labels[u] == labels[v]
    p_in = inside.sum() / np.sum(sizes * (sizes - 1) / 2)
    p_out = (~inside).sum() / ((10_000**2 - np.sum(sizes**2)) / 2)
    assert p_in > 50 * p_out


def test_social_mixing_extremes_are_exact():
    g, labels = social_network(3000, mean_degree=6, mixing=0.0, rng=5, return_labels=True)
    u, v = g.edges()
    assert g.n_edges > 0 and np.all(labels[u] == labels[v])
    g, labels = social_network(3000, mean_degree=6, mixing=1.0, rng=5, return_labels=True)
    u, v = g.edges()
    assert g.n_edges > 0 and np.all(labels[u] != labels[v])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=30), r"n must be at least 2 \* community_size\[0\] = 40 .* got 30"),
    (dict(n=1000, mixing=1.2), r"social_network: mixing must be in \[0, 1\]; got 1.2"),
    (dict(n=1000, degree_exponent=1.0), "degree_exponent must be a finite number > 1; got 1.0"),
    (dict(n=1000, community_size=(50, 20)), r"min <= max; got \(50, 20\)"),
    (dict(n=1000, community_size=(1, 20)), r"community_size\[0\] must be in \[2, inf\]; got 1"),
    (dict(n=1000, community_size=20), "community_size must be a pair"),
    (dict(n=1000, mean_degree=0), "mean_degree must be a finite number > 0"),
    (dict(n=1000, mean_degree=1000), r"mean_degree must be in \(0, n - 1\)"),
    (dict(n=1000, mean_degree=50, community_size=(20, 40)), "mean_degree=50 is too large for community_size"),
    (dict(n=1000, community_exponent=-1), "community_exponent must be a finite number >= 0"),
])
def test_social_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        social_network(**kwargs, rng=0)
