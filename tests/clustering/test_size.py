"""Size control: partitions kept, caps respected, pieces connected (scipy components), the merge
rule checked by brute force, and the trade-off table against Clustering's own figures."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

import netexp as ne
from netexp.clustering import resize_clusters, size_tradeoff


def _connected(g, members):
    a = g.adjacency
    A = sp.csr_array((a + a.T) != 0)[members][:, members]
    return connected_components(A, directed=False)[0] == 1


@pytest.fixture(scope="module")
def lesmis():
    return ne.load_graph("les-miserables")


@pytest.mark.parametrize("cap", [3, 5, 10])
def test_split_respects_cap_and_connectivity(lesmis, cap):
    g = lesmis
    base = ne.leiden(g, resolution=0.5, rng=0)  # few large clusters, each connected (Leiden guarantee)
    assert base.sizes.max() > cap
    c = resize_clusters(base, max_size=cap, rng=1)
    assert c.labels.shape == (g.n_nodes,) and c.sizes.sum() == g.n_nodes
    assert c.sizes.max() <= cap
    for k in range(c.n_clusters):
        assert _connected(g, np.flatnonzero(c.labels == k))
    # a refinement: every new cluster lies inside one old cluster
    pairs = np.unique(np.c_[c.labels, base.labels], axis=0)
    assert pairs.shape[0] == c.n_clusters
    # same seed, same result
    assert np.array_equal(c.labels, resize_clusters(base, max_size=cap, rng=1).labels)


def test_merge_rule_by_brute_force(lesmis):
    g = lesmis
    base = ne.cluster(g, "3-net", rng=4)
    cap, low = 14, 4
    c = resize_clusters(base, max_size=cap, min_size=low, rng=0)
    assert c.sizes.max() <= cap
    A = (g.adjacency.toarray() > 0)
    # every cluster still below min_size has no neighbouring cluster it could join within the cap
    for k in np.flatnonzero(c.sizes < low):
        mem = c.labels == k
        nb = np.unique(c.labels[A[mem].any(0) & ~mem])
        assert all(c.sizes[b] + c.sizes[k] > cap for b in nb)
    # the merge step only joins the split's clusters: each split piece lies inside one final cluster
    split = resize_clusters(base, max_size=cap, rng=0)
    assert np.unique(np.c_[split.labels, c.labels], axis=0).shape[0] == split.n_clusters
    assert c.n_clusters < split.n_clusters


def test_merge_picks_neighbour_with_most_edges():
    # path 0-1-2-3-4 plus edges 2-5, 3-5: singleton {5} has 1 edge to {0,1,2} and 1 to {3,4};
    # singleton {6} has 2 edges to {3,4}; isolated 7 stays alone
    g = ne.Graph.from_edges([0, 1, 2, 3, 2, 3, 6, 6], [1, 2, 3, 4, 5, 5, 3, 4], nodes=range(8))
    c = ne.Clustering(g, [0, 0, 0, 1, 1, 2, 3, 4])
    r = resize_clusters(c, min_size=2)
    lab = r.labels
    assert lab[6] == lab[3]  # most edges
    assert lab[5] == lab[0]  # tie 1-1: lower cluster index
    assert np.sum(lab == lab[7]) == 1  # isolated small cluster stays as it is
    assert r.params["min_size"] == 2


def test_resize_errors(lesmis):
    c = ne.leiden(lesmis, rng=0)
    with pytest.raises(ne.InputError, match="nothing to resize"):
        resize_clusters(c)
    with pytest.raises(ne.ClusteringError, match="min_size must be at most max_size"):
        resize_clusters(c, max_size=3, min_size=5)
    with pytest.raises(ne.InputError, match="max_size must be in"):
        resize_clusters(c, max_size=0)


def test_size_tradeoff_table(lesmis):
    t = size_tradeoff(lesmis, resolutions=[0.5, 1.0, 4.0], rng=0)
    assert list(t["value"]) == [0.5, 1.0, 4.0]
    c = ne.cluster(lesmis, "leiden", resolution=4.0, rng=int(np.random.default_rng(0).integers(0, 2**31 - 1)))
    row = t.iloc[2]
    assert row["n_clusters"] == c.n_clusters and row["cut_fraction"] == pytest.approx(c.cut_fraction)
    s = c.sizes
    assert row["size_cv"] == pytest.approx(s.std() / s.mean())
    assert row["max_over_median"] == pytest.approx(s.max() / np.median(s))
    caps = size_tradeoff(lesmis, method="3-net", max_sizes=[4, 8], rng=0)
    assert (caps["size_max"] <= caps["value"]).all()
    with pytest.raises(ne.InputError, match="not both"):
        size_tradeoff(lesmis, resolutions=[1.0], max_sizes=[3])
