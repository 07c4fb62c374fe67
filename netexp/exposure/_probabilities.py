"""Exposure probabilities: P(unit i is at exposure level k), exact or by Monte Carlo, and joints."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._errors import ExposureError, InputError, NetexpWarning, warn
from .._parallel import threads_for
from .._validation import check_binary_matrix, check_int, check_option, check_rng, readonly
from .kernels.dispatch import AS_PAIR_SUMS, COV_PAIR_SUMS, JOINT_AT_LEVELS, joint_entries, near_pair_sums, profile_sums

__all__ = ["ExposureProbabilities", "exposure_probabilities"]

METHODS = ("auto", "exact", "monte-carlo")
CONVENTIONS = ("netexp", "interference")
_DENSE_MAX = 20_000          # largest n for a dense (n, n) joint matrix
_CODES_MAX_BYTES = 2 * 2**30  # stored exposure codes of the Monte Carlo draws (for joints)
_TYPE_TABLE_MAX = 2**24      # entries of the type-pair joint table under Complete designs
_ANNOUNCE_SECONDS = 30.0     # estimated pair-sum time above which exact joints announce their cost
_PROFILE_MAX = 8192          # most neighbourhood profiles for the profile route (cluster Complete, thresholds)


# ----------------------------------------------------------------------------- helpers
def _khop(graph, k: int) -> sp.csr_array:
    """Pattern of the k-hop in-reach (row i: units within k hops of i, i excluded)."""
    try:  # the mappings module's version when it exists
        from ._mappings import khop_graph  # type: ignore

        return khop_graph(graph, k).adjacency.tocsr()
    except ImportError:
        pass
    A = graph.adjacency.tocsr().astype(bool)
    reach = A.copy()
    frontier = A.copy()
    for _ in range(k - 1):
        frontier = (frontier @ A).astype(bool)
        reach = (reach + frontier).astype(bool)
    reach = sp.csr_array(reach)
    reach.setdiag(False)
    reach.eliminate_zeros()
    reach.sort_indices()
    return reach


def _level_table(mapping, dmax_values: np.ndarray):
    """Level of every (z, c) for each neighbourhood size d: ``ltab[loff[d] + z (d+1) + c]``."""
    dv = np.unique(dmax_values)
    dmax = int(dv.max(initial=0))
    loff = np.zeros(dmax + 1, dtype=np.int64)
    sizes = 2 * (dv + 1)
    starts = np.zeros(dv.shape[0], dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    loff[dv] = starts
    total = int(sizes.sum())
    dd = np.repeat(dv, sizes)
    pos = np.arange(total) - np.repeat(starts, sizes)
    z = (pos // (np.repeat(dv, sizes) + 1)).astype(np.int8)
    c = pos % (dd + 1)
    ltab = np.asarray(mapping.level_from_counts(z, c, dd)).astype(np.int64)
    L = len(mapping.levels)
    if ltab.shape != (total,) or (ltab < 0).any() or (ltab >= L).any():
        raise ExposureError(f"{type(mapping).__name__}.level_from_counts returned codes outside 0..{L - 1}.")
    return loff, ltab


def _run_ends(ltab: np.ndarray, d: np.ndarray) -> np.ndarray:
    """For each entry of the level table, the last index of its run of equal levels in its (d, z) block."""
    dv = np.unique(np.concatenate([d, [0]]))
    sizes = np.repeat(dv + 1, 2)
    blk = np.repeat(np.arange(sizes.shape[0]), sizes)
    new = np.ones(ltab.shape[0], dtype=bool)
    new[1:] = (ltab[1:] != ltab[:-1]) | (blk[1:] != blk[:-1])
    rid = np.cumsum(new) - 1
    last = np.flatnonzero(np.r_[new[1:], True])
    return last[rid].astype(np.int64)


def _incidence(K: sp.csr_array, labels: np.ndarray | None, n_r: int):
    """Rows of randomization units touching each closed k-hop neighbourhood, with weights."""
    n = K.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(K.indptr))
    cols = K.indices.astype(np.int64)
    own = np.arange(n, dtype=np.int64) if labels is None else labels.astype(np.int64)
    if labels is not None:
        cols = own[cols]
    rows = np.concatenate([rows, np.arange(n, dtype=np.int64)])
    cols = np.concatenate([cols, own])
    w = np.concatenate([np.ones(K.indices.shape[0], dtype=np.int64), np.zeros(n, dtype=np.int64)])
    key = rows * n_r + cols
    order = np.argsort(key, kind="stable")
    key, w = key[order], w[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    wsum = np.add.reduceat(w, starts) if starts.size else w[:0]
    ukey = key[starts]
    r_rows, r_cols = ukey // n_r, ukey % n_r
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_rows, minlength=n), out=ptr[1:])
    T = sp.csr_array((np.ones(r_cols.shape[0], dtype=np.int8), r_cols, ptr), shape=(n, n_r)).T.tocsr()
    T.sort_indices()
    return ptr, r_cols.astype(np.int64), wsum.astype(np.int64), own, T.indptr.astype(np.int64), \
        T.indices.astype(np.int64)


def _threshold_levels(ltab, loff, d):
    """``lev[i, z, s]`` (level of unit i with own treatment z and c = 0, c = d_i or 0 < c < d_i for s = 0, 1,
    2) when the mapping depends on the count c only through [c = 0] and [c = d], else None."""
    rend = _run_ends(ltab, d)
    dv = np.unique(d)
    dv = dv[dv >= 3]
    if dv.size:
        start = (loff[dv][:, None] + np.arange(2)[None, :] * (dv[:, None] + 1) + 1).ravel()
        last = (loff[dv][:, None] + np.arange(2)[None, :] * (dv[:, None] + 1) + dv[:, None] - 1).ravel()
        if (rend[start] < last).any():
            return None
    z = np.arange(2)[None, :, None]
    dd = d[:, None, None]
    c = np.where(np.arange(3)[None, None, :] == 0, 0, np.where(np.arange(3)[None, None, :] == 1, dd, np.minimum(dd, 1)))
    return np.ascontiguousarray(ltab[loff[d][:, None, None] + z * (dd + 1) + c].astype(np.int64))


def _threshold_tables(ltab, loff, d, ptr, col, wt, own, p):
    """Tables for closed-form pair joints when levels depend on the count c only via [c = 0], [c = d].

    Returns None for other mappings. ``lev[i, z, s]``: level of unit i with own treatment z and
    c = 0 (s = 0), c = d_i (s = 1) or 0 < c < d_i (s = 2); ``nW[i]``: randomization units with
    positive weight in row i; ``ownin[i]``: whether i's own unit is one of them.
    """
    lev = _threshold_levels(ltab, loff, d)
    if lev is None:
        return None
    n = d.shape[0]
    rows = np.repeat(np.arange(n), np.diff(ptr))
    pos = wt > 0
    nW = np.bincount(rows[pos], minlength=n).astype(np.int64)
    ownin = np.zeros(n, dtype=np.bool_)
    ownin[rows[pos & (col == own[rows])]] = True
    mmax = int(nW.max(initial=0)) + 1
    pw0 = (1.0 - p) ** np.arange(mmax + 1)
    pw1 = p ** np.arange(mmax + 1)
    return {"thr": True, "lev": np.ascontiguousarray(lev), "nW": nW, "ownin": ownin, "pw0": pw0, "pw1": pw1}


def _observed_thr(st, L, codes, mask, P, U, S, zc, progress) -> bool:
    """Pair sums from the units with a term only (``_observed_pairs``); False: use the room's kernel."""
    from ._observed_pairs import observed_thr_pair_terms

    return observed_thr_pair_terms(st, L, codes, mask, P, U, S, zc, progress=progress)


def _design_structure(design):
    """``(kind, labels, p_r, ks, kw)`` for designs with exact formulas, else None.

    kind "bernoulli": independent randomization units with probabilities ``p_r``; "complete": a
    fixed number treated among the randomization units (``ks`` with weights ``kw`` for the odd
    unit rule).
    """
    from ..designs import Bernoulli, ClusterRandomized, Complete, RandomizedSaturation

    if type(design) is RandomizedSaturation:
        return "saturation", np.asarray(design.labels), None, None, None

    def unit(d):
        if type(d) is Bernoulli:
            return "bernoulli", np.full(d.n_units, d.p), None, None
        if type(d) is Complete:
            lo, fr = int(d._k_low[0]), float(d._frac[0])
            return "complete", None, np.array([lo, lo + 1], dtype=np.int64), np.array([1 - fr, fr])
        return None

    if isinstance(design, ClusterRandomized):
        s = unit(design.cluster_design)
        return None if s is None else (s[0], np.asarray(design.labels), s[1], s[2], s[3])
    s = unit(design)
    return None if s is None else (s[0], None, s[1], s[2], s[3])


def _complete_pairs(K, labels, n_r, d, ks, kw, loff, ltab, L):
    """Type tables (far pairs) and the incidence (near pairs) for exact joints under Complete designs.

    Returns ``(pairs, note)``; ``pairs`` is None (with the reason in ``note``) when the number of
    distinct neighbourhood types makes the type-pair table too large.
    """
    from .._parallel import threads_for
    from .kernels.cluster_complete import cluster_type_levels, row_profile_hash
    from .kernels.common import log_factorials
    from .kernels.complete import type_pair_tables, unit_type_levels

    n = K.shape[0]
    ptr, col, wt, own, tptr, tidx = _incidence(K, labels, n_r)
    if labels is not None:  # clusters and a threshold mapping: joints by pairs of neighbourhood profiles
        prof = _profile_pairs(ptr, col, wt, own, n_r, d, ks, kw, loff, ltab)
        if prof is not None:
            return prof, ""
    m = np.diff(ptr)
    if labels is None:  # the type of a unit is its neighbourhood size
        dvals, typ = np.unique(d, return_inverse=True)
        mt = (dvals + 1).astype(np.int64)
        Qt = unit_type_levels(dvals.astype(np.int64), int(mt.max(initial=1)), loff, ltab, L)
    else:  # the type is the profile (touched clusters, own cluster's weight, sorted other weights)
        key = np.stack([row_profile_hash(ptr, col, wt, own), d, m], axis=1)
        _, reps, typ = np.unique(key, axis=0, return_index=True, return_inverse=True)
        mt = m[reps].astype(np.int64)
        Qt = cluster_type_levels(ptr, col, wt, own, d, reps.astype(np.int64), int(mt.max(initial=1)), loff, ltab, L)
    T = mt.shape[0]
    if T * T * L * L > _TYPE_TABLE_MAX:
        return None, (f"exact joint probabilities under this Complete design need a table over {T} distinct "
                      "neighbourhood types, too many; use exposure_probabilities(..., method='monte-carlo') for "
                      "the Aronow-Samii variance.")
    Jt = np.empty((T, T, L, L))
    pit = np.empty((T, L))
    with threads_for(float(T) * T * float(mt.max(initial=1)) ** 2):
        type_pair_tables(Qt, mt, int(n_r), ks, kw, log_factorials(int(n_r)), Jt, pit)
    pairs = {"complete": True, "unit": labels is None, "ptr": ptr, "col": col, "wt": wt, "own": own, "tptr": tptr,
             "tidx": tidx, "nR": int(n_r), "ks": ks, "kw": kw, "lf": log_factorials(int(n_r)), "d": d,
             "loff": loff, "ltab": ltab, "rend": _run_ends(ltab, d), "typ": np.ascontiguousarray(typ, np.int64),
             "Jt": Jt, "pit": pit, "n": n}
    return pairs, ""


def _profile_pairs(ptr, col, wt, own, n_r, d, ks, kw, loff, ltab):
    """Pair structure of the profile route (see :mod:`._cluster_profiles`), or None when it does not apply.

    Applies under complete randomization of clusters with a threshold mapping, when the units have at most
    :data:`_PROFILE_MAX` distinct profiles (own cluster, clusters holding neighbours, level-table row).
    """
    from ._cluster_profiles import build_profiles
    from .kernels.common import log_factorials

    lev = _threshold_levels(ltab, loff, d)
    if lev is None:
        return None
    prof = build_profiles(ptr, col, wt, own, lev)
    if prof is None or prof["reps"].shape[0] > _PROFILE_MAX:
        return None
    return {"complete": True, "profile": True, "n": int(ptr.shape[0] - 1), "nR": int(n_r),
            "ks": np.ascontiguousarray(ks, dtype=np.int64), "kw": np.ascontiguousarray(kw, dtype=float),
            "lf": log_factorials(int(n_r)), **prof}


def _sat_params(design):
    """Design constants of the saturation kernels (see :func:`.kernels.saturation.saturation_near_pair_sums`)."""
    from .kernels.common import log_factorials

    K = int(design.n_clusters)
    Ls = len(design.saturation_levels)
    indep = design.stage1 == "bernoulli"
    if indep:
        Nsup, Nw = np.zeros((1, Ls), dtype=np.int64), np.ones(1)
    else:
        dist = design._count_distribution()  # the stage-1 level counts N and their probabilities
        Nsup = np.ascontiguousarray(np.array([N for N, _ in dist], dtype=np.int64).reshape(-1, Ls))
        Nw = np.array([w for _, w in dist], dtype=float)
    return {"sizes": np.ascontiguousarray(design.cluster_sizes, dtype=np.int64),
            "lo2": np.ascontiguousarray(design._lo2, dtype=np.int64),
            "fr2": np.ascontiguousarray(design._fr2, dtype=float),
            "sat": np.asarray(design.saturation_levels, dtype=float),
            "shares": np.asarray(design.cluster_shares, dtype=float), "bern": design.within == "bernoulli",
            "indep": indep, "Nsup": Nsup, "Nw": Nw, "lf": log_factorials(K), "Kc": K}


def _sat_threshold_tables(st, ltab, loff, d):
    """Closed-form tables for threshold mappings under independent cluster levels, or None.

    ``lev`` as in :func:`_threshold_levels`; ``G`` holds, per cluster r, :math:`G_r(m_0, m_1)` (m0 given
    units all untreated and m1 others all treated, mixed over the levels) for m0, m1 up to
    ``gM[r] = min(n_r, 2 w_r + 2)``, with :math:`w_r` the largest number of k-hop neighbours of one unit in
    r (the most units of r a pair can constrain); None when these tables would be too large.
    """
    from .kernels.common import log_factorials
    from .kernels.saturation_threshold import all_or_none_tables

    lev = _threshold_levels(ltab, loff, d)
    if lev is None:
        return None
    sizes = st["sizes"]
    nR = sizes.shape[0]
    wmax = np.zeros(nR, dtype=np.int64)
    np.maximum.at(wmax, st["col"], st["wt"])
    gM = np.minimum(sizes, 2 * wmax + 2).astype(np.int64)
    goff = np.zeros(nR + 1, dtype=np.int64)
    np.cumsum((gM + 1) ** 2, out=goff[1:])
    if goff[-1] > _TYPE_TABLE_MAX:
        return None
    G = np.empty(int(goff[-1]))
    with threads_for(float(goff[-1]) * 8.0):
        all_or_none_tables(sizes, st["lo2"], st["fr2"], st["sat"], st["shares"], st["bern"],
                               log_factorials(int(sizes.max(initial=1))), gM, goff, G)
    return {"sthr": True, "lev": lev, "G": G, "goff": goff, "gM": gM}


def _sat_pairs(K, labels, design, d, loff, ltab, L):
    """Pair structure for exact joints under randomized saturation, or ``(None, note)``.

    Independent levels (stage 1 "bernoulli"): only the near pairs (sharing a cluster) are dependent.
    Dependent levels (stage 1 "complete"): far pairs by a table over cluster-profile types, as for
    Complete designs; None when there are too many types.
    """
    from .kernels.saturation import saturation_profile_hash, saturation_type_levels, saturation_type_pair_tables

    n = K.shape[0]
    n_r = int(design.n_clusters)
    ptr, col, wt, own, tptr, tidx = _incidence(K, labels, n_r)
    st = {"sat": True, "ptr": ptr, "col": col, "wt": wt, "own": own, "tptr": tptr, "tidx": tidx,
          "kptr": K.indptr.astype(np.int64), "kidx": K.indices.astype(np.int64),
          "lab": np.ascontiguousarray(labels, dtype=np.int64), "d": d, "loff": loff, "ltab": ltab, "n": n,
          **_sat_params(design)}
    if st["indep"]:
        thr = _sat_threshold_tables(st, ltab, loff, d)
        if thr is not None:
            st.update(thr)
        return st, ""
    Ls = st["sat"].shape[0]
    m = np.diff(ptr)
    key = np.stack([saturation_profile_hash(ptr, col, wt, own, st["sizes"]), d, m], axis=1)
    _, reps, typ = np.unique(key, axis=0, return_index=True, return_inverse=True)
    mt = m[reps].astype(np.int64)
    T = mt.shape[0]
    csmax = int(mt.max(initial=0) + 1) ** (Ls - 1)
    if T * T * L * L > _TYPE_TABLE_MAX or T * csmax * L > _TYPE_TABLE_MAX:
        return None, (f"exact joint probabilities under RandomizedSaturation(stage1='complete') need a table over "
                      f"{T} distinct neighbourhood types (cluster sizes and neighbour counts), too many; use "
                      "exposure_probabilities(..., method='monte-carlo') for the Aronow-Samii variance, or "
                      "stage1='bernoulli' (exact joints without types).")
    Qt = saturation_type_levels(ptr, col, wt, own, st["sizes"], st["lo2"], st["fr2"], st["sat"], st["bern"], d,
                      reps.astype(np.int64), csmax, loff, ltab, L)
    Jt = np.empty((T, T, L, L))
    pit = np.empty((T, L))
    with threads_for(float(T) * T * csmax * csmax * 4):
        saturation_type_pair_tables(Qt, mt, st["Nsup"], st["Nw"], st["lf"], st["Kc"], Jt, pit)
    st.update(complete=True, typ=np.ascontiguousarray(typ.ravel(), np.int64), Jt=Jt, pit=pit)
    return st, ""


# ----------------------------------------------------------------------------- result
@dataclasses.dataclass(frozen=True, eq=False)
class ExposureProbabilities:
    """Probabilities of every exposure level for every unit under a design (exact or Monte Carlo).

    Attributes
    ----------
    levels : tuple of str
        Level names; column ``k`` of :attr:`marginal` is ``levels[k]``.
    marginal : ndarray, shape (n_units, n_levels)
        :math:`\\pi_i(k) = P(\\text{unit } i \\text{ at level } k)`.
    exact : bool
        True when computed in closed form from the design, False for Monte Carlo.
    method : str
        ``"exact"`` or ``"monte-carlo"``.
    convention : str
        ``"netexp"`` (count / R) or ``"interference"`` (the R package's (count + 1) / (R + 1)).
    n_draws : int or None
        Monte Carlo draws (None when exact).
    std_error : ndarray or None
        Binomial Monte Carlo standard error of each marginal (None when exact).
    node_ids : ndarray
    hops : int
    """

    levels: tuple
    marginal: np.ndarray
    exact: bool
    method: str
    convention: str
    n_draws: int | None
    std_error: np.ndarray | None
    node_ids: np.ndarray
    hops: int
    _codes: np.ndarray | None = dataclasses.field(default=None, repr=False)
    _pairs: dict | None = dataclasses.field(default=None, repr=False)
    _joint_note: str = dataclasses.field(default="", repr=False)
    cost: Any = dataclasses.field(default=None, repr=False)

    @property
    def n_units(self) -> int:
        return int(self.marginal.shape[0])

    @property
    def joint_available(self) -> bool:
        """Whether pairwise joint probabilities (needed by the Aronow-Samii variance) are available."""
        return self._codes is not None or self._pairs is not None

    def level_code(self, level) -> int:
        """Column of ``level`` (a name or an integer code)."""
        if isinstance(level, (int, np.integer)) and not isinstance(level, bool):
            if 0 <= int(level) < len(self.levels):
                return int(level)
        elif level in self.levels:
            return self.levels.index(level)
        raise InputError(f"level must be one of {list(self.levels)} (or a code 0..{len(self.levels) - 1}); "
                         f"got {level!r}.")

    def _long(self) -> bool:
        """Whether the cost estimate (kept when one was made) calls for a progress bar on the pair sums."""
        return self.cost is not None and self.cost.seconds > _ANNOUNCE_SECONDS

    # ------------------------------------------------------------------ joints
    def joint(self, level_a, level_b):
        """Joint probabilities :math:`\\pi_{ij}(a, b) = P(i \\text{ at } a, j \\text{ at } b)`.

        Monte Carlo and exact under Complete designs or RandomizedSaturation with ``stage1="complete"``
        (every pair dependent): a dense ``(n, n)`` array (diagonal: the marginal when ``a == b``, else 0).
        Exact under independent designs (and RandomizedSaturation with ``stage1="bernoulli"``, where the
        pairs touching a common cluster are the dependent ones): a sparse ``csr_array`` holding every pair that can be dependent (their
        randomization units overlap); for the pairs it does not store the joint is the product
        :math:`\\pi_i(a) \\pi_j(b)` (independent). Stored entries may be explicit zeros.
        """
        a, b = self.level_code(level_a), self.level_code(level_b)
        if self._codes is not None:
            n = self.n_units
            if n > _DENSE_MAX:
                raise ExposureError(f"joint is dense for Monte Carlo probabilities; n_units={n} is too large.")
            return self._dense_joint(a, b, np.arange(n), np.arange(n))
        if self._pairs is None:
            raise ExposureError(self._joint_note or "joint probabilities were not computed (joint=False).")
        st = self._pairs
        if "complete" in st:
            n = self.n_units
            if n > _DENSE_MAX:
                raise ExposureError(f"joint is dense under Complete designs (every pair is dependent); n_units={n} "
                                    "is too large.")
            L = len(self.levels)
            if "profile" in st:
                prof = st["profile"]
                P = st["reps"].shape[0]
                Dp = profile_sums(st, JOINT_AT_LEVELS, self.marginal, np.zeros((1, P, L)), np.zeros(P, np.int64), a,
                                  b)[3]
                D = np.ascontiguousarray(Dp[np.ix_(prof, prof)])
            else:
                typ = st["typ"]
                D = np.ascontiguousarray(st["Jt"][:, :, a, b][np.ix_(typ, typ)])
                near_pair_sums(st, JOINT_AT_LEVELS, self.marginal, np.zeros(n, np.int64), np.ones(n, bool),
                               np.zeros((n, 1)), np.zeros((1, L, L)), np.zeros((n, L), np.int64), D, a, b)
            D[np.arange(n), np.arange(n)] = self.marginal[:, a] if a == b else 0.0
            return D
        rows, cols, vals = joint_entries(st, len(self.levels), a, b)
        n = self.n_units
        diag = np.arange(n)
        dv = self.marginal[:, a] if a == b else np.zeros(n)
        m = sp.coo_array((np.concatenate([vals, dv]), (np.concatenate([rows, diag]), np.concatenate([cols, diag]))),
                         shape=(n, n)).tocsr()
        return m

    def _dense_joint(self, a: int, b: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Monte Carlo joint for the given row/column units (with the convention applied)."""
        E = self._codes
        R = E.shape[0]
        Ia = (E[:, rows] == a).astype(np.float32)
        Ib = (E[:, cols] == b).astype(np.float32)
        C = (Ia.T @ Ib).astype(np.float64)  # exact integer counts (R < 2^24)
        same = rows[:, None] == cols[None, :]
        if self.convention == "interference":
            if a == b:
                J = C / (R + 1)
                J[same] = (C[same] + 1) / (R + 1)
            else:
                J = C / R
        else:
            J = C / R
        return J

    # ------------------------------------------------------------------ positivity
    def positivity(self, threshold: float = 0.0) -> pd.DataFrame:
        """Units with probability ``<= threshold`` of each level.

        Returns one row per level: ``n_zero`` (probability exactly 0), ``n_below`` (``<= threshold``),
        ``min_probability`` and ``first_node_ids`` of units at or below the threshold.
        """
        thr = float(threshold)
        rows = []
        for k, name in enumerate(self.levels):
            col = self.marginal[:, k]
            below = np.flatnonzero(col <= thr)
            rows.append({"level": name, "n_zero": int((col == 0).sum()), "n_below": int(below.size),
                         "min_probability": float(col.min(initial=np.inf)),
                         "first_node_ids": self.node_ids[below[:5]].tolist()})
        return pd.DataFrame(rows)

    def check_contrast(self, level_a, level_b, *, units=None) -> None:
        """Raise ExposureError when some unit has zero probability of ``level_a`` or ``level_b``."""
        mask = np.ones(self.n_units, dtype=bool) if units is None else units
        for lev in (level_a, level_b):
            k = self.level_code(lev)
            bad = np.flatnonzero(mask & (self.marginal[:, k] <= 0))
            if bad.size:
                ids = self.node_ids[bad[:5]].tolist()
                if self.exact:
                    what = f"{bad.size} units have zero probability of exposure {self.levels[k]!r}"
                    fix = ("use a coarser mapping, a design that can leave their neighbourhoods untreated, or "
                           "restrict the estimand to units with positive probability (units=)")
                else:  # a Monte Carlo zero may be a small probability that no draw hit
                    what = (f"{bad.size} units were never at exposure {self.levels[k]!r} in {self.n_draws} Monte "
                            "Carlo draws (their probability is 0 or below about 1/n_draws)")
                    fix = ("use exact probabilities if the design has them, more draws (n_draws=), a coarser "
                           "mapping, or restrict the estimand to units with positive probability (units=)")
                raise ExposureError(f"{what} (positivity fails; first node ids {ids}); {fix}.")

    # ------------------------------------------------------------------ variance sums
    def _pair_terms(self, codes: np.ndarray, U: np.ndarray, mask: np.ndarray, levels=None):
        """Aronow-Samii pair sums over units in ``mask`` with observed level codes ``codes``.

        Returns ``S`` (m, L, L): sum over ordered pairs i != j observed at (a, b) of
        ``(pi_ij(a,b) - pi_i(a) pi_j(b)) / pi_ij(a,b) * U[i] U[j]`` (0 where pi_ij = 0), and ``zc``
        (n, L): for each unit i at level a_i, the number of j in mask (j = i included) with
        ``pi_ij(a_i, l) = 0``. Routes may leave 0 the ``zc`` rows of units whose ``U`` row is 0 (their Young's
        term has the weight 0): the Monte Carlo and observed-units routes do. ``levels`` (level codes, optional):
        the columns of ``zc`` the caller needs (the contrasts' levels); the Monte Carlo route leaves the others 0.
        """
        L = len(self.levels)
        n = self.n_units
        m = U.shape[1]
        P = self.marginal
        S = np.zeros((m, L, L))
        zc = np.zeros((n, L), dtype=np.int64)
        if self._codes is not None:
            from ._mc_pairs import mc_pair_terms

            return mc_pair_terms(self._codes, self.convention, P, codes, np.where(mask[:, None], U, 0.0), mask,
                                 levels)
        if self._pairs is None:
            raise ExposureError(self._joint_note or "joint probabilities were not computed (joint=False); "
                                "recompute with joint=True.")
        st = self._pairs
        if "complete" in st:
            return self._complete_pair_terms(codes, U, mask)
        return self._independent_pair_terms(st, codes, U, mask, S, zc)

    def _dense_mc_pair_terms(self, codes, U, mask, levels=None):
        """Reference for the Monte Carlo :meth:`_pair_terms`: dense joint blocks per pair of levels (every
        column of ``zc``, whatever ``levels``).

        Memory and time grow with n^2 per level pair; kept for tests and benchmarks of the streamed path.
        """
        L = len(self.levels)
        n = self.n_units
        m = U.shape[1]
        P = self.marginal
        S = np.zeros((m, L, L))
        zc = np.zeros((n, L), dtype=np.int64)
        idx = np.flatnonzero(mask)
        for a in range(L):
            ra = idx[codes[idx] == a]
            if ra.size == 0:
                continue
            for b in range(L):
                J = self._dense_joint(a, b, ra, idx)
                zc[ra, b] = (J == 0).sum(1)
                cb = codes[idx] == b
                Jb = J[:, cb]
                with np.errstate(divide="ignore", invalid="ignore"):
                    W = np.where(Jb > 0, (Jb - np.outer(P[ra, a], P[idx[cb], b])) / Jb, 0.0)
                if a == b:  # drop the diagonal i == j (added by the caller)
                    W[ra[:, None] == idx[cb][None, :]] = 0.0
                for q in range(m):
                    S[q, a, b] = U[ra, q] @ W @ U[idx[cb], q]
        return S, zc

    def _independent_pair_terms(self, st, codes, U, mask, S, zc):
        """:meth:`_pair_terms` for designs whose far pairs are independent (dependent pairs streamed)."""
        L = len(self.levels)
        n = self.n_units
        P = self.marginal
        # threshold mappings over independent clusters: from the units with a term only (_observed_pairs);
        # otherwise randomized saturation with independent levels, threshold mappings over independent
        # clusters, unit Bernoulli with one p (closed forms, parallel), else a programme per dependent pair
        if not ("thr" in st and _observed_thr(st, L, codes, mask, P, U, S, zc, self._long())):
            near_pair_sums(st, AS_PAIR_SUMS, P, codes, mask, U, S, zc)
        # far pairs are independent: pi_ij(a, l) = pi_i(a) pi_j(l) is 0 only where pi_j(l) = 0
        zero_l = ((P <= 0) & mask[:, None]).sum(0)
        zc += zero_l[None, :]
        own = (P > 0) & (np.arange(L)[None, :] != codes[:, None])  # the pair (i, i) for l != a_i
        zc += own
        zc[~mask] = 0
        return S, zc

    def _cov_terms(self, V: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Covariance sums ``T[k, l]`` over ordered pairs i != j in ``mask``.

        ``T[k, l] = sum_{i != j} (pi_ij(k, l) - pi_i(k) pi_j(l)) V[i, k] V[j, l]`` (independent pairs
        contribute 0); the diagonal i == j is left to the caller.
        """
        L = len(self.levels)
        P = self.marginal
        V = np.ascontiguousarray(np.where(mask[:, None], V, 0.0), dtype=float)
        T = np.zeros((L, L))
        if self._codes is not None:
            from ._mc_pairs import mc_cov_terms

            return mc_cov_terms(self._codes, self.convention, P, V, mask)
        return self._exact_cov_terms(V, mask, T)

    def _dense_mc_cov_terms(self, V, mask):
        """Reference for the Monte Carlo :meth:`_cov_terms`: dense joint blocks per pair of levels."""
        L = len(self.levels)
        P = self.marginal
        V = np.ascontiguousarray(np.where(mask[:, None], V, 0.0), dtype=float)
        T = np.zeros((L, L))
        idx = np.flatnonzero(mask)
        off = ~np.eye(idx.size, dtype=bool)
        for k in range(L):
            for l in range(L):
                if not (V[idx, k].any() and V[idx, l].any()):
                    continue
                C = (self._dense_joint(k, l, idx, idx) - np.outer(P[idx, k], P[idx, l])) * off
                T[k, l] = V[idx, k] @ C @ V[idx, l]
        return T

    def _exact_cov_terms(self, V, mask, T):
        """:meth:`_cov_terms` from the exact pair structure."""
        L = len(self.levels)
        n = self.n_units
        P = self.marginal
        if self._pairs is None:
            raise ExposureError(self._joint_note or "joint probabilities were not computed (joint=False); "
                                "recompute with joint=True.")
        st = self._pairs
        if "complete" in st:
            return self._complete_cov_terms(V, mask)
        near_pair_sums(st, COV_PAIR_SUMS, P, np.zeros(n, dtype=np.int64), mask, V, T[None],
                       np.zeros((n, L), dtype=np.int64))
        return T

    def _complete_pair_terms(self, codes, U, mask):
        """:meth:`_pair_terms` under Complete designs: every pair by the type formula, near pairs corrected."""
        st = self._pairs
        L = len(self.levels)
        codes = np.ascontiguousarray(codes, dtype=np.int64)
        U = np.ascontiguousarray(np.where(mask[:, None], U, 0.0), dtype=float)
        M = U.shape[1]
        if "profile" in st:
            return self._profile_pair_terms(codes, U, mask)
        typ, Jt, pit = st["typ"], st["Jt"], st["pit"]
        T = pit.shape[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            W = np.where(Jt > 0, (Jt - pit[:, None, :, None] * pit[None, :, None, :]) / Jt, 0.0)
        cell = typ * L + codes
        SU = np.stack([np.bincount(cell, weights=U[:, q], minlength=T * L) for q in range(M)]).reshape(M, T, L)
        S = np.einsum("mta,tsab,msb->mab", SU, W, SU)
        wself = W[typ, typ, codes, codes]
        for q in range(M):  # the type sum counted i == j
            S[q][np.diag_indices(L)] -= np.bincount(codes, weights=wself * U[:, q] ** 2, minlength=L)
        Z = (Jt == 0).astype(np.int64)
        cnt = np.bincount(typ[mask], minlength=T)
        zc = np.einsum("tsal,s->tal", Z, cnt)[typ, codes]
        zc -= Z[typ, typ, codes, :] * mask[:, None]  # i == j by the type formula ...
        zc += (np.arange(L)[None, :] != codes[:, None])  # ... replaced by the truth: pi_ii(a, l) = 0 for l != a
        zc = np.ascontiguousarray(zc, dtype=np.int64)
        near_pair_sums(st, AS_PAIR_SUMS, self.marginal, codes, mask, U, S, zc, progress=self._long())
        zc[~mask] = 0
        return S, zc

    def _complete_cov_terms(self, V, mask):
        """:meth:`_cov_terms` under Complete designs (``V`` already zero outside ``mask``)."""
        st = self._pairs
        L = len(self.levels)
        n = self.n_units
        if "profile" in st:
            return self._profile_cov_terms(V)
        typ, Jt, pit = st["typ"], st["Jt"], st["pit"]
        T = pit.shape[0]
        C = Jt - pit[:, None, :, None] * pit[None, :, None, :]
        SV = np.stack([np.bincount(typ, weights=V[:, k], minlength=T) for k in range(L)], axis=1)
        Tm = np.einsum("tk,tskl,sl->kl", SV, C, SV)
        Tm -= np.einsum("ik,ikl,il->kl", V, C[typ, typ], V)  # the type sum counted i == j
        S = Tm[None].copy()
        near_pair_sums(st, COV_PAIR_SUMS, self.marginal, np.zeros(n, np.int64), mask, V, S, np.zeros((n, L), np.int64),
                       progress=self._long())
        return S[0]

    def _profile_pair_terms(self, codes, U, mask):
        """:meth:`_pair_terms` on the profile route: sums over pairs of profiles, the pairs i == j removed.

        ``U`` is already zero outside ``mask``. With ``SU[g, a]`` the sum of ``U`` over the units of
        profile g observed at a, the ordered pairs of distinct units contribute
        ``sum_{g, h} w_gh(a, b) SU[g, a] SU[h, b] - sum_i w_gg(a_i, a_i) U_i^2``.
        """
        st = self._pairs
        L = len(self.levels)
        M = U.shape[1]
        prof = st["profile"]
        P = st["reps"].shape[0]
        cell = prof * L + codes
        sums = np.stack([np.bincount(cell, weights=U[:, q], minlength=P * L) for q in range(M)]).reshape(M, P, L)
        count = np.bincount(prof[mask], minlength=P)
        S_g, zero_g, J_self, _ = profile_sums(st, AS_PAIR_SUMS, self.marginal, sums, count)
        S = S_g.sum(0)
        js = J_self[prof, codes, codes]
        mp = self.marginal[st["reps"]][prof, codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            wself = np.where(js > 0, (js - mp * mp) / js, 0.0)
        for q in range(M):  # the profile sums counted i == j
            S[q][np.diag_indices(L)] -= np.bincount(codes, weights=wself * U[:, q] ** 2, minlength=L)
        zc = zero_g[prof, codes, :] - (J_self[prof, codes, :] == 0) * mask[:, None]
        zc += np.arange(L)[None, :] != codes[:, None]  # the pair (i, i): pi_ii(a, l) = 0 for l != a
        zc = np.ascontiguousarray(zc, dtype=np.int64)
        zc[~mask] = 0
        return S, zc

    def _profile_cov_terms(self, V):
        """:meth:`_cov_terms` on the profile route (``V`` already zero outside the units)."""
        st = self._pairs
        L = len(self.levels)
        prof = st["profile"]
        P = st["reps"].shape[0]
        sums = np.stack([np.bincount(prof, weights=V[:, k], minlength=P) for k in range(L)], axis=1)[None]
        S_g, _, J_self, _ = profile_sums(st, COV_PAIR_SUMS, self.marginal, sums, np.zeros(P, np.int64))
        mp = self.marginal[st["reps"]]
        C_self = J_self - mp[:, :, None] * mp[:, None, :]
        return S_g.sum(0)[0] - np.einsum("ik,ikl,il->kl", V, C_self[prof], V)

    # ------------------------------------------------------------------ display
    def to_frame(self) -> pd.DataFrame:
        """Marginal probabilities, one row per unit keyed by node id, one column per level."""
        df = pd.DataFrame(self.marginal, columns=list(self.levels))
        df.insert(0, "node_id", self.node_ids)
        return df

    def __repr__(self) -> str:
        mean = ", ".join(f"{k}={v:.3f}" for k, v in zip(self.levels, self.marginal.mean(0)))
        extra = "" if self.exact else f", n_draws={self.n_draws}, convention={self.convention!r}"
        return f"ExposureProbabilities(n_units={self.n_units}, method={self.method!r}{extra}, mean: {mean})"


# ----------------------------------------------------------------------------- entry point
def exposure_probabilities(graph, design, mapping, *, method: Literal["auto", "exact", "monte-carlo"] = "auto",
                           n_draws: int = 10_000, draws: Any = None, rng=None,
                           convention: Literal["netexp", "interference"] = "netexp", joint: bool = True,
                           batch_size: int | None = None, progress: bool | None = None,
                           executor=None) -> ExposureProbabilities:
    """Probability of every exposure level for every unit under a design.

    Parameters
    ----------
    graph : Graph
    design : Design or None
        The randomization (None only with ``draws``).
    mapping : ExposureMapping
        Maps an assignment to a level per unit (``levels``, ``hops``, ``map_many``; count-based
        mappings also give ``level_from_counts`` for exact probabilities).
    method : {"auto", "exact", "monte-carlo"}
        ``"exact"``: closed form (count-based mappings under Bernoulli, Complete, a cluster design
        over Bernoulli / Complete clusters, or RandomizedSaturation). ``"monte-carlo"``: frequencies
        over draws. ``"auto"``: exact when available (with exact joints when ``joint=True``; Monte
        Carlo, with a warning, when exact joints would need too large a type table), else Monte Carlo.
    n_draws : int
        Monte Carlo draws (ignored with ``draws``).
    draws : array-like of 0/1, shape (R, n_units), optional
        Use these assignments instead of sampling (e.g. to match another tool's draws).
    rng : None, int, SeedSequence or Generator
    convention : {"netexp", "interference"}
        Monte Carlo estimator. ``"netexp"``: :math:`\\hat\\pi = \\text{count}/R` for marginals and
        joints. ``"interference"`` (the R package of Aronow & Samii): :math:`(\\text{count}+1)/(R+1)`
        for marginals, :math:`\\text{count}/(R+1)` for same-level joints, :math:`\\text{count}/R`
        across levels, reproducing its numbers exactly.
    joint : bool
        Keep what is needed for joint probabilities (Monte Carlo: the ``(R, n)`` exposure codes,
        int8; exact: the design's pair structure).
    batch_size : int, optional
        Rows of ``draws`` per batch (memory about ``batch_size * n_units`` bytes per level pass).
        Draws from the design come in fixed seeded blocks of about 2^22 unit-draws instead.
    executor : concurrent.futures.Executor, optional
        Monte Carlo: run the blocks of draws on it (a spawn ``ProcessPoolExecutor``, a Dask client's
        ``get_executor()``). Each block is seeded by ``SeedSequence.spawn`` and ``executor=None`` runs
        the same blocks here, so the probabilities are the same, bit for bit, with or without one.
    progress : bool, optional
        Monte Carlo: a progress bar over batches; exact joints: print the route and the estimated time
        of the variance's pair sums (:func:`estimate_cost`, kept as ``.cost`` on the result). Default:
        only on a terminal, and for exact joints only when the estimate exceeds 30 s.

    Returns
    -------
    ExposureProbabilities

    Notes
    -----
    With :math:`d_i` the size of unit i's k-hop in-neighbourhood (i excluded) and :math:`c_i` the
    treated among it, a count-based level is :math:`f(z_i, c_i, d_i)`. Exact marginals are
    :math:`\\pi_i(k) = \\sum_{z, c: f(z, c, d_i) = k} P(Z_i = z, C_i = c)`:

    * Bernoulli(p): :math:`P = p^z (1-p)^{1-z} \\binom{d_i}{c} p^c (1-p)^{d_i - c}` (a dynamic
      programme in compiled code, which also covers heterogeneous probabilities);
    * Complete(n, K): :math:`P = \\binom{d_i}{c}\\binom{n-1-d_i}{K-z-c} / \\binom{n}{K}`, mixed over
      K and K + 1 under the odd-unit rule;
    * cluster designs: :math:`C_i = \\sum_c m_{ic} Z_c` with :math:`m_{ic}` the neighbours of i in
      cluster c, and :math:`Z_i = Z_{c(i)}`; a dynamic programme over the clusters touching the
      neighbourhood (over (treated clusters, c) with hypergeometric weights for Complete).

    * randomized saturation: given the levels of the clusters touching the neighbourhood, the clusters
      are independent; each contributes :math:`P(Z_i, X_c \\mid s_l)` (binomial within Bernoulli
      clusters; multivariate hypergeometric over {i}, the :math:`m_{ic}` neighbours and the rest
      within complete clusters), convolved over the clusters. With ``stage1="bernoulli"`` each
      cluster is mixed over its level with the shares :math:`\\pi_l`. With ``stage1="complete"``
      the levels are exchangeable: if :math:`N` (the level counts over all :math:`K` clusters) has
      the finitely many systematic-sampling outcomes of the design, a given set of :math:`m` clusters
      receives one given level vector with counts :math:`n` with probability
      :math:`G(m, n) = \\sum_N P(N) \\prod_l N_l^{\\underline{n_l}} / K^{\\underline{m}}` (falling
      factorials: the vector is a uniform permutation of the multiset), so the programme also
      carries the count vector of the levels and weights it by :math:`G` at the end.

    Exact joints under randomized saturation: pairs whose closed neighbourhoods touch disjoint
    cluster sets are independent under ``stage1="bernoulli"``; for the others (*near* pairs) the
    clusters split into those touching only i, only j, or both, and within a shared cluster the units
    split into {i}, {j}, neighbours of i only, of j only, of both, and the rest (binomials, or a
    multivariate hypergeometric given the cluster's level); side programmes over the first two parts
    and a joint programme over the shared part, each carrying its level counts, are combined with
    :math:`G` of the total counts (the shares multiply in directly for ``stage1="bernoulli"``). The
    variance sums stream over the near pairs in parallel. With ``stage1="bernoulli"`` and a mapping that
    depends on the count only through :math:`[c = 0]` and :math:`[c = d]`, no programme is needed: the
    clusters are independent, and the probability that :math:`m_0` given units of cluster r are all
    untreated and :math:`m_1` others all treated is :math:`G_r(m_0, m_1) = \\sum_l \\pi_l (1-s_l)^{m_0}
    s_l^{m_1}` (Bernoulli within) or :math:`\\sum_l \\pi_l E[T^{\\underline{m_1}} (n_r - T)^{\\underline{m_0}}]
    / n_r^{\\underline{m_0 + m_1}}` over the count T of the level (complete within), tabulated per cluster;
    a pair's joint is a product of G over the touched clusters for each own draw and each all-0 / all-1
    constraint on :math:`N_i`, :math:`N_j`, "mixed" following by inclusion-exclusion (values below
    :math:`10^{-10}` of the largest term are structural zeros), once per unordered pair. Under ``stage1="complete"`` far pairs are
    dependent, but their joint :math:`\\sum_{n, n'} G(m_i + m_j, n + n') Q_i(n) Q_j(n')^T`, with
    :math:`Q_i(n)` the level distribution of i summed over the level vectors of its clusters with
    counts n, depends only on the two units' *types* (the sizes and neighbour counts of the clusters
    they touch): the variance sums run over type pairs and correct the near pairs, as for Complete
    designs below. When the types are too many for the table, ``method="exact"`` keeps exact
    marginals without joints (the note says so) and ``method="auto"`` warns and uses Monte Carlo.

    Exact joints are available when the randomization units are independent (Bernoulli, cluster
    Bernoulli): pairs whose neighbourhoods share no randomization unit are independent, and the
    joint of the others is a dynamic programme over the shared units. When the level depends on
    the count only through :math:`[c_i = 0]` and :math:`[c_i = d_i]` (Aronow-Samii, full
    neighbourhood, own treatment) and the units share one probability p, a pair's joint is in
    closed form: conditional on the draws of the two own units, the other units of
    :math:`W_i \\cup W_j` (those with neighbours of i or j) split into :math:`W_i \\setminus W_j`,
    :math:`W_j \\setminus W_i` and :math:`W_i \\cap W_j`, independent parts that are all untreated,
    all treated or mixed with probabilities :math:`(1-p)^m`, :math:`p^m`, :math:`1 - (1-p)^m - p^m`
    (e.g. :math:`P(\\text{both fully treated}) = p^{|W_i \\cup W_j \\cup \\{o_i, o_j\\}|}` under full
    neighbourhood exposure), so each pair costs O(1) after counting the parts. Under unit-level
    Bernoulli(p) the joint of a dependent pair needs no programme: with :math:`e_{ij} = [j \\in N_i]`,
    :math:`c = |N_i \\cap N_j|`, :math:`C_i = A + S + e_{ij} Z_j` and :math:`C_j = B + S + e_{ji} Z_i`
    for independent :math:`A \\sim Bin(d_i - c - e_{ij}, p)`, :math:`B \\sim Bin(d_j - c - e_{ji}, p)`,
    :math:`S \\sim Bin(c, p)`, so the joint is a convolution of three binomials (summed over runs of
    equal level with tabulated tails, e.g. :math:`P(C_i = 0) = (1-p)^{d_i}` for Aronow-Samii), streamed
    in parallel over units by the variance sums. Under Complete designs (unit-level, or over
    clusters) every pair is dependent. With :math:`m_i` the randomization units touching i's closed
    neighbourhood and :math:`T_i` the treated among them, the treated set given :math:`T_i = t` is a
    uniform t-subset, so :math:`Q_i(t, l) = P(\\text{level } l \\mid T_i = t)` (the unit's *type*)
    determines its level. Two units whose neighbourhoods share no randomization unit have the joint
    :math:`\\sum_{t,u} Q_i(t,k) Q_j(u,l) \\binom{m_i}{t}\\binom{m_j}{u}\\binom{n_R - m_i - m_j}{K - t - u}
    / \\binom{n_R}{K}`, a function of the two types: the variance sums run over type pairs, then
    replace the near pairs' terms (those sharing a unit, within 2k hops) by their exact joints, a
    multivariate hypergeometric over {i}, {j}, :math:`N_i \\setminus N_j`, :math:`N_j \\setminus N_i`,
    :math:`N_i \\cap N_j` and the rest (over clusters: a dynamic programme per part). ``joint()``
    is then dense.

    Under complete randomization of clusters with a threshold mapping (Aronow-Samii, full
    neighbourhood, own treatment) the level of a unit depends on the draw only through its *profile*
    (own cluster, the set of clusters holding its k-hop neighbours, its level-table row), so units of one
    profile always share their level and a pair's joint depends only on the two profiles: a sum over the
    own clusters' draws and the treated counts of the clusters touching only one unit or both
    (multivariate hypergeometric, non-negative terms, so impossible pairs are exact zeros). The variance
    sums then run over pairs of profiles (126 on ego-Facebook under 16 Leiden clusters, instead of 16
    million pairs of units). :func:`estimate_cost` tells beforehand which route a computation takes and
    roughly how long its pair sums will run.

    Monte Carlo joints are never stored as ``(n, n)`` matrices: the Aronow-Samii sums count each pair's
    joint occurrences from the codes packed 64 draws per word, and the constant-effects sums are a
    quadratic form in per-draw indicator vectors, accumulated over batches of draws.

    References
    ----------
    Aronow, P. M., & Samii, C. (2017). Estimating average causal effects under general
    interference, with application to a social network experiment. *Annals of Applied
    Statistics*, 11(4), 1912-1947.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.Graph.from_edges([0, 1, 2], [1, 2, 3])           # a path 0-1-2-3
    >>> pr = ne.exposure_probabilities(g, ne.Bernoulli(4, p=0.5), ne.FullNeighborhood(), method="exact")
    >>> pr.marginal[:, pr.level_code("treated")].round(4).tolist()   # 0.5^(closed neighbourhood size)
    [0.25, 0.125, 0.125, 0.25]
    """
    method = check_option("method", method, METHODS)
    convention = check_option("convention", convention, CONVENTIONS)
    n = graph.n_nodes
    levels = tuple(mapping.levels)
    hops = int(getattr(mapping, "hops", 1))
    if draws is not None:
        if method == "exact":
            raise InputError("method='exact' cannot use draws; drop draws or use method='monte-carlo'.")
        method = "monte-carlo"
    elif design is None:
        raise InputError("design is required unless draws are given.")
    elif design.n_units != n:
        raise InputError(f"design assigns {design.n_units} units but the graph has {n}; they must match.")
    struct = None if draws is not None else _design_structure(design)
    count_based = bool(getattr(mapping, "count_based", False)) and hasattr(mapping, "level_from_counts")
    exact_ok = struct is not None and count_based
    if method == "exact" and not exact_ok:
        why = ("the mapping is not count-based" if not count_based else
               f"no closed form for {type(design).__name__}")
        fix = "use method='monte-carlo'"
        raise ExposureError(f"method='exact' is not available here ({why}); {fix}.")
    auto = method == "auto"
    if auto:
        method = "exact" if exact_ok else "monte-carlo"
    cost = None
    if method == "exact" and joint and (progress or (progress is None and sys.stderr.isatty())):
        from ._cost import estimate_cost

        cost = estimate_cost(graph, design, mapping, method="exact")
        if progress or cost.seconds > _ANNOUNCE_SECONDS:
            print(cost, file=sys.stderr, flush=True)
    if method == "exact":
        out = _exact(graph, struct, mapping, levels, hops, joint, design)
        if cost is not None:
            out = dataclasses.replace(out, cost=cost)
        if not (auto and joint and struct[0] == "saturation" and not out.joint_available):
            return out
        # exact joints would need too large a type table: Monte Carlo for marginals and joints alike
        warn(f"{out._joint_note} Falling back to Monte Carlo probabilities ({n_draws} draws).", NetexpWarning)
    return _monte_carlo(graph, design, mapping, levels, hops, n_draws, draws, rng, convention, joint, batch_size,
                        progress, executor)


def _exact(graph, struct, mapping, levels, hops, joint, design=None):
    from .kernels.bernoulli import independent_marginals
    from .kernels.cluster_complete import cluster_complete_marginals
    from .kernels.complete import unit_complete_marginals
    from .kernels.saturation import saturation_marginals
    from .kernels.unit_bernoulli import BINOM_TABLE_MAX, binom_table, tail_tables

    kind, labels, p_r, ks, kw = struct
    n = graph.n_nodes
    L = len(levels)
    K = _khop(graph, hops)
    d = np.diff(K.indptr).astype(np.int64)
    loff, ltab = _level_table(mapping, np.concatenate([d, [0]]))
    n_r = n if labels is None else int(labels.max()) + 1
    out = np.zeros((n, L))
    pairs = None
    note = ""
    if kind == "complete" and labels is None:
        unit_complete_marginals(d, n, ks, kw, loff, ltab, L, out)
    elif kind == "saturation":
        n_r = int(design.n_clusters)
        ptr, col, wt, own, _, _ = _incidence(K, labels, n_r)
        sp_ = _sat_params(design)
        with threads_for(float(ptr[-1]) * 64.0):
            saturation_marginals(ptr, col, wt, own, sp_["sizes"], sp_["lo2"], sp_["fr2"], sp_["sat"], sp_["shares"],
                            sp_["bern"], sp_["indep"], sp_["Nsup"], sp_["Nw"], sp_["lf"], sp_["Kc"], d, loff, ltab, L,
                            out)
        if joint:
            pairs, note = _sat_pairs(K, labels, design, d, loff, ltab, L)
    else:
        ptr, col, wt, own, tptr, tidx = _incidence(K, labels, n_r)
        if kind == "bernoulli":
            p = np.ascontiguousarray(p_r, dtype=float)
            independent_marginals(ptr, col, wt, own, p, d, loff, ltab, L, out)
            if joint:
                pairs = {"ptr": ptr, "col": col, "wt": wt, "tptr": tptr, "tidx": tidx, "own": own, "p": p,
                         "d": d, "loff": loff, "ltab": ltab}
                if labels is None and (p == p[0]).all():  # closed-form pair joints (kernels.unit_bernoulli)
                    KT = K.T.tocsr()
                    pairs.update(kptr=K.indptr.astype(np.int64), kidx=K.indices.astype(np.int64),
                                 ktptr=KT.indptr.astype(np.int64), ktidx=KT.indices.astype(np.int64),
                                 tab=binom_table(min(int(d.max(initial=0)), BINOM_TABLE_MAX), float(p[0])),
                                 rend=_run_ends(ltab, d))
                    pairs["cdf"], pairs["sf"] = tail_tables(pairs["tab"], min(int(d.max(initial=0)), BINOM_TABLE_MAX))
                elif (p == p[0]).all():
                    thr = _threshold_tables(ltab, loff, d, ptr, col, wt, own, float(p[0]))
                    if thr is not None:
                        pairs.update(thr)
        else:
            cluster_complete_marginals(ptr, col, wt, own, n_r, d, ks, kw, loff, ltab, L, out)
    if kind == "complete" and joint:
        pairs, note = _complete_pairs(K, labels, n_r, d, ks, kw, loff, ltab, L)
    np.clip(out, 0.0, 1.0, out=out)
    return ExposureProbabilities(levels, readonly(out), True, "exact", "netexp", None, None, graph.node_ids, hops,
                                 None, pairs, note)


def _monte_carlo(graph, design, mapping, levels, hops, n_draws, draws, rng, convention, joint, batch_size,
                 progress, executor=None):
    n = graph.n_nodes
    L = len(levels)
    if draws is not None:
        Zall = check_binary_matrix("draws", draws, n)
        R = Zall.shape[0]
    else:
        Zall = None
        R = check_int("n_draws", n_draws, low=1)
    if joint and R * n > _CODES_MAX_BYTES:
        raise ExposureError(f"joint=True keeps the exposure codes of all draws ({R} x {n} bytes), too large; "
                            "use fewer draws, joint=False, or an exact method.")
    if batch_size is None:
        batch_size = max(1, min(R, 2**26 // max(n, 1)))
    batch_size = check_int("batch_size", batch_size, low=1)
    g = check_rng(rng)
    counts = np.zeros(n * L, dtype=np.int64)
    codes = np.empty((R, n), dtype=np.int8) if joint else None
    offs = (np.arange(n, dtype=np.int64) * L)[None, :]
    starts = range(0, R, batch_size)
    if progress is None:
        progress = None if (R * n > 5e9 and sys.stderr.isatty()) else False
    if Zall is None:  # fixed seeded blocks, on the executor or here: the same numbers either way
        from .._executor import check_executor, iter_blocks
        from ._mc_blocks import MC_PLAN, level_block

        s = 0
        for nb, (cb, E) in iter_blocks(check_executor(executor), level_block, (graph, design, mapping, L, joint),
                                       R, n, g, progress=progress, desc="exposure probabilities", **MC_PLAN):
            counts += cb
            if codes is not None:
                codes[s:s + nb] = E
            s += nb
        starts = range(0)
    elif progress is not False:
        from tqdm import tqdm

        starts = tqdm(starts, desc="exposure probabilities", unit="batch", disable=None if progress is None else False)
    for s in starts:
        e = min(R, s + batch_size)
        Z = Zall[s:e] if Zall is not None else design.sample_many(e - s, rng=g)
        E = np.asarray(mapping.map_many(graph, Z))
        if E.shape != (e - s, n):
            raise ExposureError(f"{type(mapping).__name__}.map_many returned shape {E.shape}; expected {(e - s, n)}.")
        counts += np.bincount((E.astype(np.int64) + offs).ravel(), minlength=n * L)
        if codes is not None:
            codes[s:e] = E
    counts = counts.reshape(n, L)
    if convention == "interference":
        marg = (counts + 1) / (R + 1)
    else:
        marg = counts / R
    se = np.sqrt(marg * (1 - marg) / R)
    if codes is not None:
        codes.flags.writeable = False
    return ExposureProbabilities(levels, readonly(marg), False, "monte-carlo", convention, R, readonly(se),
                                 graph.node_ids, hops, codes, None, "")
