"""Exposure mappings against references written here, one node at a time.

References: neighbourhoods from networkx (1 hop) or scipy shortest paths (k hops), levels from
the papers' definitions written out per unit in plain Python; counts from scipy's float32
sparse product; exact probabilities by enumerating all 2^n assignments; the R package
`interference`'s printed toy example.
"""

import dataclasses
import itertools
import warnings

import numpy as np
import pytest
from scipy.sparse.csgraph import shortest_path

import netexp as ne
from netexp.exposure import (MAPPINGS, AronowSamii, CustomMapping, ExposureMapping, FractionalExposure, FractionBins,
                             FullNeighborhood, OwnTreatment, get_mapping, khop_graph, pack_draws)
from tests.conftest import random_graph


# ------------------------------------------------------------------------------ references
def directed_graph(n, m, seed, isolates=0):
    rng = np.random.default_rng(seed)
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        return ne.Graph.from_edges(u, v, directed=True, nodes=np.arange(n + isolates))


def reach_nx(graph):
    """1-hop: the units whose treatment can affect each unit, from networkx (positions)."""
    G = graph.to_networkx()
    pos = {v: i for i, v in enumerate(graph.node_ids.tolist())}
    out = []
    for v in graph.node_ids.tolist():
        nb = G.predecessors(v) if graph.directed else G.neighbors(v)
        out.append(sorted(pos[w] for w in nb))
    return out


def reach_sp(graph, k):
    """k-hop: j can affect i iff 1 <= dist(j -> i) <= k (scipy; adjacency[i, j] = 1 is an arc j -> i)."""
    dist = shortest_path(graph.adjacency, directed=True, unweighted=True)  # dist[i, j]: along i <- ... <- j
    return [sorted(np.flatnonzero((dist[i] >= 1) & (dist[i] <= k)).tolist()) for i in range(graph.n_nodes)]


def ref_level(mapping, zi, treated_nbrs, n_nbrs):
    """The mapping's definition for one unit, written from the papers, returns a level name."""
    if isinstance(mapping, OwnTreatment):
        return "treated" if zi else "control"
    if isinstance(mapping, AronowSamii):
        if zi:
            return "direct_indirect" if treated_nbrs > 0 else "isolated_direct"
        return "indirect" if treated_nbrs > 0 else "no_exposure"
    if isinstance(mapping, FractionalExposure):  # includes FullNeighborhood (q = 1)
        q = mapping.q
        if n_nbrs == 0:  # vacuous: all (no) neighbours share the unit's condition
            return "treated" if zi else "control"
        if zi and treated_nbrs / n_nbrs >= q:
            return "treated"
        if not zi and (n_nbrs - treated_nbrs) / n_nbrs >= q:
            return "control"
        return "other"
    if isinstance(mapping, FractionBins):
        frac = treated_nbrs / n_nbrs if n_nbrs else 0.0
        cuts = mapping.cuts
        b = sum(frac >= c for c in cuts)
        if b == 0:
            name = f"frac<{cuts[0]:g}"
        elif b == len(cuts):
            name = f"frac>={cuts[-1]:g}"
        else:
            name = f"{cuts[b - 1]:g}<=frac<{cuts[b]:g}"
        return ("treated, " if zi else "control, ") + name
    raise AssertionError(mapping)


def ref_map(mapping, reach, z):
    return [ref_level(mapping, int(z[i]), sum(int(z[j]) for j in reach[i]), len(reach[i])) for i in range(len(z))]


def names(mapping, codes):
    return [mapping.levels[c] for c in np.asarray(codes).tolist()]


ALL = [OwnTreatment(), AronowSamii(), FractionalExposure(q=0.5), FractionalExposure(q=0.3), FullNeighborhood(),
       FractionBins(), FractionBins(cuts=(0.25, 0.5, 1.0))]
GRAPHS = {
    "undirected": lambda: random_graph(25, 40, seed=3, isolates=3),
    "directed": lambda: directed_graph(25, 50, seed=4, isolates=2),
}


# ------------------------------------------------------------------------------ one assignment / many draws
@pytest.mark.parametrize("kind", GRAPHS)
@pytest.mark.parametrize("mapping", ALL, ids=repr)
def test_map_and_map_many_equal_per_node_reference(kind, mapping):
    g = GRAPHS[kind]()
    reach = reach_nx(g)
    assert min(len(r) for r in reach) == 0  # isolates (or units nothing reaches) are exercised
    Z = ne.Bernoulli(g.n_nodes, p=0.4).sample_many(70, rng=5)  # 70: a partial second word
    M = mapping.map_many(g, Z)
    assert M.shape == Z.shape and M.dtype == np.int8
    for r in range(Z.shape[0]):
        want = ref_map(mapping, reach, Z[r])
        assert names(mapping, M[r]) == want
        if r < 5:
            assert names(mapping, mapping.map(g, Z[r])) == want


@pytest.mark.parametrize("kind", GRAPHS)
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("cls", [AronowSamii, lambda hops: FractionalExposure(q=0.6, hops=hops),
                                 FullNeighborhood, lambda hops: FractionBins((0.2, 0.7), hops=hops)])
def test_k_hop_mappings_equal_shortest_path_reference(kind, k, cls):
    g = GRAPHS[kind]()
    mapping = cls(hops=k)
    reach = reach_sp(g, k)
    Z = ne.Bernoulli(g.n_nodes, p=0.3).sample_many(20, rng=k)
    M = mapping.map_many(g, Z)
    for r in range(Z.shape[0]):
        assert names(mapping, M[r]) == ref_map(mapping, reach, Z[r])
    assert names(mapping, mapping.map(g, Z[0])) == ref_map(mapping, reach, Z[0])


@pytest.mark.parametrize("R", [1, 63, 64, 130])
@pytest.mark.parametrize("mapping", ALL, ids=repr)
def test_level_counts_equal_counting_map_many_and_scipy(R, mapping):
    """The bit-packed paths for R < 64, R a multiple of 64 and not, R >= 128, against scipy counts."""
    g = random_graph(120, 300, seed=R, isolates=2)
    Z = ne.Bernoulli(g.n_nodes, p=0.35).sample_many(R, rng=R)
    Zcopy = Z.copy()
    C = np.asarray((g.adjacency.astype(np.float32) @ Z.T.astype(np.float32)).T).astype(np.int64)
    if mapping.hops == 0:
        C = np.zeros_like(C)
    d = g.degree if mapping.hops else np.zeros(g.n_nodes, dtype=np.int64)
    ref_codes = np.vectorize(lambda zi, ci, di: mapping.levels.index(ref_level(mapping, zi, ci, di)))(
        Z.astype(int), C, d)
    want = np.stack([(ref_codes == lev).sum(axis=0) for lev in range(mapping.n_levels)], axis=1)
    M = mapping.map_many(g, Z)
    assert np.array_equal(M, ref_codes)
    counts = mapping.level_counts(g, Z)
    assert counts.dtype == np.int64 and counts.shape == (g.n_nodes, mapping.n_levels)
    assert np.array_equal(counts, want)
    assert np.array_equal(mapping.level_counts(g, pack_draws(Z)), want)
    assert np.array_equal(mapping.map_many(g, pack_draws(Z)), M)
    assert np.array_equal(mapping.level_counts(g, Z, batch_size=64), want)  # batches of one word
    assert np.array_equal(Z, Zcopy)  # input untouched


@pytest.mark.parametrize("mapping", [FractionBins(cuts=(0.1, 0.3, 0.5, 0.7, 0.9)), FractionalExposure(q=0.55),
                                     AronowSamii(), FullNeighborhood()], ids=repr)
def test_bit_sliced_counter_on_high_degree_units(mapping):
    """Hubs of degree ~300 and 1000 (counters of 9-10 bit planes) against scipy counts."""
    rng = np.random.default_rng(0)
    n = 1500
    hubs_u = np.concatenate([np.zeros(1000, int), np.ones(300, int)])
    hubs_v = np.concatenate([np.arange(500, 1500), rng.choice(np.arange(2, 1500), 300, replace=False)])
    u = np.concatenate([hubs_u, rng.integers(0, n, 3000)])
    v = np.concatenate([hubs_v, rng.integers(0, n, 3000)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        g = ne.Graph.from_edges(u, v, nodes=np.arange(n))
    assert g.degree.max() >= 1000
    Z = ne.Bernoulli(n, p=0.5).sample_many(70, rng=2)
    C = np.asarray((g.adjacency.astype(np.float32) @ Z.T.astype(np.float32)).T).astype(np.int64)
    ref = np.vectorize(lambda zi, ci, di: mapping.levels.index(ref_level(mapping, zi, ci, di)))(
        Z.astype(int), C, g.degree)
    assert np.array_equal(mapping.map_many(g, Z), ref)
    want = np.stack([(ref == lev).sum(axis=0) for lev in range(mapping.n_levels)], axis=1)
    assert np.array_equal(mapping.level_counts(g, Z), want)


@pytest.mark.parametrize("p", [0.5])
def test_exact_enumeration_gives_closed_form_probabilities(p):
    """All 2^10 assignments (each of probability 2^-10 under Bernoulli(1/2)): level counts are
    2^10 times the closed forms, e.g. P(direct_indirect) = p (1 - (1 - p)^d)."""
    g = random_graph(10, 14, seed=11)
    n = g.n_nodes
    Z = np.array(list(itertools.product([0, 1], repeat=n)), dtype=bool)
    d = g.degree.astype(float)
    N = 2**n
    as4 = AronowSamii().level_counts(g, Z)
    q0 = (1 - p) ** d  # P(no treated neighbour)
    want = np.column_stack([p * (1 - q0), p * q0, (1 - p) * (1 - q0), (1 - p) * q0]) * N
    assert np.array_equal(as4, want.round().astype(np.int64))
    full = FullNeighborhood().level_counts(g, Z)
    want_full = np.column_stack([p ** (d + 1), (1 - p) ** (d + 1), 1 - p ** (d + 1) - (1 - p) ** (d + 1)]) * N
    assert np.array_equal(full, want_full.round().astype(np.int64))


# ------------------------------------------------------------------------------ the R package's toy example
def test_interference_package_toy_example():
    """R package `interference` (Zonszein), vignette toy_example: N = 10,
    make_adj_matrix(N, model = 'small_world', seed = 492), make_tr_vec_permutation(N, 0.2, R = 1,
    seed = 56) and the printed make_exposure_map_AS(adj_matrix, Z, hop = 1). Matrix and vectors
    copied from the vignette's printed output (doc/toy_example.html, 2022-01-09)."""
    adj = np.array([
        [0, 1, 1, 0, 1, 0, 0, 0, 0, 0],
        [1, 0, 1, 1, 0, 0, 0, 0, 0, 1],
        [1, 1, 0, 1, 1, 1, 0, 0, 1, 0],
        [0, 1, 1, 0, 1, 1, 1, 0, 0, 0],
        [1, 0, 1, 1, 0, 1, 0, 1, 0, 0],
        [0, 0, 1, 1, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 1, 1, 0],
        [0, 0, 0, 0, 1, 0, 1, 0, 1, 1],
        [0, 0, 1, 0, 0, 0, 1, 1, 0, 1],
        [0, 1, 0, 0, 0, 0, 0, 1, 1, 0],
    ])
    z = np.array([0, 0, 0, 0, 0, 1, 0, 0, 1, 0])
    printed = ["no", "no", "ind1", "ind1", "ind1", "isol_dir", "ind1", "ind1", "isol_dir", "ind1"]
    r_names = {"dir_ind1": "direct_indirect", "isol_dir": "isolated_direct", "ind1": "indirect", "no": "no_exposure"}
    # the package computes tr_vector %*% adj_matrix: adj[i, j] = 1 lets i's treatment reach j
    g = ne.Graph.from_csr(adj.T, node_ids=np.arange(1, 11))
    m = AronowSamii()
    assert names(m, m.map(g, z)) == [r_names[x] for x in printed]
    assert names(m, m.map_many(g, np.vstack([z] * 3))[2]) == [r_names[x] for x in printed]


# ------------------------------------------------------------------------------ khop_graph
@pytest.mark.parametrize("kind", GRAPHS)
@pytest.mark.parametrize("k", [0, 1, 2, 3, 6])
def test_khop_graph_equals_shortest_paths(kind, k):
    g = GRAPHS[kind]()
    h = khop_graph(g, k)
    assert h.directed == g.directed and np.array_equal(h.node_ids, g.node_ids)
    rows = [h.indices[h.indptr[i]:h.indptr[i + 1]].tolist() for i in range(h.n_nodes)]
    assert rows == reach_sp(g, k)
    if k == 1:
        assert h is g
    assert khop_graph(g, k) is h  # cached


def test_khop_graph_orientation_on_a_directed_path():
    g = ne.Graph.from_edges(["a", "b", "c"], ["b", "c", "d"], directed=True)  # a -> b -> c -> d
    h = khop_graph(g, 2)
    assert [h.node_ids[h.indices[h.indptr[i]:h.indptr[i + 1]]].tolist() for i in range(4)] == \
        [[], ["a"], ["a", "b"], ["b", "c"]]
    m = AronowSamii(hops=2)
    assert names(m, m.map(g, [1, 0, 0, 0])) == ["isolated_direct", "indirect", "indirect", "no_exposure"]


# ------------------------------------------------------------------------------ count-based contract
@pytest.mark.parametrize("mapping", ALL, ids=repr)
def test_level_from_counts_matches_definition_for_every_count(mapping):
    z, c, d = zip(*[(zi, ci, di) for di in range(9) for ci in range(di + 1) for zi in (0, 1)])
    codes = mapping.level_from_counts(np.array(z), np.array(c), np.array(d))
    assert codes.dtype == np.int8
    assert names(mapping, codes) == [ref_level(mapping, *t) for t in zip(z, c, d)]
    assert mapping.count_based and len(set(mapping.levels)) == mapping.n_levels


def test_as4_level_order_and_registry():
    assert AronowSamii().levels == ("direct_indirect", "isolated_direct", "indirect", "no_exposure")
    assert FractionalExposure(q=0.5).levels == ("treated", "control", "other")
    assert OwnTreatment().levels == ("control", "treated")
    assert set(MAPPINGS) == {"own", "fraction-bins", "as4", "q-fractional", "full-neighbourhood"}
    assert get_mapping("as4", hops=2) == AronowSamii(hops=2)
    assert get_mapping("q-fractional", q=0.7) == FractionalExposure(q=0.7)
    assert get_mapping("full-neighbourhood").q == 1.0
    assert get_mapping("fraction-bins", cuts=[0.2, 0.4]).cuts == (0.2, 0.4)
    assert isinstance(get_mapping("own"), OwnTreatment)
    for name, cls in MAPPINGS.items():
        assert cls.name == name
    m = AronowSamii()
    assert get_mapping(m) is m
    with pytest.raises(ne.InputError, match="'as4'.*'q-fractional'.*got 'as5'"):
        get_mapping("as5")
    with pytest.raises(ne.InputError, match="unexpected"):
        get_mapping("as4", q=0.5)
    for mp in ALL:
        assert isinstance(mp.describe(), str) and len(mp.describe()) > 20


def test_mappings_are_immutable_and_check_parameters():
    m = FractionalExposure(q=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.q = 0.2
    with pytest.raises(ne.InputError, match="q must be in"):
        FractionalExposure(q=0)
    with pytest.raises(ne.InputError, match="q must be in"):
        FractionalExposure(q=1.5)
    with pytest.raises(ne.InputError, match="hops"):
        AronowSamii(hops=0)
    with pytest.raises(ne.InputError, match="cuts"):
        FractionBins(cuts=(0.5, 0.2))
    with pytest.raises(ne.InputError, match="cuts"):
        FractionBins(cuts=(0.0, 0.5))
    with pytest.raises(ne.InputError, match="k must be"):
        khop_graph(ne.load_graph("karate"), -1)
    p = pack_draws(np.ones((3, 4), dtype=bool))
    with pytest.raises(AttributeError):
        p.n_draws = 5


def test_bad_draws_are_explained():
    g = ne.load_graph("karate")
    m = AronowSamii()
    with pytest.raises(ne.ExposureError, match="map_many"):
        m.map(g, np.zeros((2, 34)))
    with pytest.raises(ne.InputError, match="n_units=34"):
        m.map_many(g, np.zeros((2, 33)))
    with pytest.raises(ne.InputError, match="0/1"):
        m.level_counts(g, np.full((2, 34), 2))
    with pytest.raises(ne.InputError, match="packed"):
        m.level_counts(g, pack_draws(np.zeros((3, 10), dtype=bool)))
    with pytest.raises(ne.InputError, match="graph must be a netexp Graph"):
        m.map(g.adjacency, np.zeros(34))


# ------------------------------------------------------------------------------ custom mappings
def test_custom_count_based_mapping_reproduces_as4_and_accepts_names():
    g = random_graph(40, 70, seed=8, isolates=2)
    Z = ne.Bernoulli(g.n_nodes, p=0.5).sample_many(90, rng=3)
    as4 = AronowSamii()
    codes = CustomMapping(lambda z, c, d: 2 * (1 - z) + (c == 0), levels=as4.levels)
    labels = CustomMapping(lambda z, c, d: np.where(z == 1, np.where(c > 0, "DI", "D"), np.where(c > 0, "I", "N")),
                           levels=("DI", "D", "I", "N"))
    for m in (codes, labels):
        assert np.array_equal(m.map_many(g, Z), as4.map_many(g, Z))
        assert np.array_equal(m.level_counts(g, Z), as4.level_counts(g, Z))
        assert np.array_equal(m.map(g, Z[0]), as4.map(g, Z[0]))
    # a threshold at 2 treated neighbours (bit-sliced path with a custom table)
    two = CustomMapping(lambda z, c, d: (c >= 2).astype(int), levels=("<2", "2+"), hops=2)
    reach = reach_sp(g, 2)
    M = two.map_many(g, Z)
    for r in range(0, 90, 7):
        assert M[r].tolist() == [int(sum(Z[r, j] for j in reach[i]) >= 2) for i in range(g.n_nodes)]


def test_custom_arbitrary_mapping_monte_carlo_only():
    g = random_graph(30, 60, seed=2)

    def majority_of_two_hops(graph, Z):  # not count-based: weights own treatment twice
        h = khop_graph(graph, 2)
        c = np.asarray((h.adjacency @ Z.T.astype(float)).T)
        return (2 * Z + c > (h.degree + 2) / 2).astype(np.int8)

    m = CustomMapping(majority_of_two_hops, levels=("minority", "majority"), count_based=False)
    assert not m.count_based
    Z = ne.Bernoulli(g.n_nodes, p=0.5).sample_many(100, rng=0)
    M = m.map_many(g, Z)
    assert np.array_equal(M, majority_of_two_hops(g, Z))
    assert np.array_equal(m.map(g, Z[3]), M[3])
    want = np.stack([(M == lev).sum(axis=0) for lev in range(2)], axis=1)
    assert np.array_equal(m.level_counts(g, Z, batch_size=64), want)
    assert np.array_equal(m.level_counts(g, pack_draws(Z)), want)
    with pytest.raises(ne.ExposureError, match="not count-based"):
        m.level_from_counts([0], [0], [1])


def test_custom_mapping_errors_explain_the_fix():
    g = ne.load_graph("karate")
    z = np.zeros(34, dtype=int)
    with pytest.raises(ne.ExposureError, match=r"codes must be in \[0, 1\]"):
        CustomMapping(lambda z, c, d: z + 5, levels=("a", "b")).map(g, z)
    with pytest.raises(ne.ExposureError, match="not in levels"):
        CustomMapping(lambda z, c, d: np.where(z == 1, "a", "zz"), levels=("a", "b")).map(g, z)
    with pytest.raises(ne.ExposureError, match="shape"):
        CustomMapping(lambda z, c, d: np.zeros(3, int), levels=("a", "b")).map(g, z)
    with pytest.raises(ne.ExposureError, match="vectorized"):
        CustomMapping(lambda z, c, d: 1 if c > 0 else 0, levels=("a", "b")).map(g, z)
    with pytest.raises(ne.ExposureError, match="shape"):
        CustomMapping(lambda graph, Z: Z[0], levels=("a", "b"), count_based=False).map_many(g, z[None])
    with pytest.raises(ne.InputError, match="distinct"):
        CustomMapping(lambda z, c, d: z, levels=("a", "a"))
    with pytest.raises(ne.InputError, match="callable"):
        CustomMapping("as4", levels=("a", "b"))


def test_pack_round_trip_and_bit_layout():
    rng = np.random.default_rng(0)
    for R in (1, 63, 64, 65, 130):
        Z = rng.random((R, 7)) < 0.5
        p = pack_draws(Z)
        assert p.words.shape == (7, (R + 63) // 64) and p.n_draws == R
        assert np.array_equal(p.unpack(), Z)
        for j in range(7):  # bit b of word w of unit j is draw 64 w + b
            want = [sum(int(Z[64 * w + b, j]) << b for b in range(min(64, R - 64 * w))) for w in range(p.n_words)]
            assert p.words[j].tolist() == want


def test_is_abstract():
    with pytest.raises(TypeError):
        ExposureMapping()
