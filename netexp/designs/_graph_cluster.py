"""Graph cluster randomization (Ugander et al. 2013) with a choice of cluster-level design."""

from __future__ import annotations

import types
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd

from .._errors import DesignError
from .._validation import check_int, check_option, check_probability
from ._cluster import ClusterRandomized
from ._rerandomized import Rerandomized
from ._saturation import _cluster_labels
from ._stratified import Complete, Stratified
from ._unit import Bernoulli

__all__ = ["graph_cluster_randomized"]

_CLUSTER_DESIGNS = ("complete", "bernoulli", "stratified-by-size", "rerandomized")


def graph_cluster_randomized(clustering, *, cluster_design: Literal["complete", "bernoulli", "stratified-by-size",
                                                                   "rerandomized"] = "complete",
                             p: float = 0.5, n_treated: int | None = None, n_size_strata: int = 4,
                             covariates: Any = None, columns: Sequence[str] | None = None,
                             acceptance: float = 0.1, max_tries: int = 1_000_000) -> ClusterRandomized:
    """Graph cluster randomization: treat whole clusters of the graph, with a chosen cluster-level design.

    Parameters
    ----------
    clustering : Clustering or array-like
        Clusters of the graph (e.g. :func:`netexp.leiden`) or the cluster label of every unit.
    cluster_design : {"complete", "bernoulli", "stratified-by-size", "rerandomized"}
        ``"complete"``: a share ``p`` (or ``n_treated``) of clusters treated, the odd cluster at
        random so each has probability exactly ``p``. ``"bernoulli"``: clusters independently with
        ``p``. ``"stratified-by-size"``: clusters binned into ``n_size_strata`` quantile bins of
        their size (``pandas.qcut`` on the sizes, duplicate edges dropped) and completely
        randomized within each bin, balancing large and small clusters between the arms.
        ``"rerandomized"``: complete randomization of clusters re-drawn until Morgan & Rubin's
        Mahalanobis balance on cluster covariates (cluster size always, plus cluster means of
        ``covariates``, see :func:`netexp.cluster_covariates`) is within its ``acceptance``
        quantile.
    p : float in (0, 1), default 0.5
    n_treated : int, optional
        Number of treated clusters ("complete" only).
    n_size_strata : int, default 4
        Number of size bins ("stratified-by-size"); every bin must hold at least 2 clusters.
    covariates, columns : unit covariates and the columns to use ("rerandomized").
    acceptance : float in (0, 1), default 0.1
        Share of base draws accepted ("rerandomized").
    max_tries : int
        Give-up bound of the re-randomization loop.

    Returns
    -------
    ClusterRandomized
        With ``cluster_design`` the chosen design over clusters.

    Notes
    -----
    Every unit follows its cluster: :math:`P(Z_i = 1) = P(Z^c_{c(i)} = 1)`, which is :math:`p`
    for "complete" and "bernoulli", the stratum's share for "stratified-by-size", and has no
    closed form for "rerandomized" unless ``p = 1/2`` with an even number of clusters (symmetry).
    Units whose whole neighbourhood lies in their own cluster are fully exposed or fully
    unexposed in every draw, which is what makes graph cluster randomization reduce the bias of
    the global treatment effect estimate under interference.

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L., & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. KDD 2013, 329-337.
    Morgan, K. L., & Rubin, D. B. (2012). Rerandomization to improve covariate balance in
    experiments. Annals of Statistics 40(2), 1263-1282.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.designs import graph_cluster_randomized
    >>> labels = [0] * 3 + [1] * 3 + [2] * 5 + [3] * 5
    >>> d = graph_cluster_randomized(labels, cluster_design="stratified-by-size", n_size_strata=2)
    >>> z = d.sample(rng=0)
    >>> int(z[:6].sum()), int(z[6:].sum())   # one small and one large cluster treated
    (3, 5)
    """
    where = "graph_cluster_randomized"
    cluster_design = check_option(f"{where}: cluster_design", cluster_design, _CLUSTER_DESIGNS)
    labels, K = _cluster_labels(clustering, where)
    p = check_probability(f"{where}: p", p)
    if n_treated is not None and cluster_design != "complete":
        raise DesignError(f"{where}: n_treated applies to cluster_design='complete' only; got "
                          f"cluster_design={cluster_design!r}. Use p instead.")
    sizes = np.bincount(labels, minlength=K)
    if cluster_design == "complete":
        base = Complete(K, n_treated=n_treated) if n_treated is not None else Complete(K, p=p)
    elif cluster_design == "bernoulli":
        base = Bernoulli(K, p=p)
    elif cluster_design == "stratified-by-size":
        q = check_int(f"{where}: n_size_strata", n_size_strata, low=1)
        bins = pd.qcut(pd.Series(sizes), q, labels=False, duplicates="drop").to_numpy()
        counts = np.bincount(bins)
        if (counts < 2).any():
            b = int(np.flatnonzero(counts < 2)[0])
            members = sizes[bins == b].tolist()
            raise DesignError(f"{where}: size stratum {b} holds {int(counts[b])} cluster(s) (sizes {members}); each "
                              f"stratum needs at least 2 clusters to randomize. Use fewer strata than "
                              f"n_size_strata={q} or cluster_design='complete'.")
        base = Stratified(bins, p=p)
    else:
        from .._covariates import cluster_covariates

        frame = cluster_covariates(types.SimpleNamespace(labels=labels), covariates, columns=columns)
        if frame["size"].nunique() == 1:
            frame = frame.drop(columns="size")  # equal sizes: nothing to balance (and a constant column)
        if frame.shape[1] == 0:
            raise DesignError(f"{where}: every cluster has the same size and no covariates were given, so "
                              "re-randomization has nothing to balance; pass covariates= or use 'complete'.")
        base = Rerandomized(Complete(K, p=p), frame, acceptance=check_probability(f"{where}: acceptance", acceptance),
                            max_tries=max_tries)
    return ClusterRandomized(labels, base)
