r"""Network HAC covariance (Kojevnikov, Marmer & Song 2021; Leung 2022) for regression scores.

Scores of units within ``bandwidth`` hops of each other are allowed to be correlated. Path
distances come from one truncated breadth-first search per unit (numba); no n x n distance
matrix is ever formed.

What depends on the graph alone is built once per graph and kept with it (:func:`_structure`):
Leung's bandwidth and, per (bandwidth, kernel), the sparse kernel matrix
:math:`K_{ij} = K(d(i,j)/b)` over the pairs within ``b`` hops (one entry per pair: memory
O(sum of ball sizes), capped by ``_KERNEL_MAX_NNZ``). Each fit then costs sparse products only:
the meat :math:`S'KS` and the Satterthwaite df's :math:`q^{2\prime} K^{\circ 2} q^2`. Above the
cap (large graphs, wide bandwidths) every call runs the truncated BFS again (memory O(n)).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numba import njit

from .._errors import EstimationWarning, InputError, warn
from .._validation import check_int, check_option

__all__ = ["HAC_KERNELS", "network_hac_bandwidth", "network_hac_meat", "network_hac_df", "kernel_weights"]

HAC_KERNELS = ("uniform", "bartlett", "parzen")

# above this many units in the giant component, the average path length of the bandwidth rule
# is averaged over BFS from this many evenly spaced sources instead of all of them
_APL_EXACT_MAX = 4000
_APL_SOURCES = 100
#: Largest number of (unit, unit within the bandwidth) entries of a cached kernel matrix (12 bytes each, 20
#: with the squares of a non-uniform kernel: 120-200 MB); above it the meat and df are computed by BFS on
#: every call (the bundled 3000-unit graph: 0.39 million at bandwidth 2; ego-Facebook: 2.9 million; a
#: 10^5-unit social network at its bandwidth 3: 173 million).
_KERNEL_MAX_NNZ = 10_000_000
#: Attribute of a Graph (in its instance dict, so the pieces live and die with it) holding the cache.
_CACHE_ATTR = "_netexp_hac_cache"


def kernel_weights(kernel: str, bandwidth: int) -> np.ndarray:
    r"""Kernel weight :math:`K(d/b)` for path distances :math:`d = 0, \dots, b`.

    ``uniform``: 1; ``bartlett``: :math:`1 - u`; ``parzen``: :math:`1 - 6u^2 + 6u^3` for
    :math:`u \le 1/2`, :math:`2(1-u)^3` above, with :math:`u = d/b`. Pairs farther than ``b``
    hops get 0.
    """
    kernel = check_option("kernel", kernel, HAC_KERNELS)
    b = int(bandwidth)
    if b == 0:
        return np.ones(1)
    u = np.arange(b + 1) / b
    if kernel == "uniform":
        return np.ones(b + 1)
    if kernel == "bartlett":
        return 1.0 - u
    return np.where(u <= 0.5, 1 - 6 * u**2 + 6 * u**3, 2 * (1 - u) ** 3)


@njit(cache=True, inline="always")
def _ball(indptr, indices, src, b, mark, queue, level_end):  # pragma: no cover - compiled
    """Units within ``b`` hops of ``src`` by a BFS truncated at ``b``: ``queue[0:tail]`` in BFS order (``src``
    first), units at distance d in ``queue[level_end[d - 1]:level_end[d]]`` (``level_end[0] = 1``; levels
    past the last one reached end at ``tail``). ``mark[v] == src`` marks v seen for this source, so ``mark``
    (initialised to -1) is never cleared between sources. Returns ``tail``."""
    mark[src] = src
    queue[0] = src
    level_end[0] = 1
    head, tail, d = 0, 1, 0
    while d < b:
        d += 1
        end = tail
        while head < end:
            u = queue[head]
            head += 1
            for p in range(indptr[u], indptr[u + 1]):
                v = indices[p]
                if mark[v] != src:
                    mark[v] = src
                    queue[tail] = v
                    tail += 1
        level_end[d] = tail
        if tail == end:  # nothing new at distance d: the component is exhausted
            for e in range(d + 1, b + 1):
                level_end[e] = tail
            break
    return tail


@njit(cache=True)
def _distance_sums(indptr, indices, sources):  # pragma: no cover - compiled
    """Sum of BFS distances from each source to every unit it reaches, and the number reached."""
    n = indptr.shape[0] - 1
    mark = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    level_end = np.empty(n, np.int64)
    total = 0.0
    count = 0
    for s in range(sources.shape[0]):
        tail = _ball(indptr, indices, sources[s], n - 1, mark, queue, level_end)
        for d in range(1, n):
            if level_end[d] == level_end[d - 1]:
                break
            total += d * (level_end[d] - level_end[d - 1])
        count += tail - 1
    return total, count


@njit(cache=True)
def _hac_meat(indptr, indices, S, wts):  # pragma: no cover - compiled
    """sum_i s_i (sum_{j: d(i,j) <= b} K(d(i,j)/b) s_j)' by one BFS truncated at b per unit."""
    n, k = S.shape
    b = wts.shape[0] - 1
    mark = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    level_end = np.empty(b + 1, np.int64)
    acc = np.empty(k)
    meat = np.zeros((k, k))
    for i in range(n):
        _ball(indptr, indices, i, b, mark, queue, level_end)
        for a in range(k):
            acc[a] = wts[0] * S[i, a]
        for d in range(1, b + 1):
            w = wts[d]
            if w != 0.0:
                for q in range(level_end[d - 1], level_end[d]):
                    v = queue[q]
                    for a in range(k):
                        acc[a] += w * S[v, a]
        for a in range(k):
            sa = S[i, a]
            for c in range(k):
                meat[a, c] += sa * acc[c]
    return meat


@njit(cache=True)
def _ball_sizes(indptr, indices, b, limit):  # pragma: no cover - compiled
    """Number of units within ``b`` hops of each unit (itself included), by one truncated BFS per unit; stops
    (returning ``(sizes so far, -1)``) once the total passes ``limit``, so that counting costs O(limit)."""
    n = indptr.shape[0] - 1
    mark = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    level_end = np.empty(b + 1, np.int64)
    out = np.zeros(n, np.int64)
    total = 0
    for i in range(n):
        out[i] = _ball(indptr, indices, i, b, mark, queue, level_end)
        total += out[i]
        if total > limit:
            return out, -1
    return out, total


@njit(cache=True)
def _kernel_entries(indptr, indices, wts, row_ptr):  # pragma: no cover - compiled
    """Column index and kernel weight of every unit within the bandwidth of each unit (rows given by ``row_ptr``);
    zero weights (Bartlett's and Parzen's at d = b) are kept so that every row's length is its ball size."""
    n = indptr.shape[0] - 1
    b = wts.shape[0] - 1
    mark = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    level_end = np.empty(b + 1, np.int64)
    cols = np.empty(row_ptr[n], np.int32)
    vals = np.empty(row_ptr[n])
    for i in range(n):
        tail = _ball(indptr, indices, i, b, mark, queue, level_end)
        pos = row_ptr[i]
        for q in range(tail):
            cols[pos + q] = queue[q]
        vals[pos] = wts[0]
        for d in range(1, b + 1):
            for q in range(level_end[d - 1], level_end[d]):
                vals[pos + q] = wts[d]
    return cols, vals


def network_hac_is_cheap(graph, bandwidth: int | None = None, kernel: str = "uniform") -> bool:
    """Whether the graph's kernel matrix at ``bandwidth`` (default: Leung's rule) fits ``_KERNEL_MAX_NNZ``
    entries, so that repeated fits cost sparse products (else a truncated BFS per unit per fit)."""
    b = network_hac_bandwidth(graph)[0] if bandwidth is None else int(bandwidth)
    return _kernel_matrix(graph, b, check_option("kernel", kernel, HAC_KERNELS)) is not None


@njit(cache=True)
def _kernel_times(row_ptr, cols, vals, St, uniform):  # pragma: no cover - compiled
    """``(K @ St.T).T`` for the kernel matrix in CSR pieces, one column of S at a time with a scalar accumulator
    (``uniform``: every stored weight is 1 and ``vals`` is not read)."""
    k, n = St.shape
    out = np.empty((k, n))
    for a in range(k):
        s = St[a]
        for i in range(n):
            acc = 0.0
            if uniform:
                for p in range(row_ptr[i], row_ptr[i + 1]):
                    acc += s[cols[p]]
            else:
                for p in range(row_ptr[i], row_ptr[i + 1]):
                    acc += vals[p] * s[cols[p]]
            out[a, i] = acc
    return out


def _apply(K, S: np.ndarray, uniform: bool) -> np.ndarray:
    """``K @ S`` for a cached kernel matrix (numba; faster than scipy's sparse product for a few columns)."""
    S2 = np.asarray(S, dtype=float)
    one = S2.ndim == 1
    St = np.ascontiguousarray(S2[None, :] if one else S2.T)
    out = _kernel_times(K.indptr, K.indices, K.data, St, uniform)
    return out[0] if one else out.T


def _structure(graph) -> dict:
    """The graph-only pieces of the network HAC, kept in the graph's instance dict (a Graph is immutable and
    cannot be weakly referenced, so they share its lifetime; they are pickled with it, so executor workers
    receive them built)."""
    return graph.__dict__.setdefault(_CACHE_ATTR, {})


def _kernel_matrix(graph, b: int, kernel: str):
    """``(K, K**2, uniform)``: sparse (n, n) matrices of :math:`K(d(i,j)/b)` and its square over the pairs within
    ``b`` hops (diagonal included; the same matrix when every weight is 1), cached per graph; None (also
    cached) when they would exceed ``_KERNEL_MAX_NNZ`` entries, found by a count that stops there."""
    cache = _structure(graph)
    key = ("kernel", int(b), kernel, _KERNEL_MAX_NNZ)
    if key in cache:
        return cache[key]
    indptr, indices = graph._undirected
    n = indptr.shape[0] - 1
    sizes, nnz = _ball_sizes(indptr, indices, int(b), int(_KERNEL_MAX_NNZ))
    out = None
    if nnz >= 0:
        row_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(sizes, out=row_ptr[1:])
        cols, vals = _kernel_entries(indptr, indices, kernel_weights(kernel, b), row_ptr)
        keep = vals != 0.0
        if not keep.all():   # drop the zero weights at d = b (Bartlett, Parzen)
            rows = np.repeat(np.arange(n), sizes)[keep]
            row_ptr = np.zeros(n + 1, np.int64)
            np.cumsum(np.bincount(rows, minlength=n), out=row_ptr[1:])
            cols, vals = cols[keep], vals[keep]
        K = sp.csr_array((vals, cols, row_ptr), shape=(n, n))
        uniform = bool((vals == 1.0).all())   # then K**2 = K, and products need not read the weights
        K2 = K if uniform else sp.csr_array((vals * vals, cols, row_ptr), shape=(n, n))
        out = (K, K2, uniform)
    cache[key] = out
    return out


def network_hac_bandwidth(graph) -> tuple[int, float, float]:
    r"""Leung's (2022) rule-of-thumb bandwidth for the network HAC estimator.

    With :math:`L` the average shortest-path length within the largest connected component
    (directions ignored) and :math:`\delta` the average degree over all units,

    .. math:: b = \begin{cases} \mathrm{round}(L/2) & \text{if } \delta > 1 \text{ and }
              L < 2 \log n / \log \delta \\ \mathrm{round}(L^{1/3}) & \text{otherwise,} \end{cases}

    at least 1. The first case is the "expanding" network (neighbourhoods grow exponentially
    with the radius, as in random graphs, where :math:`L \approx \log n / \log \delta`); the
    second covers lattice-like networks where they grow polynomially. The rule and its
    constants are as implemented by Leung in his ``networkinference`` package (the
    ``round`` is Python's). Above 4,000 units in the largest component, :math:`L` is averaged
    over BFS from 100 evenly spaced sources of that component (deterministic).

    Returns
    -------
    bandwidth : int
    average_path_length : float
    average_degree : float

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.estimators import network_hac_bandwidth
    >>> network_hac_bandwidth(ne.load_graph("karate"))[0]
    1
    """
    cache = _structure(graph)
    key = ("bandwidth", _APL_EXACT_MAX, _APL_SOURCES)
    if key not in cache:
        cache[key] = _bandwidth_rule(graph)
    return cache[key]


def _bandwidth_rule(graph) -> tuple[int, float, float]:
    """:func:`network_hac_bandwidth`, computed (BFS from every unit of the giant component, up to 4,000)."""
    from scipy.sparse.csgraph import connected_components

    indptr, indices = graph._undirected
    n = indptr.shape[0] - 1
    if n < 2:
        raise InputError(f"network_hac_bandwidth: the graph needs at least 2 units; got {n}.")
    nnz = int(indptr[-1])
    avg_deg = nnz / n
    if nnz == 0:
        return 1, 0.0, 0.0
    pattern = sp.csr_array((np.ones(nnz), indices, indptr), shape=(n, n))
    _, lab = connected_components(pattern, directed=False)
    giant = np.flatnonzero(lab == np.argmax(np.bincount(lab)))
    g = giant.shape[0]
    if g <= _APL_EXACT_MAX:
        sources = giant
        pairs_per_source = g - 1
    else:
        sources = giant[np.linspace(0, g - 1, _APL_SOURCES).round().astype(np.int64)]
        pairs_per_source = g - 1
    total, _ = _distance_sums(indptr, indices, sources.astype(np.int64))
    apl = float(total) / (sources.shape[0] * pairs_per_source) if pairs_per_source > 0 else 0.0
    expanding = avg_deg > 1 and apl < 2 * math.log(n) / math.log(avg_deg)
    b = round(apl / 2) if expanding else round(apl ** (1 / 3))
    return max(int(b), 1), apl, float(avg_deg)


def network_hac_meat(graph, scores: np.ndarray, bandwidth: int | None = None, kernel: str = "uniform"
                     ) -> tuple[np.ndarray, int, bool]:
    r"""Kernel-weighted sum of score cross-products over pairs within ``bandwidth`` hops.

    .. math:: \hat\Omega = \sum_{i,j:\, d(i,j) \le b} K\!\left(\frac{d(i,j)}{b}\right) s_i s_j'

    with :math:`d` the path distance in the graph with directions ignored (:math:`d(i,i)=0`).
    A uniform kernel does not guarantee a positive semi-definite :math:`\hat\Omega`; when it
    has a negative eigenvalue, the eigenvalues are clipped at zero (the eigenvalue correction)
    and an :class:`EstimationWarning` says so.

    Returns
    -------
    meat : ndarray (k, k)
    bandwidth : int
        The bandwidth used (Leung's rule when ``bandwidth`` is None).
    corrected : bool
        Whether the eigenvalue correction was applied.
    """
    S = np.ascontiguousarray(scores, dtype=float)
    if S.ndim == 1:
        S = S[:, None]
    if S.shape[0] != graph.n_nodes:
        raise InputError(f"graph must have one node per unit ({S.shape[0]}); got a graph on {graph.n_nodes} nodes.")
    if bandwidth is None:
        b = network_hac_bandwidth(graph)[0]
    else:
        b = check_int("bandwidth", bandwidth, low=0)
    kernel = check_option("kernel", kernel, HAC_KERNELS)
    km = _kernel_matrix(graph, b, kernel)
    if km is not None:
        meat = S.T @ _apply(km[0], S, km[2])
    else:
        indptr, indices = graph._undirected
        meat = _hac_meat(indptr, indices, S, kernel_weights(kernel, b))
    meat = 0.5 * (meat + meat.T)
    vals, vecs = np.linalg.eigh(meat)
    corrected = bool(vals.min() < -1e-12 * max(abs(vals.max()), 1e-300))
    if corrected:
        warn(f"The network HAC matrix (bandwidth {b}, {kernel} kernel) is not positive semi-definite "
             f"(smallest eigenvalue {vals.min():.3g}); its negative eigenvalues were set to zero. "
             "A Bartlett or Parzen kernel, or a smaller bandwidth, avoids this.", EstimationWarning)
        meat = (vecs * np.clip(vals, 0.0, None)) @ vecs.T
    return meat, b, corrected


def network_hac_df(graph, q: np.ndarray, bandwidth: int, kernel: str = "uniform") -> float:
    r"""Satterthwaite degrees of freedom of the network HAC variance of the contrast with influence ``q``.

    For a contrast :math:`c'\hat\beta` the HAC variance is :math:`\hat V = \sum_{i,j} K_{ij} q_i q_j
    e_i e_j` with :math:`q = X M c` (weights folded in) and :math:`K_{ij} = K(d(i,j)/b)`. Under the
    working model of independent homoskedastic errors (Bell & McCaffrey 2002's device for CR2; leverage
    ignored) :math:`\hat V \propto \varepsilon' D_q K D_q \varepsilon`, a quadratic form whose
    Satterthwaite df is

    .. math:: \nu = \frac{(\sum_i q_i^2)^2}{\sum_{i,j} K_{ij}^2 q_i^2 q_j^2}:

    the effective number of independent neighbourhoods the variance is estimated from (``b = 0``: the
    Kish effective sample size of the squared influences). Many pairs within the bandwidth, or a few
    units with large influence, give few df and a wider t interval; as the graph grows with bounded
    neighbourhoods :math:`\nu \to \infty` and the t interval tends to Leung's normal one.
    One sparse product with the graph's cached squared kernel matrix (a truncated BFS per unit above
    ``_KERNEL_MAX_NNZ`` entries), as for the meat.
    """
    q2 = np.ascontiguousarray(np.asarray(q, dtype=float) ** 2)
    kernel = check_option("kernel", kernel, HAC_KERNELS)
    km = _kernel_matrix(graph, int(bandwidth), kernel)
    if km is not None:
        den = float(q2 @ _apply(km[1], q2, km[2]))
    else:
        indptr, indices = graph._undirected
        den = float(_hac_meat(indptr, indices, q2[:, None], kernel_weights(kernel, int(bandwidth)) ** 2)[0, 0])
    num = float(q2.sum()) ** 2
    return num / den if den > 0 else float("nan")
