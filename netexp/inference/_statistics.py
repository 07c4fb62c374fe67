"""Test statistics evaluated on a whole batch of assignments at once.

Two kinds:

- **linear** statistics (difference in means, cluster-level difference in means, regression
  coefficient) are linear in the outcome vector for a fixed assignment. They take a float matrix of
  draws ``Zf`` (R, n) and outcome *columns* ``Y`` (n, k) and return (R, k): one matrix product per
  batch serves the outcome and the observed assignment at once (what the sharp null of a constant
  effect needs, see :func:`netexp.inference.randomization_test`).
- **general** statistics (studentized, user callables) take the bool draws ``Z`` (R, n) and the
  outcomes ``Y`` as (n,) or, under a non-zero null effect, the imputed outcomes (R, n).

A draw where the statistic is undefined (an empty arm) gives NaN.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .._errors import DesignError, EstimationError, InputError
from .._validation import dense_codes

__all__ = ["STATISTICS", "make_statistic", "Statistic"]

STATISTICS = ("difference-in-means", "studentized", "cluster-difference-in-means", "regression")


class Statistic:
    """A named statistic: ``linear`` ones expose ``cols(Zf, Y)``, general ones ``__call__(Z, Y)``."""

    def __init__(self, name: str, *, linear: bool, cols: Callable | None = None, general: Callable | None = None,
                 check_draws: Callable | None = None):
        self.name = name
        self.linear = linear
        self._cols = cols
        self._general = general
        self.check_draws = check_draws

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
                   design: Any = None) -> Statistic:
    """Resolve a statistic name or callable into a :class:`Statistic` for ``n`` units."""
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
