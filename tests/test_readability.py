"""What a user sees in a terminal and the names they guess: degree(), summaries, one option spelling."""

import subprocess
import sys

import numpy as np
import pytest

import netexp as ne


def test_degree_is_an_array_and_callable_like_networkx():
    nx = pytest.importorskip("networkx")
    G = nx.karate_club_graph()
    g = ne.Graph.from_networkx(G)
    want = np.array([G.degree(v) for v in g.node_ids])
    # the old array behaviour: indexing, reductions, numpy conversion
    assert np.array_equal(np.asarray(g.degree), want) and g.degree.max() == want.max()
    assert g.degree[3] == want[3] and g.degree.tolist() == want.tolist()
    # the networkx / igraph habit: g.degree(), g.degree(node), g.degree([nodes])
    assert type(g.degree()) is np.ndarray and np.array_equal(g.degree(), want)
    assert g.degree(33) == G.degree(33) and isinstance(g.degree(33), int)
    assert g.degree([0, 33]).tolist() == [G.degree(0), G.degree(33)]
    with pytest.raises(ne.GraphError):
        g.degree(1000)
    assert type(g.degree + 1) is not type(g.degree) or (g.degree + 1)._graph_index_of is None


def test_estimate_table_prints_estimate_interval_and_p_value():
    g = ne.load_graph("karate")
    c = ne.leiden(g, rng=0)
    z = ne.ClusterRandomized(c).sample(rng=1)
    y = ne.LinearInMeans().realize(g, rng=2).outcomes(z)
    tab = ne.exposure_regression(y, z, ne.exposure(g, z), clusters=c.labels)
    text = str(tab)
    lines = text.splitlines()
    assert len(lines) == 1 + len(tab) and "95% CI" in lines[0] and "p-value" in lines[0]
    for e, line in zip(tab, lines[1:]):
        assert line.startswith(e.estimand) and f"{e.estimate:.4g}" in line and f"{e.ci[0]:.4g}" in line
    assert repr(tab) == text
    one = repr(tab[0])
    assert one.startswith("Estimate(") and "CI" in one and "p " in one and "\n" not in one


def test_p_values_print_as_bounds_not_zero():
    e = ne.Estimate.from_se(estimand="x", estimate=5.0, std_error=0.01, n=10, method="m", variance="v")
    assert e.p_value < 1e-100
    assert "< 0.001" in str(ne.EstimateTable([e]))


def test_cluster_summary_is_a_dict_printed_as_a_table():
    c = ne.leiden(ne.load_graph("karate"), rng=0)
    s = c.summary()
    assert isinstance(s, dict) and s["n_clusters"] == c.n_clusters
    text = str(s)
    assert "{" not in text and "modularity" in text and f"{c.modularity:.3f}" in text
    assert all(len(line.split("  ")[-1].strip()) < 16 for line in text.splitlines())   # no 16-digit floats


def test_diagnose_accepts_public_estimator_functions():
    g = ne.load_graph("karate")
    designs = {"complete": ne.Complete(g.n_nodes, p=0.5)}
    model = ne.LinearInMeans(noise_sd=0.1)
    a = ne.diagnose(designs, [ne.difference_in_means, ne.exposure_regression], model, g, n_sims=50, rng=3)
    b = ne.diagnose(designs, ["difference-in-means", "exposure_regression"], model, g, n_sims=50, rng=3)
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fa["estimator"]) == ["difference-in-means", "exposure-regression"]
    np.testing.assert_allclose(fa["bias"], fb["bias"])
    with pytest.raises(ne.InputError, match="lambda ctx"):
        ne.diagnose(designs, [ne.lin_estimator], model, g, n_sims=5, rng=3)


def test_one_spelling_of_options():
    X = np.random.default_rng(0).normal(size=(40, 2))
    a = ne.Rerandomized(ne.Complete(40, p=0.5), X, criterion="mean-difference", threshold=0.5)
    b = ne.Rerandomized(ne.Complete(40, p=0.5), X, criterion="mean_difference", threshold=0.5)
    assert np.array_equal(a.sample(rng=1), b.sample(rng=1))
    with pytest.raises(ne.InputError, match="must be one of"):
        ne.Rerandomized(ne.Complete(40, p=0.5), X, criterion="mean difference", threshold=0.5)


def test_import_is_light():
    code = ("import sys, netexp as ne; heavy = [m for m in ('scipy.stats', 'scipy.spatial', 'numba', 'matplotlib', "
            "'statsmodels', 'pandas') if m in sys.modules]; print(heavy); ne.Graph; print(callable(ne.read_graph))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"


def test_first_use_compilation_is_announced_once(monkeypatch, tmp_path, capsys):
    from netexp import _jit

    monkeypatch.setattr(_jit, "_PACKAGE", tmp_path)          # no cached kernel anywhere
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("NETEXP_QUIET", raising=False)
    monkeypatch.setattr(_jit, "_noted", False)
    assert not _jit.caches_warm()
    assert _jit.note_if_cold() and not _jit.note_if_cold()
    assert capsys.readouterr().err.count("compiling numerical kernels on first use") == 1
    (tmp_path / "graph" / "__pycache__").mkdir(parents=True)
    (tmp_path / "graph" / "__pycache__" / "_csr._scatter-17.py311.nbi").write_bytes(b"")
    monkeypatch.setattr(_jit, "_noted", False)
    assert _jit.caches_warm() and not _jit.note_if_cold()
    assert capsys.readouterr().err == ""
