"""Cluster randomization: a unit design over clusters, broadcast to the units of each cluster."""

from __future__ import annotations

import numpy as np

from .._errors import DesignError, InputError
from .._validation import dense_codes
from ._base import Design
from ._stratified import Complete

__all__ = ["ClusterRandomized"]


class ClusterRandomized(Design):
    """Randomize whole clusters; every unit follows its cluster's assignment.

    Composition, not a new sampler: any unit design over the ``n_clusters`` clusters (default
    :class:`Complete` treating half of them) is drawn and broadcast with ``Zc[:, labels]``.

    Parameters
    ----------
    clusters : Clustering or array-like of int
        A :class:`netexp.Clustering` or the cluster label of every unit.
    cluster_design : Design, optional
        Design over clusters; its ``n_units`` must equal the number of clusters.
        Default ``Complete(n_clusters)`` (half the clusters treated, rounded down).
    p : float, optional
        Shortcut for ``Complete(n_clusters, p=p)``.
    n_treated : int, optional
        Shortcut for ``Complete(n_clusters, n_treated)`` (number of treated *clusters*).

    Notes
    -----
    :math:`P(Z_i = 1) = P(Z^c_{c(i)} = 1)`; units of one cluster are perfectly correlated:
    :math:`P(Z_i=1, Z_j=1) = P(Z^c_{c(i)}=1)` when :math:`c(i) = c(j)`.

    Examples
    --------
    >>> import netexp as ne
    >>> d = ne.ClusterRandomized([0, 0, 1, 1, 2, 2], n_treated=1)
    >>> d.sample(rng=0).astype(int).tolist()
    [0, 0, 0, 0, 1, 1]
    """

    def __init__(self, clusters, cluster_design: Design | None = None, *, p: float | None = None,
                 n_treated: int | None = None):
        from ..clustering import Clustering

        if isinstance(clusters, Clustering):
            labels = np.asarray(clusters.labels)
        else:
            raw = np.asarray(clusters)
            if raw.ndim != 1 or raw.size == 0:
                raise InputError("ClusterRandomized: clusters must be a Clustering or a 1-D array of labels.")
            _, labels = dense_codes(raw)
        labels = labels.astype(np.int64)
        k = int(labels.max()) + 1
        if k < 2:
            raise DesignError("ClusterRandomized: need at least 2 clusters to randomize; got 1.")
        if cluster_design is not None and (p is not None or n_treated is not None):
            raise DesignError("ClusterRandomized: give cluster_design, or p / n_treated, not both.")
        if cluster_design is None:
            cluster_design = Complete(k, n_treated=n_treated, p=p)
        if not isinstance(cluster_design, Design):
            raise InputError(f"ClusterRandomized: cluster_design must be a Design; got {type(cluster_design).__name__}.")
        if cluster_design.n_units != k:
            raise DesignError(f"ClusterRandomized: cluster_design assigns {cluster_design.n_units} units but there "
                              f"are {k} clusters.")
        labels.flags.writeable = False
        self._labels = labels
        self._k = k
        self._cluster_design = cluster_design
        self._freeze()

    @property
    def n_units(self) -> int:
        return int(self._labels.shape[0])

    @property
    def n_clusters(self) -> int:
        return self._k

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def cluster_design(self) -> Design:
        return self._cluster_design

    def sample_clusters(self, n_draws: int = 1, *, rng=None) -> np.ndarray:
        """Draws of the cluster-level assignment, shape ``(n_draws, n_clusters)``."""
        return self._cluster_design.sample_many(n_draws, rng=rng)

    def _sample_many(self, n_draws, rng):
        zc = self._cluster_design._sample_many(n_draws, rng)
        return zc[:, self._labels]

    def _probabilities(self):
        return self._cluster_design.probabilities[self._labels]

    def _joint_probabilities(self):
        jc = self._cluster_design.joint_probabilities()
        return jc[np.ix_(self._labels, self._labels)]

    def _enumerate(self):
        zc, w = self._cluster_design.enumerate()
        return zc[:, self._labels], w

    def _repr_params(self):
        return {"n_units": self.n_units, "n_clusters": self._k, "cluster_design": self._cluster_design}
