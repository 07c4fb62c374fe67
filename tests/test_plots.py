"""netexp.plots: every figure drawn with Agg and checked element by element against values computed
independently (numpy formulas, networkx, collections.Counter, scipy quantiles); four figures compared
with stored baseline PNGs.

Baselines: tests/baseline_images/*.png, drawn at 4 x 3 in, 72 dpi, in a fixed axes box with every
text element and legend hidden (so fonts cannot change them). Regenerate after an intended visual change with
``NETEXP_REGENERATE_BASELINES=1 python -m pytest tests/test_plots.py -k baseline`` and look at them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

import netexp as ne  # noqa: E402
from netexp import plots  # noqa: E402

BASELINE = Path(__file__).parent / "baseline_images"
#: RMS pixel difference (0-255 scale) allowed against a baseline: text is hidden, so what is left is
#: geometry; anti-aliasing differences across freetype/agg builds stay well under 2.
TOL = 2.0


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def karate():
    g = ne.load_graph("karate")
    return g, ne.leiden(g, rng=0)


def _points(ax) -> np.ndarray:
    """Centres of every scatter marker on the axes."""
    offs = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    return np.vstack([np.asarray(o) for o in offs if len(o)]) if offs else np.empty((0, 2))


def _segments(ax) -> list:
    return [c for c in ax.collections if isinstance(c, LineCollection)]


def _legend_texts(ax) -> list[str]:
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


# ----------------------------------------------------------------------------- light import
def test_import_netexp_does_not_import_matplotlib():
    code = ("import sys, netexp, netexp.plots, netexp._report; "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'matplotlib']; assert not bad, bad")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr


# ----------------------------------------------------------------------------- network
def test_network_draws_every_node_edge_and_cut_edge_of_a_small_graph(karate):
    g, cl = karate
    ax = plots.plot_network(g, color_by=cl.labels, clusters=cl, rng=0)
    G = g.to_networkx()
    assert _points(ax).shape[0] == G.number_of_nodes() == 34
    lab = dict(zip(g.node_ids.tolist(), cl.labels.tolist()))
    n_cut = sum(lab[a] != lab[b] for a, b in G.edges())
    plain, cut = _segments(ax)
    assert len(cut.get_segments()) == n_cut
    assert len(plain.get_segments()) + len(cut.get_segments()) == G.number_of_edges()
    legend = _legend_texts(ax)
    assert legend[0] == f"cut edge ({n_cut} of 78)"
    assert legend[1:] == [str(c) for c in range(cl.n_clusters)]
    assert ax.get_title() == "karate: 34 nodes, 78 edges"


def test_network_segments_join_the_drawn_positions_of_adjacent_nodes(karate):
    g, _ = karate
    ax = plots.plot_network(g, rng=3)
    xy = _points(ax)
    G = g.to_networkx()
    pos = {nid: xy[i] for i, nid in enumerate(g.node_ids.tolist())}  # one scatter, internal order
    want = {frozenset((tuple(np.round(pos[a], 9)), tuple(np.round(pos[b], 9)))) for a, b in G.edges()}
    got = {frozenset(tuple(np.round(p, 9)) for p in seg) for seg in _segments(ax)[0].get_segments()}
    assert got == want


def test_network_is_reproducible_and_seed_dependent(karate):
    g, cl = karate
    a = _points(plots.plot_network(g, color_by=cl, rng=5))
    b = _points(plots.plot_network(g, color_by=cl, rng=5))
    c = _points(plots.plot_network(g, color_by=cl, rng=6))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_spring_layout_places_planted_blocks_apart():
    g = ne.stochastic_block_model([40, 40], [[0.3, 0.005], [0.005, 0.3]], rng=1)
    xy = plots._fr_layout(np.random.default_rng(0).uniform(size=(80, 2)), *[a.astype(np.int64) for a in g.edges()],
                          50)
    block = np.repeat([0, 1], 40)
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = block[:, None] == block[None]
    off = ~np.eye(80, dtype=bool)
    assert d[same & off].mean() < 0.5 * d[~same].mean()


def test_large_graph_is_sampled_and_the_title_says_how():
    g = ne.erdos_renyi(3000, 0.002, rng=0)
    for sample in ("largest-component", "bfs", "random"):
        ax = plots.plot_network(g, max_nodes=400, sample=sample, rng=1)
        n_drawn = _points(ax).shape[0]
        assert n_drawn <= 400
        assert f"{n_drawn:,} of 3,000 nodes shown" in ax.get_title()
    assert _points(plots.plot_network(g, max_nodes=400, sample="random", rng=1)).shape[0] == 400


def test_largest_component_sample_matches_networkx():
    # two components: a 30-node path and a 10-node cycle, plus isolates
    u = list(range(29)) + [30 + i for i in range(10)]
    v = list(range(1, 30)) + [30 + (i + 1) % 10 for i in range(10)]
    g = ne.Graph.from_edges(u, v, nodes=np.arange(45))
    keep, how = plots._sample_nodes(g, 35, "largest-component", np.random.default_rng(0))
    biggest = max(nx.connected_components(g.to_networkx()), key=len)
    assert set(g.node_ids[keep].tolist()) == biggest
    assert how == "largest connected component"


@pytest.mark.parametrize("sample", ["bfs", "largest-component"])
def test_bfs_sample_is_a_breadth_first_ball(sample):
    g = ne.erdos_renyi(800, 0.006, rng=2)
    keep, how = plots._sample_nodes(g, 150, sample, np.random.default_rng(4))
    G = g.to_networkx()
    start = int(how.split("node ")[1].split(" ")[0])
    dist = nx.single_source_shortest_path_length(G, start)
    chosen = set(g.node_ids[keep].tolist())
    assert len(chosen) == 150 and start in chosen
    radius = max(dist[x] for x in chosen)
    assert {x for x, d in dist.items() if d < radius} <= chosen  # every closer node is in the ball
    assert nx.is_connected(G.subgraph(chosen))


def test_network_continuous_colour_gets_a_colour_bar(karate):
    g, _ = karate
    ax = plots.plot_network(g, color_by=np.linspace(0, 1, 34) + 0.01, rng=0)
    assert len(ax.figure.axes) == 2  # the colour bar


def test_network_category_names_and_many_categories(karate):
    g, cl = karate
    z = np.arange(34) % 2 == 0
    ax = plots.plot_network(g, color_by=z, rng=0)
    assert _legend_texts(ax) == ["control", "treated"]
    ax = plots.plot_network(g, color_by=z.astype(int), labels=["off", "on"], rng=0)
    assert _legend_texts(ax) == ["off", "on"]
    ax = plots.plot_network(g, color_by=np.arange(34), rng=0)
    assert _legend_texts(ax) == ["34 categories (colours repeat)"]


def test_network_errors(karate):
    g, _ = karate
    with pytest.raises(ne.InputError, match="color_by must have one entry per unit"):
        plots.plot_network(g, color_by=np.zeros(5))
    with pytest.raises(ne.InputError, match="sample must be one of"):
        plots.plot_network(g, sample="snowball")
    with pytest.raises(ne.InputError, match="ax must be a matplotlib Axes"):
        plots.plot_network(g, ax="left")
    with pytest.raises(ne.InputError, match="graph must be a netexp Graph"):
        plots.plot_network(nx.karate_club_graph())


def test_clustering_plot_method(karate):
    g, cl = karate
    ax = cl.plot(rng=0)
    assert _points(ax).shape[0] == 34 and len(_segments(ax)) == 2


# ----------------------------------------------------------------------------- clusters
def test_cluster_sizes_histogram_counts_every_cluster(karate):
    _, cl = karate
    ax = plots.plot_cluster_sizes(cl)
    heights = {round(p.get_x() + p.get_width() / 2): int(p.get_height()) for p in ax.patches}
    counts = Counter(np.bincount(cl.labels).tolist())
    assert {k: v for k, v in heights.items() if v} == dict(counts)
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "cluster size (units)" and ax.get_ylabel() == "number of clusters"
    assert ax.get_lines()[0].get_xdata()[0] == np.median(np.bincount(cl.labels))


def test_cluster_sizes_heavy_tail_uses_log_axis():
    sizes = np.r_[np.ones(200, int), np.arange(2, 60), [500, 2000]]
    ax = plots.plot_cluster_sizes(sizes)
    assert ax.get_xscale() == "log"
    assert sum(p.get_height() for p in ax.patches) == sizes.size
    assert "200 singletons" in ax.get_title()
    with pytest.raises(ne.InputError, match="positive whole numbers"):
        plots.plot_cluster_sizes([0, 3])


def test_cluster_quality_bars_and_distribution(karate):
    g, cl = karate
    ax = plots.plot_cluster_quality(cl)  # Clustering.summary() is a dict
    G = g.to_networkx()
    lab = dict(zip(g.node_ids.tolist(), cl.labels.tolist()))
    cut = sum(lab[a] != lab[b] for a, b in G.edges()) / G.number_of_edges()
    inside = np.mean([all(lab[b] == lab[a] for b in G[a]) for a in G])
    widths = sorted(p.get_width() for p in ax.patches)
    assert np.allclose(widths, sorted([cut, inside]))
    ax = plots.plot_cluster_quality(SimpleNamespace(to_dict=lambda: {"cut_fraction": 0.25, "n_units": 10,
                                                                     "share_fully_inside": 0.6}))
    assert sorted(p.get_width() for p in ax.patches) == [0.25, 0.6]
    d = [1, 1, 2, 3, 1, 2, 5]
    ax = plots.plot_cluster_quality(d)
    assert {int(p.get_x() + p.get_width() / 2 + 0.5): int(p.get_height()) for p in ax.patches} == dict(Counter(d))
    assert ax.get_title().startswith("Clusters per neighbourhood: 43% of 7 units")
    with pytest.raises(ne.InputError, match="no share"):
        plots.plot_cluster_quality({"n_units": 3})


# ----------------------------------------------------------------------------- balance
@pytest.fixture(scope="module")
def balance():
    rng = np.random.default_rng(0)
    n = 60
    X = pd.DataFrame({"age": rng.normal(40, 10, n), "score": rng.normal(size=n), "flag": rng.integers(0, 2, n)})
    z = ne.Complete(n, n_treated=30).sample(rng=1)
    return X, z, ne.balance_table(X, z, design=ne.Complete(n, n_treated=30), n_draws=200, rng=2)


def test_balance_points_are_standardized_differences(balance):
    X, z, bt = balance
    ax = plots.plot_balance(bt, threshold=0.1)
    zt = z.astype(bool)
    want = [(X[c][zt].mean() - X[c][~zt].mean()) / np.sqrt((X[c][zt].var(ddof=1) + X[c][~zt].var(ddof=1)) / 2)
            for c in X.columns]
    # markers at +-q95 are '|' ticks in the first scatter; the points are the later collections
    coll = [c for c in ax.collections if isinstance(c, PathCollection)]
    pts = np.vstack([np.asarray(c.get_offsets()) for c in coll[1:]])
    ylab = [t.get_text() for t in ax.get_yticklabels()]
    assert ylab == list(X.columns)
    got = {ylab[::-1][int(round(y))]: x for x, y in pts}
    assert np.allclose([got[c] for c in X.columns], want, rtol=1e-10)
    band = ax.patches[0]
    assert np.isclose(band.get_x(), -0.1) and np.isclose(band.get_x() + band.get_width(), 0.1)
    q95 = np.asarray(coll[0].get_offsets())[:, 0]
    assert np.allclose(np.sort(np.abs(q95))[::2], np.sort(bt.abs_std_difference_q95))
    n_out = int((np.abs(want) > 0.1).sum())
    assert f"{n_out} of 3 beyond 0.1" in ax.get_title()
    assert ax.get_xlabel() == "standardized difference (treated − control)"


def test_balance_accepts_a_frame_and_the_method(balance):
    _, _, bt = balance
    a = plots.plot_balance(bt.to_frame().drop(columns="abs_std_difference_q95"), threshold=0.2)
    assert "design's 95th pct of |d|" not in _legend_texts(a)
    assert "|d| ≤ 0.2" in _legend_texts(a)
    b = bt.plot(threshold=0.2)
    assert [t.get_text() for t in b.get_yticklabels()] == list(bt.covariates)
    with pytest.raises(ne.InputError, match="threshold must be a finite positive number"):
        plots.plot_balance(bt, threshold=-1)
    with pytest.raises(ne.InputError, match="missing column"):
        plots.plot_balance(pd.DataFrame({"covariate": ["a"]}))


def test_balance_distribution_marks_observed_with_its_share(balance):
    _, _, bt = balance
    ax = plots.plot_balance_distribution(bt)
    draws, m = bt.mahalanobis_draws, bt.mahalanobis
    assert ax.get_lines()[0].get_xdata()[0] == m
    share = (1 + (draws >= m).sum()) / (1 + draws.size)
    assert _legend_texts(ax)[-1].endswith(f"(share of draws ≥: {share:.3g})")
    assert sum(p.get_height() for p in ax.patches) == draws.size


# ----------------------------------------------------------------------------- randomization
def test_randomization_distribution_lines_at_mean_truth_observed():
    est = np.random.default_rng(0).normal(2.0, 0.5, 400)
    ax = plots.plot_randomization_distribution(est, truth=2.0, observed=2.7, label="difference in means")
    xs = [ln.get_xdata()[0] for ln in ax.get_lines()]
    assert np.allclose(xs, [est.mean(), 2.0, 2.7])
    assert _legend_texts(ax) == [f"mean {est.mean():.3g}", "truth 2", "observed 2.7"]
    assert sum(p.get_height() for p in ax.patches) == 400
    mcse = est.std(ddof=1) / 20
    assert f"Monte Carlo s.e. {mcse:.2g}" in ax.get_title()
    assert ax.get_xlabel() == "difference in means"


def test_randomization_test_shades_the_extreme_draws():
    null = np.random.default_rng(1).normal(size=999)
    res = SimpleNamespace(null_distribution=null, observed=1.5, p_value=0.13, alternative="two-sided",
                          statistic="difference in means")
    ax = plots.plot_randomization_test(res)
    n_bins = len(ax.patches) // 2
    red = sum(p.get_height() for p in ax.patches[n_bins:])
    assert red == (np.abs(null) >= 1.5).sum()
    assert ax.get_title() == "Randomization test: p = 0.13 (two-sided)"
    assert ax.get_xlabel() == "difference in means"
    res = {"null_distribution": null, "observed": 1.5, "p_value": 0.07, "alternative": "greater"}
    ax = plots.plot_randomization_test(res)
    assert sum(p.get_height() for p in ax.patches[len(ax.patches) // 2:]) == (null >= 1.5).sum()


def test_randomization_test_with_exact_weights_shows_probabilities():
    T = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, np.nan])
    w = np.array([0.1, 0.2, 0.4, 0.2, 0.1, 0.0])
    res = SimpleNamespace(null_distribution=T, weights=w, observed=2.0, p_value=0.2, alternative="two-sided",
                          null_mean=0.0)
    ax = plots.plot_randomization_test(res)
    n_bins = len(ax.patches) // 2
    assert np.isclose(sum(p.get_height() for p in ax.patches[:n_bins]), 1.0)
    assert np.isclose(sum(p.get_height() for p in ax.patches[n_bins:]), 0.2)
    assert ax.get_ylabel() == "probability"
    with pytest.raises(ne.InputError, match="null_distribution"):
        plots.plot_randomization_test(SimpleNamespace(observed=1.0))


# ----------------------------------------------------------------------------- forest
@pytest.fixture(scope="module")
def estimates():
    a = ne.Estimate.from_se(estimand="direct", estimate=1.0, std_error=0.2, n=100, method="DM", variance="Neyman")
    b = ne.Estimate.from_se(estimand="spillover", estimate=0.4, std_error=0.3, n=100, method="HT",
                            variance="Neyman", df=12)
    return a, b


def _errorbar(ax):
    line, _, (bars,) = ax.containers[0]
    return np.asarray(line.get_xdata()), np.array([[s[0][0], s[1][0]] for s in bars.get_segments()])


def test_forest_intervals_match_t_and_normal_quantiles(estimates):
    a, b = estimates
    ax = plots.plot_forest(ne.EstimateTable([a, b]), truth={"direct": 1.1})
    x, ci = _errorbar(ax)
    assert np.allclose(x, [1.0, 0.4])
    q_norm, q_t = stats.norm.ppf(0.975), stats.t.ppf(0.975, 12)
    assert np.allclose(ci, [[1.0 - q_norm * 0.2, 1.0 + q_norm * 0.2], [0.4 - q_t * 0.3, 0.4 + q_t * 0.3]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["direct", "spillover"]
    truth = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert np.allclose(np.asarray(truth[0].get_offsets()), [[1.1, 1.0]])  # on the top row only
    assert ax.get_xlabel() == "estimate with 95% CI"
    assert set(_legend_texts(ax)) == {"truth", "estimate and CI"}


def test_forest_accepts_every_input_form(estimates):
    a, b = estimates
    frame = ne.EstimateTable([a, b]).to_frame()
    forms = [ne.EstimateTable([a, b]), [a, b], (a, b), {"first": a, "second": b}, frame]
    ref = _errorbar(plots.plot_forest(forms[0]))
    for f in forms[1:]:
        got = _errorbar(plots.plot_forest(f))
        assert np.allclose(got[0], ref[0]) and np.allclose(got[1], ref[1])
    assert [t.get_text() for t in plots.plot_forest(forms[3]).get_yticklabels()] == ["first", "second"]
    assert [t.get_text() for t in plots.plot_forest([a, b], label_by="method").get_yticklabels()] == ["DM", "HT"]
    assert [t.get_text() for t in plots.plot_forest([a, b], label_by=None).get_yticklabels()] == \
        ["DM: direct", "HT: spillover"]
    ax = plots.plot_forest([a, b], truth=0.5)
    assert ax.get_lines()[-1].get_xdata()[0] == 0.5 and "truth 0.5" in _legend_texts(ax)
    assert a.plot().get_title() == "Estimate: direct"
    assert len(ne.EstimateTable([a, b]).plot().get_yticklabels()) == 2
    assert frame.shape == (2, len(frame.columns))  # input not mutated
    with pytest.raises(ne.InputError, match="missing column"):
        plots.plot_forest(frame.drop(columns="ci_low"))
    with pytest.raises(ne.InputError, match="label_by must be one of"):
        plots.plot_forest([a], label_by="n")


# ----------------------------------------------------------------------------- exposure, power, diagnosis
def test_exposure_probabilities_boxes_and_zero_counts():
    rng = np.random.default_rng(0)
    P = rng.dirichlet([1, 1, 1], size=300)
    P[:7, 0] = 0.0
    P[:3, 2] = 0.0
    obj = SimpleNamespace(marginal=P, levels=("control", "direct", "both"))
    ax = plots.plot_exposure_probabilities(obj, threshold=0.05)
    texts = [t.get_text() for t in ax.texts]
    below = (P < 0.05).sum(0)
    assert texts == [f"7 at 0\n{below[0]} < 0.05", f"0 at 0\n{below[1]} < 0.05", f"3 at 0\n{below[2]} < 0.05"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["control", "direct", "both"]
    assert len([p for p in ax.patches]) == 3  # one box per level
    # whiskers span min..max: the lower whisker of level 0 ends at 0
    whisk = [ln for ln in ax.get_lines() if len(ln.get_ydata()) == 2 and ln.get_xdata()[0] == ln.get_xdata()[1]]
    assert min(min(ln.get_ydata()) for ln in whisk) == 0.0
    assert ax.get_title() == "Exposure probabilities: 7 units have a level with probability 0"
    with pytest.raises(ne.InputError, match=r"in \[0, 1\]"):
        plots.plot_exposure_probabilities(P * 2)
    with pytest.raises(ne.InputError, match="levels must name"):
        plots.plot_exposure_probabilities(P, levels=["a"])


def test_power_curve_crossing_is_the_linear_interpolation():
    x = np.array([0.3, 0.0, 0.1, 0.2, 0.4])
    p = np.array([0.85, 0.05, 0.3, 0.6, 0.97])
    ax = plots.plot_power_curve(x, p, target=0.8, xlabel="effect")
    cross = np.interp(0.8, np.sort(p), np.sort(x))  # independent: monotone curve inverted by numpy
    assert ax.get_title() == f"Power: reaches 0.8 at effect ≈ {cross:.3g}"
    curve = ax.get_lines()[1]
    assert np.array_equal(curve.get_xdata(), np.sort(x))
    assert np.isclose(ax.get_lines()[2].get_xdata()[0], cross)
    assert ax.get_lines()[0].get_ydata()[0] == 0.8
    flat = plots.plot_power_curve([1, 2], [0.1, 0.2])
    assert flat.get_title() == "Power: does not reach 0.8 in this range"


def test_power_curve_from_a_grouped_frame():
    df = pd.DataFrame({"n_clusters": [10, 20, 40] * 2, "power": [0.2, 0.5, 0.9, 0.1, 0.3, 0.6],
                       "power_se": [0.01] * 6, "design": ["A"] * 3 + ["B"] * 3,
                       "power_ci_low": [0.15, 0.45, 0.85, 0.05, 0.25, 0.55],
                       "power_ci_high": [0.25, 0.55, 0.95, 0.15, 0.35, 0.65]})
    ax = plots.plot_power_curve(df)
    assert ax.get_xlabel() == "n_clusters" and ax.get_ylabel() == "power"
    assert _legend_texts(ax) == ["target 0.8", "A", "B"]
    assert len([c for c in ax.collections if c.__class__.__name__ == "FillBetweenPolyCollection"
                or c.__class__.__name__ == "PolyCollection"]) == 2
    assert ax.get_title() == "Power by design"
    with pytest.raises(ne.InputError, match="'power' column"):
        plots.plot_power_curve(df.drop(columns="power"))
    with pytest.raises(ne.InputError, match="power is required"):
        plots.plot_power_curve([1, 2, 3])


def test_diagnosis_heatmap_annotates_every_cell():
    df = pd.DataFrame({"design": ["unit", "unit", "cluster"], "estimator": ["DM", "HT", "DM"],
                       "rmse": [0.31, 0.42, 0.18], "bias": [0.01, 0.0, -0.02]})
    ax = plots.plot_diagnosis(df)
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(0, 0): "0.31", (0, 1): "0.42", (1, 0): "0.18", (1, 1): "–"}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["DM", "HT"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["unit", "cluster"]
    img = ax.get_images()[0].get_array()
    assert np.allclose(img.data[~img.mask], [0.31, 0.42, 0.18])
    assert plots.plot_diagnosis(df, diagnosand="bias").get_title() == "bias by design and estimator"
    with pytest.raises(ne.InputError, match="missing column"):
        plots.plot_diagnosis(df, diagnosand="coverage")
    with pytest.raises(ne.InputError, match="aggregate"):
        plots.plot_diagnosis(pd.concat([df, df]))


# ----------------------------------------------------------------------------- baselines
def _baseline_figures(karate, balance, estimates):
    g, cl = karate
    _, _, bt = balance
    a, b = estimates
    return {
        "network_karate": lambda ax: plots.plot_network(g, color_by=cl.labels, clusters=cl, rng=0, ax=ax),
        "cluster_sizes": lambda ax: plots.plot_cluster_sizes(np.r_[np.ones(40, int), np.arange(2, 30), [300, 900]],
                                                             ax=ax),
        "balance": lambda ax: plots.plot_balance(bt, ax=ax),
        "forest": lambda ax: plots.plot_forest([a, b], truth={"direct": 1.1, "spillover": 0.5}, ax=ax),
    }


@pytest.mark.parametrize("name", ["network_karate", "cluster_sizes", "balance", "forest"])
def test_baseline_image(name, karate, balance, estimates, tmp_path):
    from matplotlib.testing.compare import compare_images
    from matplotlib.text import Text

    fig = Figure(figsize=(4, 3), dpi=72)  # fixed axes box, no layout engine: text sizes move nothing
    ax = fig.add_axes((0.12, 0.1, 0.8, 0.8))
    _baseline_figures(karate, balance, estimates)[name](ax)
    if ax.get_legend() is not None:
        ax.get_legend().set_visible(False)
    for t in fig.findobj(Text):
        t.set_visible(False)
    expected = BASELINE / f"{name}.png"
    if os.environ.get("NETEXP_REGENERATE_BASELINES") == "1":
        fig.savefig(expected, dpi=72)
        pytest.skip(f"regenerated {expected}")
    actual = tmp_path / f"{name}.png"
    fig.savefig(actual, dpi=72)
    assert expected.exists(), f"missing baseline {expected}; regenerate (see module docstring)"
    result = compare_images(str(expected), str(actual), tol=TOL)
    assert result is None, result
