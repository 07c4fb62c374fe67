"""Seeded random graph generators that scale to 10^6 nodes and 10^7 edges.

Every generator takes a keyword-only ``rng`` (None, int, SeedSequence or Generator), draws
only from that Generator, and returns an undirected :class:`~netexp.graph._graph.Graph` on
units ``0..n-1``. The same seed gives the same graph, bit for bit.

Shared machinery
----------------
Exact uniform graphs (Erdos-Renyi, stochastic block model) are drawn as "a Binomial number of
edges, then a uniformly random set of that many distinct pairs". Pairs of every group (block
pair) are numbered ``0..N_g-1``; :func:`_sample_distinct` draws keys with replacement in
vectorized rounds, removes repeats with one sort, tops up groups that are short and finally
drops a uniformly random surplus, so every group ends with exactly its target number of
distinct keys. Because the draws are exchangeable over the keys of a group, the kept set is a
uniformly random subset of the requested size. Groups asked for more than half of their pairs
draw the complement instead.

Sequential parts (preferential attachment, trimming surpluses, alias tables, constrained
community assignment) run in small numba kernels that never touch numba's own random state:
they consume numbers drawn beforehand from the numpy Generator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from .._errors import InputError
from .._validation import check_int, check_probability, check_rng
from ._graph import Graph

__all__ = [
    "erdos_renyi",
    "stochastic_block_model",
    "watts_strogatz",
    "barabasi_albert",
    "social_network",
]

# Safety net for the rounds of with-replacement sampling; the draw plans make one or two
# rounds the rule, so hitting this means a bug (or an infeasible internal target).
_MAX_ROUNDS = 10_000
# Draws are made in chunks of this many, so the temporaries of a draw stay small.
_DRAW_CHUNK = 1 << 21
# Watts-Strogatz: rewiring attempts per edge before the edge is left on the lattice (only
# reachable when a node is adjacent to (almost) every other node).
_MAX_REWIRE_ROUNDS = 200
# social_network: a node's expected within-community degree is at most this fraction of the
# other members of its community (LFR-style feasibility; keeps Chung-Lu probabilities < 1/2).
_MAX_INTERNAL_SHARE = 0.5
# Barabasi-Albert: spare 64-bit words per buffer beyond the expected need (redraws of
# duplicate targets); a shortfall only triggers another, deterministic buffer.
_BA_MARGIN = 1024
# Largest n for which pair keys lo * n + hi fit in int64.
_MAX_NODES = 3_000_000_000


# =====================================================================================
# input checks (every message starts with the function name)
# =====================================================================================
def _fail(fn: str, msg: str):
    raise InputError(f"{fn}: {msg}")


def _int(fn: str, name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    try:
        return check_int(name, value, low=low, high=high)
    except InputError as e:
        raise InputError(f"{fn}: {e}") from None


def _prob(fn: str, name: str, value: Any) -> float:
    try:
        return check_probability(name, value, open_interval=False)
    except InputError as e:
        raise InputError(f"{fn}: {e}") from None


def _real(fn: str, name: str, value: Any, *, low: float, low_open: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        _fail(fn, f"{name} must be a number; got {value!r}.")
    if isinstance(value, bool) or not np.isfinite(x) or x < low or (low_open and x == low):
        op = ">" if low_open else ">="
        _fail(fn, f"{name} must be a finite number {op} {low:g}; got {value!r}.")
    return x


def _rng(fn: str, rng: Any) -> np.random.Generator:
    try:
        return check_rng(rng)
    except InputError as e:
        raise InputError(f"{fn}: {e}") from None


# =====================================================================================
# numba kernels (no numba RNG: every random number is passed in)
# =====================================================================================
@njit(cache=True)
def _drop_random_kernel(keys, starts, n_drop, picks):
    """Mark ``n_drop[g]`` uniformly chosen entries of each run ``keys[starts[g]:...]`` for removal.

    Partial Fisher-Yates: step t swaps entry t with entry t + picks[p], where picks[p] is
    uniform on [0, count - t) (drawn by the caller), and marks position t. Returns the keep mask.
    """
    keep = np.ones(keys.shape[0], dtype=np.bool_)
    p = 0
    for g in range(starts.shape[0]):
        s = starts[g]
        for t in range(n_drop[g]):
            j = s + t + picks[p]
            p += 1
            tmp = keys[s + t]
            keys[s + t] = keys[j]
            keys[j] = tmp
            keep[s + t] = False
    return keep


@njit(cache=True)
def _ba_kernel(n, m, ends, mark, raw, t0):
    """Batagelj-Brandes preferential attachment from node ``t0`` on, consuming ``raw``.

    ``ends`` holds edge endpoints pairwise (edge e = ends[2e], ends[2e+1]); the entries written
    before node t form networkx's ``repeated_nodes`` list (each node once per incident edge),
    so a uniform position in ``ends[:L_t]`` picks a node with probability degree / (2 * edges).
    Uniform positions come from 64-bit words by rejection (exactly uniform). Duplicates within
    a node's m targets are redrawn (``mark`` holds the last node that chose each target).
    Returns (next node to process, words used); a node left unfinished when ``raw`` runs out
    is rolled back so the caller can resume it with fresh words.
    """
    p = 0
    n_raw = raw.shape[0]
    for t in range(t0, n):
        L = 2 * m * (t - m)
        Lu = np.uint64(L)
        threshold = (np.uint64(0) - Lu) % Lu  # 2**64 mod L: reject below it
        base = L
        j = 0
        while j < m:
            if p >= n_raw:
                for q in range(j):
                    mark[ends[base + 2 * q + 1]] = -1
                return t, p
            x = raw[p]
            p += 1
            if x < threshold:
                continue
            target = ends[np.int64(x % Lu)]
            if mark[target] == t:
                continue
            mark[target] = t
            ends[base + 2 * j] = t
            ends[base + 2 * j + 1] = target
            j += 1
    return n, p


@njit(cache=True)
def _partial_shuffle_kernel(picks):
    """Sequential Fisher-Yates with caller-drawn offsets: item t gets slot avail[t] after
    swapping position t with t + picks[t]. With picks[t] uniform on [0, E_t - t) and E_t
    non-decreasing, item t gets a uniformly random free slot among the first E_t slots."""
    n = picks.shape[0]
    avail = np.arange(n)
    out = np.empty(n, dtype=np.int64)
    for t in range(n):
        j = t + picks[t]
        tmp = avail[t]
        avail[t] = avail[j]
        avail[j] = tmp
        out[t] = avail[t]
    return out


@njit(cache=True)
def _alias_kernel(weights, offsets):
    """Walker/Vose alias tables for each segment weights[offsets[c]:offsets[c+1]]."""
    n = weights.shape[0]
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n)
    q = np.empty(n, dtype=np.float64)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    for c in range(offsets.shape[0] - 1):
        a = offsets[c]
        b = offsets[c + 1]
        s = b - a
        total = 0.0
        for i in range(a, b):
            total += weights[i]
        if s == 0 or total <= 0.0:
            continue
        ns = 0
        nl = 0
        for i in range(a, b):
            q[i] = weights[i] * s / total
            if q[i] < 1.0:
                small[ns] = i
                ns += 1
            else:
                large[nl] = i
                nl += 1
        while ns > 0 and nl > 0:
            ns -= 1
            lo = small[ns]
            g = large[nl - 1]
            prob[lo] = q[lo]
            alias[lo] = g
            q[g] = (q[g] + q[lo]) - 1.0
            if q[g] < 1.0:
                nl -= 1
                small[ns] = g
                ns += 1
        # leftovers are 1 up to rounding
        for r in range(nl):
            prob[large[r]] = 1.0
        for r in range(ns):
            prob[small[r]] = 1.0
    return prob, alias


# =====================================================================================
# distinct sampling in rounds
# =====================================================================================
def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique is much slower than a plain sort here)."""
    if a.size == 0:
        return a
    a = np.sort(a)
    keep = np.empty(a.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def _segment_offsets(counts: np.ndarray) -> np.ndarray:
    """Position of each element within its run, for runs of the given lengths."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def _sample_distinct(target, bounds, draw, plan, rng):
    """Exactly ``target[g]`` distinct keys in ``[bounds[g], bounds[g+1])`` for every group g.

    ``draw(gid)`` returns one key per entry of ``gid`` (the group of each draw), or -1 for a
    rejected draw; ``plan(idx, deficit, count, made, gained)`` says how many draws the groups
    ``idx`` make next, given their shortfall, distinct keys so far and last round's draws and
    gains. Rounds repeat until no group is short; a uniformly random surplus is then dropped.
    Returns the keys with every group's keys contiguous, groups in order (unsorted within).
    """
    G = target.shape[0]
    have = np.empty(0, dtype=np.int64)
    count = np.zeros(G, dtype=np.int64)
    made = np.zeros(G, dtype=np.int64)
    gained = np.zeros(G, dtype=np.int64)
    for _ in range(_MAX_ROUNDS):
        deficit = target - count
        idx = np.flatnonzero(deficit > 0)
        if idx.size == 0:
            break
        n_draw = np.asarray(plan(idx, deficit[idx], count[idx], made[idx], gained[idx]), dtype=np.int64)
        n_draw = np.maximum(n_draw, deficit[idx])
        gid = np.repeat(idx, n_draw)
        parts = []
        for start in range(0, gid.shape[0], _DRAW_CHUNK):  # bounded temporaries per draw
            k_ = draw(gid[start:start + _DRAW_CHUNK])
            parts.append(k_[k_ >= 0])
        del gid
        keys = _sorted_unique(np.concatenate(parts) if len(parts) != 1 else parts[0])
        del parts
        if have.size and keys.size:
            pos = np.minimum(np.searchsorted(have, keys), have.shape[0] - 1)
            keys = keys[have[pos] != keys]
            have = np.sort(np.concatenate([have, keys]), kind="stable")  # merge of two sorted runs
        elif keys.size:
            have = keys
        new_count = np.diff(np.searchsorted(have, bounds))
        made[:] = 0
        made[idx] = n_draw
        gained = new_count - count
        count = new_count
    else:  # pragma: no cover - safety net
        raise RuntimeError("random graph sampling did not converge; please report this as a bug.")
    excess = count - target
    if not excess.any():
        return have
    grp = np.flatnonzero(excess > 0)
    starts = (np.cumsum(count) - count)[grp]
    e = excess[grp]
    highs = np.repeat(count[grp], e) - _segment_offsets(e)
    picks = rng.integers(0, highs)
    keep = _drop_random_kernel(have, starts, e, picks)
    return have[keep]


def _uniform_plan(N):
    """Draws expected to add ``deficit`` new keys to ``count`` seen ones out of N[g] (coupon
    collector), plus three standard deviations of the number of repeats."""
    Nf = N.astype(np.float64)

    def plan(idx, deficit, count, made, gained):
        n = Nf[idx]
        expected = -n * np.log1p(-deficit / (n - count))
        repeats = np.maximum(expected - deficit, 0.0)
        return np.ceil(expected + 3.0 * np.sqrt(repeats) + 1.0)

    return plan


def _uniform_subsets(N: np.ndarray, M: np.ndarray, rng: np.random.Generator):
    """For every group g a uniformly random ``M[g]``-subset of ``range(N[g])``.

    Returns ``(gid, local)``: the group and the index within it of every chosen element.
    Groups asked for more than half their elements sample the complement.
    """
    N = np.asarray(N, dtype=np.int64)
    M = np.asarray(M, dtype=np.int64)
    G = N.shape[0]
    flip = 2 * M > N
    T = np.where(flip, N - M, M)
    bounds = np.zeros(G + 1, dtype=np.int64)
    np.cumsum(N, out=bounds[1:])
    if G == 1:
        def draw(gid):
            return rng.integers(0, N[0], size=gid.shape[0], dtype=np.int64)
    else:
        def draw(gid):
            return bounds[gid] + rng.integers(0, N[gid], dtype=np.int64)
    keys = _sample_distinct(T, bounds, draw, _uniform_plan(N), rng)
    gid = np.repeat(np.arange(G, dtype=np.int64), T)
    if flip.any():
        sel = flip[gid]
        missing = np.sort(keys[sel])
        fg = np.flatnonzero(flip)
        full = np.arange(int(N[fg].sum()), dtype=np.int64)
        full += np.repeat(bounds[fg] - (np.cumsum(N[fg]) - N[fg]), N[fg])
        present = np.ones(full.shape[0], dtype=bool)
        present[np.searchsorted(full, missing)] = False
        keys = np.concatenate([keys[~sel], full[present]])
        gid = np.concatenate([gid[~sel], np.repeat(fg, M[fg])])
    return gid, keys - bounds[gid]


def _triangle_decode(local: np.ndarray):
    """Pair (lo, hi), lo < hi, numbered ``local = hi*(hi-1)/2 + lo`` (all pairs of a block)."""
    hi = ((1.0 + np.sqrt(1.0 + 8.0 * local.astype(np.float64))) * 0.5).astype(np.int64)
    for _ in range(2):  # float rounding can be off by one either way
        hi -= (hi * (hi - 1) // 2 > local)
        hi += ((hi + 1) * hi // 2 <= local)
    return local - hi * (hi - 1) // 2, hi


def _graph(n: int, u: np.ndarray, v: np.ndarray, name: str) -> Graph:
    return Graph._from_codes(n, np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64),
                             np.arange(n, dtype=np.int64), directed=False, name=name, warn=False)


# =====================================================================================
# Erdos-Renyi
# =====================================================================================
def erdos_renyi(n: int, p: float | None = None, *, mean_degree: float | None = None, rng=None) -> Graph:
    """Erdos-Renyi random graph G(n, p): every pair of units is joined independently.

    Parameters
    ----------
    n : int
        Number of units (>= 1).
    p : float, optional
        Edge probability in [0, 1]. Give exactly one of ``p`` and ``mean_degree``.
    mean_degree : float, optional
        Expected degree, in [0, n - 1]; sets ``p = mean_degree / (n - 1)``.
    rng : None, int, SeedSequence or Generator, keyword-only
        Source of randomness.

    Returns
    -------
    Graph
        Undirected graph on units ``0..n-1``.

    Raises
    ------
    InputError
        If both or neither of ``p`` and ``mean_degree`` are given, or a value is out of range.

    Notes
    -----
    The draw is exact, not an approximation: the number of edges is drawn as
    :math:`M \\sim \\mathrm{Binomial}(\\binom{n}{2}, p)` and the edge set is a uniformly
    random set of :math:`M` distinct pairs, which together is the law of :math:`G(n, p)`.
    The pairs are drawn with replacement in vectorized rounds (pair indices as 64-bit keys,
    repeats removed by sorting) until at least :math:`M` distinct pairs are found, and a
    uniformly random surplus is discarded. When :math:`p > 1/2` the :math:`\\binom{n}{2} - M`
    missing pairs are drawn instead. Cost is :math:`O(M \\log M)` time and :math:`O(M)` memory.

    References
    ----------
    .. [1] P. Erdos and A. Renyi, "On random graphs I", Publicationes Mathematicae 6,
       290-297, 1959.
    .. [2] E. N. Gilbert, "Random graphs", Annals of Mathematical Statistics 30(4),
       1141-1144, 1959.

    Examples
    --------
    >>> from netexp.graph._generators import erdos_renyi
    >>> g = erdos_renyi(1000, mean_degree=10, rng=0)
    >>> g.n_nodes
    1000
    >>> 4500 < g.n_edges < 5500
    True
    """
    fn = "erdos_renyi"
    n = _int(fn, "n", n, low=1, high=_MAX_NODES)
    if (p is None) == (mean_degree is None):
        _fail(fn, "give exactly one of p or mean_degree; got " + ("both." if p is not None else "neither."))
    if p is None:
        md = _real(fn, "mean_degree", mean_degree, low=0.0)
        if md > n - 1:
            _fail(fn, f"mean_degree must be in [0, n - 1] = [0, {n - 1}]; got {mean_degree!r}.")
        p = md / (n - 1) if n > 1 else 0.0
        label = f"mean_degree={md:g}"
    else:
        p = _prob(fn, "p", p)
        label = f"p={p:g}"
    gen = _rng(fn, rng)
    N = n * (n - 1) // 2
    M = int(gen.binomial(N, p)) if N > 0 else 0
    if M == 0:
        u = v = np.empty(0, dtype=np.int64)
    else:
        _, local = _uniform_subsets(np.array([N]), np.array([M]), gen)
        u, v = _triangle_decode(local)
    return _graph(n, u, v, f"erdos_renyi(n={n}, {label})")


# =====================================================================================
# stochastic block model
# =====================================================================================
def stochastic_block_model(sizes, p, *, rng=None, return_labels: bool = False):
    """Stochastic block model: units in blocks, pairs joined independently with a block-pair probability.

    Parameters
    ----------
    sizes : sequence of int
        Block sizes (>= 0, at least one unit in total). Block ``b`` holds the consecutive
        units ``sum(sizes[:b]) .. sum(sizes[:b+1]) - 1``.
    p : array-like, shape (k, k)
        Symmetric matrix of edge probabilities in [0, 1]; ``p[a, b]`` is the probability that
        a given unit of block ``a`` and a given unit of block ``b`` are joined.
    rng : None, int, SeedSequence or Generator, keyword-only
        Source of randomness.
    return_labels : bool, default False
        Also return the block of every unit.

    Returns
    -------
    Graph or (Graph, ndarray)
        The graph on units ``0..n-1`` and, with ``return_labels``, the int64 block labels.

    Notes
    -----
    Exact for every block pair: the number of edges between blocks a < b is
    :math:`\\mathrm{Binomial}(s_a s_b, p_{ab})` and within block a it is
    :math:`\\mathrm{Binomial}(s_a(s_a-1)/2, p_{aa})`; the edges are then a uniformly random set
    of that many distinct pairs of the block pair. All block pairs are sampled together in the
    same vectorized rounds as :func:`erdos_renyi` (no loop over block pairs), so cost is
    :math:`O(k^2 + M \\log M)` for k blocks and M edges.

    References
    ----------
    .. [1] P. W. Holland, K. B. Laskey and S. Leinhardt, "Stochastic blockmodels: First
       steps", Social Networks 5(2), 109-137, 1983.

    Examples
    --------
    >>> import numpy as np
    >>> from netexp.graph._generators import stochastic_block_model
    >>> p = np.array([[0.2, 0.01], [0.01, 0.2]])
    >>> g, labels = stochastic_block_model([100, 100], p, rng=0, return_labels=True)
    >>> g.n_nodes, np.bincount(labels).tolist()
    (200, [100, 100])
    """
    fn = "stochastic_block_model"
    try:
        s = np.asarray(sizes)
    except Exception:  # pragma: no cover - exotic input
        _fail(fn, f"sizes must be a 1-D sequence of non-negative integers; got {sizes!r}.")
    if s.ndim != 1 or s.shape[0] == 0 or s.dtype.kind not in "iuf" or (
            s.dtype.kind == "f" and not np.all(np.isfinite(s) & (s == np.round(s)))):
        _fail(fn, f"sizes must be a non-empty 1-D sequence of non-negative integers; got {sizes!r}.")
    s = s.astype(np.int64)
    if (s < 0).any():
        _fail(fn, f"sizes must be non-negative; got {int(s.min())} at block {int(np.argmin(s))}.")
    n = int(s.sum())
    if n < 1 or n > _MAX_NODES:
        _fail(fn, f"the block sizes must add up to a number of units in [1, {_MAX_NODES}]; got {n}.")
    k = s.shape[0]
    try:
        P = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(fn, f"p must be a {k} x {k} matrix of probabilities; got {p!r}.")
    if P.shape != (k, k):
        _fail(fn, f"p must have shape ({k}, {k}) to match {k} blocks; got shape {P.shape}.")
    if not np.all(np.isfinite(P)) or (P < 0).any() or (P > 1).any():
        bad = np.argwhere(~(np.isfinite(P) & (P >= 0) & (P <= 1)))[0]
        _fail(fn, f"p must contain probabilities in [0, 1]; got p[{bad[0]}, {bad[1]}] = {float(P[bad[0], bad[1]])!r}.")
    if not np.allclose(P, P.T, rtol=0.0, atol=1e-12):
        a, b = np.argwhere(np.abs(P - P.T) > 1e-12)[0]
        _fail(fn, f"p must be symmetric for an undirected graph; got p[{a}, {b}] = {float(P[a, b])!r} "
                  f"but p[{b}, {a}] = {float(P[b, a])!r}.")
    gen = _rng(fn, rng)

    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(s, out=offsets[1:])
    a, b = np.triu_indices(k)
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    same = a == b
    Npairs = np.where(same, s[a] * (s[a] - 1) // 2, s[a] * s[b])
    M = gen.binomial(Npairs, P[a, b]).astype(np.int64)
    keep = M > 0
    a, b, same, Npairs, M = a[keep], b[keep], same[keep], Npairs[keep], M[keep]
    if M.size:
        gid, local = _uniform_subsets(Npairs, M, gen)
        u = offsets[a[gid]]
        v = offsets[b[gid]]
        w = np.flatnonzero(same[gid])
        lo, hi = _triangle_decode(local[w])
        u[w] += lo
        v[w] += hi
        del w, lo, hi
        x = np.flatnonzero(~same[gid])
        sb = s[b[gid[x]]]
        lx = local[x]
        u[x] += lx // sb
        v[x] += lx % sb
    else:
        u = v = np.empty(0, dtype=np.int64)
    g = _graph(n, u, v, f"stochastic_block_model(n={n}, blocks={k})")
    if return_labels:
        return g, np.repeat(np.arange(k, dtype=np.int64), s)
    return g


# =====================================================================================
# Watts-Strogatz
# =====================================================================================
def watts_strogatz(n: int, k: int, p: float, *, rng=None) -> Graph:
    """Watts-Strogatz small world: a ring lattice whose edges are rewired with probability p.

    Parameters
    ----------
    n : int
        Number of units (>= 1).
    k : int
        Even lattice degree: each unit is first joined to its ``k/2`` nearest units on each
        side of the ring; ``0 <= k < n``.
    p : float
        Rewiring probability in [0, 1].
    rng : None, int, SeedSequence or Generator, keyword-only
        Source of randomness.

    Returns
    -------
    Graph
        Undirected graph on units ``0..n-1`` with exactly ``n*k/2`` edges.

    Notes
    -----
    Follows the semantics of ``networkx.watts_strogatz_graph``: the lattice edges are
    ``(u, u+j mod n)`` for ``j = 1..k/2``; each is rewired independently with probability
    ``p`` by replacing its far end ``u+j`` with a uniformly drawn unit ``w``, where ``w`` may
    not be ``u``, a lattice neighbour of ``u`` (networkx forbids current neighbours, which
    are the lattice neighbours up to O(k/n) differences) or a unit ``u`` is already joined to
    by another rewired edge. Forbidden draws are redrawn in vectorized rounds; when two
    rewired edges land on the same pair, the first in networkx's order (by ``j``, then by
    ``u``) keeps it and the other redraws. An edge that finds no free unit after 200 rounds
    stays on the lattice (networkx likewise skips a unit adjacent to all others), so the
    graph always has ``n*k/2`` edges. With ``p = 0`` it is the ring lattice, whose average
    clustering is :math:`3(k-2)/(4(k-1))`.

    References
    ----------
    .. [1] D. J. Watts and S. H. Strogatz, "Collective dynamics of 'small-world' networks",
       Nature 393, 440-442, 1998.

    Examples
    --------
    >>> from netexp.graph._generators import watts_strogatz
    >>> g = watts_strogatz(100, 4, 0.1, rng=0)
    >>> g.n_edges
    200
    """
    fn = "watts_strogatz"
    n = _int(fn, "n", n, low=1, high=_MAX_NODES)
    k = _int(fn, "k", k, low=0)
    if k % 2:
        _fail(fn, f"k must be even (k/2 neighbours on each side of the ring); got {k}.")
    if k >= n:
        _fail(fn, f"k must be smaller than n={n}; got {k}.")
    p = _prob(fn, "p", p)
    gen = _rng(fn, rng)
    half = k // 2
    u = np.tile(np.arange(n, dtype=np.int64), half)
    v = (u + np.repeat(np.arange(1, half + 1, dtype=np.int64), n)) % n
    if p > 0 and half > 0 and n - 1 - k > 0:
        pending = np.flatnonzero(gen.random(u.shape[0]) < p)
        placed = np.empty(0, dtype=np.int64)  # sorted pair keys of rewired edges already placed
        for _ in range(_MAX_REWIRE_ROUNDS):
            if pending.size == 0:
                break
            uu = u[pending]
            w = gen.integers(0, n - 1, size=pending.shape[0], dtype=np.int64)
            w += w >= uu  # uniform over units other than uu
            d = np.abs(w - uu)
            ok = np.minimum(d, n - d) > half  # not a lattice neighbour
            key = np.minimum(uu, w) * n + np.maximum(uu, w)
            if placed.size:
                pos = np.minimum(np.searchsorted(placed, key), placed.shape[0] - 1)
                ok &= placed[pos] != key
            cand = np.flatnonzero(ok)  # in edge order
            ck = key[cand]
            sk = np.sort(ck)
            dup = sk[1:][sk[1:] == sk[:-1]]
            if dup.size:
                dup = _sorted_unique(dup)
                pos = np.minimum(np.searchsorted(dup, ck), dup.shape[0] - 1)
                flagged = np.flatnonzero(dup[pos] == ck)
                order = np.argsort(ck[flagged], kind="stable")
                fk = ck[flagged][order]
                first = np.ones(fk.shape[0], dtype=bool)
                first[1:] = fk[1:] != fk[:-1]
                lose = flagged[order[~first]]
                ok[cand[lose]] = False
                cand = np.flatnonzero(ok)
                ck = key[cand]
            v[pending[cand]] = w[cand]
            placed = np.sort(np.concatenate([placed, np.sort(ck)]), kind="stable")
            pending = pending[~ok]
    return _graph(n, u, v, f"watts_strogatz(n={n}, k={k}, p={p:g})")


# =====================================================================================
# Barabasi-Albert
# =====================================================================================
def barabasi_albert(n: int, m: int, *, rng=None) -> Graph:
    """Barabasi-Albert preferential attachment graph.

    Parameters
    ----------
    n : int
        Number of units.
    m : int
        Edges attached from each new unit to distinct existing units; ``1 <= m < n``.
    rng : None, int, SeedSequence or Generator, keyword-only
        Source of randomness.

    Returns
    -------
    Graph
        Undirected graph on units ``0..n-1`` with exactly ``m * (n - m)`` edges.

    Notes
    -----
    Same model as ``networkx.barabasi_albert_graph(n, m)``: start from a star on units
    ``0..m`` (unit 0 the centre); each later unit ``t = m+1, ..., n-1`` joins ``m`` distinct
    earlier units, each chosen with probability proportional to its current degree (a target
    drawn twice is redrawn). Implemented with the Batagelj-Brandes list of edge endpoints, in
    which every unit appears once per incident edge, so a uniform position is a
    degree-proportional pick: :math:`O(nm)` time in a compiled kernel. The kernel uses no
    random state of its own; it consumes 64-bit words drawn beforehand from ``rng`` (a buffer
    with a margin, topped up deterministically if redraws exhaust it), turned into exactly
    uniform positions by rejection. The degree distribution has a power-law tail
    :math:`P(d) \\sim d^{-3}`.

    References
    ----------
    .. [1] A.-L. Barabasi and R. Albert, "Emergence of scaling in random networks",
       Science 286, 509-512, 1999.
    .. [2] V. Batagelj and U. Brandes, "Efficient generation of large random networks",
       Physical Review E 71, 036113, 2005.

    Examples
    --------
    >>> from netexp.graph._generators import barabasi_albert
    >>> g = barabasi_albert(1000, 3, rng=0)
    >>> g.n_edges
    2991
    """
    fn = "barabasi_albert"
    n = _int(fn, "n", n, low=2, high=_MAX_NODES)
    m = _int(fn, "m", m, low=1)
    if m >= n:
        _fail(fn, f"m must be in [1, n - 1] = [1, {n - 1}]; got {m}.")
    gen = _rng(fn, rng)
    n_edges = m * (n - m)
    ends = np.empty(2 * n_edges, dtype=np.int64)
    ends[0:2 * m:2] = 0  # the star: centre 0 joined to 1..m
    ends[1:2 * m:2] = np.arange(1, m + 1)
    mark = np.full(n, -1, dtype=np.int64)
    t = m + 1
    while t < n:
        need = m * (n - t)
        raw = gen.integers(0, 2**64, size=need + need // 32 + _BA_MARGIN, dtype=np.uint64)
        t, _ = _ba_kernel(n, m, ends, mark, raw, t)
    return _graph(n, ends[0::2], ends[1::2], f"barabasi_albert(n={n}, m={m})")


# =====================================================================================
# social network: degree-corrected planted partition (LFR-like)
# =====================================================================================
def _community_sizes(n: int, lo: int, hi: int, exponent: float, gen: np.random.Generator) -> np.ndarray:
    """Sizes from P(s) ~ s**-exponent on [lo, min(hi, n - lo)], drawn until they reach n; the
    last is cut to the remainder, and merged into the previous one if below lo."""
    hi = min(hi, n - lo)
    values = np.arange(lo, hi + 1, dtype=np.int64)
    cdf = np.cumsum(values.astype(np.float64) ** -exponent)
    cdf /= cdf[-1]
    mean = float(np.dot(values, np.diff(np.concatenate([[0.0], cdf]))))
    chunks = []
    total = 0
    while total < n:
        batch = int(1.2 * (n - total) / mean) + 16
        draw = values[np.minimum(np.searchsorted(cdf, gen.random(batch), side="right"), values.shape[0] - 1)]
        chunks.append(draw)
        total += int(draw.sum())
    sizes = np.concatenate(chunks)
    csum = np.cumsum(sizes)
    K = int(np.searchsorted(csum, n)) + 1  # first K sizes reach n
    sizes = sizes[:K].copy()
    sizes[-1] = n - (int(csum[K - 2]) if K > 1 else 0)
    if sizes[-1] < lo and K > 1:
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes


def _scale_to_mean(theta: np.ndarray, cap: np.ndarray, target_mean: float) -> np.ndarray:
    """min(lam * theta, cap) with lam solving mean = target_mean exactly (piecewise linear)."""
    t = cap / theta  # lam at which each unit reaches its cap
    order = np.argsort(t, kind="stable")
    ts, th, cp = t[order], theta[order], cap[order]
    n = theta.shape[0]
    cum_cap = np.concatenate([[0.0], np.cumsum(cp)])
    rest_theta = th.sum() - np.concatenate([[0.0], np.cumsum(th)])
    # mean at lam = ts[j]: units 0..j capped (unit j exactly at its cap)
    f = (cum_cap[1:] + ts * rest_theta[1:]) / n
    j = int(np.searchsorted(f, target_mean))
    if j >= n:
        return cap.copy()
    lam = (target_mean * n - cum_cap[j]) / rest_theta[j]
    return np.minimum(lam * theta, cap)


def _weighted_plan(q_reject: np.ndarray, n_eff: np.ndarray):
    """Draw plan for pairs drawn with unequal probabilities: a coupon-collector estimate with
    the effective number of pairs 1/sum(pi^2) in the first round, the observed yield after."""

    def plan(idx, deficit, count, made, gained):
        ne_ = n_eff[idx]
        d = deficit.astype(np.float64)
        c = count.astype(np.float64)
        room = ne_ - c
        ratio = np.where(room > d, d / np.maximum(room, 1.0), 0.5)
        est = np.where(room > 1.25 * d, -ne_ * np.log1p(-ratio), 2.0 * d)
        est = est / np.maximum(1.0 - q_reject[idx], 1e-3)
        observed = np.where(gained > 0, d * made / np.maximum(gained, 1) * 1.1, 2.0 * made)
        n_draw = np.where(made > 0, np.maximum(observed, est), est)
        return np.ceil(n_draw + 3.0 * np.sqrt(np.maximum(n_draw - d, 0.0)) + 1.0)

    return plan


def _alias_draw(gen, prob, alias, off, size, gid):
    """Units drawn with the alias tables of segments ``gid`` (offsets ``off``, lengths ``size``)."""
    sz = size[gid]
    j = off[gid] + np.minimum((gen.random(gid.shape[0]) * sz).astype(np.int64), sz - 1)
    return np.where(gen.random(gid.shape[0]) < prob[j], j, alias[j])


def social_network(n: int, *, mean_degree: float = 15.0, mixing: float = 0.1, degree_exponent: float = 2.5,
                   community_size: tuple[int, int] = (20, 200), community_exponent: float = 2.0, rng=None,
                   return_labels: bool = False):
    """A social network with planted communities and heavy-tailed degrees (LFR-like model).

    Parameters
    ----------
    n : int
        Number of units; at least ``2 * community_size[0]`` (two communities).
    mean_degree : float, default 15
        Expected mean degree, in (0, n - 1).
    mixing : float, default 0.1
        Expected fraction of every unit's degree that goes to other communities, in [0, 1]
        (the LFR mixing parameter mu).
    degree_exponent : float, default 2.5
        Exponent tau of the power-law degree density ``P(d) ~ d**-tau`` (> 1).
    community_size : (int, int), default (20, 200)
        Smallest and largest community size, ``2 <= min <= max``.
    community_exponent : float, default 2
        Exponent beta of the community-size law ``P(s) ~ s**-beta`` (>= 0).
    rng : None, int, SeedSequence or Generator, keyword-only
        Source of randomness.
    return_labels : bool, default False
        Also return the planted community of every unit.

    Returns
    -------
    Graph or (Graph, ndarray)
        The graph on units ``0..n-1`` and, with ``return_labels``, the int64 community labels
        (community 0 is the largest).

    Raises
    ------
    InputError
        For out-of-range parameters, or a ``mean_degree`` that communities of the given sizes
        cannot hold at this ``mixing``.

    Notes
    -----
    A degree-corrected planted partition with Chung-Lu blocks, in the spirit of the LFR
    benchmark [1]_ and the degree-corrected block model [2]_. Write :math:`\\bar d` for
    ``mean_degree``, :math:`\\mu` for ``mixing``, :math:`\\tau` for ``degree_exponent`` and
    :math:`\\rho = 1/2`.

    1. **Communities.** Sizes are drawn i.i.d. from :math:`P(s) \\propto s^{-\\beta}` on the
       integers :math:`[s_{min}, \\min(s_{max}, n - s_{min})]` until they add up to at least
       ``n``; the last is cut to the remainder and merged into the previous one if that
       remainder is below :math:`s_{min}`.
    2. **Propensities.** :math:`\\theta_i = U_i^{-1/(\\tau-1)}` (Pareto, density exponent
       :math:`\\tau`). A first set of expected degrees
       :math:`d^0_i = \\min(\\lambda_0 \\theta_i, d_{max})`, with :math:`\\lambda_0` such that
       their mean is :math:`\\bar d` and :math:`d_{max} = \\min(\\rho (s_{(1)} - 1)/(1-\\mu),
       \\sqrt{n \\bar d}, n - 1)` (:math:`s_{(1)}` the largest community; :math:`\\sqrt{n\\bar d}`
       is the structural cut-off of Chung-Lu graphs).
    3. **Assignment (LFR constraint).** A unit may join community c only if its expected
       within-community degree fits: :math:`(1-\\mu) d^0_i \\le \\rho (s_c - 1)`. Units are
       placed from the largest :math:`d^0` down, each in a uniformly random free place among
       the communities it fits; a unit for which no such place is left takes the largest
       free place and is capped below.
    4. **Expected degrees.** :math:`d_i = \\min(\\lambda \\theta_i, c_i)` with the unit's cap
       :math:`c_i = \\min(d_{max}, \\rho (s_{c(i)} - 1)/(1-\\mu))` and :math:`\\lambda` solving
       :math:`\\mathrm{mean}(d) = \\bar d` exactly. Within-community part
       :math:`\\kappa_i = (1-\\mu) d_i`, between-community part :math:`\\eta_i = \\mu d_i`.
    5. **Edges inside community c** (Chung-Lu): :math:`M_c \\sim \\mathrm{Poisson}(K_c/2)`,
       :math:`K_c = \\sum_{i \\in c} \\kappa_i` (at most the number of pairs of c); the edges
       are distinct pairs drawn with replacement with both ends i.i.d. proportional to
       :math:`\\kappa` within c (self-pairs rejected), in rounds until :math:`M_c` distinct
       pairs are found, a uniformly random surplus being dropped.
    6. **Edges between communities** (Chung-Lu): :math:`M_{out} \\sim \\mathrm{Poisson}(\\sum_i
       \\eta_i / 2)` distinct pairs drawn the same way with both ends proportional to
       :math:`\\eta` over all units, pairs inside one community rejected.
    7. Unit ids are a uniformly random permutation of the places, so ids carry no
       information about communities.

    Hence the expected number of edges is :math:`n\\bar d/2`, the expected fraction of edges
    between communities is :math:`\\mu`, and the expected degree of unit i is about
    :math:`d_i` (a little less for the largest :math:`d_i` of a community, whose repeated
    draws are absorbed by the others): a power law with exponent :math:`\\tau` up to the caps.
    Because of step 3, units of high degree sit in large communities, as in LFR. Endpoints
    are drawn with Walker alias tables (one per community, built in :math:`O(n)`), which is
    the inverse-CDF ("cumulative sum + searchsorted") draw done in :math:`O(1)` per endpoint.

    References
    ----------
    .. [1] A. Lancichinetti, S. Fortunato and F. Radicchi, "Benchmark graphs for testing
       community detection algorithms", Physical Review E 78, 046110, 2008.
    .. [2] B. Karrer and M. E. J. Newman, "Stochastic blockmodels and community structure in
       networks", Physical Review E 83, 016107, 2011.
    .. [3] F. Chung and L. Lu, "Connected components in random graphs with given expected
       degree sequences", Annals of Combinatorics 6, 125-145, 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from netexp.graph._generators import social_network
    >>> g, labels = social_network(2000, mean_degree=10, rng=0, return_labels=True)
    >>> g.n_nodes
    2000
    >>> u, v = g.edges()
    >>> bool(abs(np.mean(labels[u] != labels[v]) - 0.1) < 0.03)
    True
    """
    fn = "social_network"
    n = _int(fn, "n", n, low=2, high=_MAX_NODES)
    try:
        lo_s, hi_s = community_size
    except (TypeError, ValueError):
        _fail(fn, f"community_size must be a pair (min, max) of integers; got {community_size!r}.")
    lo_s = _int(fn, "community_size[0]", lo_s, low=2)
    hi_s = _int(fn, "community_size[1]", hi_s, low=2)
    if hi_s < lo_s:
        _fail(fn, f"community_size must be (min, max) with min <= max; got {community_size!r}.")
    if n < 2 * lo_s:
        _fail(fn, f"n must be at least 2 * community_size[0] = {2 * lo_s} (two communities); got {n}. "
                  "Lower the smallest community size or add units.")
    md = _real(fn, "mean_degree", mean_degree, low=0.0, low_open=True)
    if md >= n - 1:
        _fail(fn, f"mean_degree must be in (0, n - 1) = (0, {n - 1}); got {mean_degree!r}.")
    mu = _prob(fn, "mixing", mixing)
    tau = _real(fn, "degree_exponent", degree_exponent, low=1.0, low_open=True)
    beta = _real(fn, "community_exponent", community_exponent, low=0.0)
    gen = _rng(fn, rng)

    # 1. communities, ordered by size (largest first; ties in random order)
    sizes = _community_sizes(n, lo_s, hi_s, beta, gen)
    order = np.lexsort((gen.random(sizes.shape[0]), -sizes))
    sizes = sizes[order]
    K = sizes.shape[0]
    offsets = np.zeros(K + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    comm_of_place = np.repeat(np.arange(K, dtype=np.int64), sizes)

    # 2. propensities and first expected degrees
    theta = (1.0 - gen.random(n)) ** (-1.0 / (tau - 1.0))
    room = _MAX_INTERNAL_SHARE * (sizes - 1).astype(np.float64)  # max within-community degree
    inside = 1.0 - mu
    community_cap = room / inside if inside > 0 else np.full(K, np.inf)
    d_max = min(float(community_cap[0]), math.sqrt(n * md), n - 1.0)
    place_cap = np.minimum(community_cap[comm_of_place], d_max)
    if place_cap.mean() <= md * 1.001:
        _fail(fn, f"mean_degree={mean_degree!r} is too large for community_size={community_size!r} at "
                  f"mixing={mixing!r}: a unit's expected within-community degree may be at most half its "
                  f"community, which caps the mean degree near {place_cap.mean():.3g}. Lower mean_degree, "
                  "raise mixing, or use larger communities.")
    d0 = _scale_to_mean(theta, np.full(n, d_max), md)

    # 3. constrained random assignment, largest d0 first
    by_deg = np.argsort(-d0, kind="stable")
    need = inside * d0[by_deg]  # within-community degree each unit needs room for
    # eligible places: communities (sorted by decreasing size) with room >= need
    n_fit = np.searchsorted(-room, -need, side="right")  # number of communities that fit
    eligible = np.maximum(offsets[n_fit], np.arange(1, n + 1))
    picks = gen.integers(0, eligible - np.arange(n))
    place_of_rank = _partial_shuffle_kernel(picks)
    unit_at_place = np.empty(n, dtype=np.int64)
    unit_at_place[place_of_rank] = by_deg
    theta_p = theta[unit_at_place]

    # 4. expected degrees per place
    d = _scale_to_mean(theta_p, place_cap, md)
    kappa = inside * d
    eta = mu * d

    keys = []
    # 5. within communities
    K_c = np.add.reduceat(kappa, offsets[:-1])
    if inside > 0:
        pairs_c = sizes * (sizes - 1) // 2
        M_c = np.minimum(gen.poisson(K_c / 2.0), pairs_c).astype(np.int64)
        S2 = np.add.reduceat(kappa ** 2, offsets[:-1])
        S4 = np.add.reduceat(kappa ** 4, offsets[:-1])
        denom = np.maximum(K_c ** 2 - S2, 1e-300)
        q_loop = S2 / np.maximum(K_c ** 2, 1e-300)
        n_eff = denom ** 2 / np.maximum(2.0 * (S2 ** 2 - S4), 1e-300)
        n_eff = np.minimum(n_eff, pairs_c.astype(np.float64))
        prob, alias = _alias_kernel(kappa, offsets)

        def draw_in(gid):
            x = _alias_draw(gen, prob, alias, offsets, sizes, gid)
            y = _alias_draw(gen, prob, alias, offsets, sizes, gid)
            key = np.minimum(x, y) * n + np.maximum(x, y)
            key[x == y] = -1
            return key

        keys.append(_sample_distinct(M_c, offsets * n, draw_in, _weighted_plan(q_loop, n_eff), gen))

    # 6. between communities
    if mu > 0:
        H = float(eta.sum())
        H_c = np.add.reduceat(eta, offsets[:-1])
        Q_c = np.add.reduceat(eta ** 2, offsets[:-1])
        between_pairs = (n * n - int((sizes ** 2).sum())) // 2
        M_out = min(int(gen.poisson(H / 2.0)), between_pairs)
        q_same = float((H_c ** 2).sum()) / H ** 2
        n_eff_out = (H ** 2 - float((H_c ** 2).sum())) ** 2 / max(
            2.0 * (float((eta ** 2).sum()) ** 2 - float((Q_c ** 2).sum())), 1e-300)
        n_eff_out = min(n_eff_out, float(between_pairs))
        prob_o, alias_o = _alias_kernel(eta, np.array([0, n], dtype=np.int64))
        off0 = np.zeros(1, dtype=np.int64)
        size0 = np.array([n], dtype=np.int64)

        def draw_out(gid):
            x = _alias_draw(gen, prob_o, alias_o, off0, size0, gid)
            y = _alias_draw(gen, prob_o, alias_o, off0, size0, gid)
            key = np.minimum(x, y) * n + np.maximum(x, y)
            key[comm_of_place[x] == comm_of_place[y]] = -1
            return key

        keys.append(_sample_distinct(np.array([M_out], dtype=np.int64), np.array([0, n * n], dtype=np.int64),
                                     draw_out, _weighted_plan(np.array([q_same]), np.array([n_eff_out])), gen))

    # 7. random unit ids
    ids = gen.permutation(n).astype(np.int64)
    allk = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
    u = ids[allk // n]
    v = ids[allk % n]
    g = _graph(n, u, v, f"social_network(n={n}, mean_degree={md:g}, mixing={mu:g})")
    if return_labels:
        labels = np.empty(n, dtype=np.int64)
        labels[ids] = comm_of_place
        return g, labels
    return g
