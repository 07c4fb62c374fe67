"""Regression estimates from a table: treatment terms, covariates, fixed effects, robust SEs.

The workhorse of applied field-experiment papers (``areg y d x, absorb(village) cluster(village)``)
as one call that returns the shared :class:`Estimate` rows, with missing data handled openly.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._align import aligned
from .._errors import EstimationError, EstimationWarning, InputError, warn
from .._validation import check_confidence_level, check_option, dense_codes
from ._ols import COVARIANCE_TYPES, ols
from ._result import Estimate, EstimateTable

__all__ = ["regression"]

_MAX_FE_DUMMIES = 2000


def _columns(arg, what) -> list[str]:
    if arg is None:
        return []
    if isinstance(arg, str):
        return [arg]
    cols = list(arg)
    if not all(isinstance(c, str) for c in cols):
        raise InputError(f"regression: {what} must be column names (strings); got {cols!r}.")
    return cols


@aligned("data", "clusters")
def regression(data: pd.DataFrame, outcome: str, terms: str | Sequence[str], *,
               covariates: Sequence[str] | None = None, fixed_effects: str | None = None,
               clusters: str | Any = None, cov_type: str | None = None, confidence_level: float = 0.95,
               missing: str = "drop") -> EstimateTable:
    r"""OLS of ``outcome`` on ``terms`` and covariates, with optional fixed effects, robust SEs.

    Parameters
    ----------
    data : DataFrame
        One row per unit.
    outcome : str
        Outcome column.
    terms : str or list of str
        Columns whose coefficients are reported (treatment indicators, exposure shares...).
    covariates : list of str, optional
        Numeric control columns (coefficients not reported).
    fixed_effects : str, optional
        A categorical column absorbed as one dummy per level (e.g. village fixed effects).
    clusters : str or array-like, optional
        Cluster column (or labels) for cluster-robust standard errors.
    cov_type : {"HC0", "HC1", "HC2", "CR0", "CR1", "CR2"}, optional
        Default ``CR1`` (Stata's convention) with clusters, ``HC1`` without.
    confidence_level : float
    missing : {"drop", "raise"}
        Rows with a missing value in any used column are dropped (the count is reported in
        each estimate's note and in a warning) or raise an error.

    Returns
    -------
    EstimateTable
        One :class:`Estimate` per term, estimand named after the column.

    Notes
    -----
    The fit is :math:`y_i = \alpha_{f(i)} + \beta' t_i + \gamma' x_i + e_i` with one intercept per
    fixed-effect level (an overall intercept without fixed effects). Fixed effects enter as
    dummies, so every covariance type is exactly the textbook one for that design matrix (and
    equals statsmodels with ``C(fixed_effect)``); the small-sample factor of ``HC1``/``CR1``
    counts the dummies among the :math:`k` parameters, as statsmodels does (Stata's ``areg``
    does too; ``reghdfe`` drops fixed effects nested in clusters from :math:`k`, which gives
    slightly smaller SEs). t reference with :math:`n-k` df (HC) or :math:`G-1` (CR1/CR0) or the
    Bell-McCaffrey df (CR2).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import netexp as ne
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"village": np.repeat(np.arange(20), 10), "d": rng.integers(0, 2, 200)})
    >>> df["y"] = 0.5 * df["d"] + 0.1 * df["village"] + rng.normal(size=200)
    >>> est = ne.regression(df, "y", "d", fixed_effects="village", clusters="village")["d"]
    >>> round(est.estimate, 3), est.variance
    (0.56, 'CR1 cluster-robust')
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"regression: data must be a pandas DataFrame; got {type(data).__name__}.")
    check_confidence_level(confidence_level)
    missing = check_option("missing", missing, ("drop", "raise"))
    terms_l = _columns(terms, "terms")
    if not terms_l:
        raise InputError("regression: give at least one term to report.")
    cov_l = _columns(covariates, "covariates")
    fe_l = _columns(fixed_effects, "fixed_effects")
    if len(fe_l) > 1:
        raise InputError("regression: one fixed-effect column is supported; combine columns first "
                         "(e.g. df['a'].astype(str) + '/' + df['b'].astype(str)).")
    cluster_col = clusters if isinstance(clusters, str) else None
    used = [outcome, *terms_l, *cov_l, *fe_l] + ([cluster_col] if cluster_col else [])
    absent = [c for c in dict.fromkeys(used) if c not in data.columns]
    if absent:
        raise InputError(f"regression: column(s) {absent} not in data; available: {list(data.columns)}.")
    frame = data[list(dict.fromkeys(used))]
    cl_values = None
    if clusters is not None and cluster_col is None:
        cl_values = np.asarray(clusters)
        if cl_values.shape != (len(data),):
            raise InputError(f"regression: clusters has {cl_values.size} labels for {len(data)} rows.")
    bad = frame.isna().any(axis=1).to_numpy()
    if cl_values is not None:
        bad |= pd.isna(cl_values)
    n_dropped = int(bad.sum())
    if n_dropped:
        if missing == "raise":
            counts = frame.isna().sum()
            raise EstimationError(f"regression: {n_dropped} rows have missing values "
                                  f"({counts[counts > 0].to_dict()}); drop or impute them, or pass missing='drop'.")
        warn(f"regression: dropped {n_dropped} of {len(data)} rows with missing values in "
             f"{[c for c in frame.columns if frame[c].isna().any()]}.", EstimationWarning)
    keep = ~bad
    frame = frame[keep]
    for c in [outcome, *terms_l, *cov_l]:
        if not pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]):
            raise InputError(f"regression: column {c!r} must be numeric (0/1 for treatment); "
                             f"make dummies for categorical columns or pass it as fixed_effects.")
    y = frame[outcome].to_numpy(dtype=float)
    blocks = [frame[terms_l + cov_l].to_numpy(dtype=float)]
    if fe_l:
        _, fe = dense_codes(frame[fe_l[0]].to_numpy())
        L = int(fe.max()) + 1
        if L > _MAX_FE_DUMMIES:
            raise EstimationError(f"regression: {L} fixed-effect levels; at most {_MAX_FE_DUMMIES} are supported "
                                  "as dummies.")
        D = np.zeros((y.shape[0], L))
        D[np.arange(y.shape[0]), fe] = 1.0
        blocks.append(D)
    else:
        blocks.append(np.ones((y.shape[0], 1)))
    X = np.column_stack(blocks)
    if cov_type is None:
        cov_type = "CR1" if clusters is not None else "HC1"
    cov_type = check_option("cov_type", cov_type, COVARIANCE_TYPES)
    cl = None
    if cov_type.startswith("CR"):
        if clusters is None:
            raise EstimationError(f"regression: cov_type={cov_type!r} needs clusters=.")
        cl = frame[cluster_col].to_numpy() if cluster_col else cl_values[keep]
    fit = ols(X, y, cov_type=cov_type, clusters=cl)
    kind = "cluster-robust" if cov_type.startswith("CR") else "heteroskedasticity-robust"
    note = f"{n_dropped} rows with missing values dropped" if n_dropped else ""
    if fe_l:
        note = (note + "; " if note else "") + f"{fe_l[0]} fixed effects ({X.shape[1] - len(terms_l) - len(cov_l)} levels)"
    out = []
    for j, t in enumerate(terms_l):
        c = np.zeros(X.shape[1])
        c[j] = 1.0
        est, se = fit.contrast(c)
        out.append(Estimate.from_se(estimand=t, estimate=est, std_error=se, n=fit.n, n_clusters=fit.n_clusters,
                                    method="regression" + (" with fixed effects" if fe_l else ""),
                                    variance=f"{cov_type} {kind}", df=fit.contrast_df(c),
                                    confidence_level=confidence_level, note=note))
    return EstimateTable(out)
