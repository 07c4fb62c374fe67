"""Plots for every stage of an experiment: graph, clusters, balance, estimates, tests, power.

matplotlib is imported inside each function, never at module import, so ``import netexp`` stays
light. Every function takes ``ax=None`` (a new figure is made when it is None) and returns the
Axes it drew on. One style throughout: the Okabe-Ito colour-blind-safe palette, labelled axes,
a title that states what is shown, and a light grid on the value axis. Inputs are plain arrays,
netexp result objects, or any object with the same attributes (duck typing), so result types
added later plot without changes here.

References
----------
Okabe, M. & Ito, K. (2008). Color Universal Design (CUD): how to make figures and presentations
that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from ._errors import InputError
from ._validation import check_int, check_option, check_positive, check_rng, dense_codes

__all__ = [
    "PALETTE", "plot_network", "plot_cluster_sizes", "plot_cluster_quality", "plot_balance",
    "plot_balance_distribution", "plot_randomization_distribution", "plot_randomization_test", "plot_forest",
    "plot_exposure_probabilities", "plot_power_curve", "plot_diagnosis",
]

#: Okabe & Ito's colour-blind-safe palette: blue, orange, bluish green, vermillion, reddish purple,
#: sky blue, yellow, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_BLUE, _ORANGE, _GREEN, _RED, _PURPLE, _SKY = PALETTE[:6]
_GREY = "#999999"
_INK = "#222222"
#: Diverging/sequential colour map readable with every common colour-vision deficiency.
_CMAP = "cividis"
#: Categories up to which each gets its own legend entry.
_MAX_LEGEND = 10
_FIGSIZE = (6.4, 4.4)


# ----------------------------------------------------------------------------- shared helpers
def _axes(ax, figsize=_FIGSIZE):
    """The Axes to draw on: ``ax`` itself, or a new figure's single Axes."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
        return ax
    if not (hasattr(ax, "figure") and hasattr(ax, "plot")):
        raise InputError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}.")
    return ax


def _style(ax, *, grid: str | None = "y"):
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if grid:
        ax.grid(True, axis=grid, color="#dddddd", linewidth=0.8, zorder=0)
        ax.set_axisbelow(True)


def _vector(name: str, values: Any, *, allow_empty: bool = False) -> np.ndarray:
    """A finite 1-D float array (Estimate objects give their ``estimate``)."""
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    if isinstance(values, (list, tuple)) and values and all(hasattr(v, "estimate") for v in values):
        values = [v.estimate for v in values]
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a 1-D array of numbers; got {type(values).__name__}.") from None
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D (one value per draw); got shape {arr.shape}.")
    if arr.size == 0 and not allow_empty:
        raise InputError(f"{name} is empty; pass at least one value.")
    bad = ~np.isfinite(arr)
    if bad.any():
        if bad.all():
            raise InputError(f"{name}: all {arr.size} values are NaN or infinite; nothing to plot.")
        arr = arr[~bad]
    return arr


def _scalar(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)) or np.ndim(value) != 0:
        if hasattr(value, "estimate"):
            return float(value.estimate)
        raise InputError(f"{name} must be a number or None; got {value!r}.")
    return float(value)


def _as_mapping(obj: Any) -> dict | None:
    """A dict view of a duck-typed result: Mapping, ``to_dict()`` or ``summary()`` returning a dict."""
    if isinstance(obj, Mapping):
        return dict(obj)
    for meth in ("to_dict", "summary"):
        f = getattr(obj, meth, None)
        if callable(f):
            try:
                out = f()
            except TypeError:
                continue
            if isinstance(out, Mapping):
                return dict(out)
    return None


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or not np.isfinite(x):
        return "nan"
    return f"{x:.{digits}g}"


def _legend(ax, **kw):
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(frameon=False, fontsize="small", **kw)


# ----------------------------------------------------------------------------- network
_SAMPLES = ("largest-component", "bfs", "random")
_LAYOUTS = ("spring", "kamada-kawai")
#: Fruchterman-Reingold iterations (networkx's default).
_FR_ITERATIONS = 50


def _bfs_order(graph, start: int) -> np.ndarray:
    from scipy.sparse.csgraph import breadth_first_order

    return breadth_first_order(graph.adjacency, int(start), directed=False, return_predecessors=False)


def _sample_nodes(graph, max_nodes: int, sample: str, gen) -> tuple[np.ndarray, str]:
    """Units to draw (sorted internal indices) and a phrase stating how they were chosen."""
    n = graph.n_nodes
    if sample == "random":
        keep = np.sort(gen.choice(n, size=max_nodes, replace=False))
        return keep, "uniform random nodes"
    if sample == "largest-component":
        comp = graph.connected_components()
        members = np.flatnonzero(comp == 0)
        if members.shape[0] <= max_nodes:
            return members, "largest connected component"
        start = int(members[gen.integers(members.shape[0])])
        where = " (largest component)"
    else:
        start = int(gen.integers(n))
        where = ""
    order = _bfs_order(graph, start)[:max_nodes]
    return np.sort(order), f"BFS ball around node {graph.node_ids[start]}{where}"


@njit(cache=True)
def _fr_layout(pos, u, v, n_iter):  # pragma: no cover - compiled
    """Fruchterman-Reingold in the unit square: exact O(n^2) repulsion, O(m) attraction, linear cooling.

    The same force model as networkx's ``spring_layout`` (optimal distance ``k = 1/sqrt(n)``,
    repulsion ``k^2/d``, attraction ``d^2/k``, step capped by a temperature falling linearly from
    0.1), compiled: 2,000 nodes take a fraction of a second where networkx's sparse path takes
    about ten. ``pos`` (n, 2) is updated in place and returned.
    """
    n = pos.shape[0]
    k2 = 1.0 / n
    k = np.sqrt(k2)
    disp = np.zeros_like(pos)
    t0 = 0.1
    for it in range(n_iter):
        t = t0 * (1.0 - it / n_iter)
        disp[:] = 0.0
        for i in range(n):
            xi = pos[i, 0]
            yi = pos[i, 1]
            for j in range(i + 1, n):
                dx = xi - pos[j, 0]
                dy = yi - pos[j, 1]
                d2 = dx * dx + dy * dy
                if d2 < 1e-12:
                    dx = 1e-6 * (1 + (i + j) % 3)
                    dy = 1e-6 * (1 + (i * 7 + j) % 5)
                    d2 = dx * dx + dy * dy
                f = k2 / d2
                disp[i, 0] += dx * f
                disp[i, 1] += dy * f
                disp[j, 0] -= dx * f
                disp[j, 1] -= dy * f
        for e in range(u.shape[0]):
            a = u[e]
            b = v[e]
            dx = pos[a, 0] - pos[b, 0]
            dy = pos[a, 1] - pos[b, 1]
            f = np.sqrt(dx * dx + dy * dy) / k
            disp[a, 0] -= dx * f
            disp[a, 1] -= dy * f
            disp[b, 0] += dx * f
            disp[b, 1] += dy * f
        for i in range(n):
            length = np.sqrt(disp[i, 0] ** 2 + disp[i, 1] ** 2)
            if length > 0:
                step = min(length, t) / length
                pos[i, 0] += disp[i, 0] * step
                pos[i, 1] += disp[i, 1] * step
    return pos


def _category_names(uniq: np.ndarray, labels: Any) -> list[str]:
    if labels is None:
        if uniq.dtype == np.bool_:
            return ["treated" if u else "control" for u in uniq]
        return [str(u) for u in uniq.tolist()]
    if isinstance(labels, Mapping):
        return [str(labels.get(u, labels.get(str(u), u))) for u in uniq.tolist()]
    names = list(labels)
    out = []
    for u in uniq.tolist():
        if isinstance(u, (bool, int, np.integer)) and 0 <= int(u) < len(names):
            out.append(str(names[int(u)]))
        else:
            raise InputError(f"labels must name every code of color_by (a sequence indexed by code, or a dict); "
                             f"code {u!r} has no entry among {len(names)} labels.")
    return out


def plot_network(graph, *, color_by=None, labels=None, max_nodes: int = 2000, sample: str = "largest-component",
                 rng=None, clusters=None, layout: str = "spring", node_size: float | None = None, ax=None):
    """Draw the graph (or a sample of it) with nodes coloured by cluster, arm or exposure.

    Parameters
    ----------
    graph : Graph
    color_by : array-like of shape (n_nodes,) or Clustering, optional
        Category of every unit (cluster labels, 0/1 assignment, exposure codes), or
        continuous values (floats that are not all whole numbers: drawn with a colour bar).
        Booleans are named ``control`` / ``treated``.
    labels : sequence or dict, optional
        Names of the codes of ``color_by`` for the legend (``labels[code]`` or ``labels.get(code)``).
    max_nodes : int, default 2000
        Graphs with more units draw a sample of this many; the title says how it was chosen.
    sample : {"largest-component", "bfs", "random"}
        ``"largest-component"``: the largest connected component, cut to a breadth-first ball
        around a random unit of it when it is still too large. ``"bfs"``: a breadth-first ball
        around a random unit of the graph (smaller than ``max_nodes`` if its component is). ``"random"``: uniformly chosen units (most of their edges are
        lost: use it for large sparse graphs only when the others are unsuitable).
    rng : None, int, SeedSequence or Generator
        Seeds the ``"bfs"`` / ``"random"`` sample and the spring layout.
    clusters : Clustering or array-like of shape (n_nodes,), optional
        Draw the edges whose endpoints lie in different clusters (the edges a cluster design
        cuts) darker and thicker, with their count in the legend.
    layout : {"spring", "kamada-kawai"}
        ``"spring"``: Fruchterman-Reingold (networkx's ``spring_layout`` force model, compiled;
        about 0.5 s for 2,000 nodes). ``"kamada-kawai"``: igraph's Kamada-Kawai (slower, about
        10 s for 2,000 nodes: use ``max_nodes`` of a few hundred). Both start from positions
        drawn from ``rng``, so the same seed gives the same picture.
    node_size : float, optional
        Marker area in points^2; by default shrinks with the number of nodes drawn.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Sampling uses scipy's breadth-first order on the CSR adjacency (read as undirected) and
    draws the induced subgraph of the chosen units. The spring layout places the :math:`k`
    drawn units in the unit square and moves each, for 50 iterations, along the sum of a
    repulsion :math:`k_0^2/d` from every other unit and an attraction :math:`d^2/k_0` towards
    each neighbour (:math:`k_0 = 1/\\sqrt{k}`), steps capped by a linearly cooling temperature
    (Fruchterman & Reingold 1991). Edges are one ``LineCollection`` (plus one
    for cut edges); each category up to ten is one scatter with a legend entry; more
    categories share one scatter and the palette repeats.

    References
    ----------
    Fruchterman, T. M. J. & Reingold, E. M. (1991). Graph drawing by force-directed placement.
    Software: Practice and Experience 21(11), 1129-1164.

    Ugander, J., Karrer, B., Backstrom, L. & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. KDD '13, 329-337 (cut edges are where a cluster
    design's exposure conditions break down).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import netexp as ne
    >>> from netexp.plots import plot_network
    >>> g = ne.load_graph("karate")
    >>> cl = ne.leiden(g, rng=0)
    >>> ax = plot_network(g, color_by=cl.labels, clusters=cl, rng=0)
    >>> ax.get_title()
    'karate: 34 nodes, 78 edges'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    from matplotlib.collections import LineCollection

    if not all(hasattr(graph, a) for a in ("adjacency", "n_nodes", "degree", "node_ids")):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    n = graph.n_nodes
    max_nodes = check_int("max_nodes", max_nodes, low=1)
    sample = check_option("sample", sample, _SAMPLES)
    layout = check_option("layout", layout, _LAYOUTS)
    gen = check_rng(rng)
    if node_size is not None:
        node_size = check_positive("node_size", node_size)

    def per_unit(name, values):
        if values is None:
            return None
        if hasattr(values, "labels") and not isinstance(values, np.ndarray):
            values = values.labels
        arr = np.asarray(values)
        if arr.shape != (n,):
            raise InputError(f"{name} must have one entry per unit ({n}); got shape {arr.shape}.")
        return arr

    color = per_unit("color_by", color_by)
    cl = per_unit("clusters", clusters)

    if n > max_nodes:
        keep, how = _sample_nodes(graph, max_nodes, sample, gen)
    else:
        keep, how = np.arange(n), None
    sub = graph.adjacency[keep][:, keep].tocoo()
    u, v = sub.row, sub.col
    if not getattr(graph, "directed", False):
        mask = u < v
        u, v = u[mask], v[mask]
    k = keep.shape[0]

    if layout == "spring":
        init = gen.uniform(0.0, 1.0, size=(k, 2))
        xy = _fr_layout(init, u.astype(np.int64), v.astype(np.int64), _FR_ITERATIONS)
    else:
        import igraph as ig

        G = ig.Graph(n=k)
        G.add_edges(np.column_stack([u, v]))
        init = gen.uniform(-1.0, 1.0, size=(k, 2))
        xy = np.asarray(G.layout_kamada_kawai(seed=init.tolist()).coords, dtype=float).reshape(k, 2)

    ax = _axes(ax, figsize=(6.4, 6.0))
    segs = np.stack([xy[u], xy[v]], axis=1) if u.size else np.empty((0, 2, 2))
    cut = np.zeros(u.shape[0], dtype=bool)
    if cl is not None:
        _, codes = dense_codes(cl)
        lab = codes[keep]
        cut = lab[u] != lab[v]
    m_sub = u.shape[0]
    alpha = 0.6 if m_sub < 300 else 0.25
    ax.add_collection(LineCollection(segs[~cut], colors=_GREY, linewidths=0.6, alpha=alpha, zorder=1))
    if cl is not None:
        n_cut = int(cut.sum())
        ax.add_collection(LineCollection(segs[cut], colors=_INK, linewidths=1.1 if n_cut < 300 else 0.7,
                                         alpha=0.85 if n_cut < 300 else 0.35, zorder=2,
                                         label=f"cut edge ({int(cut.sum()):,} of {m_sub:,})"))
    size = node_size if node_size is not None else float(np.clip(3000.0 / k, 4.0, 80.0))
    scatter_kw = dict(s=size, edgecolors="white", linewidths=0.3 if size > 10 else 0.0, zorder=3)
    if color is None:
        ax.scatter(xy[:, 0], xy[:, 1], c=_BLUE, **scatter_kw)
    else:
        cvals = color[keep]
        continuous = cvals.dtype.kind == "f" and not np.all(np.isnan(cvals) | (np.mod(cvals, 1) == 0))
        if continuous:
            sc = ax.scatter(xy[:, 0], xy[:, 1], c=cvals, cmap=_CMAP, **scatter_kw)
            ax.figure.colorbar(sc, ax=ax, shrink=0.7)
        else:
            uniq, codes = dense_codes(color)
            names = _category_names(uniq, labels)
            codes = codes[keep]
            if len(uniq) <= _MAX_LEGEND:
                for j, name in enumerate(names):
                    sel = codes == j
                    ax.scatter(xy[sel, 0], xy[sel, 1], color=PALETTE[j % len(PALETTE)], label=name, **scatter_kw)
            else:
                cols = np.asarray(PALETTE)[codes % len(PALETTE)]
                ax.scatter(xy[:, 0], xy[:, 1], c=cols, **scatter_kw)
                ax.plot([], [], " ", label=f"{len(uniq):,} categories (colours repeat)")
    if k:
        lo, hi = xy.min(0), xy.max(0)
        pad = 0.05 * np.maximum(hi - lo, 1e-9)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    name = str(getattr(graph, "name", None) or "network")
    if len(name) > 50:
        name = name[:49] + "…"
    if how is None:
        ax.set_title(f"{name}: {n:,} nodes, {m_sub:,} edges")
    else:
        ax.set_title(f"{name}\n{k:,} of {n:,} nodes shown: {how}", fontsize="medium")
    _legend(ax, loc="best", markerscale=max(1.0, 30.0 / size) ** 0.5)
    return ax


# ----------------------------------------------------------------------------- clusters
def plot_cluster_sizes(clustering_or_sizes, *, ax=None):
    """Histogram of cluster sizes, with a log size axis when sizes are heavy tailed.

    Parameters
    ----------
    clustering_or_sizes : Clustering, object with ``.sizes``, or array-like of int
        A clustering, or the number of units in every cluster.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Sizes count as heavy tailed when the largest cluster is at least ten times the median
    (and above 20 units); bins are then evenly spaced in log size. The median is marked; the
    title gives the number of clusters, the median, the maximum and the number of singletons
    (clusters of one unit, which a cluster design treats like unit randomization).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from netexp.plots import plot_cluster_sizes
    >>> ax = plot_cluster_sizes([3, 4, 4, 5, 6, 6, 7, 12])
    >>> ax.get_xlabel(), ax.get_xscale()
    ('cluster size (units)', 'linear')
    >>> int(sum(p.get_height() for p in ax.patches))
    8
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    sizes = getattr(clustering_or_sizes, "sizes", clustering_or_sizes)
    s = _vector("sizes", sizes)
    if (s < 1).any() or (np.mod(s, 1) != 0).any():
        raise InputError("cluster sizes must be positive whole numbers (units per cluster).")
    ax = _axes(ax)
    med, mx = float(np.median(s)), float(s.max())
    heavy = mx >= 10 * med and mx > 20
    if heavy:
        bins = np.geomspace(s.min(), mx + 1, int(np.clip(np.sqrt(s.size), 8, 40)))
    elif mx - s.min() <= 40:
        bins = np.arange(s.min() - 0.5, mx + 1.5)
    else:
        bins = np.histogram_bin_edges(s, bins="auto")
    ax.hist(s, bins=bins, color=_BLUE, edgecolor="white", linewidth=0.5, zorder=2)
    if heavy:
        ax.set_xscale("log")
    ax.axvline(med, color=_ORANGE, linestyle="--", linewidth=1.5, label=f"median {med:g}", zorder=3)
    _style(ax)
    ax.set_xlabel("cluster size (units)")
    ax.set_ylabel("number of clusters")
    single = int((s == 1).sum())
    ax.set_title(f"Cluster sizes: {s.size:,} clusters, median {med:g}, max {mx:,.0f}"
                 + (f", {single:,} singletons" if single else ""))
    _legend(ax)
    return ax


_QUALITY_LABELS = {
    "cut_fraction": "edges cut",
    "interior_fraction": "units with whole neighbourhood in own cluster",
    "share_fully_inside": "neighbourhoods fully inside one cluster",
    "fully_inside": "neighbourhoods fully inside one cluster",
    "fraction_fully_inside": "neighbourhoods fully inside one cluster",
    "p_full_treatment_mean": "mean P(fully exposed to treatment)",
    "p_full_control_mean": "mean P(fully exposed to control)",
}


def plot_cluster_quality(quality, *, ax=None):
    """How well clusters contain neighbourhoods: shares as bars, or clusters per neighbourhood.

    Parameters
    ----------
    quality : Clustering, dict, object with ``to_dict()``, or array-like of int
        Shares in [0, 1] (``cut_fraction``, ``interior_fraction``, a fully-inside share and any
        other entry named ``*fraction*`` or ``*share*``) are drawn as horizontal bars. An
        array is read as the number of distinct clusters in each unit's closed neighbourhood
        and drawn as its distribution.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Under cluster randomization a unit whose neighbourhood lies in one cluster sees its whole
    neighbourhood treated alike: its full-treatment and full-control exposures both have
    probability ``p`` and ``1 - p``. Every extra cluster in the neighbourhood multiplies those
    probabilities down (Ugander et al. 2013), so the distribution's mass at 1 is what a
    cluster design buys.

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L. & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. KDD '13, 329-337.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from netexp.plots import plot_cluster_quality
    >>> ax = plot_cluster_quality({"cut_fraction": 0.2, "interior_fraction": 0.55})
    >>> len(ax.patches)
    2
    >>> ax = plot_cluster_quality([1, 1, 2, 1, 3, 2])
    >>> [int(p.get_height()) for p in ax.patches]
    [3, 2, 1]
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    d = None if isinstance(quality, (np.ndarray, pd.Series, list, tuple)) else _as_mapping(quality)
    if d is None and all(hasattr(quality, a) for a in ("cut_fraction", "interior_fraction")):
        d = {"cut_fraction": quality.cut_fraction, "interior_fraction": quality.interior_fraction}
    ax = _axes(ax)
    if d is None:
        counts = _vector("quality", quality)
        if (counts < 0).any() or (np.mod(counts, 1) != 0).any():
            raise InputError("quality as an array must hold whole numbers of distinct clusters per neighbourhood.")
        vals, freq = np.unique(counts.astype(np.int64), return_counts=True)
        ax.bar(vals, freq, width=0.8, color=[_GREEN if x <= 1 else _BLUE for x in vals], zorder=2)
        _style(ax)
        ax.set_xticks(vals)
        ax.set_xlabel("distinct clusters in a unit's neighbourhood")
        ax.set_ylabel("units")
        share = float(freq[vals <= 1].sum() / freq.sum())
        ax.set_title(f"Clusters per neighbourhood: {share:.0%} of {counts.size:,} units see one cluster")
        return ax
    rows = []
    for key, val in d.items():
        if isinstance(val, bool) or not isinstance(val, (numbers.Real, np.floating)):
            continue
        k = str(key)
        if k in _QUALITY_LABELS or (("fraction" in k or "share" in k) and not k.startswith("n_")):
            val = float(val)
            if np.isfinite(val) and 0 <= val <= 1:
                rows.append((_QUALITY_LABELS.get(k, k.replace("_", " ")), val))
    if not rows:
        raise InputError("quality has no share in [0, 1] to plot (expected keys such as 'cut_fraction' or "
                         f"'interior_fraction'); got keys {list(d)}.")
    y = np.arange(len(rows))[::-1]
    vals = np.array([r[1] for r in rows])
    ax.barh(y, vals, color=[PALETTE[i % len(PALETTE)] for i in range(len(rows))], height=0.6, zorder=2)
    for yi, v in zip(y, vals):
        ax.text(min(v + 0.01, 0.92), yi, f"{v:.1%}", va="center", fontsize="small", color=_INK)
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows])
    ax.set_xlim(0, 1)
    _style(ax, grid="x")
    ax.set_xlabel("share")
    ax.set_title("Cluster quality")
    return ax


# ----------------------------------------------------------------------------- balance
def _balance_frame(balance) -> pd.DataFrame:
    frame = balance.to_frame() if hasattr(balance, "to_frame") else balance
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"balance_table must be a BalanceTable or a DataFrame with columns 'covariate' and "
                         f"'std_difference'; got {type(balance).__name__}.")
    missing = {"covariate", "std_difference"} - set(frame.columns)
    if missing:
        raise InputError(f"balance_table is missing column(s) {sorted(missing)}; have {list(frame.columns)}.")
    return frame


def plot_balance(balance_table, *, threshold: float = 0.1, ax=None):
    """Standardized difference of every covariate, with the ``±threshold`` band (a Love plot).

    Parameters
    ----------
    balance_table : BalanceTable or DataFrame
        From :func:`netexp.balance_table` (or its ``to_frame()``): columns ``covariate``,
        ``std_difference`` and, when a design was given, ``abs_std_difference_q95``.
    threshold : float, default 0.1
        Rule-of-thumb bound on ``|std difference|``, shaded around zero.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The standardized difference is :math:`d = (\\bar x_1 - \\bar x_0) / \\sqrt{(s_1^2 + s_0^2)/2}`.
    Points beyond the threshold are vermillion. When the table carries the design's 95th
    percentile of :math:`|d|` (what the design produces by chance one time in twenty), it is
    drawn as grey ticks at :math:`\\pm q_{95}`: in small experiments it is far wider than 0.1,
    and a point inside it is chance imbalance. Covariates whose difference is undefined
    (constant in both arms) are listed but not drawn.

    References
    ----------
    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples. Statistics in
    Medicine 28(25), 3083-3107.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> import netexp as ne
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(40, 10, 200), "income": rng.lognormal(0, 1, 200)})
    >>> z = ne.Complete(200, n_treated=100).sample(rng=0)
    >>> ax = ne.balance_table(X, z).plot()
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['age', 'income']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    threshold = check_positive("threshold", threshold)
    frame = _balance_frame(balance_table)
    names = [str(c) for c in frame["covariate"]]
    d = frame["std_difference"].to_numpy(dtype=float)
    q95 = frame["abs_std_difference_q95"].to_numpy(dtype=float) if "abs_std_difference_q95" in frame else None
    ax = _axes(ax, figsize=(6.4, max(2.5, 1.2 + 0.32 * len(names))))
    y = np.arange(len(names))[::-1]
    ax.axvspan(-threshold, threshold, color=_SKY, alpha=0.18, zorder=0, label=f"|d| ≤ {threshold:g}")
    ax.axvline(0, color=_GREY, linewidth=0.8, zorder=1)
    if q95 is not None and np.isfinite(q95).any():
        ok = np.isfinite(q95)
        ax.scatter(np.concatenate([-q95[ok], q95[ok]]), np.concatenate([y[ok], y[ok]]), marker="|", s=120,
                   color=_GREY, zorder=2, label="design's 95th pct of |d|")
    fin = np.isfinite(d)
    out = fin & (np.abs(d) > threshold)
    if (fin & ~out).any():
        ax.scatter(d[fin & ~out], y[fin & ~out], color=_BLUE, s=36, zorder=3, label="within threshold")
    if out.any():
        ax.scatter(d[out], y[out], color=_RED, marker="D", s=36, zorder=3, label="beyond threshold")
    ax.set_yticks(y)
    ax.set_yticklabels([nm if f else f"{nm} (undefined)" for nm, f in zip(names, fin)])
    ax.set_ylim(-0.7, len(names) - 0.3)
    lim = max(threshold * 1.5, np.nanmax(np.abs(d)) * 1.15 if fin.any() else 0,
              np.nanmax(q95) * 1.15 if q95 is not None and np.isfinite(q95).any() else 0)
    ax.set_xlim(-lim, lim)
    _style(ax, grid="x")
    ax.set_xlabel("standardized difference (treated − control)")
    mx = float(np.nanmax(np.abs(d))) if fin.any() else float("nan")
    ax.set_title(f"Covariate balance: max |d| = {_fmt(mx, 2)}, {int(out.sum())} of {int(fin.sum())} "
                 f"beyond {threshold:g}")
    _legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return ax


def plot_balance_distribution(values, *, observed=None, ax=None):
    """Randomization distribution of a balance statistic, with the observed value marked.

    Parameters
    ----------
    values : array-like or BalanceTable
        The statistic over the design's draws (e.g. ``BalanceTable.mahalanobis_draws``). A
        BalanceTable with draws gives its Mahalanobis draws, and its observed :math:`M` when
        ``observed`` is None.
    observed : float, optional
        Value for the actual assignment; the legend gives the share of draws at least as large.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The share shown is :math:`(1 + \\#\\{b: T_b \\ge t\\}) / (1 + B)`, the randomization p-value
    of a statistic where large means imbalanced (Morgan & Rubin 2012).

    References
    ----------
    Morgan, K. L. & Rubin, D. B. (2012). Rerandomization to improve covariate balance in
    experiments. Annals of Statistics 40(2), 1263-1282.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from netexp.plots import plot_balance_distribution
    >>> draws = np.random.default_rng(0).chisquare(2, 1000)
    >>> ax = plot_balance_distribution(draws, observed=4.0)
    >>> ax.get_legend().get_texts()[-1].get_text()
    'observed 4 (share of draws ≥: 0.132)'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    name = "balance statistic"
    if hasattr(values, "mahalanobis_draws"):
        if values.mahalanobis_draws is None:
            raise InputError("this BalanceTable has no randomization draws; build it with design= to plot them.")
        if observed is None:
            observed = values.mahalanobis
        values, name = values.mahalanobis_draws, "Mahalanobis M"
    v = _vector("values", values)
    obs = _scalar("observed", observed)
    ax = _axes(ax)
    ax.hist(v, bins="auto" if v.size < 20000 else 80, color=_BLUE, edgecolor="white", linewidth=0.4, zorder=2,
            label=f"{v.size:,} draws of the design")
    if obs is not None:
        p = (1 + int((v >= obs).sum())) / (1 + v.size)
        ax.axvline(obs, color=_RED, linewidth=2, zorder=3, label=f"observed {_fmt(obs)} (share of draws ≥: {p:.3g})")
    _style(ax)
    ax.set_xlabel(name)
    ax.set_ylabel("draws")
    ax.set_title(f"Randomization distribution of the {name}")
    _legend(ax)
    return ax


# ----------------------------------------------------------------------------- randomization
def plot_randomization_distribution(estimates, *, truth=None, observed=None, label: str = "estimate", ax=None):
    """Histogram of an estimator over re-randomizations, with its mean and the truth.

    Parameters
    ----------
    estimates : array-like of float (or a sequence of Estimate)
        The estimate from each simulated assignment.
    truth : float, optional
        The estimand's true value (known in simulation).
    observed : float, optional
        The estimate from the actual assignment.
    label : str, default "estimate"
        Name of the quantity, for the x axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    An unbiased estimator's histogram is centred on the truth: the mean line and the truth
    line coincide up to Monte Carlo error :math:`\\hat\\sigma / \\sqrt{R}`, which the title
    reports with the bias :math:`\\bar{\\hat\\tau} - \\tau` so that a gap can be judged.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from netexp.plots import plot_randomization_distribution
    >>> est = np.random.default_rng(0).normal(1.0, 0.2, 500)
    >>> ax = plot_randomization_distribution(est, truth=1.0)
    >>> len(ax.get_lines())
    2
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    v = _vector("estimates", estimates)
    truth, obs = _scalar("truth", truth), _scalar("observed", observed)
    ax = _axes(ax)
    ax.hist(v, bins="auto" if v.size < 20000 else 80, color=_BLUE, alpha=0.85, edgecolor="white", linewidth=0.4,
            zorder=2)
    mean = float(v.mean())
    ax.axvline(mean, color=_ORANGE, linestyle="--", linewidth=2, zorder=3, label=f"mean {_fmt(mean)}")
    if truth is not None:
        ax.axvline(truth, color=_INK, linewidth=2, zorder=3, label=f"truth {_fmt(truth)}")
    if obs is not None:
        ax.axvline(obs, color=_RED, linestyle=":", linewidth=2, zorder=3, label=f"observed {_fmt(obs)}")
    _style(ax)
    ax.set_xlabel(label)
    ax.set_ylabel("re-randomizations")
    title = f"{label.capitalize()} over {v.size:,} re-randomizations"
    if truth is not None and v.size > 1:
        mcse = float(v.std(ddof=1) / np.sqrt(v.size))
        title += f"\nbias {_fmt(mean - truth)} (Monte Carlo s.e. {_fmt(mcse, 2)}), s.d. {_fmt(float(v.std(ddof=1)))}"
    ax.set_title(title)
    _legend(ax)
    return ax


def _get(result, name, default=None):
    if isinstance(result, Mapping):
        return result.get(name, default)
    return getattr(result, name, default)


def plot_randomization_test(result, *, ax=None):
    """Null distribution of a randomization test's statistic, with the observed value and p-value.

    Parameters
    ----------
    result : object or dict
        With ``null_distribution`` (the statistic under re-randomization), ``observed``,
        ``p_value``, ``alternative`` (``"two-sided"``, ``"greater"`` or ``"less"``) and
        optionally ``statistic`` (its name), ``null_mean`` and ``weights``, as
        ``netexp.inference.RandomizationTestResult`` has.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Draws as or more extreme than the observed statistic are shaded vermillion: :math:`T \\ge t`
    (greater), :math:`T \\le t` (less), :math:`|T - c| \\ge |t - c|` (two-sided, with :math:`c`
    the result's ``null_mean`` when it has one, else 0). With ``weights`` (the probability of each
    assignment, from exact enumeration) the histogram shows probabilities. The p-value shown is
    the result's own; the shading is a guide.

    References
    ----------
    Athey, S., Eckles, D. & Imbens, G. W. (2018). Exact p-values for network interference.
    Journal of the American Statistical Association 113(521), 230-240.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from netexp.plots import plot_randomization_test
    >>> null = np.random.default_rng(0).normal(size=999)
    >>> res = {"null_distribution": null, "observed": 2.1, "p_value": 0.04, "alternative": "two-sided"}
    >>> ax = plot_randomization_test(res)
    >>> ax.get_title()
    'Randomization test: p = 0.04 (two-sided)'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    null = _get(result, "null_distribution")
    if null is None:
        raise InputError(f"result must have a null_distribution (the statistic over re-randomizations); got "
                         f"{type(result).__name__}.")
    T = np.asarray(null, dtype=float)
    w = _get(result, "weights")
    if w is not None:
        w = np.asarray(w, dtype=float)
        if w.shape != T.shape:
            raise InputError(f"result.weights must match null_distribution's shape {T.shape}; got {w.shape}.")
    ok = np.isfinite(T)
    T, w = T[ok], (None if w is None else w[ok])
    if T.size == 0:
        raise InputError("result.null_distribution has no finite value; nothing to plot.")
    obs = _scalar("observed", _get(result, "observed"))
    p = _get(result, "p_value")
    alt = str(_get(result, "alternative", "two-sided"))
    stat = _get(result, "statistic")
    stat = stat if isinstance(stat, str) else "test statistic"
    center = _get(result, "null_mean")
    center = float(center) if isinstance(center, (numbers.Real, np.floating)) and np.isfinite(center) else 0.0
    ax = _axes(ax)
    bins = np.histogram_bin_edges(np.append(T, obs) if obs is not None else T, bins="auto" if T.size < 20000 else 80)
    what = f"null ({T.size:,} {'assignments, exact' if w is not None else 're-randomizations'})"
    ax.hist(T, bins=bins, weights=w, color=_BLUE, alpha=0.85, edgecolor="white", linewidth=0.4, zorder=2,
            label=what)
    if obs is not None:
        if alt in ("greater", "larger", "right"):
            ext = T >= obs
        elif alt in ("less", "smaller", "left"):
            ext = T <= obs
        else:
            ext = np.abs(T - center) >= abs(obs - center)
        ax.hist(T[ext], bins=bins, weights=None if w is None else w[ext], color=_RED, alpha=0.85, edgecolor="white",
                linewidth=0.4, zorder=2, label="as or more extreme")
        ax.axvline(obs, color=_INK, linewidth=2, zorder=3, label=f"observed {_fmt(obs)}")
    _style(ax)
    ax.set_xlabel(stat)
    ax.set_ylabel("probability" if w is not None else "re-randomizations")
    ptxt = "n/a" if p is None else _fmt(float(p), 2)
    ax.set_title(f"Randomization test: p = {ptxt} ({alt})")
    _legend(ax)
    return ax


# ----------------------------------------------------------------------------- estimates
_FOREST_LABELS = ("estimand", "method", None)


def _forest_frame(estimates) -> tuple[pd.DataFrame, list | None]:
    """Rows with estimand / estimate / ci_low / ci_high / method, and dict keys as names if given."""
    names = None
    if isinstance(estimates, pd.DataFrame):
        frame = estimates
    elif isinstance(estimates, Mapping):
        names = [str(k) for k in estimates]
        frame = pd.concat([e.to_frame() for e in estimates.values()], ignore_index=True) if estimates else None
    elif hasattr(estimates, "to_frame"):
        frame = estimates.to_frame()
    elif isinstance(estimates, (list, tuple)) and all(hasattr(e, "to_frame") for e in estimates):
        frame = pd.concat([e.to_frame() for e in estimates], ignore_index=True) if estimates else None
    else:
        raise InputError("estimates must be an EstimateTable, a list of Estimate, a dict name -> Estimate or a "
                         f"DataFrame with columns estimate, ci_low, ci_high; got {type(estimates).__name__}.")
    if frame is None or len(frame) == 0:
        raise InputError("estimates is empty; nothing to plot.")
    missing = {"estimate", "ci_low", "ci_high"} - set(frame.columns)
    if missing:
        raise InputError(f"estimates is missing column(s) {sorted(missing)}; have {list(frame.columns)}.")
    return frame, names


def plot_forest(estimates, *, truth=None, ax=None, label_by: str | None = "estimand"):
    """Forest plot: each estimate with its confidence interval, one row each.

    Parameters
    ----------
    estimates : EstimateTable, Estimate, list of Estimate, dict name -> Estimate, or DataFrame
        A DataFrame needs ``estimate``, ``ci_low``, ``ci_high`` (and ideally ``estimand``,
        ``method``): the column schema of ``Estimate.to_frame()``.
    truth : float or dict, optional
        The true effect: a scalar draws a vertical line; a dict ``estimand -> value`` marks the
        truth on every row of that estimand (black diamond).
    label_by : {"estimand", "method", None}
        What names the rows; None uses ``"method: estimand"``. Dict input is labelled by its keys.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Intervals are the ones stored with each estimate (``ci_low``, ``ci_high``); the x label
    states their level when all share one. Zero is drawn in grey: an interval crossing it is
    not significant at that level.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import netexp as ne
    >>> from netexp.plots import plot_forest
    >>> a = ne.Estimate.from_se(estimand="direct", estimate=1.0, std_error=0.2, n=100, method="DM", variance="Neyman")
    >>> b = ne.Estimate.from_se(estimand="spillover", estimate=0.4, std_error=0.3, n=100, method="DM",
    ...                         variance="Neyman")
    >>> ax = plot_forest(ne.EstimateTable([a, b]), truth={"direct": 1.1, "spillover": 0.5})
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['direct', 'spillover']
    >>> ax.get_xlabel()
    'estimate with 95% CI'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    label_by = check_option("label_by", label_by, _FOREST_LABELS)
    frame, names = _forest_frame(estimates)
    est = frame["estimate"].to_numpy(dtype=float)
    lo, hi = frame["ci_low"].to_numpy(dtype=float), frame["ci_high"].to_numpy(dtype=float)
    estimand = frame["estimand"].astype(str).tolist() if "estimand" in frame else [f"row {i}" for i in range(len(est))]
    method = frame["method"].astype(str).tolist() if "method" in frame else [""] * len(est)
    if names is not None:
        rows = names
    elif label_by == "estimand":
        rows = estimand
    elif label_by == "method":
        rows = method
    else:
        rows = [f"{m}: {e}" if m else e for m, e in zip(method, estimand)]
    k = len(est)
    ax = _axes(ax, figsize=(6.4, max(2.2, 1.2 + 0.4 * k)))
    y = np.arange(k)[::-1].astype(float)
    ax.axvline(0, color=_GREY, linewidth=0.8, zorder=1)
    xerr = np.vstack([est - lo, hi - est])
    xerr = np.where(np.isfinite(xerr), xerr, 0.0)
    ax.errorbar(est, y, xerr=xerr, fmt="o", color=_BLUE, ecolor=_BLUE, elinewidth=2, capsize=3, markersize=6,
                zorder=3, label="estimate and CI")
    if truth is not None:
        if isinstance(truth, Mapping):
            tv = np.array([float(truth[e]) if e in truth else np.nan for e in estimand])
            has = np.isfinite(tv)
            if has.any():
                ax.scatter(tv[has], y[has], marker="D", s=40, color=_INK, zorder=4, label="truth")
        else:
            t = _scalar("truth", truth)
            ax.axvline(t, color=_INK, linestyle="--", linewidth=1.5, zorder=2, label=f"truth {_fmt(t)}")
    ax.set_yticks(y)
    ax.set_yticklabels(rows)
    ax.set_ylim(-0.7, k - 0.3)
    _style(ax, grid="x")
    lvl = frame["confidence_level"].dropna().unique() if "confidence_level" in frame else []
    ax.set_xlabel(f"estimate with {100 * float(lvl[0]):.0f}% CI" if len(lvl) == 1 else "estimate with CI")
    ax.set_title("Estimates" if k != 1 else f"Estimate: {estimand[0]}")
    _legend(ax)
    return ax


# ----------------------------------------------------------------------------- exposure
def plot_exposure_probabilities(probabilities, *, levels=None, threshold: float | None = None, ax=None):
    """Distribution over units of the probability of each exposure level (positivity at a glance).

    Parameters
    ----------
    probabilities : array of shape (n_units, n_levels), or object with ``.marginal`` (and ``.levels``)
        ``P(unit i is in exposure level l)`` under the design.
    levels : sequence of str, optional
        Level names (default: the object's ``levels``, else ``level 0``, ``level 1``, ...).
    threshold : float, optional
        A minimum probability: drawn as a line, with the count of units below it per level.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    One box per level: the box spans the quartiles, the whiskers span the minimum and the
    maximum (so a minimum of 0 is always visible). Above each box: the number of units whose
    probability of that level is exactly 0. Horvitz-Thompson estimators of a contrast between
    levels need :math:`\\pi_i(l) > 0` for every unit in the population they describe (Aronow &
    Samii 2017); units at 0 must be dropped from the estimand or the mapping coarsened.

    References
    ----------
    Aronow, P. M. & Samii, C. (2017). Estimating average causal effects under general
    interference, with application to a social network experiment. Annals of Applied
    Statistics 11(4), 1912-1947.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from netexp.plots import plot_exposure_probabilities
    >>> P = np.array([[0.25, 0.75], [0.0, 1.0], [0.5, 0.5]])
    >>> ax = plot_exposure_probabilities(P, levels=["control", "treated"])
    >>> ax.get_title()
    'Exposure probabilities: 1 unit has a level with probability 0'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    P = getattr(probabilities, "marginal", probabilities)
    if levels is None:
        levels = getattr(probabilities, "levels", None)
    try:
        P = np.asarray(P, dtype=float)
    except (TypeError, ValueError):
        raise InputError("probabilities must be an (n_units, n_levels) array of numbers or have .marginal.") from None
    if P.ndim == 1:
        P = P[:, None]
    if P.ndim != 2 or P.size == 0:
        raise InputError(f"probabilities must be an (n_units, n_levels) array; got shape {P.shape}.")
    if not np.isfinite(P).all() or (P < 0).any() or (P > 1 + 1e-12).any():
        raise InputError("probabilities must be finite and in [0, 1].")
    n, L = P.shape
    names = [str(x) for x in levels] if levels is not None else [f"level {j}" for j in range(L)]
    if len(names) != L:
        raise InputError(f"levels must name the {L} columns of probabilities; got {len(names)} names.")
    thr = None if threshold is None else check_positive("threshold", threshold, allow_zero=True)
    ax = _axes(ax, figsize=(max(4.8, 1.2 * L + 2), 4.4))
    pos = np.arange(1, L + 1)
    bp = ax.boxplot(P, positions=pos, whis=(0, 100), showfliers=False, widths=0.55, patch_artist=True,
                    medianprops=dict(color=_INK))
    for j, box in enumerate(bp["boxes"]):
        box.set_facecolor(PALETTE[j % len(PALETTE)])
        box.set_alpha(0.75)
    zero = (P == 0).sum(0)
    below = (P < thr).sum(0) if thr is not None else None
    for j in range(L):
        txt = f"{zero[j]:,} at 0"
        if below is not None:
            txt += f"\n{below[j]:,} < {thr:g}"
        ax.text(pos[j], 1.04, txt, ha="center", va="bottom", fontsize="small",
                color=_RED if zero[j] or (below is not None and below[j]) else _INK)
    if thr is not None:
        ax.axhline(thr, color=_RED, linestyle="--", linewidth=1.2, label=f"threshold {thr:g}")
    ax.set_xticks(pos)
    ax.set_xticklabels(names)
    ax.set_ylim(-0.03, 1.18)
    ax.set_yticks(np.linspace(0, 1, 6))
    _style(ax)
    ax.set_xlabel("exposure level")
    ax.set_ylabel("probability of the level (per unit)")
    n_bad = int((P == 0).any(1).sum())
    ax.set_title(f"Exposure probabilities: {n_bad:,} unit{'s have' if n_bad != 1 else ' has'} a level with "
                 "probability 0")
    _legend(ax, loc="lower right")
    return ax


# ----------------------------------------------------------------------------- power, diagnosis
_POWER_AUX = {"power", "power_se", "se", "std_error", "mcse", "ci_low", "ci_high", "power_ci_low", "power_ci_high",
              "n_sims", "n_simulations", "n_draws"}


def _crossing(x: np.ndarray, p: np.ndarray, target: float) -> float | None:
    """Smallest x (linear interpolation) at which power first reaches target."""
    hit = np.flatnonzero(p >= target)
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0:
        return float(x[0])
    x0, x1, p0, p1 = x[i - 1], x[i], p[i - 1], p[i]
    return float(x0 + (target - p0) * (x1 - x0) / (p1 - p0))


def plot_power_curve(x, power=None, *, target: float = 0.8, xlabel: str | None = None, ax=None):
    """Power against effect size (or sample size, clusters, ...), with the target level.

    Parameters
    ----------
    x : array-like or DataFrame
        The values on the x axis, or a tidy DataFrame with a ``power`` column, one numeric x
        column (``xlabel`` names it when there are several; otherwise the first numeric column
        that is not ``power`` or its error columns), an optional grouping column (the first
        non-numeric column: one curve per group) and optional ``power_ci_low``/``power_ci_high``
        (or ``ci_low``/``ci_high``) for a band.
    power : array-like, optional
        Power at each x (required unless x is a DataFrame).
    target : float, default 0.8
        Drawn as a horizontal line; where a curve first reaches it is marked.
    xlabel : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Points are sorted by x and joined by straight lines; the crossing of ``target`` is the
    linear interpolation between the last point below it and the first at or above it.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from netexp.plots import plot_power_curve
    >>> ax = plot_power_curve([0.0, 0.1, 0.2, 0.3], [0.05, 0.3, 0.7, 0.9], xlabel="effect size")
    >>> ax.get_title()
    'Power: reaches 0.8 at effect size ≈ 0.25'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    from ._validation import check_probability

    target = check_probability("target", target)
    groups: list[tuple[str | None, np.ndarray, np.ndarray, tuple | None]] = []
    if isinstance(x, pd.DataFrame):
        df = x
        if "power" not in df.columns:
            raise InputError(f"a power DataFrame needs a 'power' column; have {list(df.columns)}.")
        numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
        if xlabel is not None and xlabel in df.columns:
            xcol = xlabel
        else:
            cands = [c for c in numeric if str(c) not in _POWER_AUX]
            if not cands:
                raise InputError(f"no numeric x column besides 'power' in {list(df.columns)}; pass x and power arrays.")
            xcol = cands[0]
        gcols = [c for c in df.columns if c not in numeric and c != xcol]
        gcol = gcols[0] if gcols else None
        band = next(((a, b) for a, b in (("power_ci_low", "power_ci_high"), ("ci_low", "ci_high"))
                     if a in df.columns and b in df.columns), None)
        parts = [(None, df)] if gcol is None else [(str(k), g) for k, g in df.groupby(gcol, sort=False)]
        for name, g in parts:
            bands = None if band is None else (g[band[0]].to_numpy(float), g[band[1]].to_numpy(float))
            groups.append((name, g[xcol].to_numpy(float), g["power"].to_numpy(float), bands))
        xlabel = xlabel or str(xcol)
    else:
        if power is None:
            raise InputError("power is required when x is an array (or pass a DataFrame with a 'power' column).")
        xv, pv = np.asarray(x, dtype=float), np.asarray(power, dtype=float)
        if xv.ndim != 1 or xv.shape != pv.shape:
            raise InputError(f"x and power must be 1-D of the same length; got shapes {xv.shape} and {pv.shape}.")
        groups.append((None, xv, pv, None))
    xlabel = xlabel or "effect size"
    ax = _axes(ax)
    ax.axhline(target, color=_GREY, linestyle="--", linewidth=1.2, zorder=1, label=f"target {target:g}")
    crossings = []
    for j, (name, xv, pv, band) in enumerate(groups):
        ok = np.isfinite(xv) & np.isfinite(pv)
        if ((pv[ok] < -1e-12) | (pv[ok] > 1 + 1e-12)).any():
            raise InputError("power values must lie in [0, 1].")
        order = np.argsort(xv[ok], kind="stable")
        xs, ps = xv[ok][order], pv[ok][order]
        col = PALETTE[j % len(PALETTE)]
        ax.plot(xs, ps, marker="o", color=col, linewidth=2, markersize=5, zorder=3, label=name)
        if band is not None:
            ax.fill_between(xs, band[0][ok][order], band[1][ok][order], color=col, alpha=0.2, linewidth=0, zorder=2)
        c = _crossing(xs, ps, target)
        crossings.append(c)
        if c is not None:
            ax.plot([c], [target], marker="v", color=col, markersize=8, zorder=4, linestyle="none")
    ax.set_ylim(0, 1.04)
    _style(ax, grid="both")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("power")
    if len(groups) == 1:
        c = crossings[0]
        ax.set_title(f"Power: reaches {target:g} at {xlabel} ≈ {c:.3g}" if c is not None
                     else f"Power: does not reach {target:g} in this range")
    else:
        ax.set_title(f"Power by {gcol}")
    _legend(ax, loc="lower right")
    return ax


def plot_diagnosis(frame, *, diagnosand: str = "rmse", ax=None):
    """Heatmap of one diagnosand over designs (rows) and estimators (columns), values written in.

    Parameters
    ----------
    frame : DataFrame or object with ``to_frame()``
        Tidy: one row per design and estimator, columns ``design``, ``estimator`` and the
        diagnosand.
    diagnosand : str, default "rmse"
        Column to show (``bias``, ``rmse``, ``coverage``, ``power``, ...).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Colours use the cividis map (readable with colour-vision deficiencies); cells with no row
    are blank and marked with a dash. Rows and columns keep their order of first appearance.

    References
    ----------
    Blair, G., Cooper, J., Coppock, A. & Humphreys, M. (2019). Declaring and diagnosing
    research designs. American Political Science Review 113(3), 838-859.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from netexp.plots import plot_diagnosis
    >>> df = pd.DataFrame({"design": ["unit", "unit", "cluster", "cluster"],
    ...                    "estimator": ["DM", "HT", "DM", "HT"], "rmse": [0.30, 0.42, 0.18, 0.25]})
    >>> ax = plot_diagnosis(df)
    >>> sorted(t.get_text() for t in ax.texts)
    ['0.18', '0.25', '0.3', '0.42']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    df = frame.to_frame() if hasattr(frame, "to_frame") and not isinstance(frame, pd.DataFrame) else frame
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"frame must be a DataFrame with columns design, estimator, {diagnosand}; "
                         f"got {type(frame).__name__}.")
    missing = {"design", "estimator", diagnosand} - set(df.columns)
    if missing:
        raise InputError(f"frame is missing column(s) {sorted(missing)}; have {list(df.columns)}. "
                         "Pass diagnosand= one of the numeric columns.")
    if df.duplicated(["design", "estimator"]).any():
        raise InputError("frame has several rows for some design x estimator pair; aggregate them first "
                         "(e.g. df.groupby(['design', 'estimator'], as_index=False).mean()).")
    designs = list(pd.unique(df["design"].astype(str)))
    ests = list(pd.unique(df["estimator"].astype(str)))
    M = np.full((len(designs), len(ests)), np.nan)
    r = pd.Index(designs).get_indexer(df["design"].astype(str))
    c = pd.Index(ests).get_indexer(df["estimator"].astype(str))
    M[r, c] = pd.to_numeric(df[diagnosand], errors="coerce").to_numpy(dtype=float)
    ax = _axes(ax, figsize=(max(4.8, 1.3 * len(ests) + 2.5), max(2.6, 0.55 * len(designs) + 1.6)))
    import matplotlib

    cmap = matplotlib.colormaps[_CMAP]
    fin = np.isfinite(M)
    vmin, vmax = (np.nanmin(M), np.nanmax(M)) if fin.any() else (0.0, 1.0)
    if vmax == vmin:
        vmax = vmin + 1.0
    im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for i in range(len(designs)):
        for j in range(len(ests)):
            if fin[i, j]:
                rgba = cmap((M[i, j] - vmin) / (vmax - vmin))
                lum = 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2]
                ax.text(j, i, f"{M[i, j]:.3g}", ha="center", va="center", fontsize="small",
                        color="black" if lum > 0.5 else "white")
            else:
                ax.text(j, i, "–", ha="center", va="center", color=_GREY)
    ax.set_xticks(np.arange(len(ests)))
    ax.set_xticklabels(ests)
    ax.set_yticks(np.arange(len(designs)))
    ax.set_yticklabels(designs)
    ax.set_xlabel("estimator")
    ax.set_ylabel("design")
    ax.set_title(f"{diagnosand} by design and estimator")
    ax.figure.colorbar(im, ax=ax, label=diagnosand, shrink=0.85)
    return ax
