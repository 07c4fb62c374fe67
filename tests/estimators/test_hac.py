"""Network HAC covariance against a direct double sum over all pairs (distances from scipy's
shortest_path), and Leung's bandwidth rule against networkx path lengths."""

import math
import warnings

import networkx as nx
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.sparse.csgraph import shortest_path

import netexp as ne
from netexp.estimators import exposure_regression, exposure_regression_fit, network_hac_bandwidth
from netexp.estimators import _hac


def kernel(name, u):
    if name == "uniform":
        return (u <= 1).astype(float)
    if name == "bartlett":
        return np.clip(1 - u, 0, None)
    return np.where(u <= 0.5, 1 - 6 * u**2 + 6 * u**3, np.where(u <= 1, 2 * (1 - u) ** 3, 0.0))  # parzen


def direct_hac(X, y, w, D, b, name):
    """(X'WX)^-1 [sum_{i,j} K(d_ij/b) s_i s_j'] (X'WX)^-1, s_i = x_i w_i e_i, as a plain double loop."""
    M = np.linalg.inv(X.T @ (X * w[:, None]))
    beta = M @ X.T @ (w * y)
    s = X * (w * (y - X @ beta))[:, None]
    meat = np.zeros((X.shape[1],) * 2)
    n = len(y)
    for i in range(n):
        for j in range(n):
            if D[i, j] <= b:
                meat += kernel(name, np.array(D[i, j] / b)) * np.outer(s[i], s[j])
    return M @ meat @ M


@pytest.fixture
def setup():
    g = ne.watts_strogatz(120, 4, 0.1, rng=2)
    rng = np.random.default_rng(7)
    z = rng.random(120) < 0.5
    f = ne.fraction_treated_neighbors(g, z)
    y = 1 + z + f + rng.normal(size=120)
    w = rng.uniform(0.5, 3.0, 120)
    D = shortest_path(g.adjacency, unweighted=True, directed=False)
    return g, y, z, f, w, D


@pytest.mark.parametrize("name", ["uniform", "bartlett", "parzen"])
@pytest.mark.parametrize("b", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_equals_direct_double_sum(setup, name, b, weighted):
    g, y, z, f, w, D = setup
    w = w if weighted else np.ones_like(y)
    X = np.column_stack([np.ones_like(y), z, f])
    ref = direct_hac(X, y, w, D, b, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # this case must not need the eigenvalue correction
        fit = exposure_regression_fit(y, z, f, graph=g, bandwidth=b, kernel=name,
                                      weights=w if weighted else None)
        V = fit.cov("network-HAC")
    n, k = X.shape
    ref = ref * n / (n - k)  # the small-sample factor
    assert np.allclose(V, ref, atol=1e-10, rtol=0)
    t = fit.estimates("network-HAC")
    # t reference: Satterthwaite df (sum q^2)^2 / sum_ij K_ij^2 q_i^2 q_j^2, q = W X M c, from scipy distances;
    # the contrast's variance times df / (df - k)
    M = np.linalg.inv(X.T @ (X * w[:, None]))
    Kmat = np.where(D <= b, kernel(name, np.where(D <= b, D, 0) / b), 0.0)
    for est, c in (("direct effect", [0, 1, 0]), ("global effect", [0, 1, fit.share])):
        c = np.array(c, dtype=float)
        q2 = ((X * w[:, None]) @ M @ c) ** 2
        df = q2.sum() ** 2 / (q2 @ Kmat**2 @ q2)
        assert t[est].df == pytest.approx(df, rel=1e-10)
        assert t[est].std_error == pytest.approx(np.sqrt(c @ ref @ c * df / (df - k)), rel=1e-10)
        assert t[est].ci[1] - t[est].estimate == pytest.approx(stats.t.ppf(0.975, df) * t[est].std_error, rel=1e-10)
    assert f"bandwidth {b}" in t["direct effect"].variance


def test_directed_graph_uses_undirected_distances():
    rng = np.random.default_rng(1)
    n = 60
    u, v = rng.integers(0, n, 150), rng.integers(0, n, 150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        g = ne.Graph.from_edges(u, v, nodes=np.arange(n), directed=True)
    S = rng.normal(size=(n, 2))
    D = shortest_path(g.adjacency, unweighted=True, directed=False)
    ref = S.T @ (D <= 2).astype(float) @ S
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        meat, b, corrected = _hac.network_hac_meat(g, S, 2)
    if not corrected:
        assert np.allclose(meat, ref, atol=1e-10)
    else:  # eigenvalue correction of the same matrix
        val, vec = np.linalg.eigh(ref)
        assert np.allclose(meat, (vec * np.clip(val, 0, None)) @ vec.T, atol=1e-10)


def test_non_psd_meat_is_eigenvalue_corrected_with_warning():
    # dense random graph, wide bandwidth: 1{d <= b} is far from PSD and so is the meat
    g = ne.erdos_renyi(300, 0.02, rng=0)
    z = ne.Bernoulli(300, p=0.5).sample(rng=0)
    f = ne.fraction_treated_neighbors(g, z)
    y = 1 + 0.5 * z + f + np.random.default_rng(0).normal(size=300)
    X = np.column_stack([np.ones(300), z, f])
    S = X * (y - X @ np.linalg.lstsq(X, y, rcond=None)[0])[:, None]
    D = shortest_path(g.adjacency, unweighted=True, directed=False)
    raw = S.T @ (D <= 2).astype(float) @ S
    val, vec = np.linalg.eigh(raw)
    assert val.min() < 0
    with pytest.warns(ne.EstimationWarning, match="not positive semi-definite"):
        meat, _, corrected = _hac.network_hac_meat(g, S, 2)
    assert corrected
    assert np.allclose(meat, (vec * np.clip(val, 0, None)) @ vec.T, atol=1e-9)


def test_bandwidth_zero_is_hc1(setup):
    # with the small-sample factor n / (n - k), bandwidth 0 is statsmodels' HC1
    g, y, z, f, *_ = setup
    X = sm.add_constant(np.column_stack([z, f]).astype(float))
    ref = sm.OLS(y, X).fit(cov_type="HC1").cov_params()
    assert np.allclose(exposure_regression_fit(y, z, f, graph=g, bandwidth=0).cov("network-HAC"), ref, atol=1e-13)


def leung_rule(G_nx):
    """Leung's rule from its definition: APL of the largest component, average degree over all units."""
    n = G_nx.number_of_nodes()
    giant = G_nx.subgraph(max(nx.connected_components(G_nx), key=len))
    L = nx.average_shortest_path_length(giant)
    delta = 2 * G_nx.number_of_edges() / n
    expanding = delta > 1 and L < 2 * math.log(n) / math.log(delta)
    return max(1, round(L / 2) if expanding else round(L ** (1 / 3))), L, delta


@pytest.mark.parametrize("make", [
    lambda: ne.load_graph("karate"),
    lambda: ne.load_graph("les-miserables"),
    lambda: ne.watts_strogatz(400, 4, 0.1, rng=1),                       # expanding, b = 4
    lambda: ne.Graph.from_networkx(nx.convert_node_labels_to_integers(nx.grid_2d_graph(25, 25))),  # lattice
    lambda: ne.Graph.from_networkx(nx.disjoint_union(nx.path_graph(40), nx.cycle_graph(7))),  # two components
])
def test_bandwidth_rule_vs_networkx(make):
    g = make()
    b, L, delta = network_hac_bandwidth(g)
    rb, rL, rdelta = leung_rule(g.to_networkx())
    assert L == pytest.approx(rL, rel=1e-12)
    assert delta == pytest.approx(rdelta, rel=1e-12)
    assert b == rb


def test_bandwidth_rule_branches():
    grid = ne.Graph.from_networkx(nx.convert_node_labels_to_integers(nx.grid_2d_graph(25, 25)))
    b, L, _ = network_hac_bandwidth(grid)
    assert b == round(L ** (1 / 3)) == 3           # polynomial growth: L^(1/3)
    ws = ne.watts_strogatz(400, 4, 0.1, rng=1)
    b, L, delta = network_hac_bandwidth(ws)
    assert L < 2 * math.log(400) / math.log(delta)
    assert b == round(L / 2) == 4                   # expanding: L / 2


def test_sampled_path_length_for_large_components(monkeypatch):
    g = ne.watts_strogatz(600, 6, 0.1, rng=3)
    exact = network_hac_bandwidth(g)
    monkeypatch.setattr(_hac, "_APL_EXACT_MAX", 100)
    monkeypatch.setattr(_hac, "_APL_SOURCES", 60)
    approx = network_hac_bandwidth(g)
    assert approx[1] == pytest.approx(exact[1], rel=0.05)   # 60 of 600 BFS sources
    assert approx == network_hac_bandwidth(g)                # deterministic


def test_default_cov_type_with_graph_and_errors(setup):
    g, y, z, f, *_ = setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        t = exposure_regression(y, z, f, graph=g)
    assert t["direct effect"].variance.startswith("network HAC (uniform kernel, bandwidth")
    with pytest.raises(ne.InputError, match="needs graph="):
        exposure_regression(y, z, f, cov_type="network-HAC")
    with pytest.raises(ne.InputError, match="kernel"):
        exposure_regression(y, z, f, graph=g, kernel="gaussian")
    with pytest.raises(ne.InputError, match="one node per unit"):
        exposure_regression(y[:-1], z[:-1], f[:-1], graph=g)
