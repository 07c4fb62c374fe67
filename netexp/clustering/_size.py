"""Cluster size control: split oversized clusters into connected pieces, merge tiny ones into a
neighbour, and a table of the size / cut trade-off across resolutions or size caps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from .._errors import ClusteringError, InputError
from .._validation import check_int, check_rng
from ..graph import Graph
from ._clustering import Clustering

__all__ = ["resize_clusters", "size_tradeoff"]


@njit(cache=True)
def _split(indptr, indices, labels, oversized, order, max_size, out):
    """Units of oversized clusters get new piece ids grown by BFS (within the original cluster,
    only over unassigned units) from seeds taken in ``order``, each piece stopping at
    ``max_size`` units; other units keep their cluster. Returns the number of ids used."""
    n = labels.shape[0]
    k = 0
    for i in range(n):
        if not oversized[labels[i]]:
            out[i] = labels[i]
            if labels[i] + 1 > k:
                k = labels[i] + 1
        else:
            out[i] = -1
    queue = np.empty(n, dtype=np.int64)
    for t in range(n):
        s = order[t]
        if out[s] >= 0:
            continue
        piece = k
        k += 1
        c = labels[s]
        out[s] = piece
        size = 1
        head = 0
        tail = 0
        queue[tail] = s
        tail += 1
        while head < tail and size < max_size:
            u = queue[head]
            head += 1
            for a in range(indptr[u], indptr[u + 1]):
                w = indices[a]
                if out[w] < 0 and labels[w] == c:
                    out[w] = piece
                    size += 1
                    queue[tail] = w
                    tail += 1
                    if size >= max_size:
                        break
    return k


@njit(cache=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True)
def _merge_small(indptr, indices, labels, k, min_size, max_size, out):
    """Merge clusters smaller than ``min_size`` into the neighbouring cluster with the most edges
    to them, among those that stay within ``max_size`` (<= 0: no cap). Small clusters are taken
    in increasing order of size (ties: lower id first); a cluster already merged away, or grown
    to ``min_size`` by absorbing others, is skipped. Members are kept as linked lists so a
    merged cluster's edges are found by scanning its members' rows."""
    n = labels.shape[0]
    size = np.zeros(k, dtype=np.int64)
    for i in range(n):
        size[labels[i]] += 1
    head = np.full(k, -1, dtype=np.int64)
    tail = np.full(k, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    for i in range(n - 1, -1, -1):
        c = labels[i]
        if head[c] < 0:
            tail[c] = i
        nxt[i] = head[c]
        head[c] = i
    parent = np.arange(k)
    weight = np.zeros(k, dtype=np.int64)
    touched = np.empty(k, dtype=np.int64)
    cand = np.argsort(size, kind="mergesort")
    orig = size.copy()
    for t in range(k):
        a = cand[t]
        if orig[a] >= min_size:
            break
        if parent[a] != a or size[a] >= min_size:
            continue
        n_touched = 0
        u = head[a]
        while u >= 0:
            for e in range(indptr[u], indptr[u + 1]):
                b = _find(parent, labels[indices[e]])
                if b != a:
                    if weight[b] == 0:
                        touched[n_touched] = b
                        n_touched += 1
                    weight[b] += 1
            u = nxt[u]
        best = -1
        best_w = 0
        for j in range(n_touched):
            b = touched[j]
            if (max_size <= 0 or size[b] + size[a] <= max_size) and (
                    weight[b] > best_w or (weight[b] == best_w and b < best)):
                best = b
                best_w = weight[b]
            weight[b] = 0
        if best < 0:
            continue  # no neighbour (isolated) or none with room: the cluster stays as it is
        parent[a] = best
        size[best] += size[a]
        nxt[tail[best]] = head[a]
        tail[best] = tail[a]
    for i in range(n):
        out[i] = _find(parent, labels[i])


def resize_clusters(clustering: Clustering, *, max_size: int | None = None, min_size: int | None = None,
                    rng=None) -> Clustering:
    r"""Split oversized clusters into connected pieces and merge tiny clusters into a neighbour.

    Parameters
    ----------
    clustering : Clustering
    max_size : int, optional
        No cluster may have more units. A cluster above it is split into pieces of at most
        ``max_size`` units, each connected.
    min_size : int, optional
        Clusters with fewer units are merged into a neighbouring cluster, where one with room
        exists (``max_size`` is a hard cap, ``min_size`` a best effort).
    rng : None, int, SeedSequence or Generator
        Order in which split pieces are seeded; same seed, same result.

    Returns
    -------
    Clustering
        Same graph and method name with ``params`` extended by ``max_size`` / ``min_size``.

    Notes
    -----
    **Splitting** grows pieces by breadth-first search inside the oversized cluster: a seed is
    the next still-unassigned unit of the cluster in a uniformly random order; the piece takes
    unassigned units of the same cluster in BFS order until it holds ``max_size`` units or runs
    out of reachable ones. Pieces are connected (each is spanned by its BFS tree) and the pass
    costs :math:`O(n + m)`. We prefer this to re-running Leiden on the induced subgraph: a
    modularity optimizer gives no size guarantee (it would need a search per cluster), while
    BFS pieces are compact (small radius around the seed), which is what keeps neighbourhoods
    inside few clusters. The price is some small leftover pieces at the cluster's fringe; the
    merge step absorbs them.

    **Merging**: clusters smaller than ``min_size``, in increasing order of size (ties: lower
    index), each join the neighbouring cluster :math:`b` with the most edges to them
    (:math:`\sum_{i \in a, j \in b} A_{ij}`; ties: lower index) among those with
    :math:`|a| + |b| \le` ``max_size``. A cluster with no edge to another cluster (isolated
    units, a small component) stays as it is: merging it would cut no edge less and only
    couple unrelated units. So does a small cluster all of whose neighbours are full. Merged
    clusters are connected when both parts were.

    Directed graphs are read as undirected (an arc either way joins units).

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.clustering import resize_clusters
    >>> g = ne.load_graph("karate")
    >>> c = resize_clusters(ne.leiden(g, rng=0), max_size=8, min_size=3, rng=0)
    >>> int(c.sizes.max()) <= 8
    True
    """

    if not isinstance(clustering, Clustering):
        raise InputError(f"clustering must be a netexp Clustering; got {type(clustering).__name__}.")
    if max_size is None and min_size is None:
        raise InputError("give max_size, min_size or both; with neither there is nothing to resize.")
    g = clustering.graph
    n = g.n_nodes
    if max_size is not None:
        max_size = check_int("max_size", max_size, low=1, high=n)
    if min_size is not None:
        min_size = check_int("min_size", min_size, low=1, high=n)
    if max_size is not None and min_size is not None and min_size > max_size:
        raise ClusteringError(f"min_size must be at most max_size; got min_size={min_size} > max_size={max_size}.")
    gen = check_rng(rng)
    indptr, indices = g._undirected
    labels = np.asarray(clustering.labels, dtype=np.int64)
    k = clustering.n_clusters
    if max_size is not None and clustering.sizes.max() > max_size:
        oversized = clustering.sizes > max_size
        order = gen.permutation(n)
        out = np.empty(n, dtype=np.int64)
        k = int(_split(indptr, indices, labels, oversized, order, max_size, out))
        labels = out
    if min_size is not None and min_size > 1:
        out = np.empty(n, dtype=np.int64)
        _merge_small(indptr, indices, labels, k, min_size, -1 if max_size is None else max_size, out)
        labels = out
    params = clustering.params
    params.update({"max_size": max_size, "min_size": min_size})
    return Clustering(g, labels, method=clustering.method, params=params)


def _size_row(c: Clustering) -> dict:
    s = c.sizes.astype(float)
    med = float(np.median(s))
    return {
        "n_clusters": c.n_clusters,
        "cut_fraction": c.cut_fraction,
        "interior_fraction": c.interior_fraction,
        "modularity": c.modularity,
        "size_min": int(s.min()),
        "size_median": med,
        "size_max": int(s.max()),
        "size_cv": float(s.std() / s.mean()),
        "max_over_median": float(s.max() / med),
        "singletons": int((s == 1).sum()),
    }


def size_tradeoff(graph: Graph, *, method: str = "leiden", resolutions=None, max_sizes=None,
                  rng=None) -> pd.DataFrame:
    r"""Number of clusters, cut fraction and size spread across resolutions or size caps.

    Parameters
    ----------
    graph : Graph
    method : str, default "leiden"
        Any method of :func:`netexp.cluster`.
    resolutions : sequence of float, optional
        Resolutions to scan (Leiden / Louvain only). Default, when ``max_sizes`` is not given
        either: ``0.25, 0.5, 1, 2, 4, 8, 16``.
    max_sizes : sequence of int, optional
        Instead of resolutions: cluster once with ``method`` (default settings) and cap the
        sizes with :func:`resize_clusters` at each value (with ``min_size = max(1, cap // 4)``
        to absorb the fragments the split leaves).
    rng : None, int, SeedSequence or Generator
        One seed, reused for every row, so rows differ only by the parameter scanned.

    Returns
    -------
    DataFrame
        One row per setting: ``parameter, value, n_clusters, cut_fraction,
        interior_fraction, modularity, size_min, size_median, size_max, size_cv,
        max_over_median, singletons``; ``size_cv`` is the coefficient of variation of the
        cluster sizes (std / mean).

    Notes
    -----
    More clusters give more independent randomization units (smaller variance of
    cluster-level comparisons); fewer, larger clusters cut fewer edges (less interference
    bias, higher exposure probabilities). Uneven sizes cost precision with few clusters. The
    table shows where a clustering sits on that trade-off.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.clustering import size_tradeoff
    >>> t = size_tradeoff(ne.load_graph("karate"), resolutions=[0.5, 2.0], rng=0)
    >>> t["n_clusters"].tolist()[0] <= t["n_clusters"].tolist()[1]
    True
    """
    from ._methods import cluster

    if resolutions is not None and max_sizes is not None:
        raise InputError("give resolutions or max_sizes, not both.")
    seed = int(check_rng(rng).integers(0, 2**31 - 1))
    rows = []
    if max_sizes is not None:
        base = cluster(graph, method, rng=seed)
        for cap in max_sizes:
            cap = check_int("max_sizes entries", cap, low=1, high=graph.n_nodes)
            c = resize_clusters(base, max_size=cap, min_size=max(1, cap // 4), rng=seed)
            rows.append({"parameter": "max_size", "value": cap, **_size_row(c)})
    else:
        if resolutions is None:
            resolutions = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
        for r in resolutions:
            c = cluster(graph, method, resolution=float(r), rng=seed)
            rows.append({"parameter": "resolution", "value": float(r), **_size_row(c)})
    return pd.DataFrame(rows)
