"""Complete randomization within strata: Complete, Blocked, Stratified, StratifiedBlocked."""

from __future__ import annotations

import math
from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd

from .._errors import DesignError, InputError
from .._validation import check_int, check_option, check_probability, dense_codes
from ._base import Design
from ._kernels import stratified_draws

__all__ = ["Complete", "Stratified", "Blocked", "StratifiedBlocked", "EXTRA_RULES"]

EXTRA_RULES = ("random", "treatment", "control")
# binomial coefficients C(m, k) for the small-stratum path of the sampler (m <= 16)
_BINOM = np.array([[math.comb(m, k) for k in range(17)] for m in range(17)], dtype=np.int64)


class _StrataDesign(Design):
    """Shared machinery: strata (codes 0..S-1), planned treated count per stratum, one kernel."""

    def _setup(self, codes: np.ndarray, n_strata: int, k_exact: np.ndarray, extra: str, where: str):
        sizes = np.bincount(codes, minlength=n_strata)
        if (sizes == 0).any():
            raise DesignError(f"{where}: a stratum has no units.")
        lo = np.floor(k_exact + 1e-9).astype(np.int64)
        fr = k_exact - lo
        fr[np.abs(fr) < 1e-9] = 0.0
        if extra == "treatment":
            lo = lo + (fr > 0)
            fr = np.zeros_like(fr)
        elif extra == "control":
            fr = np.zeros_like(fr)
        hi = lo + (fr > 0)
        if (lo < 0).any() or (hi > sizes).any():
            raise DesignError(f"{where}: a stratum is asked to treat more units than it has.")
        order = np.argsort(codes, kind="stable").astype(np.int64)
        offsets = np.zeros(n_strata + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        for name, arr in (("_codes", codes), ("_sizes", sizes), ("_k_low", lo), ("_frac", fr), ("_order", order),
                          ("_offsets", offsets)):
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "_extra", extra)

    @property
    def n_units(self) -> int:
        return int(self._codes.shape[0])

    @property
    def n_strata(self) -> int:
        return int(self._sizes.shape[0])

    @property
    def strata(self) -> np.ndarray:
        """Stratum code (0..n_strata-1) of every unit."""
        return self._codes

    @property
    def expected_treated(self) -> np.ndarray:
        """Expected number treated in each stratum (``k_low + frac``)."""
        return self._k_low + self._frac

    def _sample_many(self, n_draws, rng):
        n = self.n_units
        out = np.zeros((n_draws, n), dtype=bool)
        share = (self._k_low + self._frac) / self._sizes
        thresh = np.clip(np.round(share * 256), 0, 256).astype(np.int64)
        # random bytes in blocks of <= 16 MB: below glibc's dynamic mmap threshold the buffers are
        # recycled from the heap instead of arriving as fresh pages to fault in (2x faster here)
        chunk = max(1, 2**24 // n)
        for start in range(0, n_draws, chunk):
            stop = min(n_draws, start + chunk)
            rbytes = np.frombuffer(rng.bytes((stop - start) * n), dtype=np.uint8).reshape(stop - start, n)
            stratified_draws(rng, self._order, self._offsets, self._k_low, self._frac, thresh, rbytes, _BINOM,
                             out[start:stop])
        return out

    def _stratum_p(self):
        return (self._k_low + self._frac) / self._sizes

    def _probabilities(self):
        return self._stratum_p()[self._codes]

    def _joint_probabilities(self):
        n = self._sizes.astype(float)
        lo, fr = self._k_low.astype(float), self._frac
        # E[K(K-1)] over the count K in {lo, lo+1} (lo+1 with probability fr)
        ekk = (1 - fr) * lo * (lo - 1) + fr * (lo + 1) * lo
        within = np.where(n > 1, ekk / np.maximum(n * (n - 1), 1), 0.0)
        p = self._stratum_p()
        c = self._codes
        j = np.outer(p[c], p[c])
        same = c[:, None] == c[None, :]
        j[same] = within[c][np.nonzero(same)[0]]
        np.fill_diagonal(j, p[c])
        return j

    def _pmf(self, z):
        prob = 1.0
        for s in range(self.n_strata):
            k = int(z[self._codes == s].sum())
            m = int(self._sizes[s])
            lo, fr = int(self._k_low[s]), float(self._frac[s])
            pk = (1 - fr) if k == lo else (fr if k == lo + 1 else 0.0)
            if pk == 0:
                return 0.0
            prob *= pk / math.comb(m, k)
        return prob


def _k_from(where, sizes, labels, p, n_treated):
    """Planned treated count per stratum (possibly fractional) from p / n_treated (scalars or mappings)."""
    S = sizes.shape[0]
    if n_treated is not None and p is not None:
        raise DesignError(f"{where}: give n_treated or p, not both.")
    if n_treated is not None:
        if isinstance(n_treated, Mapping):
            k = _from_mapping(where, "n_treated", n_treated, labels).astype(float)
        else:
            k = np.full(S, float(check_int(f"{where}: n_treated", n_treated, low=0)))
        if (k != np.round(k)).any():
            raise DesignError(f"{where}: n_treated must be whole numbers.")
        return k
    if p is None:
        p = 0.5
    if isinstance(p, Mapping):
        pp = _from_mapping(where, "p", p, labels)
        for lab, v in zip(labels, pp):
            check_probability(f"{where}: p[{lab!r}]", v)
    else:
        pp = np.full(S, check_probability(f"{where}: p", p))
    return pp * sizes


def _from_mapping(where, name, mapping, labels):
    missing = [lab for lab in labels.tolist() if lab not in mapping]
    if missing:
        raise DesignError(f"{where}: {name} has no value for stratum/strata {missing[:5]}; give one per stratum.")
    unknown = [k for k in mapping if k not in set(labels.tolist())]
    if unknown:
        raise DesignError(f"{where}: {name} names unknown strata {unknown[:5]}; strata are {labels.tolist()[:10]}.")
    return np.array([mapping[lab] for lab in labels.tolist()], dtype=float)


class Complete(_StrataDesign):
    """A fixed number of ``n_units`` treated, every such set equally likely.

    Parameters
    ----------
    n_units : int
    n_treated : int, optional
        Number treated, in ``[1, n_units - 1]``.
    p : float, optional
        Share treated (default 0.5 when ``n_treated`` is not given). When ``p * n_units`` is not a
        whole number, ``extra`` decides who gets the odd unit.
    extra : {"random", "treatment", "control"}, default "random"
        ``"random"``: treat ``floor(p n)`` or ``floor(p n) + 1`` units, the latter with probability
        equal to the fractional part, so that every unit's probability is exactly ``p`` (the seed
        notebook's "randomly decide which label gets the extra unit", with its probability stated);
        ``"treatment"`` / ``"control"``: that arm always gets it (rounding up / down).

    Notes
    -----
    With a fixed :math:`n_1` of :math:`n`: :math:`P(Z_i=1) = n_1/n` and
    :math:`P(Z_i=1, Z_j=1) = n_1 (n_1-1) / (n (n-1))`, :math:`i \\ne j`. With a random extra unit
    these are averaged over the two counts. Draws use selection sampling in compiled code (one
    uniform per unit and draw, no sort).

    Examples
    --------
    >>> import netexp as ne
    >>> z = ne.Complete(10, n_treated=3).sample(rng=0)
    >>> int(z.sum())
    3
    >>> ne.Complete(5).probabilities.tolist()   # 2 or 3 treated, each with probability 1/2
    [0.5, 0.5, 0.5, 0.5, 0.5]
    """

    def __init__(self, n_units: int, n_treated: int | None = None, *, p: float | None = None,
                 extra: Literal["random", "treatment", "control"] = "random"):
        n = check_int("Complete: n_units", n_units, low=2)
        extra = check_option("Complete: extra", extra, EXTRA_RULES)
        if n_treated is not None:
            if p is not None:
                raise DesignError("Complete: give n_treated or p, not both.")
            k = float(check_int("Complete: n_treated", n_treated, low=1, high=n - 1))
        else:
            p = 0.5 if p is None else check_probability("Complete: p", p)
            k = p * n
        self._setup(np.zeros(n, dtype=np.int64), 1, np.array([k]), extra, "Complete")
        if self._k_low[0] + (self._frac[0] > 0) < 1 or self._k_low[0] > n - 1:
            raise DesignError(f"Complete: p * n_units = {k:g} leaves an arm empty; choose p so that both arms get "
                              "at least one unit.")
        self._freeze()

    @property
    def n_treated(self) -> int:
        """Number treated (an error when it is random: see ``extra``)."""
        if self._frac[0] > 0:
            raise DesignError(f"Complete: the number treated is random here ({int(self._k_low[0])} or "
                              f"{int(self._k_low[0]) + 1}); use expected_treated or extra='treatment'/'control'.")
        return int(self._k_low[0])

    def _repr_params(self):
        if self._frac[0] > 0:
            return {"n_units": self.n_units, "expected_treated": float(self.expected_treated[0]), "extra": self._extra}
        return {"n_units": self.n_units, "n_treated": int(self._k_low[0])}


class Stratified(_StrataDesign):
    """Complete randomization separately within each stratum.

    Parameters
    ----------
    strata : array-like
        Stratum label of every unit (any hashable values), e.g. a categorical covariate; see
        :meth:`from_covariate` to bin a numeric one.
    p : float or mapping {stratum: float}, optional
        Share treated in each stratum (default 0.5). A mapping gives strata different
        probabilities; estimators must then weight by them (``probabilities`` exposes them).
    n_treated : int or mapping {stratum: int}, optional
        Number treated per stratum instead of ``p``.
    extra : {"random", "treatment", "control"}
        Who gets the odd unit of a stratum when ``p * size`` is not whole (see :class:`Complete`).

    Notes
    -----
    Strata are independent: :math:`P(Z_i=1,Z_j=1) = p_s p_t` across strata; within stratum s
    the :class:`Complete` formulas apply. Assignments are returned in the units' own order,
    by position. (The teaching notebook's ``stratified_assignment`` writes ``z[idx]`` with the
    DataFrame's index *labels*, right only while the index is ``0..n-1``, and sizes each stratum
    with ``round``, which rounds halves to even, so an odd stratum's extra unit goes to an arm by
    parity rather than by a stated rule; ``extra=`` states it here.)

    Examples
    --------
    >>> import netexp as ne
    >>> d = ne.Stratified(["a", "a", "b", "b", "b", "b"], p=0.5)
    >>> z = d.sample(rng=1)
    >>> int(z[:2].sum()), int(z[2:].sum())
    (1, 2)
    """

    def __init__(self, strata: Any, *, p: float | Mapping | None = None, n_treated: int | Mapping | None = None,
                 extra: Literal["random", "treatment", "control"] = "random"):
        raw = np.asarray(strata)
        if raw.ndim != 1 or raw.size < 2:
            raise InputError("Stratified: strata must be a 1-D array with one label per unit (at least 2 units).")
        if pd.isna(pd.Series(raw)).any():
            raise InputError("Stratified: strata contain missing values; give every unit a stratum.")
        extra = check_option("Stratified: extra", extra, EXTRA_RULES)
        labels, codes = dense_codes(raw)
        sizes = np.bincount(codes, minlength=labels.shape[0])
        k = _k_from("Stratified", sizes, labels, p, n_treated)
        self._setup(codes, labels.shape[0], k, extra, "Stratified")
        object.__setattr__(self, "_labels", labels)
        self._freeze()

    @classmethod
    def from_covariate(cls, covariates: pd.DataFrame, column: str, *, bins: int | list | None = None, **kw):
        """Strata from one covariate column.

        A categorical / string column is used as is. A numeric column is binned: ``bins=q`` (int)
        cuts at its quantiles into q groups (``pandas.qcut``), a list gives explicit cut points
        (``pandas.cut``, right-closed, outer edges included). Other keywords go to the constructor.
        """
        if column not in covariates.columns:
            raise InputError(f"Stratified: no column {column!r}; available: {list(covariates.columns)}.")
        col = covariates[column]
        if bins is not None:
            if not pd.api.types.is_numeric_dtype(col):
                raise InputError(f"Stratified: column {column!r} is not numeric; bins apply to numeric columns.")
            if isinstance(bins, int):
                cut = pd.qcut(col, bins, duplicates="drop")
            else:
                edges = sorted(bins)
                lo, hi = min(edges[0], col.min()), max(edges[-1], col.max())
                cut = pd.cut(col, sorted(set([lo - 1e-9 * (abs(lo) + 1)] + edges + [hi])), include_lowest=True)
            col = cut.astype(str)
        elif pd.api.types.is_float_dtype(col) and col.nunique() > 20:
            raise InputError(f"Stratified: column {column!r} is continuous ({col.nunique()} distinct values); "
                             "pass bins=4 (quartiles) or a list of cut points.")
        return cls(col.to_numpy(), **kw)

    @property
    def stratum_labels(self) -> np.ndarray:
        return self._labels

    def _repr_params(self):
        return {"n_units": self.n_units, "n_strata": self.n_strata, "extra": self._extra}


class Blocked(_StrataDesign):
    """Balanced blocks of consecutive units in arrival order.

    Units ``0..k-1`` form the first block, ``k..2k-1`` the second, and so on (or in the order
    given by ``order``); each block is completely randomized with share ``p`` (default half), so
    the arms stay balanced if the experiment stops early. A ragged last block is randomized the
    same way, its odd unit going by ``extra``.

    Examples
    --------
    >>> import netexp as ne
    >>> z = ne.Blocked(10, block_size=4).sample(rng=0)
    >>> z[:4].sum(), z[4:8].sum(), z[8:].sum()
    (np.int64(2), np.int64(2), np.int64(1))
    """

    def __init__(self, n_units: int, block_size: int, *, p: float = 0.5, order: Any = None,
                 extra: Literal["random", "treatment", "control"] = "random"):
        n = check_int("Blocked: n_units", n_units, low=2)
        k = check_int("Blocked: block_size", block_size, low=2, high=n)
        extra = check_option("Blocked: extra", extra, EXTRA_RULES)
        p = check_probability("Blocked: p", p)
        pos = _arrival_positions("Blocked", order, n)
        codes = (pos // k).astype(np.int64)
        sizes = np.bincount(codes)
        self._setup(codes, sizes.shape[0], p * sizes, extra, "Blocked")
        object.__setattr__(self, "_block_size", k)
        self._freeze()

    @property
    def block_size(self) -> int:
        return self._block_size

    def _repr_params(self):
        return {"n_units": self.n_units, "block_size": self._block_size, "n_blocks": self.n_strata}


class StratifiedBlocked(_StrataDesign):
    """Blocks of ``block_size`` consecutive units (arrival order) inside each stratum.

    Combines :class:`Stratified` (balance across a covariate) with :class:`Blocked` (balance over
    time within each stratum). Each block is completely randomized with share ``p``.
    """

    def __init__(self, strata: Any, block_size: int, *, p: float = 0.5, order: Any = None,
                 extra: Literal["random", "treatment", "control"] = "random"):
        raw = np.asarray(strata)
        if raw.ndim != 1 or raw.size < 2:
            raise InputError("StratifiedBlocked: strata must be a 1-D array with one label per unit.")
        n = raw.shape[0]
        k = check_int("StratifiedBlocked: block_size", block_size, low=2)
        extra = check_option("StratifiedBlocked: extra", extra, EXTRA_RULES)
        p = check_probability("StratifiedBlocked: p", p)
        labels, scodes = dense_codes(raw)
        pos = _arrival_positions("StratifiedBlocked", order, n)
        # rank of each unit within its stratum, by arrival
        by = np.lexsort((pos, scodes))
        start = np.r_[0, np.flatnonzero(np.diff(scodes[by])) + 1]
        rank = np.empty(n, dtype=np.int64)
        seg = np.repeat(start, np.diff(np.r_[start, n]))
        rank[by] = np.arange(n) - seg
        block_in = rank // k
        nb = int(block_in.max()) + 1
        codes = dense_codes(scodes * nb + block_in)[1]
        sizes = np.bincount(codes)
        self._setup(codes, sizes.shape[0], p * sizes, extra, "StratifiedBlocked")
        object.__setattr__(self, "_stratum_codes", scodes)
        object.__setattr__(self, "_labels", labels)
        object.__setattr__(self, "_block_size", k)
        self._freeze()

    def _repr_params(self):
        return {"n_units": self.n_units, "n_strata": int(self._labels.shape[0]), "block_size": self._block_size,
                "n_blocks": self.n_strata}


def _arrival_positions(where, order, n):
    if order is None:
        return np.arange(n, dtype=np.int64)
    pos = np.asarray(order)
    if pos.shape != (n,):
        raise InputError(f"{where}: order must give one arrival position per unit ({n}); got shape {pos.shape}.")
    ranks = np.empty(n, dtype=np.int64)
    ranks[np.argsort(pos, kind="stable")] = np.arange(n)
    return ranks
