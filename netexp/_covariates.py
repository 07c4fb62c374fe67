"""Covariates as numbers: one place that turns a table of unit or cluster covariates into a
numeric matrix (categorical columns as dummies), used by designs and diagnostics alike."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._errors import InputError

__all__ = ["covariate_matrix", "as_covariate_frame", "cluster_covariates", "whiten"]

# eigenvalues of the correlation matrix below this share of the largest count as zero
RANK_RTOL = 1e-10


def as_covariate_frame(covariates: Any, n_units: int | None = None, *, what: str = "covariates") -> pd.DataFrame:
    """Return covariates as a DataFrame (a 1-D or 2-D array becomes columns x0, x1, ...)."""
    if isinstance(covariates, pd.Series):
        df = covariates.to_frame()
    elif isinstance(covariates, pd.DataFrame):
        df = covariates
    else:
        arr = np.asarray(covariates)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InputError(f"{what} must be a DataFrame or a 1-D/2-D array; got shape {arr.shape}.")
        df = pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])])
    if n_units is not None and len(df) != n_units:
        raise InputError(f"{what} must have one row per unit ({n_units}); got {len(df)} rows.")
    return df


def covariate_matrix(covariates: Any, columns: Sequence[str] | None = None, *, n_units: int | None = None,
                     drop_first: bool = False, what: str = "covariates") -> tuple[np.ndarray, list[str]]:
    """Numeric matrix of the chosen covariate columns.

    Numeric and boolean columns are kept; categorical / string columns become one 0/1 dummy
    column per level (``name=level``), all levels unless ``drop_first`` (the Mahalanobis distance
    needs a full-rank set, so it drops the first). Missing values are an error naming the column.

    Returns
    -------
    X : ndarray of float, shape (n_units, n_columns)
    names : list of str
    """
    df = as_covariate_frame(covariates, n_units, what=what)
    if columns is None:
        columns = list(df.columns)
    elif isinstance(columns, str):
        columns = [columns]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what}: no column(s) {missing}; available: {list(df.columns)}.")
    if not columns:
        raise InputError(f"{what}: choose at least one covariate column.")
    blocks, names = [], []
    for c in columns:
        col = df[c]
        if col.isna().any():
            raise InputError(f"{what}: column {c!r} has {int(col.isna().sum())} missing values; impute or drop them.")
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            blocks.append(col.to_numpy(dtype=float)[:, None])
            names.append(str(c))
        else:
            levels = sorted(pd.unique(col.astype(str)))
            use = levels[1:] if drop_first else levels
            s = col.astype(str).to_numpy()
            for lv in use:
                blocks.append((s == lv).astype(float)[:, None])
                names.append(f"{c}={lv}")
    X = np.hstack(blocks) if blocks else np.empty((len(df), 0))
    return X, names


def cluster_covariates(clustering, unit_covariates: Any = None, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Cluster-level covariates: ``size`` plus the cluster mean of each unit covariate.

    Rows are clusters in label order ``0..n_clusters-1`` (the order :class:`ClusterRandomized`
    uses), so the frame can be passed directly to a design over clusters. Categorical unit
    covariates become cluster shares of each level.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> c = ne.Clustering(g, [0] * 17 + [1] * 17)
    >>> ne.cluster_covariates(c)["size"].tolist()
    [17, 17]
    """
    labels = np.asarray(clustering.labels)
    k = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=k)
    out = pd.DataFrame({"size": sizes})
    out.index.name = "cluster"
    if unit_covariates is not None:
        X, names = covariate_matrix(unit_covariates, columns, n_units=labels.shape[0], what="unit covariates")
        sums = np.stack([np.bincount(labels, weights=X[:, j], minlength=k) for j in range(X.shape[1])], axis=1)
        for j, name in enumerate(names):
            out[f"mean_{name}"] = sums[:, j] / sizes
    return out


def whiten(X: np.ndarray, names: Sequence[str] | None = None) -> tuple[np.ndarray, int, list[str]]:
    """Whitened covariates for Mahalanobis distances, robust to constant and collinear columns.

    Returns ``(Xw, r, notes)``: ``Xw`` (n x r) such that for any two groups the squared distance
    between their means of ``Xw`` equals :math:`d' S^+ d`, with :math:`S` the sample covariance of
    ``X`` and :math:`d` the difference of the groups' means of ``X``; ``r`` is the rank used (the
    chi-square df of Morgan & Rubin's M). Rank decisions are made on the correlation matrix, so
    they do not depend on units of measurement; constant columns are dropped. ``notes`` says what
    was dropped. Shared by re-randomization and balance tables so that both use one definition.
    """
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    names = list(names) if names is not None else [f"x{j}" for j in range(X.shape[1])]
    notes: list[str] = []
    if X.shape[1] == 0:
        return np.empty((n, 0)), 0, notes
    C = X - X.mean(0)
    sd = np.sqrt((C * C).sum(0) / (n - 1))
    keep = sd > 0
    if not keep.all():
        const = [nm for nm, k in zip(names, keep) if not k]
        notes.append(f"constant covariate(s) {const} carry no information and are left out of M.")
    if not keep.any():
        return np.empty((n, 0)), 0, notes
    Cs = C[:, keep] / sd[keep]
    R = Cs.T @ Cs / (n - 1)
    vals, vecs = np.linalg.eigh(R)
    pos = vals > RANK_RTOL * vals.max()
    r = int(pos.sum())
    if r < Cs.shape[1]:
        notes.append(f"the covariates are collinear (covariance rank {r} < {Cs.shape[1]} columns): M uses the "
                     f"pseudo-inverse, on {r} df.")
    W = vecs[:, pos] / np.sqrt(vals[pos])
    return Cs @ W, r, notes
