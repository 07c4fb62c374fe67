"""Exposure mappings: the exposure level of every unit as a function of the assignment.

An exposure mapping :math:`f` sends an assignment :math:`z \\in \\{0, 1\\}^n` to a level
:math:`f_i(z) \\in \\{0, \\dots, L - 1\\}` for every unit (Aronow & Samii 2017). All built-in mappings
are *count-based*: :math:`f_i(z) = g(z_i, c_i, d_i)` where :math:`c_i` is the number of treated
units among the :math:`d_i` units that can reach i in at most ``hops`` steps. Exact exposure
probabilities then follow from enumerating :math:`(z_i, c_i)` for each neighbourhood size, and
Monte Carlo probabilities from :meth:`ExposureMapping.level_counts`, which counts levels over
draws in one fused pass over the graph without an ``n_draws x n_units`` matrix.

Orientation: row i of a :class:`~netexp.Graph` lists the units whose treatment can affect i, so
on directed graphs exposure flows through in-neighbours (``j -> i``).
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
from typing import Any, Callable, ClassVar, Iterator

import numpy as np

from .._align import aligned
from .._parallel import threads_for
from .._errors import ExposureError, InputError
from .._validation import check_binary_matrix, check_int, check_probability
from ..graph import Graph
from ._bits import PackedDraws, aligned_empty, pack_draws
from ._exposure import _check_graph

__all__ = ["ExposureMapping", "AronowSamii", "FractionalExposure", "FullNeighborhood", "FractionBins",
           "OwnTreatment", "CustomMapping", "get_mapping", "khop_graph", "MAPPINGS"]

_MAX_LEVELS = 127  # codes are int8
_PACK_BUDGET = 2**28  # bytes of packed draws per batch (256 MB)


# ------------------------------------------------------------------------------ k-hop reach
def khop_graph(graph: Graph, k: int) -> Graph:
    """The k-hop reach of a graph: j is in row i iff ``1 <= dist(j -> i) <= k``.

    Parameters
    ----------
    graph : Graph
    k : int
        Number of hops, ``k >= 0``. ``k = 1`` returns ``graph`` itself; ``k = 0`` a graph with
        the same units and no edges (exposure through no one).

    Returns
    -------
    Graph
        Same units and node ids, same ``directed`` flag. Cached on ``graph`` (it is immutable),
        so repeated calls for the same ``k`` are free.

    Notes
    -----
    Row i of the result is :math:`\\{j \\ne i : (A + I)^k_{ij} > 0\\}` for the adjacency
    :math:`A` (row i = in-neighbours of i), i.e. the units with a directed path of at most k
    arcs into i. It is built by a breadth-first search from every unit along in-neighbour lists,
    compiled and run in parallel, in :math:`O(\\sum_i |\\text{reach}_k(i)| \\cdot \\bar d)` time.
    The result can be much denser than the graph (about :math:`\\bar d^k` entries per row).

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.exposure import khop_graph
    >>> path = ne.Graph.from_edges([0, 1, 2], [1, 2, 3])
    >>> khop_graph(path, 2).degree.tolist()
    [2, 3, 3, 2]
    """
    from ._kernels import khop_counts, khop_fill

    graph = _check_graph(graph)
    k = check_int("k", k, low=0)
    if k == 1:
        return graph
    cache = graph.__dict__.setdefault("_netexp_khop", {})
    if k in cache:
        return cache[k]
    n = graph.n_nodes
    if k == 0:
        indptr = np.zeros(n + 1, dtype=np.int64)
        indices = np.zeros(0, dtype=np.int32)
    else:
        n_chunks = int(min(n, 8))
        counts = np.empty(n, dtype=np.int64)
        with threads_for(graph.indices.shape[0] * k * 8):
            khop_counts(graph.indptr, graph.indices, k, n_chunks, counts)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        with threads_for(graph.indices.shape[0] * k * 8):
            khop_fill(graph.indptr, graph.indices, k, n_chunks, indptr, indices)
    name = None if graph.name is None else f"{graph.name} ({k}-hop)"
    out = Graph(indptr, indices, graph.node_ids, directed=graph.directed, name=name)
    cache[k] = out
    return out


# ------------------------------------------------------------------------------ helpers
def _check_hops(hops) -> int:
    return check_int("hops", hops, low=1)


def _as_int_arrays(z, c, d):
    z, c, d = np.broadcast_arrays(np.asarray(z), np.asarray(c), np.asarray(d))
    return z.astype(np.int64, copy=False), c.astype(np.int64, copy=False), d.astype(np.int64, copy=False)


def _batches(n_draws: int, batch_size: int, progress, work: float) -> Iterator[tuple[int, int]]:
    starts = range(0, n_draws, batch_size)
    if progress is None:
        progress = None if work > 5e9 else False
    if progress is not False:
        from tqdm import tqdm

        # progress=None: a bar only on a terminal (tqdm disable=None); True: always
        starts = tqdm(starts, desc="exposure", unit="batch", disable=None if progress is None else False)
    for s in starts:
        yield s, min(n_draws, s + batch_size)


def _draws(Z, n_units: int):
    """``(bool matrix or None, PackedDraws or None, n_draws)`` after checking shapes."""
    if isinstance(Z, PackedDraws):
        if Z.n_units != n_units:
            raise InputError(f"Z (packed) must hold draws of n_units={n_units} units; got {Z.n_units}. "
                             "Pack the draws of this graph's design.")
        return None, Z, Z.n_draws
    Zb = check_binary_matrix("Z", Z, n_units)
    return Zb, None, Zb.shape[0]


def _batch_words(Zb, packed, s, e) -> np.ndarray:
    if packed is None:
        return pack_draws(Zb[s:e]).words
    part = packed.words[:, s // 64:(e + 63) // 64]
    if part.flags.c_contiguous:
        return part
    out = aligned_empty(part.shape, np.uint64)
    out[...] = part
    return out


def _default_batch(n_draws: int, n_units: int, batch_size) -> int:
    if batch_size is None:
        words = max(1, _PACK_BUDGET // (8 * max(n_units, 1)))
        batch_size = min(n_draws, 64 * words)
    batch_size = check_int("batch_size", batch_size, low=1)
    if batch_size < n_draws:  # packed batches start on a word boundary
        batch_size = 64 * ((batch_size + 63) // 64)
    return max(batch_size, 1)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """A count-based mapping tabulated for the neighbourhood sizes present in one graph."""

    group: np.ndarray  # degree group of every unit
    tab_ptr: np.ndarray  # table offset of every group: level of (z, c) at tab_ptr + z (d + 1) + c
    table: np.ndarray  # int8
    run_ptr: np.ndarray  # runs of constant level along c, per segment 2 * group + z
    run_start: np.ndarray
    run_level: np.ndarray
    mode: int  # 0: own treatment only; 1: own and [c >= 1]; 2: general counts
    n_planes: int


# ------------------------------------------------------------------------------ base class
class ExposureMapping(abc.ABC):
    """Base class of exposure mappings (immutable).

    Attributes
    ----------
    levels : tuple of str
        Level names; a code ``l`` means ``levels[l]``.
    hops : int
        Exposure flows through units at distance at most ``hops`` (0: own treatment only).
    name : str
        Registry name (see :func:`get_mapping`).
    count_based : bool
        True when the level depends only on own treatment ``z``, the number ``c`` of treated
        units within ``hops`` (excluding the unit) and their number ``d``; such mappings
        implement :meth:`level_from_counts` and have exact exposure probabilities.

    Notes
    -----
    Subclasses implement ``levels``, ``hops``, :meth:`describe` and either
    :meth:`level_from_counts` (count-based) or ``_map_draws(graph, Z)``.
    Directed graphs: exposure flows through in-neighbours (row i of the CSR lists the units whose
    treatment affects i).
    """

    name: ClassVar[str] = "mapping"
    count_based: ClassVar[bool] = True
    levels: tuple[str, ...]
    hops: int

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @abc.abstractmethod
    def describe(self) -> str:
        """One sentence stating the levels and how they are defined."""

    def level_from_counts(self, z, c, d) -> np.ndarray:
        """Level codes (int8) from own treatment ``z`` (0/1), treated count ``c`` and size ``d``.

        Vectorized over broadcastable arrays; ``c`` counts treated units within ``hops``
        (excluding the unit itself) among the ``d`` that can reach it.
        """
        raise ExposureError(f"{type(self).__name__} is not count-based: it has no level_from_counts; "
                            "use map_many / level_counts (Monte Carlo exposure probabilities).")

    # -------------------------------------------------------------- evaluation
    def exposure_graph(self, graph: Graph) -> Graph:
        """The graph whose rows list the units that can affect each unit (``khop_graph(graph, hops)``)."""
        return khop_graph(graph, self.hops)

    @aligned("z")
    def map(self, graph: Graph, z: Any) -> np.ndarray:
        """Exposure level codes of every unit for one assignment.

        Parameters
        ----------
        graph : Graph
        z : array-like of 0/1, shape (n_units,)

        Returns
        -------
        ndarray of int8, shape (n_units,)
            Codes into :attr:`levels`.
        """
        from ._kernels import counts_one

        graph = _check_graph(graph)
        if np.ndim(z) != 1:
            raise ExposureError(f"map takes one assignment of shape (n_units,); got shape {np.shape(z)}. "
                                "For a batch of draws use map_many.")
        zb = check_binary_matrix("z", z, graph.n_nodes)[0]
        if not self.count_based:
            return self.map_many(graph, zb[None, :])[0]
        kg = self.exposure_graph(graph)
        c = counts_one(kg.indptr, kg.indices, zb.view(np.uint8))
        codes = self.level_from_counts(zb.astype(np.int64), c, kg.degree.astype(np.int64))
        return np.ascontiguousarray(codes, dtype=np.int8)

    def map_many(self, graph: Graph, Z: Any, *, batch_size: int | None = None,
                 progress: bool | None = None) -> np.ndarray:
        """Exposure level codes for a batch of draws.

        Parameters
        ----------
        graph : Graph
        Z : array-like of 0/1, shape (n_draws, n_units), or PackedDraws
            Draws as from ``Design.sample_many`` (or :func:`pack_draws` of them).
        batch_size : int, optional
            Draws per pass (rounded up to a multiple of 64); bounds the packed working copy.
        progress : bool, optional
            Progress bar over batches (default: only for long jobs on a terminal).

        Returns
        -------
        ndarray of int8, shape (n_draws, n_units)
        """
        from ._kernels import PREFETCH, levels_packed

        graph = _check_graph(graph)
        n = graph.n_nodes
        Zb, packed, R = _draws(Z, n)
        out = np.empty((R, n), dtype=np.int8)
        if R == 0:
            return out
        batch_size = _default_batch(R, n, batch_size)
        if not self.count_based:
            if Zb is None:
                Zb = packed.unpack()
            for s, e in _batches(R, batch_size, progress, R * graph.indices.shape[0]):
                out[s:e] = self._checked_draw_codes(graph, Zb[s:e])
            return out
        kg = self.exposure_graph(graph)
        plan = self._plan(kg)
        for s, e in _batches(R, batch_size, progress, R * kg.indices.shape[0] / 8):
            words = _batch_words(Zb, packed, s, e)
            with threads_for((e - s) * (kg.n_nodes + kg.indices.shape[0])):
                levels_packed(kg.indptr, kg.indices, words.ravel(), words.shape[1], e - s, plan.group,
                              plan.tab_ptr, plan.table, plan.mode, plan.n_planes, PREFETCH, out[s:e])
        return out

    def level_counts(self, graph: Graph, Z: Any, *, batch_size: int | None = None,
                     progress: bool | None = None) -> np.ndarray:
        """Per unit, the number of draws in which it is at each level.

        Computed in one fused pass over the (k-hop) graph per batch of draws, on draws packed 64
        per word, without materialising the ``(n_draws, n_units)`` matrix of levels.

        Parameters
        ----------
        graph : Graph
        Z : array-like of 0/1, shape (n_draws, n_units), or PackedDraws
        batch_size : int, optional
            Draws per pass (rounded up to a multiple of 64). Default: packed batches of at most
            256 MB.
        progress : bool, optional
            Progress bar over batches (default: only for long jobs on a terminal).

        Returns
        -------
        ndarray of int64, shape (n_units, n_levels)
            Rows sum to ``n_draws``; divided by ``n_draws`` they are Monte Carlo estimates of
            the exposure probabilities :math:`\\pi_i(l)`.

        Notes
        -----
        For unit i the kernel ORs (AS4-type mappings, which only ask whether some unit within
        reach is treated) or adds, as a bit-sliced counter, the 64-draw words of the units that
        can reach i; the level of each run of counts with constant level is then a bit mask
        whose popcount is added to the unit's row. Cost: one random read of
        ``ceil(n_draws / 64)`` words per edge of the k-hop graph.
        """
        from ._kernels import PREFETCH, level_counts_packed

        graph = _check_graph(graph)
        n = graph.n_nodes
        Zb, packed, R = _draws(Z, n)
        L = self.n_levels
        out = np.zeros((n, L), dtype=np.int64)
        if R == 0:
            return out
        batch_size = _default_batch(R, n, batch_size)
        if not self.count_based:
            if Zb is None:
                Zb = packed.unpack()
            for s, e in _batches(R, batch_size, progress, R * graph.indices.shape[0]):
                codes = self._checked_draw_codes(graph, Zb[s:e])
                for lev in range(L):
                    out[:, lev] += np.count_nonzero(codes == lev, axis=0)
            return out
        kg = self.exposure_graph(graph)
        plan = self._plan(kg)
        for s, e in _batches(R, batch_size, progress, R * kg.indices.shape[0] / 8):
            words = _batch_words(Zb, packed, s, e)
            with threads_for((e - s) * (kg.n_nodes + kg.indices.shape[0]) / 8):
                level_counts_packed(kg.indptr, kg.indices, words.ravel(), words.shape[1], e - s, plan.group,
                                    plan.run_ptr, plan.run_start, plan.run_level, plan.mode, plan.n_planes,
                                    PREFETCH, out)
        return out

    # -------------------------------------------------------------- internals
    def _plan(self, kgraph: Graph) -> _Plan:
        """Tabulate ``level_from_counts`` for every neighbourhood size present in ``kgraph``."""
        deg = np.asarray(kgraph.degree)
        present = np.bincount(deg, minlength=1) > 0
        du = np.flatnonzero(present).astype(np.int64)  # distinct sizes, sorted
        rank = np.cumsum(present) - 1
        group = rank[deg].astype(np.int64)
        seg_len = du + 1  # counts 0..d for each own treatment
        tab_ptr = np.zeros(du.shape[0] + 1, dtype=np.int64)
        np.cumsum(2 * seg_len, out=tab_ptr[1:])
        n_seg = 2 * du.shape[0]
        seg_sizes = np.repeat(seg_len, 2)
        seg_of = np.repeat(np.arange(n_seg), seg_sizes)
        seg_first = np.concatenate([[0], np.cumsum(seg_sizes)[:-1]])
        cc = np.arange(seg_of.shape[0], dtype=np.int64) - seg_first[seg_of]
        zz = seg_of % 2
        dd = du[seg_of // 2]
        table = np.ascontiguousarray(self._checked_counts(zz, cc, dd), dtype=np.int8)
        new_run = np.ones(table.shape[0], dtype=bool)
        new_run[1:] = (cc[1:] == 0) | (table[1:] != table[:-1])
        pos = np.flatnonzero(new_run)
        run_start = cc[pos]
        run_level = table[pos].astype(np.int64)
        run_ptr = np.zeros(n_seg + 1, dtype=np.int64)
        np.cumsum(np.bincount(seg_of[pos], minlength=n_seg), out=run_ptr[1:])
        top = int(run_start.max(initial=0))
        mode = 0 if top == 0 else (1 if top == 1 else 2)
        n_planes = {0: 0, 1: 1, 2: int(du[-1]).bit_length()}[mode]
        return _Plan(group, tab_ptr[:-1].copy(), table, run_ptr, run_start, run_level, mode, n_planes)

    def _checked_counts(self, z, c, d) -> np.ndarray:
        codes = np.asarray(self.level_from_counts(z, c, d))
        return _validate_codes(codes, np.shape(z), self.levels, "level_from_counts")

    def _checked_draw_codes(self, graph, Z) -> np.ndarray:
        return _validate_codes(np.asarray(self._map_draws(graph, Z)), Z.shape, self.levels, "func(graph, Z)")

    def _map_draws(self, graph, Z):  # pragma: no cover - every built-in mapping is count-based
        raise ExposureError(f"{type(self).__name__} is not count-based and defines no func(graph, Z); "
                            "subclass CustomMapping(func, levels, count_based=False) instead.")


def _validate_codes(codes: np.ndarray, shape, levels: tuple[str, ...], what: str) -> np.ndarray:
    L = len(levels)
    if codes.shape != tuple(shape):
        raise ExposureError(f"{what} must return one code per unit and draw, shape {tuple(shape)}; "
                            f"got shape {codes.shape}.")
    if codes.dtype.kind in "OUS":
        lookup = {name: i for i, name in enumerate(levels)}
        flat = codes.ravel()
        uniq, inv = np.unique(flat.astype(str), return_inverse=True)
        bad = [u for u in uniq.tolist() if u not in lookup]
        if bad:
            raise ExposureError(f"{what} returned level names not in levels {list(levels)}: {bad[:5]}; "
                                "return codes 0..L-1 or names from levels.")
        return np.array([lookup[u] for u in uniq.tolist()], dtype=np.int8)[inv].reshape(codes.shape)
    if codes.dtype.kind == "b" or codes.dtype.kind not in "iuf":
        raise ExposureError(f"{what} must return integer codes in [0, {L - 1}] or level names; "
                            f"got dtype {codes.dtype}.")
    if codes.dtype.kind == "f":
        if codes.size and not np.all(np.isfinite(codes) & (codes == np.round(codes))):
            raise ExposureError(f"{what} must return integer codes in [0, {L - 1}]; got non-integer values.")
    if codes.size:
        lo, hi = codes.min(), codes.max()
        if lo < 0 or hi >= L:
            raise ExposureError(f"{what} returned codes in [{lo:g}, {hi:g}]; codes must be in [0, {L - 1}] "
                                f"(one per level of {list(levels)}).")
    return codes.astype(np.int8)


def _check_levels(levels) -> tuple[str, ...]:
    if isinstance(levels, str) or not hasattr(levels, "__iter__"):
        raise InputError(f"levels must be a sequence of level names; got {levels!r}.")
    out = tuple(str(x) for x in levels)
    if not 1 <= len(out) <= _MAX_LEVELS:
        raise InputError(f"levels must name between 1 and {_MAX_LEVELS} levels; got {len(out)}.")
    if len(set(out)) != len(out):
        raise InputError(f"levels must be distinct; got {list(out)}.")
    return out


# ------------------------------------------------------------------------------ built-in mappings
@dataclasses.dataclass(frozen=True)
class OwnTreatment(ExposureMapping):
    """No interference: the level is the unit's own treatment ("control", "treated").

    Notes
    -----
    :math:`f_i(z) = z_i`. ``hops`` is 0: no other unit matters, so every unit has
    :math:`d_i = 0` and :math:`c_i = 0`.

    References
    ----------
    Aronow, P. M. & Samii, C. (2017). Estimating average causal effects under general
    interference. *Annals of Applied Statistics* 11(4), 1912-1947.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.exposure import OwnTreatment
    >>> g = ne.load_graph("karate")
    >>> z = ne.Complete(g.n_nodes, n_treated=17).sample(rng=0)
    >>> bool((OwnTreatment().map(g, z) == z).all())
    True
    """

    name: ClassVar[str] = "own"
    levels: ClassVar[tuple[str, ...]] = ("control", "treated")

    @property
    def hops(self) -> int:
        return 0

    def describe(self) -> str:
        return "Own treatment only (no interference): levels control, treated."

    def level_from_counts(self, z, c, d) -> np.ndarray:
        z, c, d = _as_int_arrays(z, c, d)
        return z.astype(np.int8)


@dataclasses.dataclass(frozen=True)
class AronowSamii(ExposureMapping):
    """Aronow-Samii four-level exposure: own treatment x any treated unit within ``hops``.

    Levels, in this order: ``"direct_indirect"`` (treated, at least one treated unit within
    ``hops``), ``"isolated_direct"`` (treated, none), ``"indirect"`` (control, at least one),
    ``"no_exposure"`` (control, none): the four conditions of the R package ``interference``
    (``dir_ind1``, ``isol_dir``, ``ind1``, ``no`` there).

    Parameters
    ----------
    hops : int, default 1
        Units at distance at most ``hops`` (along arcs into the unit) can expose it.

    Notes
    -----
    With :math:`c_i` the number of treated units among the :math:`d_i` units j with
    :math:`1 \\le \\operatorname{dist}(j \\to i) \\le k`,

    .. math:: f_i(z) = 2 (1 - z_i) + [c_i = 0].

    Isolated units (:math:`d_i = 0`) have no treated neighbour, so they are always
    "isolated_direct" or "no_exposure" (the R package drops isolates before analysis; here they
    stay and simply never reach the indirect levels, which fails positivity for those levels).
    Directed graphs: exposure flows through in-neighbours. For ``hops = 2`` the R package
    splits levels by first- and second-degree exposure (8 levels); this mapping pools the
    units within two hops into one neighbourhood.

    References
    ----------
    Aronow, P. M. & Samii, C. (2017). Estimating average causal effects under general
    interference, with application to a social network experiment. *Annals of Applied
    Statistics* 11(4), 1912-1947.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.exposure import AronowSamii
    >>> g = ne.Graph.from_edges([0, 1], [1, 2], nodes=[3])  # path 0-1-2 and an isolate 3
    >>> m = AronowSamii()
    >>> [m.levels[c] for c in m.map(g, [1, 0, 0, 1])]
    ['isolated_direct', 'indirect', 'no_exposure', 'isolated_direct']
    >>> Z = ne.Bernoulli(4, p=0.5).sample_many(1000, rng=0)
    >>> m.level_counts(g, Z).sum(axis=1).tolist()
    [1000, 1000, 1000, 1000]
    """

    hops: int = 1
    name: ClassVar[str] = "as4"
    levels: ClassVar[tuple[str, ...]] = ("direct_indirect", "isolated_direct", "indirect", "no_exposure")

    def __post_init__(self):
        object.__setattr__(self, "hops", _check_hops(self.hops))

    def describe(self) -> str:
        return (f"Aronow-Samii 4-level exposure: own treatment x at least one treated unit within "
                f"{self.hops} hop(s); levels {', '.join(self.levels)}.")

    def level_from_counts(self, z, c, d) -> np.ndarray:
        z, c, d = _as_int_arrays(z, c, d)
        return (2 * (1 - z) + (c == 0)).astype(np.int8)


@dataclasses.dataclass(frozen=True)
class FractionalExposure(ExposureMapping):
    """q-fractional neighbourhood exposure (Ugander et al. 2013): "treated", "control", "other".

    A unit is "treated" when it is treated and at least a share ``q`` of the units within
    ``hops`` are treated; "control" when it is in control and at least a share ``q`` of them are
    in control (share treated at most ``1 - q``); "other" otherwise.

    Parameters
    ----------
    q : float in (0, 1]
        Threshold share; ``q = 1`` is full neighbourhood exposure (:class:`FullNeighborhood`).
    hops : int, default 1

    Notes
    -----
    With :math:`c_i` treated among :math:`d_i` units that can reach i within ``hops``,

    .. math::

        f_i(z) = \\begin{cases} \\text{treated} & z_i = 1,\\ c_i / d_i \\ge q \\\\
        \\text{control} & z_i = 0,\\ (d_i - c_i) / d_i \\ge q \\\\
        \\text{other} & \\text{otherwise.} \\end{cases}

    Isolated units (:math:`d_i = 0`): every neighbour (there are none) is treated and every
    neighbour is in control, so the conditions hold vacuously and an isolate is "treated" or
    "control" by its own treatment alone, as in the R package ``interference``'s full
    neighbourhood mapping (which counts the unit itself in its neighbourhood). The R package
    drops isolates before analysis; drop them yourself if they should not count.
    Shares are compared in floating point as written above (``c / d >= q``).
    Directed graphs: exposure flows through in-neighbours.

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L. & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. *Proceedings of KDD 2013*, 329-337.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.exposure import FractionalExposure
    >>> g = ne.Graph.from_edges([0, 0, 0], [1, 2, 3])  # a star centred on 0
    >>> m = FractionalExposure(q=0.6)
    >>> [m.levels[c] for c in m.map(g, [1, 1, 1, 0])]  # 2 of 3 of the centre's neighbours treated
    ['treated', 'treated', 'treated', 'other']
    """

    q: float
    hops: int = 1
    name: ClassVar[str] = "q-fractional"
    levels: ClassVar[tuple[str, ...]] = ("treated", "control", "other")

    def __post_init__(self):
        q = check_probability("q", self.q, open_interval=False)
        if q == 0:
            raise InputError("q must be in (0, 1]; got 0 (every unit would be exposed to both conditions).")
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "hops", _check_hops(self.hops))

    def describe(self) -> str:
        return (f"{self.q:g}-fractional exposure within {self.hops} hop(s): treated (treated, share of "
                f"treated neighbours >= {self.q:g}), control (control, share in control >= {self.q:g}), other.")

    def level_from_counts(self, z, c, d) -> np.ndarray:
        z, c, d = _as_int_arrays(z, c, d)
        iso = d == 0
        dd = np.maximum(d, 1)
        treated = (z == 1) & (iso | (c / dd >= self.q))
        control = (z == 0) & (iso | ((d - c) / dd >= self.q))
        return np.where(treated, 0, np.where(control, 1, 2)).astype(np.int8)


@dataclasses.dataclass(frozen=True)
class FullNeighborhood(FractionalExposure):
    """Full neighbourhood exposure: q-fractional exposure with ``q = 1``.

    "treated": the unit and every unit within ``hops`` treated; "control": the unit and every
    unit within ``hops`` in control; "other" otherwise. Isolated units are "treated" or
    "control" by their own treatment (see :class:`FractionalExposure`).

    Notes
    -----
    :math:`f_i(z) = \\text{treated}` iff :math:`z_i = 1, c_i = d_i`; control iff
    :math:`z_i = 0, c_i = 0`.

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L. & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. *Proceedings of KDD 2013*, 329-337.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.exposure import FullNeighborhood
    >>> g = ne.Graph.from_edges([0, 1], [1, 2])
    >>> FullNeighborhood().map(g, [1, 1, 0]).tolist()  # 0: all treated; 1: neighbour 2 in control
    [0, 2, 2]
    """

    q: float = dataclasses.field(default=1.0, init=False, repr=False)
    hops: int = 1
    name: ClassVar[str] = "full-neighbourhood"

    def describe(self) -> str:
        return (f"Full neighbourhood exposure within {self.hops} hop(s): treated (unit and all within reach "
                "treated), control (unit and all within reach in control), other.")


@dataclasses.dataclass(frozen=True)
class FractionBins(ExposureMapping):
    """Own treatment x fraction of treated units within ``hops``, binned at cut points.

    Parameters
    ----------
    cuts : sequence of float in (0, 1], strictly increasing, default (0.5,)
        Bin edges: bin 0 is ``frac < cuts[0]``, bin b is ``cuts[b-1] <= frac < cuts[b]``, the
        last bin ``frac >= cuts[-1]``.
    hops : int, default 1

    Notes
    -----
    With :math:`\\phi_i = c_i / d_i` (0 for isolated units, as in
    :func:`~netexp.fraction_treated_neighbors`) and :math:`B` bins,
    :math:`f_i(z) = B z_i + b(\\phi_i)`: the control levels come first, then the treated ones.
    Isolated units therefore always fall in the lowest bin. Directed graphs: exposure flows
    through in-neighbours.

    References
    ----------
    Ugander, J., Karrer, B., Backstrom, L. & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. *Proceedings of KDD 2013*, 329-337.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.exposure import FractionBins
    >>> m = FractionBins(cuts=(0.5,))
    >>> m.levels
    ('control, frac<0.5', 'control, frac>=0.5', 'treated, frac<0.5', 'treated, frac>=0.5')
    >>> g = ne.Graph.from_edges([0, 1], [1, 2])
    >>> m.map(g, [1, 0, 0]).tolist()
    [2, 1, 0]
    """

    cuts: tuple[float, ...] = (0.5,)
    hops: int = 1
    name: ClassVar[str] = "fraction-bins"

    def __post_init__(self):
        raw = self.cuts
        cuts = np.atleast_1d(np.asarray(raw, dtype=float)) if not isinstance(raw, str) else np.array([np.nan])
        if (cuts.ndim != 1 or cuts.size == 0 or not np.all(np.isfinite(cuts)) or np.any(cuts <= 0)
                or np.any(cuts > 1) or np.any(np.diff(cuts) <= 0) or cuts.size > (_MAX_LEVELS - 1) // 2):
            raise InputError(f"cuts must be a non-empty, strictly increasing sequence of numbers in (0, 1]; "
                             f"got {raw!r}. Example: cuts=(0.25, 0.5).")
        object.__setattr__(self, "cuts", tuple(float(x) for x in cuts))
        object.__setattr__(self, "hops", _check_hops(self.hops))

    @property
    def levels(self) -> tuple[str, ...]:
        c = self.cuts
        bins = [f"frac<{c[0]:g}"] + [f"{a:g}<=frac<{b:g}" for a, b in zip(c[:-1], c[1:])] + [f"frac>={c[-1]:g}"]
        return tuple(f"{arm}, {b}" for arm in ("control", "treated") for b in bins)

    def describe(self) -> str:
        return (f"Own treatment x fraction of treated units within {self.hops} hop(s), binned at "
                f"{', '.join(f'{x:g}' for x in self.cuts)}; isolated units have fraction 0.")

    def level_from_counts(self, z, c, d) -> np.ndarray:
        z, c, d = _as_int_arrays(z, c, d)
        frac = c / np.maximum(d, 1)
        b = np.searchsorted(np.asarray(self.cuts), frac, side="right")
        return (z * (len(self.cuts) + 1) + b).astype(np.int8)


@dataclasses.dataclass(frozen=True)
class CustomMapping(ExposureMapping):
    """A user-defined exposure mapping.

    Parameters
    ----------
    func : callable
        ``count_based=True``: vectorized ``func(z, c, d)`` over int arrays (own treatment 0/1,
        treated units within ``hops``, their number) returning codes in ``0..len(levels)-1`` or
        level names. ``count_based=False``: ``func(graph, Z)`` with ``Z`` bool of shape
        ``(n_draws, n_units)`` returning codes of that shape; such mappings get Monte Carlo
        exposure probabilities only.
    levels : sequence of str
    hops : int, default 1
        Reach of the counts passed to a count-based ``func``.
    count_based : bool, default True

    Notes
    -----
    A count-based ``func`` is tabulated once per neighbourhood size present in the graph, so
    it is called on arrays of length about :math:`2 \\sum_d (d + 1)`, not once per unit.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> from netexp.exposure import CustomMapping
    >>> two = CustomMapping(lambda z, c, d: np.where(c >= 2, "2+", "<2"), levels=("<2", "2+"))
    >>> g = ne.Graph.from_edges([0, 0, 0], [1, 2, 3])
    >>> two.map(g, [0, 1, 1, 0]).tolist()
    [1, 0, 0, 0]
    """

    func: Callable
    levels: tuple[str, ...]
    hops: int = 1
    count_based: bool = True
    name: ClassVar[str] = "custom"

    def __post_init__(self):
        if not callable(self.func):
            raise InputError(f"func must be callable; got {type(self.func).__name__}.")
        object.__setattr__(self, "levels", _check_levels(self.levels))
        object.__setattr__(self, "count_based", bool(self.count_based))
        object.__setattr__(self, "hops", check_int("hops", self.hops, low=0))

    def describe(self) -> str:
        fname = getattr(self.func, "__name__", type(self.func).__name__)
        kind = f"count-based within {self.hops} hop(s)" if self.count_based else "arbitrary (Monte Carlo only)"
        return f"Custom mapping {fname} ({kind}); levels {', '.join(self.levels)}."

    def level_from_counts(self, z, c, d) -> np.ndarray:
        if not self.count_based:
            return super().level_from_counts(z, c, d)
        z, c, d = _as_int_arrays(z, c, d)
        try:
            codes = self.func(z, c, d)
        except Exception as exc:
            raise ExposureError(f"The custom mapping func(z, c, d) failed on arrays of {z.size} entries: "
                                f"{type(exc).__name__}: {exc}. It must be vectorized over numpy arrays.") from exc
        return _validate_codes(np.asarray(codes), z.shape, self.levels, "func(z, c, d)")

    def _map_draws(self, graph, Z):
        return self.func(graph, Z)


# ------------------------------------------------------------------------------ registry
MAPPINGS: dict[str, type[ExposureMapping]] = {
    "own": OwnTreatment,
    "fraction-bins": FractionBins,
    "as4": AronowSamii,
    "q-fractional": FractionalExposure,
    "full-neighbourhood": FullNeighborhood,
}


def get_mapping(name: str | ExposureMapping, **kwargs) -> ExposureMapping:
    """Build a built-in exposure mapping by name.

    Parameters
    ----------
    name : {"own", "fraction-bins", "as4", "q-fractional", "full-neighbourhood"}
        Or an :class:`ExposureMapping`, returned as is (when no keyword is given).
    **kwargs
        Passed to the class (``hops``, ``q``, ``cuts``).

    Examples
    --------
    >>> from netexp.exposure import get_mapping
    >>> get_mapping("q-fractional", q=0.5, hops=2)
    FractionalExposure(q=0.5, hops=2)
    """
    if isinstance(name, ExposureMapping) and not kwargs:
        return name
    if not isinstance(name, str) or name not in MAPPINGS:
        valid = ", ".join(repr(k) for k in MAPPINGS)
        raise InputError(f"mapping must be one of {valid}; got {name!r}.")
    cls = MAPPINGS[name]
    params = [p for p in inspect.signature(cls).parameters]
    unknown = [k for k in kwargs if k not in params]
    if unknown:
        raise InputError(f"mapping {name!r} takes {params or 'no parameters'}; got unexpected {unknown}.")
    return cls(**kwargs)
