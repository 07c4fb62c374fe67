"""Cluster quality for experiments: how many clusters each unit's neighbourhood spans, and the
probability that a unit is fully exposed (its whole closed neighbourhood in its arm)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numba import njit, prange

from .._parallel import threads_for
from .._errors import DesignError, InputError
from .._validation import check_int, check_option, check_probability, readonly
from ._clustering import Clustering

__all__ = ["ClusterQuality", "cluster_quality", "distinct_clusters_in_neighborhood", "full_exposure_probability"]

DESIGNS = ("bernoulli", "complete")


@njit(cache=True)
def _distinct_one(indptr, indices, labels, marker, out):
    """``out[i]`` = number of distinct ``labels`` over i and its row's units. ``marker`` (int64,
    at least max label + 1, filled with -1) records the last unit that saw each label: no sort,
    no reset between units."""
    n = indptr.shape[0] - 1
    for i in range(n):
        c = labels[i]
        marker[c] = i
        d = 1
        for a in range(indptr[i], indptr[i + 1]):
            cj = labels[indices[a]]
            if marker[cj] != i:
                marker[cj] = i
                d += 1
        out[i] = d


@njit(cache=True, parallel=True)
def _distinct_many(indptr, indices, labels, n_labels, out):
    """Row r of ``out`` = distinct counts for the labelling ``labels[r]`` (values < n_labels)."""
    for r in prange(labels.shape[0]):
        marker = np.full(n_labels, -1, dtype=np.int64)
        _distinct_one(indptr, indices, labels[r], marker, out[r])


def _check_clustering(clustering) -> Clustering:
    if not isinstance(clustering, Clustering):
        raise InputError(f"clustering must be a netexp Clustering; got {type(clustering).__name__}. "
                         "Build one with ne.cluster(graph, ...) or ne.Clustering(graph, labels).")
    return clustering


def distinct_clusters_in_neighborhood(clustering: Clustering) -> np.ndarray:
    r"""Number of distinct clusters in every unit's closed neighbourhood.

    Parameters
    ----------
    clustering : Clustering

    Returns
    -------
    ndarray of int64, shape (n_units,)
        :math:`d_i = |\{c(j) : j \in \{i\} \cup N(i)\}|`, where :math:`N(i)` is row ``i`` of the
        graph's adjacency (the units whose treatment can affect ``i``: in-neighbours of a directed
        graph). :math:`d_i = 1` exactly when the neighbourhood lies inside i's own cluster.

    Notes
    -----
    One compiled pass over the CSR rows with a marker array indexed by cluster (the last unit
    that saw the cluster), so no sort and no per-unit reset: :math:`O(n + m)`.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.clustering import distinct_clusters_in_neighborhood
    >>> g = ne.Graph.from_edges([0, 1, 2, 3], [1, 2, 3, 4])
    >>> distinct_clusters_in_neighborhood(ne.Clustering(g, [0, 0, 0, 1, 1])).tolist()
    [1, 1, 2, 2, 1]
    """
    c = _check_clustering(clustering)
    g = c.graph
    out = np.empty((1, g.n_nodes), dtype=np.int64)
    with threads_for(0):  # one labelling: a single iteration of the parallel loop
        _distinct_many(g.indptr, g.indices, c.labels[None, :], c.n_clusters, out)
    return readonly(out[0])


def _complete_counts(p, n_treated_clusters, k):
    """[(number of treated clusters, its probability)] for cluster-level complete randomization."""
    if n_treated_clusters is not None:
        m = check_int("n_treated_clusters", n_treated_clusters, low=1, high=k - 1)
        return [(m, 1.0)]
    x = p * k
    lo = int(np.floor(x))
    frac = x - lo
    if frac < 1e-12:
        frac = 0.0
    counts = [(lo, 1.0 - frac)] + ([(lo + 1, frac)] if frac > 0 else [])
    if lo + (frac > 0) < 1 or lo > k - 1:
        raise DesignError(f"p * n_clusters = {x:g} leaves an arm without clusters; choose p or "
                          "n_treated_clusters so that both arms get at least one of the "
                          f"{k} clusters.")
    return [(m, w) for m, w in counts if w > 0]


def _falling_ratio(top: int, k: int, dmax: int) -> np.ndarray:
    """``r[d] = prod_{t<d} (top - t) / (k - t)`` for d = 0..dmax (0 once top - t hits 0)."""
    t = np.arange(dmax, dtype=float)
    f = np.clip(top - t, 0.0, None) / (k - t)
    return np.concatenate([[1.0], np.cumprod(f)])


def _exposure_from_counts(d, k, *, p, design, n_treated_clusters):
    d = np.asarray(d, dtype=np.int64)
    dmax = int(d.max()) if d.size else 0
    if design == "bernoulli":
        if n_treated_clusters is not None:
            raise InputError("n_treated_clusters applies to design='complete' only; under 'bernoulli' "
                             "every cluster is treated independently with probability p.")
        pt = p ** np.arange(dmax + 1, dtype=float)
        pc = (1.0 - p) ** np.arange(dmax + 1, dtype=float)
    else:
        if k < 2:
            raise DesignError("design='complete' needs at least 2 clusters; got 1.")
        pt = np.zeros(dmax + 1)
        pc = np.zeros(dmax + 1)
        for m, w in _complete_counts(p, n_treated_clusters, k):
            pt += w * _falling_ratio(m, k, dmax)       # C(K-d, m-d) / C(K, m)
            pc += w * _falling_ratio(k - m, k, dmax)   # C(K-d, m) / C(K, m)
    return np.column_stack([pt[d], pc[d]])


def full_exposure_probability(
    clustering: Clustering,
    *,
    p: float = 0.5,
    design: Literal["bernoulli", "complete"] = "bernoulli",
    n_treated_clusters: int | None = None,
) -> np.ndarray:
    r"""Probability that each unit's closed neighbourhood lies entirely in one arm.

    Parameters
    ----------
    clustering : Clustering
    p : float in (0, 1), default 0.5
        Probability that a cluster is treated (``"bernoulli"``), or share of clusters treated
        (``"complete"``, when ``n_treated_clusters`` is not given).
    design : {"bernoulli", "complete"}
        Cluster-level design: independent coins (:class:`netexp.Bernoulli` over clusters) or a
        fixed number treated (:class:`netexp.Complete` over clusters).
    n_treated_clusters : int, optional
        Number of treated clusters under ``"complete"``. Without it, ``p * K`` clusters are
        treated, and when that is not a whole number the count is ``floor(p K)`` or one more,
        the latter with probability equal to the fractional part, as :class:`netexp.Complete`
        does (so the result is the matching mixture).

    Returns
    -------
    ndarray of float, shape (n_units, 2)
        Column 0: :math:`P(\text{i and all its neighbours treated})`; column 1: the same for
        control.

    Notes
    -----
    The neighbourhood of ``i`` spans :math:`d_i` distinct clusters
    (:func:`distinct_clusters_in_neighborhood`) and is fully in an arm exactly when those
    :math:`d_i` clusters all are. Under cluster-level Bernoulli(p) (Ugander et al. 2013):
    :math:`p^{d_i}` and :math:`(1-p)^{d_i}`. Under complete randomization of :math:`m` of
    :math:`K` clusters (hypergeometric):

    .. math::
        \frac{\binom{K-d}{m-d}}{\binom{K}{m}} = \prod_{t=0}^{d-1} \frac{m-t}{K-t},
        \qquad
        \frac{\binom{K-d}{m}}{\binom{K}{m}} = \prod_{t=0}^{d-1} \frac{K-m-t}{K-t},

    computed as running products (no large binomials), zero when :math:`d > m` (resp.
    :math:`d > K - m`).

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L., & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. Proceedings of KDD 2013, 329-337.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.clustering import full_exposure_probability
    >>> g = ne.Graph.from_edges([0, 1, 2, 3], [1, 2, 3, 4])
    >>> c = ne.Clustering(g, [0, 0, 0, 1, 1])
    >>> full_exposure_probability(c, p=0.5)[:, 0].tolist()
    [0.5, 0.5, 0.25, 0.25, 0.5]
    """
    c = _check_clustering(clustering)
    p = check_probability("p", p)
    design = check_option("design", design, DESIGNS)
    d = distinct_clusters_in_neighborhood(c)
    return readonly(_exposure_from_counts(d, c.n_clusters, p=p, design=design,
                                          n_treated_clusters=n_treated_clusters))


@dataclass(frozen=True, eq=False)
class ClusterQuality:
    """How well a clustering serves a cluster-randomized experiment (see :func:`cluster_quality`).

    Attributes
    ----------
    n_units, n_clusters : int
    design : str
        ``"bernoulli"`` or ``"complete"`` (cluster level).
    p : float
    n_treated_clusters : int or None
    cut_fraction : float
        Share of adjacency entries (edges) joining different clusters.
    interior_fraction : float
        Share of units whose closed neighbourhood lies inside their cluster (:math:`d_i = 1`).
    distinct_clusters : ndarray of int64, shape (n_units,)
        :math:`d_i` for every unit.
    full_exposure : ndarray, shape (n_units, 2)
        Probability of full exposure to treatment (column 0) and to control (column 1).
    histogram : DataFrame
        One row per value of :math:`d`: ``d, n_units, share, p_full_treatment,
        p_full_control``.
    """

    n_units: int
    n_clusters: int
    design: str
    p: float
    n_treated_clusters: int | None
    cut_fraction: float
    interior_fraction: float
    distinct_clusters: np.ndarray = field(repr=False)
    full_exposure: np.ndarray = field(repr=False)
    histogram: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict:
        """Scalar figures as a dict."""
        d = self.distinct_clusters
        fe = self.full_exposure
        return {
            "n_units": self.n_units,
            "n_clusters": self.n_clusters,
            "design": self.design,
            "p": self.p,
            "n_treated_clusters": self.n_treated_clusters,
            "cut_fraction": self.cut_fraction,
            "interior_fraction": self.interior_fraction,
            "distinct_clusters_mean": float(d.mean()),
            "distinct_clusters_max": int(d.max()),
            "p_full_treatment_mean": float(fe[:, 0].mean()),
            "p_full_control_mean": float(fe[:, 1].mean()),
            "p_full_treatment_min": float(fe[:, 0].min()),
            "p_full_control_min": float(fe[:, 1].min()),
            # units with no chance of being fully exposed to one arm: Horvitz-Thompson cannot use them
            "n_never_fully_treated": int((fe[:, 0] == 0).sum()),
            "n_never_fully_control": int((fe[:, 1] == 0).sum()),
        }

    def summary(self) -> str:
        s = self.to_dict()
        arm = (f"cluster-level Bernoulli(p={self.p:g})" if self.design == "bernoulli" else
               f"cluster-level complete randomization ({self._treated_text()} of {self.n_clusters} clusters treated)")
        lines = [
            f"Cluster quality: {self.n_units:,} units in {self.n_clusters:,} clusters, {arm}",
            f"  cut fraction             {s['cut_fraction']:.4f}",
            f"  neighbourhood interior   {s['interior_fraction']:.4f}  (share of units with d_i = 1)",
            f"  clusters per neighbourhood d_i: mean {s['distinct_clusters_mean']:.3f}, "
            f"max {s['distinct_clusters_max']}",
            f"  P(fully treated)  mean {s['p_full_treatment_mean']:.4g}, min {s['p_full_treatment_min']:.4g}",
            f"  P(fully control)  mean {s['p_full_control_mean']:.4g}, min {s['p_full_control_min']:.4g}",
            "",
            self.histogram.to_string(index=False, float_format=lambda x: f"{x:.4g}"),
        ]
        return "\n".join(lines)

    def _treated_text(self) -> str:
        if self.n_treated_clusters is not None:
            return str(self.n_treated_clusters)
        return f"{self.p * self.n_clusters:g}"

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        scalars = pd.DataFrame({"value": pd.Series(self.to_dict(), dtype=object)})
        return (f"<p><b>{html.escape('Cluster quality')}</b></p>" + scalars.to_html(escape=True)
                + "<p>Clusters per closed neighbourhood</p>" + self.histogram.to_html(index=False, escape=True))


def cluster_quality(
    clustering: Clustering,
    *,
    p: float = 0.5,
    design: Literal["bernoulli", "complete"] = "bernoulli",
    n_treated_clusters: int | None = None,
) -> ClusterQuality:
    r"""Quality of a clustering for a cluster-randomized experiment under interference.

    Parameters
    ----------
    clustering : Clustering
    p, design, n_treated_clusters
        The cluster-level design, as in :func:`full_exposure_probability`.

    Returns
    -------
    ClusterQuality
        Cut fraction, share of units whose closed neighbourhood is inside their cluster, the
        number of clusters :math:`d_i` each closed neighbourhood spans (per unit and as a
        histogram) and each unit's probability of full exposure to each arm.

    Notes
    -----
    Under neighbourhood interference a unit's outcome in the "all treated" (or "all control")
    world is observed only when its closed neighbourhood is entirely in that arm; the
    Horvitz-Thompson estimator weights such units by the inverse of that probability, which is
    :math:`p^{d_i}` under cluster-level Bernoulli(p) (see :func:`full_exposure_probability`).
    Fewer clusters per neighbourhood (small :math:`d_i`) means higher exposure probabilities
    and a smaller variance (Ugander et al. 2013); more, smaller clusters mean more independent
    randomization units. The cut fraction summarizes the first, the cluster count the second.

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L., & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. Proceedings of KDD 2013, 329-337.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.clustering import cluster_quality
    >>> q = cluster_quality(ne.leiden(ne.load_graph("karate"), rng=0), p=0.5)
    >>> q.n_clusters, round(q.interior_fraction, 3)
    (4, 0.441)
    """
    c = _check_clustering(clustering)
    p = check_probability("p", p)
    design = check_option("design", design, DESIGNS)
    d = distinct_clusters_in_neighborhood(c)
    fe = readonly(_exposure_from_counts(d, c.n_clusters, p=p, design=design,
                                        n_treated_clusters=n_treated_clusters))
    values, counts = np.unique(d, return_counts=True)
    first = np.searchsorted(d[np.argsort(d, kind="stable")], values)
    rep = np.argsort(d, kind="stable")[first]  # one unit per value of d, to read its probabilities
    hist = pd.DataFrame({
        "d": values,
        "n_units": counts,
        "share": counts / d.shape[0],
        "p_full_treatment": fe[rep, 0],
        "p_full_control": fe[rep, 1],
    })
    return ClusterQuality(
        n_units=int(d.shape[0]),
        n_clusters=c.n_clusters,
        design=design,
        p=p,
        n_treated_clusters=None if n_treated_clusters is None else int(n_treated_clusters),
        cut_fraction=c.cut_fraction,
        interior_fraction=float((d == 1).mean()),
        distinct_clusters=d,
        full_exposure=fe,
        histogram=hist,
    )
