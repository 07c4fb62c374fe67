"""Seeded coverage of the default intervals changed by issue 13 (slow: minutes each).

Each asserts coverage of the 95% interval no lower than 0.95 by more than 2 Monte Carlo SEs. The same
designs, with more repetitions and the previous defaults alongside, are in benchmarks/bench_intervals_ht.py
and benchmarks/bench_intervals_hac.py.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import netexp as ne

pytestmark = pytest.mark.slow


def _covers_enough(hits, level=0.95):
    c = float(np.mean(hits))
    mc = np.sqrt(level * (1 - level) / len(hits))
    assert c >= level - 2 * mc, f"coverage {c:.3f} below {level} - 2 MC SE ({mc:.3f})"
    return c


@pytest.mark.parametrize("target", [16, None])
def test_hajek_default_covers_on_the_main_design(target):
    """Bundled graph, Leiden clusters (16, or the pipeline's 47), cluster Bernoulli(1/2), full neighbourhood."""
    from ._pipeline_design import pipeline_experiments

    R = 400
    fn, Y, codes = pipeline_experiments(ne.read_graph(ne.DEFAULT_GRAPH), lambda G: ne.Bernoulli(G, p=0.5), reps=R,
                                        seed=11, target_clusters=target)
    pr, mask = fn["probabilities"], fn["mask"]
    hits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        for r in range(R):
            e = ne.hajek(Y[r], codes[r], pr, contrasts=[("treated", "control")], units=mask)[0]
            hits.append(e.covers(fn["truth"]))
    assert "|M|" in e.variance
    _covers_enough(hits)


@pytest.mark.parametrize("graph", ["er", "ba"])
def test_network_hac_covers_the_direct_effect_at_n_1000(graph):
    n = 1000
    rng = np.random.default_rng(3)
    g = ne.erdos_renyi(n, 5.0 / n, rng=rng) if graph == "er" else ne.barabasi_albert(n, 2, rng=rng)
    indptr, indices = g._undirected
    deg = np.diff(indptr)
    A = sp.csr_array((np.ones(indices.size), indices, indptr), shape=(n, n))
    hits = []
    for _ in range(400):
        z = rng.random(n) < 0.5
        f = ne.fraction_treated_neighbors(g, z)
        v = rng.normal(0, 0.5, n)
        y = 0.05 + 0.2 * z + 0.1 * f + v + (A @ v) / np.sqrt(np.maximum(deg, 1))
        e = ne.exposure_regression(y, z, f, graph=g, isolated=deg == 0)["direct effect"]
        hits.append(e.covers(0.2))
    assert e.df is not None and "Satterthwaite" in e.variance
    _covers_enough(hits)
