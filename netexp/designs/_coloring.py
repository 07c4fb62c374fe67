"""Graph colouring and independent-set designs: treated units are never neighbours."""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
from numba import njit

from .._errors import DesignError, InputError, NetexpWarning, warn
from .._validation import check_int, check_option, check_probability, check_rng
from ._base import Design
from ._stratified import Complete
from ._unit import Bernoulli

__all__ = ["greedy_coloring", "IndependentSetDesign", "ColoringDesign"]

_COLORING_METHODS = ("largest-first", "dsatur")


# ----------------------------------------------------------------------------- shared helpers
def _check_graph(graph, where):
    from ..graph import Graph

    if not isinstance(graph, Graph):
        raise InputError(f"{where}: graph must be a netexp Graph; got {type(graph).__name__}. "
                         "Build one with ne.Graph.from_edges(u, v).")
    return graph


def _coins(rng, m, p):
    """``m`` independent Bernoulli(p) draws (exact fair coins from random bits when p = 1/2)."""
    if p == 1.0:
        return np.ones(m, dtype=bool)
    if p == 0.5:
        bits = rng.integers(0, 256, size=(m + 7) // 8, dtype=np.uint8)
        return np.unpackbits(bits, count=m, bitorder="little").view(np.bool_)
    return rng.random(m) < p


def _mask_digest(mask):
    """Short fingerprint of a unit mask (for declarations: identifies the set without listing it)."""
    return hashlib.sha256(np.packbits(np.asarray(mask, dtype=bool)).tobytes()).hexdigest()[:16]


def _seed_of(rng):
    """The seed to record in a declaration: the int given, else None (not reproducible from the record)."""
    if rng is None or isinstance(rng, (bool, np.random.Generator, np.random.SeedSequence)):
        return None
    try:
        return int(rng)
    except (TypeError, ValueError):
        return None


@njit(cache=True)
def _first_fit(indptr, indices, order):
    n = order.shape[0]
    color = np.full(n, -1, np.int64)
    mark = np.full(n + 1, -1, np.int64)
    for t in range(n):
        v = order[t]
        for e in range(indptr[v], indptr[v + 1]):
            c = color[indices[e]]
            if c >= 0:
                mark[c] = v
        c = 0
        while mark[c] == v:
            c += 1
        color[v] = c
    return color


@njit(cache=True)
def _greedy_independent_set(indptr, indices, order):
    n = order.shape[0]
    chosen = np.zeros(n, np.bool_)
    blocked = np.zeros(n, np.bool_)
    for t in range(n):
        v = order[t]
        if blocked[v]:
            continue
        chosen[v] = True
        blocked[v] = True
        for e in range(indptr[v], indptr[v + 1]):
            blocked[indices[e]] = True
    return chosen


def _offending_edge(graph, same):
    """First edge (as node ids) whose endpoints ``same(u, v)`` flags, or None."""
    u, v = graph.edges()
    bad = np.flatnonzero(same(u, v))
    if bad.size == 0:
        return None
    ids = graph.node_ids
    a, b = ids[u[bad[0]]], ids[v[bad[0]]]
    return (a.item() if hasattr(a, "item") else a), (b.item() if hasattr(b, "item") else b), int(bad.size)


# ----------------------------------------------------------------------------- colouring
def greedy_coloring(graph, *, method: Literal["largest-first", "dsatur"] = "largest-first") -> np.ndarray:
    """Proper vertex colouring by a greedy heuristic: no edge joins two units of one colour.

    Parameters
    ----------
    graph : Graph
        Directed graphs are coloured as undirected (an edge in either direction counts).
    method : {"largest-first", "dsatur"}
        ``"largest-first"``: units in decreasing degree (ties by index), each given the smallest
        colour not used by an already coloured neighbour (compiled, linear in the edges).
        ``"dsatur"``: Brélaz's DSatur (next the unit with most distinct neighbour colours), via
        igraph; usually fewer colours, slower.

    Returns
    -------
    ndarray of int64, shape (n_units,)
        Colour ``0..k-1`` of every unit.

    Notes
    -----
    First fit uses at most :math:`\\Delta + 1` colours (:math:`\\Delta` the largest degree); with
    largest-first order at most :math:`\\max_i \\min(d_i + 1, i)` for units sorted by decreasing
    degree (Welsh & Powell). Neither heuristic is optimal in general.

    References
    ----------
    Welsh, D. J. A., & Powell, M. B. (1967). An upper bound for the chromatic number of a graph
    and its application to timetabling problems. The Computer Journal 10(1), 85-86.
    Brélaz, D. (1979). New methods to color the vertices of a graph. Communications of the ACM
    22(4), 251-256.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.designs import greedy_coloring
    >>> colors = greedy_coloring(ne.load_graph("karate"))
    >>> int(colors.max()) + 1
    5
    """
    graph = _check_graph(graph, "greedy_coloring")
    method = check_option("greedy_coloring: method", method, _COLORING_METHODS)
    if method == "dsatur":
        G = graph._igraph_plain()
        if graph.directed:
            G.to_undirected(mode="collapse")
        return np.asarray(G.vertex_coloring_greedy(method="dsatur"), dtype=np.int64)
    indptr, indices = graph._undirected
    deg = np.diff(indptr)
    order = np.argsort(-deg, kind="stable").astype(np.int64)
    return _first_fit(indptr, indices, order)


# ----------------------------------------------------------------------------- independent set
class IndependentSetDesign(Design):
    """Treat only units of an independent set, so that no two treated units are ever neighbours.

    Units in the independent set ("eligible") are randomized, Bernoulli(``p``) or completely with
    ``n_treated``; every other unit is never treated. Since no two eligible units are adjacent,
    no treated unit has a treated neighbour: an eligible unit's outcome differs between arms
    only through its own treatment (its neighbours are always untreated).

    **Estimand.** The direct effect of own treatment with no treated neighbour,
    :math:`\\tau_{dir} = \\frac{1}{|E|}\\sum_{i \\in E} [Y_i(z_i = 1, z_{N(i)} = 0) - Y_i(0, 0)]`,
    averaged over the eligible set :math:`E` only (a non-random subset of the graph chosen by
    the greedy rule, which favours low-degree units); estimate it from eligible units alone.

    **Units used.** ``n_eligible`` (the size of the independent set), typically a third to a
    half of the units on sparse graphs and far fewer on dense ones; the others are never treated
    and serve, at most, as outcome-free bystanders.

    Parameters
    ----------
    graph : Graph
        Directed graphs are treated as undirected (an edge in either direction counts).
    p : float in (0, 1), default 0.5
        Treatment probability of an eligible unit (Bernoulli), unless ``n_treated`` is given.
    n_treated : int, optional
        Complete randomization of exactly this many eligible units instead.
    independent_set : bool array of shape (n_units,), optional
        The eligible units; checked to be independent (an error names an offending edge).
        Default: a greedy maximal independent set, units visited in a random order drawn from
        ``rng`` (stored as data: a construction-time choice, not random state).
    rng : None, int, SeedSequence or Generator
        Only for choosing the independent set; draws take their own ``rng``.

    Notes
    -----
    :math:`P(Z_i = 1) = p\\,1[i \\in E]`; :math:`P(Z_i = 1, Z_j = 1) = p^2` for distinct eligible
    units (Bernoulli) or :math:`n_1(n_1 - 1) / (|E|(|E| - 1))` (complete), zero otherwise. The
    greedy set is maximal: every non-eligible unit has an eligible neighbour.

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L., & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. KDD 2013 (treatment restricted so that exposure
    conditions are reachable); Luby, M. (1986). A simple parallel algorithm for the maximal
    independent set problem. SIAM J. Computing 15(4), 1036-1053 (random-order greedy sets).

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.designs import IndependentSetDesign
    >>> g = ne.load_graph("karate")
    >>> d = IndependentSetDesign(g, p=0.5, rng=0)
    >>> z = d.sample(rng=0)
    >>> bool((g.adjacency @ z.astype(int))[z].max() == 0)   # no treated unit has a treated neighbour
    True
    """

    def __init__(self, graph, *, p: float = 0.5, n_treated: int | None = None, independent_set=None, rng=None):
        where = "IndependentSetDesign"
        graph = _check_graph(graph, where)
        n = graph.n_nodes
        indptr, indices = graph._undirected
        if independent_set is None:
            order = check_rng(rng).permutation(n).astype(np.int64)
            mask = _greedy_independent_set(indptr, indices, order)
            source = "greedy-random-order"
        else:
            mask = np.asarray(independent_set)
            if mask.shape != (n,) or mask.dtype != np.bool_:
                raise InputError(f"{where}: independent_set must be a bool mask with one entry per unit ({n}); "
                                 f"got dtype {mask.dtype} and shape {mask.shape}. Use np.isin(np.arange(n), idx) "
                                 "for a list of indices.")
            bad = _offending_edge(graph, lambda u, v: mask[u] & mask[v])
            if bad is not None:
                raise DesignError(f"{where}: independent_set is not independent: units {bad[0]!r} and {bad[1]!r} "
                                  f"are neighbours ({bad[2]} such edge(s)); drop one unit of each edge.")
            mask = mask.copy()
            source = "user-given"
        idx = np.flatnonzero(mask).astype(np.int64)
        m = idx.shape[0]
        if n_treated is not None:
            k = check_int(f"{where}: n_treated", n_treated, low=1, high=max(m - 1, 1))
            if m < 2:
                raise DesignError(f"{where}: complete randomization needs at least 2 eligible units; got {m}.")
            inner, p = Complete(m, n_treated=k), None
        else:
            p = check_probability(f"{where}: p", p)
            if m < 1:
                raise DesignError(f"{where}: the independent set is empty; give a non-empty one.")
            inner = Bernoulli(m, p=p)
        mask.flags.writeable = False
        idx.flags.writeable = False
        self._n = n
        self._mask = mask
        self._idx = idx
        self._inner = inner
        self._p = p
        self._n_treated = None if n_treated is None else int(k)
        self._source = source
        self._seed = _seed_of(rng) if independent_set is None else None
        self._freeze()

    @property
    def n_units(self) -> int:
        return self._n

    @property
    def independent_set(self) -> np.ndarray:
        """Bool mask of the eligible units (read-only)."""
        return self._mask

    @property
    def n_eligible(self) -> int:
        """Number of units that can be treated (the size of the independent set)."""
        return int(self._idx.shape[0])

    @property
    def estimand(self) -> str:
        return ("direct effect of own treatment with no treated neighbour, averaged over the "
                f"{self.n_eligible} eligible units")

    def _sample_many(self, n_draws, rng):
        inner = self._inner._sample_many(n_draws, rng)
        out = np.zeros((n_draws, self._n), dtype=bool)
        out[:, self._idx] = inner
        return out

    def _probabilities(self):
        p = np.zeros(self._n)
        p[self._idx] = self._inner.probabilities
        return p

    def _joint_probabilities(self):
        J = np.zeros((self._n, self._n))
        J[np.ix_(self._idx, self._idx)] = self._inner.joint_probabilities()
        return J

    def _enumerate(self):
        Zi, w = self._inner.enumerate()
        Z = np.zeros((Zi.shape[0], self._n), dtype=bool)
        Z[:, self._idx] = Zi
        return Z, w

    def summary(self) -> dict:
        """What the design uses: units, eligible units and the expected number treated."""
        exp = float(self._inner.probabilities.sum())
        return {"design": "IndependentSetDesign", "n_units": self._n, "n_eligible": self.n_eligible,
                "share_eligible": self.n_eligible / self._n, "p": self._p, "n_treated": self._n_treated,
                "expected_treated": exp, "independent_set": self._source}

    def declaration(self) -> dict:
        """JSON-able type and parameters (the independent set by rule and seed, plus a fingerprint)."""
        return {"type": "IndependentSetDesign", "n_units": self._n, "p": self._p, "n_treated": self._n_treated,
                "independent_set": self._source, "selection_seed": self._seed, "n_eligible": self.n_eligible,
                "eligible_sha256": _mask_digest(self._mask)}

    def _repr_params(self):
        out = {"n_units": self._n, "n_eligible": self.n_eligible}
        out.update({"n_treated": self._n_treated} if self._n_treated is not None else {"p": self._p})
        return out


# ----------------------------------------------------------------------------- colour classes
def _median_drawn_size(sizes: np.ndarray, q: np.ndarray) -> int:
    """Median, over draws, of the size of the drawn class (classes drawn with probabilities ``q``)."""
    o = np.argsort(sizes, kind="stable")
    cum = np.cumsum(q[o])
    return int(sizes[o][min(int(np.searchsorted(cum, 0.5 - 1e-12)), len(o) - 1)])


def _warn_small_classes(sizes: np.ndarray, q: np.ndarray, n: int, p: float) -> None:
    med = _median_drawn_size(sizes, q)
    if med >= 100 or med >= 0.01 * n:
        return
    by_size = _median_drawn_size(sizes, sizes / n)
    small = int((sizes < max(1, 0.01 * n)).sum())
    treated = f"{med * p:g} treated on average" if p < 1 else f"{med} treated"
    warn(f"ColoringDesign: with uniform class probabilities the median draw makes only {med} of {n} units "
         f"eligible ({treated}; {small} of {len(sizes)} colour classes hold under 1% of the units). "
         f"Drawing classes by size (class_probabilities='size') makes the median draw {by_size} units; "
         "pass class_probabilities explicitly to choose and silence this warning.", NetexpWarning)


class ColoringDesign(Design):
    """Randomize colour classes: one class is drawn to be eligible, its units treated with ``p``.

    A proper colouring splits the units into independent sets (colour classes). Each draw picks
    one class ``C`` (uniformly, or with probability proportional to its size) and treats each of
    its units independently with probability ``p``; units of other classes are untreated. No two
    treated units are neighbours, and, unlike a single fixed independent set, every unit has a
    positive treatment probability.

    **Estimand.** The direct effect of own treatment with no treated neighbour,
    :math:`\\frac1n\\sum_i [Y_i(1, 0_{N(i)}) - Y_i(0, 0_{N(i)})]`, over all units (identified
    with inverse-probability weights; with ``p < 1`` the untreated units of the drawn class are
    the natural comparison group, their neighbours being untreated too).

    **Units used.** All ``n_units`` over the randomization, but one class per draw: the expected
    number of units at stake per draw is :math:`\\sum_c q_c s_c` (``summary()['expected_eligible']``).

    Parameters
    ----------
    graph : Graph
    coloring : int array of shape (n_units,), optional
        A proper colouring (checked: an error names an edge within a class). Default
        :func:`greedy_coloring` with ``method``.
    method : {"largest-first", "dsatur"}
    p : float in (0, 1], default 0.5
        Treatment probability of a unit in the drawn class; ``p = 1`` treats the whole class.
    class_probabilities : {"uniform", "size"}, optional
        :math:`q_c = 1/K` or :math:`q_c = s_c / n` (:math:`s_c` the size of class ``c``).
        Default ``"uniform"``, with a :class:`~netexp.NetexpWarning` when the median drawn class
        holds fewer than 1% of the units and fewer than 100 (greedy colourings of large
        heavy-tailed graphs have many tiny classes: on ego-Facebook the median uniform draw makes 5
        of 4039 units eligible). The message gives the count under both rules; pass
        ``class_probabilities`` explicitly to choose and silence it.

    Notes
    -----
    With :math:`c(i)` the colour of unit i:
    :math:`P(Z_i = 1) = q_{c(i)}\\, p` exactly; for :math:`i \\ne j`,
    :math:`P(Z_i = 1, Z_j = 1) = q_{c}\\, p^2` if :math:`c(i) = c(j) = c` and 0 otherwise (two
    classes are never drawn together).

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L., & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. KDD 2013.
    Welsh, D. J. A., & Powell, M. B. (1967). The Computer Journal 10(1), 85-86.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.designs import ColoringDesign
    >>> d = ColoringDesign(ne.load_graph("karate"), p=1.0)
    >>> d.n_colors, round(float(d.probabilities.sum()), 6)   # one class of 5 treated per draw, on average 34/5
    (5, 6.8)
    """

    def __init__(self, graph, *, coloring=None, method: Literal["largest-first", "dsatur"] = "largest-first",
                 p: float = 0.5, class_probabilities: Literal["uniform", "size"] | None = None):
        where = "ColoringDesign"
        warn_small = class_probabilities is None
        if warn_small:
            class_probabilities = "uniform"
        graph = _check_graph(graph, where)
        n = graph.n_nodes
        method = check_option(f"{where}: method", method, _COLORING_METHODS)
        class_probabilities = check_option(f"{where}: class_probabilities", class_probabilities, ("uniform", "size"))
        p = float(p) if p == 1 else check_probability(f"{where}: p", p)
        if coloring is None:
            colors = greedy_coloring(graph, method=method)
            source = method
        else:
            raw = np.asarray(coloring)
            if raw.shape != (n,) or raw.dtype.kind not in "iu":
                raise InputError(f"{where}: coloring must be an integer array with one colour per unit ({n}); "
                                 f"got dtype {raw.dtype} and shape {raw.shape}.")
            from .._validation import dense_codes

            colors = dense_codes(raw)[1]
            bad = _offending_edge(graph, lambda u, v: colors[u] == colors[v])
            if bad is not None:
                raise DesignError(f"{where}: coloring is not proper: neighbours {bad[0]!r} and {bad[1]!r} share a "
                                  f"colour ({bad[2]} such edge(s)); use greedy_coloring(graph).")
            source = "user-given"
        K = int(colors.max()) + 1
        if K < 2:
            raise DesignError(f"{where}: the colouring has a single class (the graph has no edges?); with one class "
                              "every draw picks it, use ne.Bernoulli instead.")
        sizes = np.bincount(colors, minlength=K)
        q = np.full(K, 1.0 / K) if class_probabilities == "uniform" else sizes / n
        if warn_small:
            _warn_small_classes(sizes, q, n, p)
        order = np.argsort(colors, kind="stable").astype(np.int64)
        offsets = np.zeros(K + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        for arr in (colors, sizes, q, order, offsets):
            arr.flags.writeable = False
        self._n, self._colors, self._sizes, self._q = n, colors, sizes, q
        self._order, self._offsets, self._p = order, offsets, p
        self._class_probabilities, self._source = class_probabilities, source
        self._freeze()

    @property
    def n_units(self) -> int:
        return self._n

    @property
    def colors(self) -> np.ndarray:
        """Colour class of every unit (read-only)."""
        return self._colors

    @property
    def n_colors(self) -> int:
        return int(self._sizes.shape[0])

    @property
    def class_probabilities(self) -> np.ndarray:
        """:math:`q_c`, the probability that class ``c`` is drawn."""
        return self._q

    @property
    def estimand(self) -> str:
        return "direct effect of own treatment with no treated neighbour, averaged over all units"

    def sample_classes(self, n_draws: int, *, rng=None) -> np.ndarray:
        """The drawn colour class of each draw, shape ``(n_draws,)`` (the first step of ``sample_many``)."""
        n_draws = check_int("n_draws", n_draws, low=1)
        return self._draw_classes(n_draws, check_rng(rng))

    def _draw_classes(self, n_draws, rng):
        cum = np.cumsum(self._q)
        cum[-1] = 1.0
        return np.searchsorted(cum, rng.random(n_draws), side="right").astype(np.int64)

    def _sample_many(self, n_draws, rng):
        cls = self._draw_classes(n_draws, rng)
        out = np.zeros((n_draws, self._n), dtype=bool)
        for r in range(n_draws):  # a loop over draws (not units): each touches one class's members
            members = self._order[self._offsets[cls[r]]:self._offsets[cls[r] + 1]]
            out[r, members] = _coins(rng, members.shape[0], self._p)
        return out

    def _probabilities(self):
        return self._q[self._colors] * self._p

    def _joint_probabilities(self):
        c = self._colors
        same = c[:, None] == c[None, :]
        J = np.where(same, (self._q * self._p**2)[c][:, None], 0.0)
        np.fill_diagonal(J, self._q[c] * self._p)
        return J

    def _enumerate(self):
        total = sum(2 ** int(s) if self._p < 1 else 1 for s in self._sizes)
        if total > 2**20:
            raise DesignError("ColoringDesign: too many assignments to enumerate; enumeration is for tiny graphs.")
        rows, ws = [], []
        for c in range(self.n_colors):
            members = self._order[self._offsets[c]:self._offsets[c + 1]]
            m = members.shape[0]
            pats = (np.ones((1, m), dtype=bool) if self._p == 1 else
                    ((np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1).astype(bool))
            k = pats.sum(1)
            w = self._q[c] * self._p**k * (1 - self._p) ** (m - k)
            Z = np.zeros((pats.shape[0], self._n), dtype=bool)
            Z[:, members] = pats
            rows.append(Z)
            ws.append(w)
        Z, w = np.concatenate(rows), np.concatenate(ws)
        # the all-untreated vector arises from every class: merge equal rows
        uniq, inv = np.unique(Z, axis=0, return_inverse=True)
        w = np.bincount(inv.ravel(), weights=w, minlength=uniq.shape[0])
        keep = w > 0
        return uniq[keep], w[keep]

    def summary(self) -> dict:
        """Colour classes, their draw probabilities and the units at stake per draw."""
        return {"design": "ColoringDesign", "n_units": self._n, "n_colors": self.n_colors,
                "class_sizes": self._sizes.tolist(), "class_probabilities": self._q.tolist(), "p": self._p,
                "expected_eligible": float((self._q * self._sizes).sum()),
                "expected_treated": float((self._q * self._sizes).sum() * self._p), "coloring": self._source,
                "smallest_unit_probability": float(self.probabilities.min())}

    def declaration(self) -> dict:
        """JSON-able type and parameters (the colouring by method, plus a fingerprint of the classes)."""
        return {"type": "ColoringDesign", "n_units": self._n, "p": self._p, "coloring": self._source,
                "class_probabilities": self._class_probabilities, "n_colors": self.n_colors,
                "coloring_sha256": hashlib.sha256(self._colors.astype(np.int64).tobytes()).hexdigest()[:16]}

    def _repr_params(self):
        return {"n_units": self._n, "n_colors": self.n_colors, "p": self._p,
                "class_probabilities": self._class_probabilities}

