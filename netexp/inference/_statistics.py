"""Test statistics evaluated on a whole batch of assignments at once.

Two kinds:

- **linear** statistics (difference in means, cluster-level difference in means, regression
  coefficient) are linear in the outcome vector for a fixed assignment. They take a float matrix of
  draws ``Zf`` (R, n) and outcome *columns* ``Y`` (n, k) and return (R, k): one matrix product per
  batch serves the outcome and the observed assignment at once (what the sharp null of a constant
  effect needs, see :func:`netexp.inference.randomization_test`).
- **general** statistics (studentized, user callables) take the bool draws ``Z`` (R, n) and the
  outcomes ``Y`` as (n,) or, under a non-zero null effect, the imputed outcomes (R, n).
- **exposure** statistics (Horvitz-Thompson, Hajek contrasts between exposure levels) are general
  statistics that map each batch of draws to exposure levels with the batched exposure kernel
  (:meth:`ExposureMapping.map_many`) and take inverse-probability weighted sums per draw in one
  compiled pass over the ``(R, n)`` level codes.

A draw where the statistic is undefined (an empty arm) gives NaN.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from .._errors import DesignError, EstimationError, InputError
from .._validation import dense_codes

__all__ = ["STATISTICS", "EXPOSURE_STATISTICS", "make_statistic", "Statistic"]

EXPOSURE_STATISTICS = ("horvitz-thompson", "hajek")
STATISTICS = ("difference-in-means", "studentized", "cluster-difference-in-means", "regression") + EXPOSURE_STATISTICS


class Statistic:
    """A named statistic: ``linear`` ones expose ``cols(Zf, Y)``, general ones ``__call__(Z, Y)``."""

    def __init__(self, name: str, *, linear: bool, cols: Callable | None = None, general: Callable | None = None,
                 check_draws: Callable | None = None, batch_hint: tuple[int, int] | None = None,
                 exposure: bool = False):
        self.name = name
        self.linear = linear
        self._cols = cols
        self._general = general
        self.check_draws = check_draws
        #: (unit-draws per batch, draws per batch rounded to a multiple of) or None for the default
        self.batch_hint = batch_hint
        #: exposure statistics test the null of no effect of any exposure (no constant-effect imputation)
        self.exposure = exposure

    def cols(self, Zf: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return self._cols(Zf, Y)

    def __call__(self, Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Statistic of every draw in ``Z`` (bool (R, n)) for outcomes ``Y`` ((n,) or (R, n))."""
        if self.linear:
            assert Y.ndim == 1, "linear statistics take one outcome vector; use cols() for several"
            return self._cols(Z.astype(np.float64), Y[:, None])[:, 0]
        return self._general(Z, Y)


# ------------------------------------------------------------------ difference in means
def _dim_cols(Zf, Y):
    n = Zf.shape[1]
    Yc = Y - Y.mean(axis=0)                      # shift invariance: better rounding
    n1 = Zf.sum(axis=1)[:, None]
    n0 = n - n1
    s1 = Zf @ Yc
    tot = Yc.sum(axis=0)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = s1 / n1 - (tot - s1) / n0
    t[((n1 == 0) | (n0 == 0))[:, 0]] = np.nan
    return t


def _rowdot(Zf, Y):
    return Zf @ Y if Y.ndim == 1 else np.einsum("rn,rn->r", Zf, Y)


def _welch(Z, Y):
    Zf = Z.astype(np.float64)
    n = Z.shape[1]
    Yc = Y - Y.mean(axis=-1, keepdims=True)
    n1 = Zf.sum(axis=1)
    n0 = n - n1
    s1 = _rowdot(Zf, Yc)
    q1 = _rowdot(Zf, Yc * Yc)
    st = Yc.sum(axis=-1)
    qt = (Yc * Yc).sum(axis=-1)
    s0, q0 = st - s1, qt - q1
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        v1 = np.maximum(q1 - n1 * m1 * m1, 0.0) / (n1 - 1)
        v0 = np.maximum(q0 - n0 * m0 * m0, 0.0) / (n0 - 1)
        se = np.sqrt(v1 / n1 + v0 / n0)
        t = (m1 - m0) / se
    t = np.asarray(t, dtype=float)
    t[(n1 < 2) | (n0 < 2) | ~(se > 0)] = np.nan
    return t


# ------------------------------------------------------------------ cluster level
def _cluster_stat(codes: np.ndarray):
    k = int(codes.max()) + 1
    n = codes.shape[0]
    sizes = np.bincount(codes, minlength=k).astype(float)
    M = sp.csr_array((np.ones(n), (np.arange(n), codes)), shape=(n, k))
    MT = M.T.tocsr()

    def shares(Zf):
        return (MT @ Zf.T).T / sizes                 # (R, K) share treated per cluster

    def cols(Zf, Y):
        Zc = shares(Zf)
        mixed = ((Zc > 1e-12) & (Zc < 1 - 1e-12)).any(axis=1)
        if mixed.any():
            raise DesignError("statistic='cluster-difference-in-means': some clusters are partly treated in "
                              f"{int(mixed.sum())} of {Zf.shape[0]} assignments; it needs a design that treats "
                              "whole clusters (ClusterRandomized with the same clusters).")
        Zc = np.rint(Zc)
        Yc = Y - Y.mean(axis=0)
        Ybar = (MT @ Yc) / sizes[:, None]             # (K, k) cluster means
        k1 = Zc.sum(axis=1)[:, None]
        k0 = k - k1
        s1 = Zc @ Ybar
        tot = Ybar.sum(axis=0)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = s1 / k1 - (tot - s1) / k0
        t[((k1 == 0) | (k0 == 0))[:, 0]] = np.nan
        return t

    return cols


# ------------------------------------------------------------------ regression (Frisch-Waugh)
def _regression_stat(covariates: np.ndarray | None, n: int):
    W = np.ones((n, 1)) if covariates is None else np.column_stack([np.ones(n), covariates])
    Q, R = np.linalg.qr(W)
    d = np.abs(np.diag(R))
    if d.min(initial=np.inf) <= 1e-10 * max(d.max(initial=0.0), 1.0):
        raise InputError("covariates are collinear with each other or with the intercept; drop redundant or "
                         "constant columns.")

    def cols(Zf, Y):
        Yt = Y - Q @ (Q.T @ Y)                        # residualize the outcomes once per batch
        num = Zf @ Yt                                  # z'(M y) = (M z)'(M y)
        P = Zf @ Q
        den = Zf.sum(axis=1) - (P * P).sum(axis=1)     # ||M z||^2
        with np.errstate(divide="ignore", invalid="ignore"):
            t = num / den[:, None]
        t[den <= 1e-9 * max(n, 1)] = np.nan
        return t

    return cols


# ------------------------------------------------------------------ exposure contrasts (HT / Hajek)
@njit(cache=True, parallel=True, nogil=True)
def _level_sums(codes, lev, V, out):
    """``out[r, j] = sum_i 1[codes[r, i] == lev[j]] * V[i, j]`` for every draw r (rows in parallel)."""
    R, n = codes.shape
    J = lev.shape[0]
    for r in prange(R):
        acc = np.zeros(J)
        for i in range(n):
            c = codes[r, i]
            for j in range(J):
                if c == lev[j]:
                    acc[j] += V[i, j]
        for j in range(J):
            out[r, j] = acc[j]


def _child_rng(g):
    """An independent Generator that leaves ``g``'s stream untouched when it can (``spawn``)."""
    try:
        return g.spawn(1)[0]
    except (AttributeError, TypeError, ValueError):
        return np.random.default_rng(int(g.integers(0, 2**63 - 1)))


def _exposure_stat(kind: str, n: int, *, graph, mapping, design, probabilities, contrast, units, rng) -> Statistic:
    """Horvitz-Thompson or Hajek contrast of two exposure levels, per draw, for a batch of draws."""
    from .._parallel import threads_for
    from .._validation import check_rng
    from ..estimators._horvitz_thompson import _units_mask
    from ..exposure import ExposureMapping, ExposureProbabilities, exposure_probabilities
    from ..graph import Graph

    where = f"statistic={kind!r}"
    if not isinstance(graph, Graph):
        raise InputError(f"{where} needs graph= (the netexp Graph the exposure mapping reads); got "
                         f"{type(graph).__name__}.")
    if graph.n_nodes != n:
        raise InputError(f"{where}: graph has {graph.n_nodes} units but y and z have {n}; pass the graph of the "
                         "experiment.")
    if not isinstance(mapping, ExposureMapping):
        raise InputError(f"{where} needs mapping= (an ExposureMapping such as ne.FullNeighborhood()); got "
                         f"{type(mapping).__name__}.")
    if probabilities is None:
        probabilities = exposure_probabilities(graph, design, mapping, method="auto", joint=False,
                                               rng=_child_rng(check_rng(rng)), progress=False)
    elif not isinstance(probabilities, ExposureProbabilities):
        raise InputError(f"probabilities must be an ExposureProbabilities (from exposure_probabilities) or None; "
                         f"got {type(probabilities).__name__}.")
    if probabilities.n_units != n:
        raise InputError(f"probabilities cover {probabilities.n_units} units but y and z have {n}; compute them "
                         "for this graph and design.")
    if tuple(probabilities.levels) != tuple(mapping.levels):
        raise InputError(f"probabilities have levels {list(probabilities.levels)} but the mapping has "
                         f"{list(mapping.levels)}; compute them with this mapping.")
    if isinstance(contrast, str) or len(contrast) != 2:
        raise InputError(f"contrast must be a pair (level_a, level_b) of {list(mapping.levels)}; got {contrast!r}.")
    a, b = probabilities.level_code(contrast[0]), probabilities.level_code(contrast[1])
    if a == b:
        raise InputError(f"contrast must name two different levels; got {contrast!r}.")
    mask = _units_mask(units, probabilities)
    N = int(mask.sum())
    if N == 0:
        raise EstimationError("units selects no unit; the statistic needs at least one.")
    probabilities.check_contrast(a, b, units=mask)       # positivity: ExposureError naming the fix
    P = probabilities.marginal
    # the same floating-point operations as netexp.horvitz_thompson / hajek: w = 1/pi, then y * w
    wa = np.where(mask, 1.0 / np.where(P[:, a] > 0, P[:, a], 1.0), 0.0)
    wb = np.where(mask, 1.0 / np.where(P[:, b] > 0, P[:, b], 1.0), 0.0)
    if kind == "horvitz-thompson":
        lev = np.array([a, b], dtype=np.int8)
    else:
        lev = np.array([a, a, b, b], dtype=np.int8)
    name = f"{kind}: Y({probabilities.levels[a]}) - Y({probabilities.levels[b]})"

    def general(Z, Y):
        if Y.ndim != 1:
            raise InputError(f"{where} tests the null of no effect of any exposure (outcomes fixed); it takes one "
                             "outcome vector, not imputed outcomes per draw.")
        cols = [Y * wa, Y * wb] if kind == "horvitz-thompson" else [Y * wa, wa, Y * wb, wb]
        V = np.ascontiguousarray(np.column_stack(cols))
        codes = np.ascontiguousarray(mapping.map_many(graph, Z, progress=False))
        S = np.empty((codes.shape[0], lev.shape[0]))
        with threads_for(codes.size):
            _level_sums(codes, lev, V, S)
        if kind == "horvitz-thompson":
            return (S[:, 0] - S[:, 1]) / N
        with np.errstate(divide="ignore", invalid="ignore"):
            t = S[:, 0] / S[:, 1] - S[:, 2] / S[:, 3]
        t[(S[:, 1] == 0) | (S[:, 3] == 0)] = np.nan           # no unit at a level: undefined
        return t

    return Statistic(name, linear=False, general=general, batch_hint=(2**24, 64), exposure=True)


def _covariate_matrix(covariates: Any, n: int) -> np.ndarray:
    try:
        X = np.asarray(covariates, dtype=float)
    except (TypeError, ValueError):
        raise InputError("covariates must be numeric: an array of shape (n_units,) or (n_units, p) or a numeric "
                         "DataFrame.") from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != n:
        raise InputError(f"covariates must have {n} rows (one per unit); got shape {np.shape(covariates)}.")
    if not np.isfinite(X).all():
        raise InputError("covariates contain missing or non-finite values; impute or drop them first.")
    return X


def make_statistic(statistic: Any, n: int, *, covariates: Any = None, clusters: Any = None,
                   design: Any = None, graph: Any = None, mapping: Any = None, probabilities: Any = None,
                   contrast: Any = ("treated", "control"), units: Any = None, rng: Any = None) -> Statistic:
    """Resolve a statistic name or callable into a :class:`Statistic` for ``n`` units.

    ``graph``, ``mapping``, ``probabilities``, ``contrast`` and ``units`` are used by the exposure
    statistics (``"horvitz-thompson"``, ``"hajek"``) only; ``rng`` seeds Monte Carlo exposure
    probabilities when they have to be computed and no closed form exists.
    """
    if statistic not in EXPOSURE_STATISTICS or callable(statistic):
        given = [k for k, v in (("graph", graph), ("mapping", mapping), ("probabilities", probabilities),
                                ("units", units)) if v is not None]
        if given:
            raise InputError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} used only by the exposure "
                             f"statistics {', '.join(map(repr, EXPOSURE_STATISTICS))}; got statistic="
                             f"{getattr(statistic, '__name__', statistic)!r}.")
    if callable(statistic):
        fn = statistic
        name = getattr(fn, "__name__", "custom statistic")

        def general(Z, Y):
            out = np.asarray(fn(Z, Y), dtype=float)
            if out.shape != (Z.shape[0],):
                raise InputError(f"statistic {name!r} must return one value per assignment, shape ({Z.shape[0]},); "
                                 f"got shape {out.shape}.")
            return out

        return Statistic(name, linear=False, general=general)
    if statistic not in STATISTICS:
        raise InputError(f"statistic must be one of {', '.join(map(repr, STATISTICS))} or a callable "
                         f"statistic(Z, y) -> (R,); got {statistic!r}.")
    if covariates is not None and statistic != "regression":
        raise InputError(f"covariates are used only by statistic='regression'; got statistic={statistic!r}.")
    if clusters is not None and statistic != "cluster-difference-in-means":
        raise InputError(f"clusters are used only by statistic='cluster-difference-in-means'; got "
                         f"statistic={statistic!r}.")
    if statistic == "difference-in-means":
        return Statistic(statistic, linear=True, cols=_dim_cols)
    if statistic == "studentized":
        return Statistic(statistic, linear=False, general=_welch)
    if statistic in EXPOSURE_STATISTICS:
        return _exposure_stat(statistic, n, graph=graph, mapping=mapping, design=design,
                              probabilities=probabilities, contrast=contrast, units=units, rng=rng)
    if statistic == "regression":
        X = None if covariates is None else _covariate_matrix(covariates, n)
        return Statistic(statistic, linear=True, cols=_regression_stat(X, n))
    # cluster-difference-in-means
    if clusters is None:
        clusters = getattr(design, "labels", None)
        if clusters is None:
            raise InputError("statistic='cluster-difference-in-means' needs clusters= (one label per unit) or a "
                             "ClusterRandomized design to take them from.")
    c = np.asarray(getattr(clusters, "labels", clusters))
    if c.ndim != 1 or c.shape[0] != n:
        raise InputError(f"clusters must have one label per unit ({n}); got shape {c.shape}.")
    _, codes = dense_codes(c)
    if int(codes.max()) + 1 < 2:
        raise EstimationError("statistic='cluster-difference-in-means' needs at least 2 clusters; got 1.")
    return Statistic(statistic, linear=True, cols=_cluster_stat(codes.astype(np.int64)))
