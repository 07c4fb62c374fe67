import warnings

import networkx as nx
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

import netexp as ne
from tests.conftest import random_graph, shared_file

METHODS = ["leiden", "louvain", "greedy-modularity", "label-propagation"]


@pytest.mark.parametrize("method", METHODS)
def test_partition_and_reproducible(method):
    g = ne.load_graph("les-miserables")
    a = ne.cluster(g, method, rng=7)
    b = ne.cluster(g, method, rng=7)
    assert a.labels.shape == (g.n_nodes,)
    assert a.labels.min() == 0 and set(np.unique(a.labels)) == set(range(a.n_clusters))
    assert a.sizes.sum() == g.n_nodes
    assert np.array_equal(a.labels, b.labels)


@pytest.mark.parametrize("method", METHODS)
def test_modularity_equals_networkx(method):
    g = ne.load_graph("karate")
    c = ne.cluster(g, method, rng=1)
    G = g.to_networkx()
    comms = [set(g.node_ids[c.labels == k].tolist()) for k in range(c.n_clusters)]
    assert c.modularity == pytest.approx(nx.community.modularity(G, comms), abs=1e-12)
    assert ne.modularity(g, c.labels, resolution=0.5) == pytest.approx(
        nx.community.modularity(G, comms, resolution=0.5), abs=1e-12)


def test_cut_and_interior_fraction_brute_force():
    g = random_graph(60, 150, seed=4)
    c = ne.leiden(g, rng=0)
    G = g.to_networkx()
    lab = dict(zip(g.node_ids.tolist(), c.labels.tolist()))
    cut = sum(lab[u] != lab[v] for u, v in G.edges()) / G.number_of_edges()
    interior = np.mean([all(lab[w] == lab[v] for w in G[v]) for v in G.nodes])
    assert c.cut_fraction == pytest.approx(cut, abs=1e-12)
    assert c.interior_fraction == pytest.approx(interior, abs=1e-12)


def test_leiden_backends_and_objectives():
    g = ne.load_graph("les-miserables")
    a = ne.leiden(g, rng=3)
    b = ne.leiden(g, backend="leidenalg", rng=3)
    assert abs(a.modularity - b.modularity) < 0.02  # same objective, both near the optimum (~0.566)
    cpm = ne.leiden(g, objective="cpm", resolution=0.5, rng=3)
    assert cpm.n_clusters > a.n_clusters
    with pytest.raises(ne.InputError, match="objective"):
        ne.leiden(g, objective="surprise")


def test_igraph_global_rng_restored():
    import random


    g = ne.load_graph("karate")
    random.seed(5)
    x = random.random()
    random.seed(5)
    ne.leiden(g, rng=1)
    assert random.random() == x  # our seeding did not consume or reseed the global stream


def test_target_clusters_search():
    g = ne.load_graph("les-miserables")
    c = ne.cluster(g, "leiden", target_clusters=12, rng=0)
    assert abs(c.n_clusters - 12) <= 2
    gm = ne.cluster(g, "greedy-modularity", target_clusters=10)
    assert gm.n_clusters == 10


def test_karate_factions_recovered():
    g = ne.load_graph("karate")
    fac = ne.load_node_table("karate").set_index("node_id").loc[g.node_ids, "faction"].to_numpy()
    c = ne.cluster(g, "greedy-modularity", target_clusters=2)
    # the two-cluster cut of the CNM dendrogram misplaces at most a few members
    assert adjusted_rand_score(fac, c.labels) > 0.6


def test_email_eu_core_nmi_against_departments():
    path = shared_file("networks", "email-Eu-core.txt.gz")
    lab = np.loadtxt(shared_file("networks", "email-Eu-core-department-labels.txt"), dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = ne.read_graph(path)
    dept = dict(lab.tolist())
    truth = np.array([dept[i] for i in g.node_ids.tolist()])
    c = ne.leiden(g, rng=0)
    nmi = normalized_mutual_info_score(truth, c.labels)
    # Leiden on modularity finds coarser groups than the 42 departments; published community-detection
    # NMIs on this network are ~0.5-0.7. Reported in the closing note; guard against regressions.
    print(f"email-Eu-core: Leiden {c.n_clusters} clusters, NMI vs departments {nmi:.3f}")
    assert nmi > 0.45


def test_clustering_table_roundtrip_and_errors(tmp_path):
    g = ne.load_graph("karate")
    c = ne.leiden(g, rng=0)
    p = c.to_csv(tmp_path / "c.csv")
    c2 = ne.Clustering.read_csv(g, p)
    assert np.array_equal(c2.labels, c.labels)
    with pytest.raises(ne.OutputExistsError):
        c.to_csv(p)
    df = c.to_frame().iloc[:-1]
    with pytest.raises(ne.ClusteringError, match="1 units of the graph have no cluster"):
        ne.Clustering.from_frame(g, df)
    with pytest.raises(ne.ClusteringError, match="one entry per unit"):
        ne.Clustering(g, [0, 1])


def test_no_edges_error():
    g = ne.Graph.from_edges([], [], nodes=[1, 2, 3])
    with pytest.raises(ne.ClusteringError, match="no edges"):
        ne.leiden(g)
