"""Lin's (2013) regression-adjusted difference in means, and the centred covariate design it
shares with the exposure regression."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._align import aligned
from .._covariates import covariate_matrix
from .._errors import EstimationError
from .._validation import check_confidence_level, check_option
from ._ols import ols
from ._result import Estimate

__all__ = ["lin_estimator", "centred_covariates"]

# a covariate column counts as a linear combination of the others (and the intercept) when its
# residual sum of squares after projecting on them is below this share of its own
_COLLINEAR_RTOL = 1e-10


def _dependent_column(C: np.ndarray, scale: np.ndarray | None = None) -> int | None:
    """Index of the first column of the centred matrix ``C`` that is (nearly) a linear combination
    of the columns before it, or None. Relative to ``scale`` (each column's sum of squares about
    its mean in the full sample; default its own), so units of measurement do not matter."""
    kept: list[np.ndarray] = []
    for j in range(C.shape[1]):
        c = C[:, j]
        ss = c @ c
        ref = ss if scale is None else scale[j]
        if ss <= _COLLINEAR_RTOL * ref or ss == 0:
            return j
        if kept:
            Q = np.column_stack(kept)
            r = c - Q @ np.linalg.lstsq(Q, c, rcond=None)[0]
            if r @ r <= _COLLINEAR_RTOL * ref:
                return j
        kept.append(c / np.sqrt(ss))
    return None


def centred_covariates(covariates: Any, n: int, *, weights: np.ndarray | None = None,
                       what: str = "covariates") -> tuple[np.ndarray, list[str]]:
    """Covariates as a numeric matrix centred at their (weighted) mean, checked for rank.

    Categorical columns become dummies with the first level dropped (all levels would be
    collinear with the intercept). A constant column, or one that is a linear combination of the
    others, raises :class:`EstimationError` naming it.
    """
    X, names = covariate_matrix(covariates, n_units=n, drop_first=True, what=what)
    if X.shape[1] == 0:
        raise EstimationError(f"{what}: no covariate columns left (a categorical column with a single level "
                              "adds nothing); pass at least one varying covariate or none.")
    const = np.flatnonzero(np.ptp(X, axis=0) == 0)
    if const.size:
        j = int(const[0])
        raise EstimationError(f"{what}: column {names[j]!r} is constant (value {X[0, j]:g}); it is collinear "
                              "with the intercept. Drop it.")
    w = np.ones(n) if weights is None else weights
    C = X - (w @ X) / w.sum()
    j = _dependent_column(C)
    if j is not None:
        raise EstimationError(f"{what}: column {names[j]!r} is a linear combination of {names[:j]} (collinear "
                              "covariates); drop it or one of those.")
    return C, names


@aligned("y", "z", "covariates")
def lin_estimator(y: Any, z: Any, covariates: Any, *, cov_type: str = "HC2",
                  confidence_level: float = 0.95) -> Estimate:
    r"""Lin's (2013) regression-adjusted estimate of the average treatment effect.

    Regresses the outcome on an intercept, the treatment, the covariates centred at their
    sample mean, and the treatment times the centred covariates; the treatment coefficient is
    the estimate.

    Parameters
    ----------
    y : array-like of float, shape (n,)
        Outcomes.
    z : array-like of bool or 0/1, shape (n,)
        Treatment assignment.
    covariates : DataFrame or array-like, shape (n,) or (n, p)
        Pre-treatment covariates; categorical / string columns become dummies (first level
        dropped). Constant or collinear columns raise :class:`EstimationError`.
    cov_type : {"HC2", "HC0", "HC1", "HC3"}
        Heteroskedasticity-robust covariance; ``HC2`` by default (Lin's recommendation).
    confidence_level : float

    Returns
    -------
    Estimate
        Estimand ``"average treatment effect"``; t reference with :math:`n - 2 - 2p` df.

    Notes
    -----
    With :math:`\tilde x_i = x_i - \bar x`, the fitted model is

    .. math:: Y_i = a + \tau Z_i + \tilde x_i'\beta + Z_i \tilde x_i'\gamma + e_i ,

    equivalent to separate regressions of :math:`Y` on :math:`\tilde x` in each arm, with
    :math:`\hat\tau = \hat a_1 - \hat a_0` the difference between the arms' fitted means at the
    full-sample covariate mean. Under complete randomization (Neyman's finite-population model)
    :math:`\hat\tau` is consistent, cannot be asymptotically less precise than the difference in
    means, and the Huber-White standard error is consistent or conservative (Lin 2013,
    Theorems 1-3); HC2 also reduces to the Neyman variance when there are no covariates.
    Centering at the mean matters: the uncentred interaction model estimates the effect at
    covariate value 0. Under interference (and without it but with a unit-level design) the
    estimand is the same as that of :func:`difference_in_means`.

    Each arm needs more units than covariates plus one, and the covariates must vary within each
    arm (the interactions would be collinear otherwise).

    References
    ----------
    Lin, W. (2013). Agnostic notes on regression adjustments to experimental data: Reexamining
    Freedman's critique. *Annals of Applied Statistics* 7(1), 295-318.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> from netexp.estimators import lin_estimator
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=200)
    >>> z = rng.random(200) < 0.5
    >>> y = 1.0 + 2.0 * z + 3.0 * x + rng.normal(size=200)
    >>> e = lin_estimator(y, z, x)
    >>> round(e.estimate, 2), e.std_error < ne.difference_in_means(y, z).std_error
    (1.9, True)
    """
    from ._estimators import _prep

    check_confidence_level(confidence_level)
    cov_type = check_option("cov_type", cov_type, ("HC0", "HC1", "HC2", "HC3"))
    y, zb = _prep(y, z)
    n = y.shape[0]
    C, names = centred_covariates(covariates, n)
    p = C.shape[1]
    for arm, mask in (("treated", zb), ("control", ~zb)):
        m = int(mask.sum())
        if m <= p + 1:
            raise EstimationError(f"lin_estimator: the {arm} arm has {m} units for {p} covariates; each arm needs "
                                  f"more than {p + 1} (the interacted model fits a regression per arm). Use fewer "
                                  "covariates.")
        Ca = C[mask] - C[mask].mean(0)
        j = _dependent_column(Ca, scale=(C * C).sum(0))
        if j is not None:
            raise EstimationError(f"lin_estimator: covariate {names[j]!r} is constant or collinear with {names[:j]} "
                                  f"among {arm} units, so its interaction with treatment is not identified; drop it.")
    zf = zb.astype(float)
    X = np.column_stack([np.ones(n), zf, C, C * zf[:, None]])
    fit = ols(X, y, cov_type=cov_type)
    c = np.zeros(X.shape[1])
    c[1] = 1.0
    est, se = fit.contrast(c)
    return Estimate.from_se(estimand="average treatment effect", estimate=est, std_error=se, n=n,
                            method="Lin (2013) regression adjustment", variance=f"{cov_type} robust (conservative)",
                            df=fit.df, confidence_level=confidence_level,
                            note=f"adjusted for {p} centred covariate(s) and their interactions with treatment: "
                                 + ", ".join(names))
