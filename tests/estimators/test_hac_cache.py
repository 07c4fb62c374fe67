"""The network HAC's cached graph-only structure (sparse kernel matrix, bandwidth rule) gives the numbers of the
per-call truncated BFS, and a scipy-distance kernel matrix built independently."""

import warnings

import numpy as np
import pytest
from scipy.sparse.csgraph import shortest_path

import netexp as ne
from netexp.estimators import _hac, exposure_regression_fit, network_hac_bandwidth


def _data(g, seed):
    rng = np.random.default_rng(seed)
    z = rng.random(g.n_nodes) < 0.5
    f = ne.fraction_treated_neighbors(g, z)
    y = 1 + z + f + rng.normal(size=g.n_nodes)
    return y, z, f


def _tables(g, y, z, f, b, kernel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        fit = exposure_regression_fit(y, z, f, graph=g, bandwidth=b, kernel=kernel)
        t = fit.estimates("network-HAC")
    return fit.cov("network-HAC"), [(e.estimate, e.std_error, e.df, e.ci) for e in t]


@pytest.mark.parametrize("kernel", ["uniform", "bartlett", "parzen"])
@pytest.mark.parametrize("b", [0, 1, 2, None])
def test_cached_equals_per_call_bfs(monkeypatch, kernel, b):
    g = ne.watts_strogatz(300, 6, 0.1, rng=4)
    cached = [_tables(g, *_data(g, s), b, kernel) for s in range(3)]     # several fits on one graph: cache reused
    monkeypatch.setattr(_hac, "_KERNEL_MAX_NNZ", -1)                      # over the cap: BFS on every call
    fresh = ne.watts_strogatz(300, 6, 0.1, rng=4)
    for s, (V, rows) in enumerate(cached):
        V0, rows0 = _tables(fresh, *_data(fresh, s), b, kernel)
        assert np.allclose(V, V0, rtol=1e-12, atol=0)
        for r, r0 in zip(rows, rows0):
            assert np.allclose(np.r_[r[:3], r[3]], np.r_[r0[:3], r0[3]], rtol=1e-12, atol=0)
    assert _hac._kernel_matrix(fresh, 2, kernel) is None                  # nothing stored above the cap


@pytest.mark.parametrize("kernel", ["uniform", "bartlett", "parzen"])
def test_kernel_matrix_against_scipy_distances(kernel):
    g = ne.erdos_renyi(150, 0.03, rng=1)
    D = shortest_path(g.adjacency, unweighted=True, directed=False)
    b = 3
    w = _hac.kernel_weights(kernel, b)
    ref = np.where(D <= b, w[np.where(D <= b, D, 0).astype(int)], 0.0)
    K, K2, uniform = _hac._kernel_matrix(g, b, kernel)
    assert np.array_equal(K.toarray(), ref)
    assert np.array_equal(K2.toarray(), ref**2)
    assert uniform == (kernel == "uniform")
    S = np.random.default_rng(0).normal(size=(150, 3))
    assert np.allclose(_hac._apply(K, S, uniform), ref @ S, rtol=1e-13, atol=1e-13)
    assert np.allclose(_hac._apply(K2, S[:, 0], uniform), ref**2 @ S[:, 0], rtol=1e-13, atol=1e-13)
    assert (K.data != 0).all()                                            # zero weights at d = b are not stored
    assert _hac._kernel_matrix(g, b, kernel) is _hac._kernel_matrix(g, b, kernel)


def test_bandwidth_rule_cached_per_graph():
    g = ne.watts_strogatz(200, 4, 0.1, rng=2)
    first = network_hac_bandwidth(g)
    assert network_hac_bandwidth(g) is first
    assert first == _hac._bandwidth_rule(ne.watts_strogatz(200, 4, 0.1, rng=2))


def test_cache_travels_with_a_pickled_graph():
    import pickle

    g = ne.watts_strogatz(100, 4, 0.1, rng=2)
    K = _hac._kernel_matrix(g, 2, "uniform")[0]
    h = pickle.loads(pickle.dumps(g))
    assert h == g
    assert (_hac._kernel_matrix(h, 2, "uniform")[0] != K).nnz == 0


def test_is_cheap_stops_counting_at_the_cap(monkeypatch):
    g = ne.watts_strogatz(200, 6, 0.1, rng=5)
    assert _hac.network_hac_is_cheap(g, 2)
    nnz = _hac._kernel_matrix(g, 2, "uniform")[0].nnz
    monkeypatch.setattr(_hac, "_KERNEL_MAX_NNZ", nnz - 1)
    h = ne.watts_strogatz(200, 6, 0.1, rng=5)
    assert not _hac.network_hac_is_cheap(h, 2)
    sizes, total = _hac._ball_sizes(*h._undirected, 2, nnz - 1)
    assert total == -1 and sizes.sum() <= nnz - 1 + sizes.max()   # stopped at the unit that passed the cap


def test_pipeline_uses_hc1_with_a_note_when_the_hac_is_costly(monkeypatch):
    monkeypatch.setattr(_hac, "_KERNEL_MAX_NNZ", 10)
    rep = ne.run_pipeline("karate", seed=5, n_randomization_draws=20)
    est = rep.estimates
    assert set(est.loc[est.design == "individual", "estimator"]) >= {"exposure regression (HC1)"}
    assert any("not the network HAC" in n for n in rep.settings["notes"])
    monkeypatch.setattr(_hac, "_KERNEL_MAX_NNZ", 10_000_000)
    rep = ne.run_pipeline("karate", seed=5, n_randomization_draws=20)
    assert "exposure regression (network HAC)" in set(rep.estimates["estimator"])
