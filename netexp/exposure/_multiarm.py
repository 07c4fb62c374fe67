"""Exposure for k-arm experiments: own arm and the share of in-neighbours in each arm."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._align import aligned
from .._unit_align import align_units
from .._errors import InputError

__all__ = ["arm_shares", "expected_arm_shares", "multiarm_exposure_probabilities", "MultiArmExposureProbabilities"]


def _onehot(codes: np.ndarray, k: int) -> sp.csr_array:
    n = codes.shape[0]
    return sp.csr_array((np.ones(n), (np.arange(n), codes)), shape=(n, k))


@aligned("z")
def arm_shares(graph: Any, z: Any, *, arms: Any = None) -> pd.DataFrame:
    r"""Own arm and the share of each unit's in-neighbours assigned to each arm.

    Parameters
    ----------
    graph : Graph
    z : array-like or pandas Series
        Arm (name or code) of every unit; a Series is matched to ``graph.node_ids``.
    arms : sequence, optional
        Arm names in order (e.g. ``design.arms``); default the sorted distinct values of ``z``.

    Returns
    -------
    DataFrame
        Indexed by node id: ``arm`` (own arm name), ``degree`` and ``share[<arm>]`` for every arm,
        :math:`\frac{1}{d_i}\sum_{j \in N(i)} 1[Z_j = a]` (0 for isolated units). The shares are
        the k-arm version of the fraction of treated neighbours: one sparse product for all arms.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> design = ne.MultiArmComplete(g.n_nodes, num_arms=3)
    >>> e = ne.arm_shares(g, design.sample(rng=0), arms=design.arms)
    >>> list(e.columns)
    ['arm', 'degree', 'share[T1]', 'share[T2]', 'share[T3]']
    """
    from ..designs._multiarm import arm_codes
    from ..graph import Graph

    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    arrs, _ = align_units({"z": z}, order=graph.node_ids)
    codes, names = arm_codes(arrs["z"], arms)
    k = len(names)
    deg = np.asarray(graph.degree, dtype=float)
    counts = (graph.adjacency @ _onehot(codes, k)).toarray()
    shares = counts * np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)[:, None]
    out = pd.DataFrame({"arm": np.asarray(names, dtype=object)[codes], "degree": graph.degree},
                       index=pd.Index(graph.node_ids, name="node_id"))
    for a, name in enumerate(names):
        out[f"share[{name}]"] = shares[:, a]
    return out


def expected_arm_shares(graph: Any, design: Any) -> pd.DataFrame:
    r"""Expected share of in-neighbours in each arm under a k-arm design (exact).

    :math:`E[\text{share}_{ia}] = \frac{1}{d_i}\sum_{j \in N(i)} P(Z_j = a)` from the design's
    exact ``probabilities`` (linearity: any dependence between units is irrelevant). Use it to
    recentre k-arm exposures as in :func:`~netexp.recentred_exposure_regression`.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> mu = ne.expected_arm_shares(g, ne.MultiArmBernoulli(g.n_nodes, prob_each=(0.5, 0.3, 0.2)))
    >>> mu.iloc[0].round(3).tolist()
    [0.5, 0.3, 0.2]
    """
    from ..graph import Graph

    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    if design.n_units != graph.n_nodes:
        raise InputError(f"design assigns {design.n_units} units but the graph has {graph.n_nodes} nodes.")
    deg = np.asarray(graph.degree, dtype=float)
    mu = (graph.adjacency @ design.probabilities) * np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)[:, None]
    return pd.DataFrame(mu, index=pd.Index(graph.node_ids, name="node_id"),
                        columns=[f"share[{a}]" for a in design.arms])


# ---------------------------------------------------------------------------------------------------------
# exposure levels "own arm a, every in-neighbour in arm b" and their probabilities under a k-arm design
# ---------------------------------------------------------------------------------------------------------

_DENSE_PAIRS_MAX = 40_000_000   # entries of one (rows x cols) joint block held at once


def _level_name(arms, a, b, q=1.0) -> str:
    if q < 1:
        return f"{arms[a]}, >={q:g} of neighbours {arms[b]}"
    return f"all {arms[a]}" if a == b else f"{arms[a]}, neighbours all {arms[b]}"


def _rand_structure(design):
    """``(unit -> randomization unit, inner design)``: clusters for MultiArmCluster, else the units themselves."""
    from ..designs import MultiArmCluster

    if isinstance(design, MultiArmCluster):
        return np.asarray(design.labels_of_units, dtype=np.int64), design.cluster_design
    return np.arange(design.n_units, dtype=np.int64), design


def _log_count_prob(inner, C: np.ndarray) -> np.ndarray:
    """log P(a given set of distinct randomization units has the given arms), from the arm counts ``C`` (..., k).

    Bernoulli: :math:`\\prod_a p_a^{c_a}`. Complete with arm sizes :math:`m` over :math:`N` units:
    :math:`\\prod_a (m_a)_{c_a} / (N)_{s}` (falling factorials, :math:`s = \\sum_a c_a`); with a random
    remainder the sizes are :math:`f + X`, :math:`X \\sim` Multinomial(r, q), and the ratio is averaged over
    the (few) outcomes of X.
    """
    from scipy.special import gammaln

    from ..designs import MultiArmBernoulli, MultiArmComplete

    C = np.asarray(C, dtype=np.float64)
    if isinstance(inner, MultiArmBernoulli):
        with np.errstate(divide="ignore"):
            lp = np.log(inner.prob_each)
        return np.where(C > 0, C * lp, 0.0).sum(-1)
    if not isinstance(inner, MultiArmComplete):
        raise InputError(f"no closed form for {type(inner).__name__}; use method='monte-carlo'.")
    N = inner.n_units
    s = C.sum(-1)
    log_den = gammaln(N + 1) - gammaln(N - s + 1)
    outcomes = [(np.zeros(inner.n_arms, dtype=np.int64), 1.0)]
    if inner._r:
        from itertools import combinations_with_replacement
        from math import factorial

        outcomes = []
        for combo in combinations_with_replacement(range(inner.n_arms), inner._r):
            x = np.bincount(np.asarray(combo, dtype=np.int64), minlength=inner.n_arms)
            w = factorial(inner._r) * np.prod([inner._q[a] ** x[a] / factorial(int(x[a])) for a in range(inner.n_arms)])
            if w > 0:
                outcomes.append((x, float(w)))
    total = np.zeros(C.shape[:-1])
    for x, w in outcomes:
        m = (inner._f + x).astype(np.float64)
        ok = (C <= m).all(-1)
        lnum = np.where(ok[..., None], gammaln(m + 1) - gammaln(np.maximum(m - C, 0) + 1), 0.0).sum(-1)
        total += np.where(ok, w * np.exp(lnum - log_den), 0.0)
    with np.errstate(divide="ignore"):
        return np.log(total)


class MultiArmExposureProbabilities:
    r"""Probabilities of the k-arm exposure levels "own arm a, every in-neighbour in arm b" under a k-arm design.

    Built by :func:`multiarm_exposure_probabilities`. ``marginal`` is ``(n_units, n_levels)``;
    :meth:`joint` gives :math:`\pi_{ij}(l, l')` for chosen rows and columns (dense).

    Attributes
    ----------
    levels : tuple of str
    level_arms : tuple of (int, int)
        (own arm code, neighbours' arm code) of every level.
    marginal : ndarray
    exact : bool
    method : str
    n_draws : int or None
    """

    def __init__(self, graph, design, level_arms, *, method, n_draws=None, rng=None, q: float = 1.0):
        self.design = design
        self.graph = graph
        self.level_arms = tuple(level_arms)
        self.q = float(q)
        self.levels = tuple(_level_name(design.arms, a, b, self.q) for a, b in self.level_arms)
        n = graph.n_nodes
        self._deg = np.asarray(graph.degree)
        if method == "exact":
            self.exact, self.n_draws = True, None
            self.method = "exact (closed form of the k-arm design)"
            self._req = [self._requirement(a, b) for a, b in self.level_arms]
            self.marginal = np.column_stack([self._exact_marginal(L) for L in range(len(self.level_arms))])
            self._E = None
        else:
            self.exact, self.n_draws = False, int(n_draws)
            self.method = f"Monte Carlo over {int(n_draws)} draws of the design"
            from .._validation import check_rng

            Z = design.sample_many(int(n_draws), rng=check_rng(rng))
            self._E = self.levels_of(Z).astype(np.int16)
            self.marginal = np.column_stack([(self._E == L).mean(0) for L in range(len(self.level_arms))])
        self.marginal.flags.writeable = False
        assert self.marginal.shape == (n, len(self.level_arms))

    # -- levels of assignments -------------------------------------------------------------------------
    def levels_of(self, Z: np.ndarray) -> np.ndarray:
        """Level code of every unit for each row of arm codes ``Z`` (R, n); -1 at no listed level."""
        Z = np.atleast_2d(np.asarray(Z, dtype=np.int64))
        A = sp.csr_array(self.graph.adjacency, dtype=np.float64)
        deg = self._deg
        R, n = Z.shape
        out = np.full(Z.shape, -1, dtype=np.int64)
        step = max(1, 2**22 // max(n, 1))                    # draws per batch: bounded (n x batch) work space
        for s0 in range(0, R, step):
            Zb = Z[s0:s0 + step]
            counts = {b: (A @ (Zb == b).T.astype(np.float64)).T for b in {b for _, b in self.level_arms}}
            ob = out[s0:s0 + step]
            for L, (a, b) in enumerate(self.level_arms):
                full = counts[b] == deg[None, :]
                if self.q < 1:   # share of in-neighbours in b at least q (isolated units: as for "all")
                    full |= counts[b] >= self.q * deg[None, :] - 1e-9
                hit = (Zb == a) & full & (ob < 0)
                if a != b:
                    hit &= deg[None, :] > 0
                ob[hit] = L
        return out

    # -- exact ---------------------------------------------------------------------------------------------
    def _requirement(self, a, b):
        """Sparse (n x U) matrices per arm: which randomization units a unit at level (a, b) needs in which arm,
        and the units for which the level is impossible (a neighbour shares the unit's cluster with a != b)."""
        ru, inner = _rand_structure(self.design)
        U = inner.n_units
        n = self.graph.n_nodes
        A = sp.csr_array(self.graph.adjacency)
        R = sp.csr_array((np.ones(n), (np.arange(n), ru)), shape=(n, U))
        nb = (A @ R)                                     # unit x rand-unit: neighbours in it
        nb = sp.csr_array((nb > 0).astype(np.float64))
        own = R.copy()
        own_in_nb = np.asarray((nb.multiply(own)).sum(1)).ravel() > 0
        nb_ex = sp.csr_array(nb - nb.multiply(own))      # neighbour rand-units other than one's own
        nb_ex.eliminate_zeros()
        k = self.design.n_arms
        M = [sp.csr_array((n, U)) for _ in range(k)]
        M[a] = M[a] + own
        M[b] = M[b] + nb_ex
        if a == b:
            M[a] = sp.csr_array((M[a] > 0).astype(np.float64))
        impossible = (own_in_nb & (a != b)) | ((self._deg == 0) & (a != b))
        return M, impossible, inner

    def _exact_marginal(self, L):
        M, impossible, inner = self._req[L]
        C = np.column_stack([np.asarray(m.sum(1)).ravel() for m in M])
        p = np.exp(_log_count_prob(inner, C))
        p[impossible] = 0.0
        return p

    def joint(self, level_a, level_b, rows=None, cols=None) -> np.ndarray:
        r"""Dense :math:`\pi_{ij}(a, b) = P(i \text{ at } a,\ j \text{ at } b)` for units ``rows`` x ``cols``.

        Exact: requirements of the two units merged (0 when they need one randomization unit in two
        arms); Monte Carlo: the share of draws. Where ``i == j`` the value is the marginal when
        ``a == b`` and 0 otherwise.
        """
        La, Lb = self._code(level_a), self._code(level_b)
        n = self.graph.n_nodes
        rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
        cols = np.arange(n) if cols is None else np.asarray(cols, dtype=np.int64)
        if rows.shape[0] * cols.shape[0] * max(self.design.n_arms, 1) > _DENSE_PAIRS_MAX:
            raise InputError(f"the joint block of {rows.shape[0]} x {cols.shape[0]} units is too large to hold "
                             "densely; restrict units= or use fewer units.")
        same = rows[:, None] == cols[None, :]
        if self._E is not None:
            Ia = (self._E[:, rows] == La).astype(np.float64)
            Ib = (self._E[:, cols] == Lb).astype(np.float64)
            J = (Ia.T @ Ib) / self._E.shape[0]
        else:
            Ma, impa, inner = self._req[La]
            Mb, impb, _ = self._req[Lb]
            k = self.design.n_arms
            Ca = np.column_stack([np.asarray(m.sum(1)).ravel() for m in Ma])[rows]
            Cb = np.column_stack([np.asarray(m.sum(1)).ravel() for m in Mb])[cols]
            C = Ca[:, None, :] + Cb[None, :, :]
            conflict = np.zeros(same.shape, dtype=bool)
            for x in range(k):
                Ax = Ma[x][rows]
                for y in range(k):
                    ov = (Ax @ Mb[y][cols].T).toarray()
                    if x == y:
                        C[:, :, x] -= ov
                    else:
                        conflict |= ov > 0
            J = np.exp(_log_count_prob(inner, C))
            J[conflict] = 0.0
            J[impa[rows], :] = 0.0
            J[:, impb[cols]] = 0.0
        J[same] = self.marginal[rows, La][np.nonzero(same)[0]] if La == Lb else 0.0
        return J

    def _code(self, level) -> int:
        if isinstance(level, (int, np.integer)) and 0 <= int(level) < len(self.levels):
            return int(level)
        if level in self.levels:
            return self.levels.index(level)
        raise InputError(f"level must be one of {list(self.levels)}; got {level!r}.")

    def __repr__(self) -> str:
        return f"MultiArmExposureProbabilities({self.method}, levels={list(self.levels)})"


def multiarm_exposure_probabilities(graph: Any, design: Any, *, levels: Any = "full", q: float = 1.0,
                                    method: str = "auto", n_draws: int = 10_000,
                                    rng=None) -> MultiArmExposureProbabilities:
    r"""Probabilities of k-arm exposure levels under a k-arm design: exact where closed, else Monte Carlo.

    Parameters
    ----------
    graph : Graph
    design : MultiArmDesign
        Over the graph's units, in node order.
    levels : "full", "own-x-all" or sequence of (own arm, neighbours' arm)
        ``"full"``: level "all a" for every arm a (the unit and every in-neighbour in arm a), the k-arm
        version of full-neighbourhood exposure; ``"own-x-all"``: every (own arm a, all in-neighbours in
        arm b) pair (k^2 levels; units without neighbours are only at "all a").
    method : {"auto", "exact", "monte-carlo"}
        Exact for unit and cluster k-arm complete / Bernoulli designs (all of netexp's); Monte Carlo
        over ``n_draws`` draws of the design otherwise or when asked.

    Notes
    -----
    Unit i is at (a, b) iff :math:`Z_i = a` and :math:`Z_j = b` for every in-neighbour j. In terms
    of randomization units (units, or clusters) this requires i's own unit in arm a and the
    :math:`c` distinct other randomization units of its neighbours in arm b (impossible when a
    neighbour shares i's cluster and :math:`a \ne b`). For Bernoulli designs
    :math:`\pi = \prod_x p_x^{c_x}`; for complete designs with arm sizes :math:`m_x` over N
    randomization units, :math:`\pi = \prod_x (m_x)_{c_x} / (N)_{\sum c}` (falling factorials), averaged
    over the multinomial remainder when ``N p`` is not whole. Joints merge the two units'
    requirements (0 on a conflict). Checked against enumeration of every assignment in the tests.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> d = ne.MultiArmBernoulli(g.n_nodes, prob_each=(0.5, 0.25, 0.25), arms=("control", "a", "b"))
    >>> P = ne.multiarm_exposure_probabilities(g, d)
    >>> P.levels, round(float(P.marginal[11, 0]), 4)   # node 11 has one neighbour
    (('all control', 'all a', 'all b'), 0.25)
    """
    from .._validation import check_int, check_option
    from ..designs import MultiArmDesign
    from ..graph import Graph

    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    if not isinstance(design, MultiArmDesign):
        raise InputError(f"design must be a MultiArmDesign; got {type(design).__name__}.")
    if design.n_units != graph.n_nodes:
        raise InputError(f"design assigns {design.n_units} units but the graph has {graph.n_nodes} nodes.")
    method = check_option("method", method, ("auto", "exact", "monte-carlo"))
    k = design.n_arms
    if isinstance(levels, str):
        check_option("levels", levels, ("full", "own-x-all"))
        pairs = [(a, a) for a in range(k)] if levels == "full" else [(a, b) for a in range(k) for b in range(k)]
    else:
        try:
            pairs = [(design.arm_code(a), design.arm_code(b)) for a, b in levels]
        except (TypeError, ValueError):
            raise InputError("levels must be 'full', 'own-x-all' or a sequence of (own arm, neighbours' arm).") from None
    q = float(q)
    if not (0.5 < q <= 1):
        raise InputError(f"q must be in (0.5, 1] (a share of in-neighbours above one half, so that one unit is at "
                         f"one level); got {q:g}.")
    if method == "exact" and q < 1:
        raise InputError(f"no closed form for the share threshold q={q:g} < 1; use method='monte-carlo' (or 'auto').")
    if method == "auto":
        from ..designs import MultiArmBernoulli, MultiArmComplete

        inner = _rand_structure(design)[1]
        closed = isinstance(inner, (MultiArmBernoulli, MultiArmComplete)) and q == 1
        method = "exact" if closed else "monte-carlo"
    if method == "monte-carlo":
        n_draws = check_int("n_draws", n_draws, low=2)
    return MultiArmExposureProbabilities(graph, design, pairs, method=method, n_draws=n_draws, rng=rng, q=q)
