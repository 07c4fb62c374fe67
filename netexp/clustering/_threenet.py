"""3-net clustering (Ugander, Karrer, Backstrom & Kleinberg 2013) and 1-hop-max clustering
(Ugander & Yin 2023): compiled kernels over CSR and the public ``three_net``."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._parallel import threads_for
from .._errors import InputError
from .._validation import check_rng, readonly
from ..graph import Graph
from ._clustering import Clustering

__all__ = ["three_net", "one_hop_max"]


@njit(cache=True)
def _three_net_one(indptr, indices, order, dist, out):
    """One 3-net: ``out[i]`` = the unit that is the centre of i's cluster.

    ``order`` is the visiting order; ``dist`` (uint8, n) is work space. One pass: a unit not
    within distance 2 of an earlier centre becomes a centre, then its 1-ball is claimed
    unconditionally (a unit is adjacent to at most one centre, since centres are >= 3 apart) and
    its 2-ball sphere only where no earlier centre is at distance <= 2 (earlier centre wins the
    tie). A unit at distance 2 of an early centre and 1 of a later one is re-claimed by the later
    (nearer) one. Every unit's adjacency row is scanned at most twice: O(n + m).
    """
    n = order.shape[0]
    for i in range(n):
        dist[i] = 3
    for k in range(n):
        u = order[k]
        if dist[u] <= 2:
            continue
        dist[u] = 0
        out[u] = u
        for a in range(indptr[u], indptr[u + 1]):
            w = indices[a]
            dist[w] = 1
            out[w] = u
        for a in range(indptr[u], indptr[u + 1]):
            w = indices[a]
            for b in range(indptr[w], indptr[w + 1]):
                x = indices[b]
                if dist[x] > 2:
                    dist[x] = 2
                    out[x] = u


@njit(cache=True, parallel=True)
def _three_net_many(indptr, indices, orders, out):
    """``out[r]`` = centres of the 3-net for visiting order ``orders[r]``, for every row r."""
    n_draws, n = orders.shape
    for r in prange(n_draws):
        dist = np.empty(n, dtype=np.uint8)
        _three_net_one(indptr, indices, orders[r], dist, out[r])


@njit(cache=True)
def _one_hop_max_one(indptr, indices, order, pos, out):
    """``out[i]`` = the unit of i's closed neighbourhood that comes first in ``order``
    (equivalently: with the largest i.i.d. uniform weight). ``pos`` is work space."""
    n = order.shape[0]
    for k in range(n):
        pos[order[k]] = k
    for i in range(n):
        best = i
        bp = pos[i]
        for a in range(indptr[i], indptr[i + 1]):
            j = indices[a]
            if pos[j] < bp:
                bp = pos[j]
                best = j
        out[i] = best


@njit(cache=True, parallel=True)
def _one_hop_max_many(indptr, indices, orders, out):
    n_draws, n = orders.shape
    for r in prange(n_draws):
        pos = np.empty(n, dtype=np.int64)
        _one_hop_max_one(indptr, indices, orders[r], pos, out[r])


def _check_graph(graph) -> Graph:
    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}. Use ne.read_graph(...).")
    return graph


def _random_order(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(n).astype(np.int32 if n < 2**31 else np.int64)


def three_net(graph: Graph, *, rng=None, return_centres: bool = False):
    r"""3-net clustering: clusters grown around a maximal set of centres pairwise >= 3 hops apart.

    Units are visited in a uniformly random order; a unit becomes a *centre* when no centre
    chosen before it lies within distance 2. Every unit then joins its nearest centre.

    Parameters
    ----------
    graph : Graph
        Distances are taken in the undirected version of the graph (an arc either way is an
        edge), so a directed graph is clustered as its symmetrized pattern. Isolated units
        become centres of their own singleton clusters.
    rng : None, int, SeedSequence or Generator
        Draws the random visiting order; same seed, same clustering.
    return_centres : bool, default False
        Also return the centre unit of every cluster.

    Returns
    -------
    Clustering
        ``method="3-net"``. Clusters are numbered in increasing order of their centre's unit
        index. With ``return_centres=True``: ``(clustering, centres)`` where ``centres[k]`` is
        the unit (internal index) at the centre of cluster ``k``.

    Notes
    -----
    Let :math:`B_r(v)` be the ball of radius :math:`r` around :math:`v`. The centres
    :math:`C` satisfy :math:`d(c, c') \ge 3` for distinct centres (no centre lies in another's
    :math:`B_2`) and are maximal: every unit is within distance 2 of a centre, so every unit is
    assigned to a centre at distance 0, 1 or 2. A unit at distance 1 of a centre has exactly one
    such centre (two centres adjacent to one unit would be 2 apart). **Tie rule**: a unit at
    distance 2 of several centres (and at distance 1 of none) joins the one that came *first in
    the random order*. Ugander et al. (2013) show that on graphs with
    restricted growth (:math:`|B_{r+1}(v)| \le \kappa |B_r(v)|`), cluster randomization over a
    3-net keeps every unit's closed neighbourhood within at most :math:`\kappa^3` clusters, so
    the probability of full neighbourhood exposure, :math:`p^{d_i}`, is bounded below and the
    Horvitz-Thompson variance grows linearly in :math:`n`.

    One compiled pass over the CSR rows: each new centre marks its 1-ball unconditionally and
    its 2-sphere where no earlier centre claims it; the rows of a centre's neighbours are scanned
    once each (a unit neighbours at most one centre), so the cost is :math:`O(n + m)`.

    The randomized design :class:`netexp.designs.RandomizedGraphCluster` redraws this clustering
    with every assignment (Ugander & Yin 2023).

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L., & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. Proceedings of KDD 2013, 329-337.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.clustering import three_net
    >>> c = three_net(ne.load_graph("karate"), rng=0)
    >>> c.method, c.sizes.sum()
    ('3-net', np.int64(34))
    """
    graph = _check_graph(graph)
    g = check_rng(rng)
    indptr, indices = graph._undirected
    order = _random_order(graph.n_nodes, g)
    out = np.empty((1, graph.n_nodes), dtype=np.int64)
    with threads_for(0):  # one draw: a single iteration, run it on this thread
        _three_net_many(indptr, indices, order[None, :], out)
    centre_of = out[0]
    c = Clustering(graph, centre_of, method="3-net", params={})
    if return_centres:
        return c, readonly(np.asarray(c._original_labels, dtype=np.int64).copy())
    return c


def one_hop_max(graph: Graph, *, rng=None) -> Clustering:
    r"""1-hop-max clustering (Ugander & Yin 2023): each unit joins the unit of largest random
    weight in its closed neighbourhood.

    Every unit draws an i.i.d. uniform weight (here: a uniformly random order, first = largest);
    unit ``i`` joins the cluster named by :math:`\arg\max_{v \in B_1(i)} X_v`, where
    :math:`B_1(i)` is ``i`` and its neighbours in the undirected version of the graph.

    Parameters
    ----------
    graph : Graph
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    Clustering
        ``method="1-hop-max"``.

    Notes
    -----
    Units ``i`` and ``j`` share a cluster exactly when the maximum weight over
    :math:`B_1(i) \cup B_1(j)` falls in :math:`B_1(i) \cap B_1(j)`, so
    :math:`P(c(i) = c(j)) = |B_1(i) \cap B_1(j)| / |B_1(i) \cup B_1(j)|` (the Jaccard index of
    the closed neighbourhoods). Every member of a cluster is the cluster's named unit or adjacent
    to it, but the named unit may itself join another cluster, so clusters need not be connected.

    References
    ----------
    Ugander, J., & Yin, H. (2023). Randomized graph cluster randomization. Journal of Causal
    Inference 11(1), 20220014.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.clustering import one_hop_max
    >>> c = one_hop_max(ne.load_graph("karate"), rng=0)
    >>> c.method
    '1-hop-max'
    """
    graph = _check_graph(graph)
    g = check_rng(rng)
    indptr, indices = graph._undirected
    order = _random_order(graph.n_nodes, g)
    out = np.empty((1, graph.n_nodes), dtype=np.int64)
    with threads_for(0):
        _one_hop_max_many(indptr, indices, order[None, :], out)
    return Clustering(graph, out[0], method="1-hop-max", params={})
