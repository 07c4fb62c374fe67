"""Neighbourhood exposure: own treatment, number and fraction of treated neighbours."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._align import aligned
from .._parallel import threads_for
from .._errors import ExposureError, InputError
from .._validation import check_binary_matrix, check_int
from ..graph import Graph

__all__ = ["NeighborhoodExposure", "exposure", "treated_neighbor_counts", "fraction_treated_neighbors"]


def _check_graph(graph) -> Graph:
    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    return graph


def _count_dtype(graph: Graph):
    return np.uint16 if graph.degree.max(initial=0) < 2**16 else np.int32


@aligned("z")
def treated_neighbor_counts(graph: Graph, z: Any, *, batch_size: int | None = None,
                            progress: bool | None = None) -> np.ndarray:
    """Number of treated in-neighbours of every unit.

    Parameters
    ----------
    graph : Graph
    z : array-like of 0/1, shape (n_units,) or (n_draws, n_units)
        One assignment or a batch of draws (as from ``Design.sample_many``).
    batch_size : int, optional
        Draws processed per pass (bounds the working memory to about
        ``3 * batch_size * n_units`` bytes). Default: all draws, capped at 2 GB of work space.
    progress : bool, optional
        Show a progress bar over batches (default: only for long jobs on a terminal).

    Returns
    -------
    ndarray
        Shape ``(n_units,)`` (int64) for one assignment; ``(n_draws, n_units)`` (uint16, or
        int32 when some unit has 65536+ neighbours) for a batch.

    Notes
    -----
    For a batch this is ``Z @ A.T`` for the 0/1 adjacency ``A`` (row i = in-neighbours of i),
    computed by a compiled kernel on the draw-major transpose of ``Z``: one pass over the CSR
    structure for all draws, with no float matrix of size ``n_draws x n_units``.
    """
    from ._kernels import counts_many, counts_one, transpose_u8

    graph = _check_graph(graph)
    one = np.ndim(z) == 1
    Z = check_binary_matrix("z", z, graph.n_nodes)
    n = graph.n_nodes
    if one:
        return counts_one(graph.indptr, graph.indices, Z[0].view(np.uint8))
    R = Z.shape[0]
    if batch_size is None:
        batch_size = max(1, min(R, (2 * 2**30) // (3 * max(n, 1))))
    batch_size = check_int("batch_size", batch_size, low=1)
    dtype = _count_dtype(graph)
    out = np.empty((R, n), dtype=dtype)
    Zu = np.ascontiguousarray(Z).view(np.uint8)
    starts = range(0, R, batch_size)
    if progress is None:
        progress = None if R * graph.indices.shape[0] > 5e9 else False
    if progress is not False:
        from tqdm import tqdm

        # progress=None: a bar only on a terminal (tqdm disable=None); True: always
        starts = tqdm(starts, desc="exposure", unit="batch", disable=None if progress is None else False)
    for s in starts:
        e = min(R, s + batch_size)
        zt = np.empty((n, e - s), dtype=np.uint8)
        with threads_for((e - s) * (n + graph.indices.shape[0])):
            transpose_u8(Zu[s:e], zt)
            counts_many(graph.indptr, graph.indices, zt, out[s:e])
    return out


@aligned("z", "counts")
def fraction_treated_neighbors(graph: Graph, z: Any, *, counts: np.ndarray | None = None) -> np.ndarray:
    """Fraction of in-neighbours treated; 0 for isolated units (see :attr:`NeighborhoodExposure.isolated`).

    Shape follows ``z``: ``(n_units,)`` or ``(n_draws, n_units)`` (float64).
    """
    graph = _check_graph(graph)
    if counts is None:
        counts = treated_neighbor_counts(graph, z)
    deg = np.asarray(graph.degree, dtype=float)
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    return counts * inv


@dataclasses.dataclass(frozen=True, eq=False)
class NeighborhoodExposure:
    """Exposure of every unit to one assignment.

    Attributes
    ----------
    node_ids : ndarray
        Unit ids (the graph's).
    treatment : ndarray of bool
        Own treatment :math:`Z_i`.
    n_treated_neighbors : ndarray of int
        :math:`\\sum_{j \\in N(i)} Z_j` over in-neighbours.
    degree : ndarray of int
        :math:`|N(i)|`.
    fraction : ndarray of float
        ``n_treated_neighbors / degree``; 0 where the unit is isolated.
    isolated : ndarray of bool
        Units with no neighbour: their fraction is 0 by convention, not by observation.
    """

    node_ids: np.ndarray
    treatment: np.ndarray
    n_treated_neighbors: np.ndarray
    degree: np.ndarray
    fraction: np.ndarray
    isolated: np.ndarray

    @property
    def n_isolated(self) -> int:
        return int(self.isolated.sum())

    def to_frame(self) -> pd.DataFrame:
        """One row per unit keyed by node id."""
        return pd.DataFrame({
            "node_id": self.node_ids,
            "treatment": self.treatment.astype(np.int8),
            "n_treated_neighbors": self.n_treated_neighbors,
            "degree": self.degree,
            "fraction_treated_neighbors": self.fraction,
            "isolated": self.isolated,
        })

    def __repr__(self) -> str:
        return (f"NeighborhoodExposure(n_units={self.treatment.shape[0]}, treated={int(self.treatment.sum())}, "
                f"mean_fraction={self.fraction.mean():.4f}, isolated={self.n_isolated})")


@aligned("z")
def exposure(graph: Graph, z: Any) -> NeighborhoodExposure:
    """Own treatment, number and fraction of treated neighbours for one assignment.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.Graph.from_edges([0, 1, 2], [1, 2, 3], nodes=[4])
    >>> e = ne.exposure(g, [1, 0, 0, 1, 0])
    >>> e.fraction.tolist(), e.isolated.tolist()
    ([0.0, 0.5, 0.5, 0.0, 0.0], [False, False, False, False, True])
    """
    graph = _check_graph(graph)
    if np.ndim(z) != 1:
        raise ExposureError("exposure takes one assignment (shape (n_units,)); for a batch use "
                            "treated_neighbor_counts / fraction_treated_neighbors.")
    zb = check_binary_matrix("z", z, graph.n_nodes)[0]
    counts = treated_neighbor_counts(graph, zb)
    deg = np.asarray(graph.degree)
    frac = fraction_treated_neighbors(graph, zb, counts=counts)
    return NeighborhoodExposure(graph.node_ids, zb, counts, deg.astype(np.int64), frac, deg == 0)
