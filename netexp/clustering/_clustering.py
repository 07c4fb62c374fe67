"""The Clustering type: a partition of a graph's units with its quality measures."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ClusteringError, InputError
from .._validation import dense_codes, readonly
from ..graph import Graph

__all__ = ["Clustering", "modularity"]


def modularity(graph: Graph, labels: Any, *, resolution: float = 1.0) -> float:
    r"""Newman-Girvan modularity of a partition of an undirected graph.

    .. math:: Q = \sum_c \left[ \frac{L_c}{m} - \gamma \left( \frac{D_c}{2m} \right)^2 \right]

    where :math:`L_c` is the number of edges inside cluster c, :math:`D_c` the sum of its
    degrees, :math:`m` the number of edges and :math:`\gamma` the resolution. Directed graphs
    are read as undirected (each arc an edge). Same value as
    ``networkx.community.modularity`` on the same partition.
    """
    labels = np.asarray(labels)
    if labels.shape != (graph.n_nodes,):
        raise InputError(f"labels must have one entry per unit ({graph.n_nodes}); got shape {labels.shape}.")
    _, lab = dense_codes(labels)
    u, v = graph.edges()
    m = u.shape[0]
    if m == 0:
        return float("nan")
    k = int(lab.max()) + 1
    inside = lab[u] == lab[v]
    L = np.bincount(lab[u][inside], minlength=k).astype(float)
    deg = np.bincount(u, minlength=graph.n_nodes) + np.bincount(v, minlength=graph.n_nodes)
    D = np.bincount(lab, weights=deg, minlength=k)
    return float((L / m).sum() - resolution * ((D / (2.0 * m)) ** 2).sum())


class Clustering:
    """A partition of a graph's units into randomization clusters.

    Parameters
    ----------
    graph : Graph
        The graph the clustering belongs to.
    labels : array-like of int, shape (n_nodes,)
        Cluster of every unit, in the graph's internal order. Any integer or string labels are
        accepted and renumbered ``0..n_clusters-1`` in the order of the sorted label values.
    method : str, optional
        How the clustering was made (shown in reports).
    params : dict, optional
        Parameters of the method (resolution, seed, ...).

    Attributes
    ----------
    labels : ndarray of int64
        Cluster index of every unit.
    sizes : ndarray of int64
        Units per cluster.
    modularity : float
        Modularity (resolution 1) of the partition on the graph.
    cut_fraction : float
        Share of edges whose endpoints lie in different clusters.
    interior_fraction : float
        Share of units whose whole neighbourhood lies in their own cluster: under cluster
        randomization these units see the same treatment as all their neighbours.
    """

    __slots__ = ("_graph", "_labels", "_method", "_params", "_original_labels", "__dict__")

    def __init__(self, graph: Graph, labels: Any, *, method: str = "given", params: dict | None = None):
        if not isinstance(graph, Graph):
            raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
        raw = np.asarray(labels)
        if raw.shape != (graph.n_nodes,):
            raise ClusteringError(
                f"labels must have one entry per unit of the graph ({graph.n_nodes}); got shape {raw.shape}."
            )
        if raw.dtype.kind == "f" and not np.isfinite(raw).all():
            raise ClusteringError("labels contain NaN; every unit needs a cluster.")
        uniq, lab = dense_codes(raw)
        self._graph = graph
        self._labels = readonly(lab.astype(np.int64))
        self._original_labels = readonly(uniq)
        self._method = method
        self._params = dict(params or {})

    # -------------------------------------------------------------- constructors
    @classmethod
    def from_frame(cls, graph: Graph, df: pd.DataFrame, *, node_column: str | None = None,
                   cluster_column: str | None = None) -> "Clustering":
        """Clustering from a table of ``node_id, cluster`` rows keyed by the graph's node ids."""
        node_column = node_column or df.columns[0]
        cluster_column = cluster_column or (df.columns[1] if df.shape[1] > 1 else None)
        if cluster_column is None or cluster_column not in df.columns:
            raise ClusteringError(f"cluster table needs a node id column and a cluster column; got {list(df.columns)}.")
        if df[cluster_column].isna().any():
            raise ClusteringError(f"{int(df[cluster_column].isna().sum())} rows have no cluster; every unit needs one.")
        pos = graph.index_of(df[node_column].to_numpy(), what="node ids in the cluster table")
        if np.unique(pos).shape[0] != pos.shape[0]:
            raise ClusteringError("the cluster table lists some node ids more than once.")
        if pos.shape[0] != graph.n_nodes:
            missing = np.setdiff1d(np.arange(graph.n_nodes), pos)
            ex = ", ".join(repr(x) for x in graph.node_ids[missing[:5]])
            raise ClusteringError(f"{missing.shape[0]} units of the graph have no cluster (e.g. {ex}); "
                                  "the table must cover every node.")
        labels = np.empty(graph.n_nodes, dtype=df[cluster_column].to_numpy().dtype)
        labels[pos] = df[cluster_column].to_numpy()
        return cls(graph, labels, method="from file")

    @classmethod
    def read_csv(cls, graph: Graph, path: str | os.PathLike) -> "Clustering":
        """Read a ``node_id,cluster`` CSV as written by :meth:`to_csv` or ``netexp cluster``."""
        from .._io_utils import read_table

        return cls.from_frame(graph, read_table(path, "cluster file"))

    def to_frame(self) -> pd.DataFrame:
        """``node_id, cluster`` table keyed by the graph's node ids."""
        return pd.DataFrame({"node_id": self._graph.node_ids, "cluster": self._labels})

    def to_csv(self, path: str | os.PathLike, *, overwrite: bool = False):
        """Write ``node_id,cluster`` atomically (temporary file, then rename); refuse to overwrite unless asked."""
        from .._files import write_text

        return write_text(path, self.to_frame().to_csv(index=False), overwrite=overwrite)

    # -------------------------------------------------------------- properties
    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def method(self) -> str:
        return self._method

    @property
    def params(self) -> dict:
        return dict(self._params)

    @property
    def n_clusters(self) -> int:
        return int(self._original_labels.shape[0])

    def __len__(self) -> int:
        return self.n_clusters

    @cached_property
    def sizes(self) -> np.ndarray:
        return readonly(np.bincount(self._labels, minlength=self.n_clusters))

    @cached_property
    def modularity(self) -> float:
        return modularity(self._graph, self._labels)

    @cached_property
    def _cross_counts(self) -> np.ndarray:
        """Per unit: number of in-neighbours in another cluster."""
        g = self._graph
        rows = np.repeat(np.arange(g.n_nodes), g.degree)
        cross = self._labels[g.indices] != self._labels[rows]
        return np.bincount(rows, weights=cross, minlength=g.n_nodes)

    @cached_property
    def cut_fraction(self) -> float:
        nnz = self._graph.indices.shape[0]
        return float(self._cross_counts.sum() / nnz) if nnz else 0.0

    @cached_property
    def interior_fraction(self) -> float:
        return float((self._cross_counts == 0).mean())

    def summary(self) -> "ClusterSummary":
        """Quality figures: a dict (what ``netexp cluster --json`` prints) that prints as a compact table."""
        s = self.sizes
        return ClusterSummary({
            "method": self._method,
            **{k: v for k, v in self._params.items()},
            "n_clusters": self.n_clusters,
            "size_min": int(s.min()),
            "size_median": float(np.median(s)),
            "size_max": int(s.max()),
            "singletons": int((s == 1).sum()),
            "modularity": self.modularity,
            "cut_fraction": self.cut_fraction,
            "interior_fraction": self.interior_fraction,
        })

    def plot(self, ax=None, **kw):
        """The graph coloured by cluster, cut edges highlighted: :func:`netexp.plots.plot_network`.

        Keyword arguments go to ``plot_network`` (``max_nodes``, ``sample``, ``rng``, ``layout``,
        ...); :func:`netexp.plots.plot_cluster_sizes` draws the size distribution.
        """
        from ..plots import plot_network

        kw.setdefault("color_by", self._labels)
        kw.setdefault("clusters", self._labels)
        return plot_network(self._graph, ax=ax, **kw)

    def quality(self, *, p: float = 0.5, design: str = "bernoulli", n_treated_clusters: int | None = None):
        """Quality for a cluster-randomized experiment: :func:`netexp.clustering.cluster_quality` of this clustering."""
        from ._quality import cluster_quality

        return cluster_quality(self, p=p, design=design, n_treated_clusters=n_treated_clusters)

    def __repr__(self) -> str:
        return (f"Clustering(method={self._method!r}, n_clusters={self.n_clusters}, "
                f"modularity={self.modularity:.4f}, cut_fraction={self.cut_fraction:.4f})")


_SUMMARY_LABELS = {
    "method": "method", "n_clusters": "clusters", "size_min": "smallest cluster", "size_median": "median size",
    "size_max": "largest cluster", "singletons": "singletons", "modularity": "modularity",
    "cut_fraction": "share of edges cut", "interior_fraction": "share whole nbhd inside",
}


class ClusterSummary(dict):
    """:meth:`Clustering.summary`: a plain dict of quality figures that prints as a two-column table."""

    def __str__(self) -> str:
        rows = []
        for k, v in self.items():
            label = _SUMMARY_LABELS.get(k, k.replace("_", " "))
            if isinstance(v, (float, np.floating)):
                text = f"{v:.4g}" if k in ("size_median", "resolution") else f"{v:.3f}" if abs(v) < 1e4 \
                    else f"{v:.4g}"
            else:
                text = str(v)
            rows.append((label, text))
        w = max(len(r[0]) for r in rows)
        return "\n".join(f"{a:<{w}}  {b}" for a, b in rows)

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(str(self))
