"""Estimators of treatment effects under interference: naive, cluster-level, exposure regression."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import EstimationError, InputError
from .._validation import check_binary_matrix, check_confidence_level, check_finite_vector, check_option, dense_codes
from ._ols import ols
from ._result import Estimate, EstimateTable, welch_df

__all__ = ["difference_in_means", "cluster_difference_in_means", "cluster_ols", "exposure_regression"]


def _prep(y, z, *, name="z"):
    if np.ndim(z) != 1:
        raise InputError(f"{name} must be one assignment vector (1-D).")
    zb = check_binary_matrix(name, z, np.shape(z)[0])[0]
    y = check_finite_vector("y", y, zb.shape[0])
    n1, n0 = int(zb.sum()), int((~zb).sum())
    if n1 < 2 or n0 < 2:
        raise EstimationError(f"Each arm needs at least 2 units with outcomes; got {n1} treated and {n0} control.")
    return y, zb


def difference_in_means(y: Any, z: Any, *, confidence_level: float = 0.95,
                        estimand: str = "average treatment effect") -> Estimate:
    r"""Difference in mean outcomes between treated and control units, with Neyman standard error.

    .. math:: \hat\tau = \bar Y_1 - \bar Y_0, \qquad \widehat{V} = s_1^2/n_1 + s_0^2/n_0

    **Estimand.** Without interference, the average treatment effect. Under interference and
    a Bernoulli or complete unit design it estimates the *expected average direct effect*
    (Savje, Aronow & Hudgens 2021): own treatment's effect averaged over the design's
    neighbour assignments. It does **not** estimate the global effect (all treated vs none),
    which is the point of netexp.

    **Variance.** The Neyman variance is conservative for the finite-population ATE under
    complete randomization (it omits the unidentifiable :math:`-S_\tau^2/n` term) and unbiased
    when effects are constant. Interval: Student t with Welch-Satterthwaite df.

    Examples
    --------
    >>> import netexp as ne
    >>> ne.difference_in_means([1.0, 2.0, 3.0, 4.0, 6.0], [0, 0, 1, 1, 1]).estimate
    2.833333333333333
    """
    check_confidence_level(confidence_level)
    y, z = _prep(y, z)
    y1, y0 = y[z], y[~z]
    n1, n0 = y1.shape[0], y0.shape[0]
    v1, v0 = y1.var(ddof=1), y0.var(ddof=1)
    se = np.sqrt(v1 / n1 + v0 / n0)
    return Estimate.from_se(estimand=estimand, estimate=y1.mean() - y0.mean(), std_error=se, n=n1 + n0,
                            method="difference in means", variance="Neyman (conservative)",
                            df=welch_df(v1, n1, v0, n0), confidence_level=confidence_level,
                            note="ignores interference: under spillovers this is the average direct effect, "
                                 "not the global effect")


def _cluster_codes(clusters, n):
    c = np.asarray(clusters)
    if c.ndim != 1 or c.shape[0] != n:
        raise InputError(f"clusters must have one label per unit ({n}); got shape {c.shape}.")
    _, cl = dense_codes(c)
    return cl.astype(np.int64)


def cluster_difference_in_means(y: Any, z: Any, clusters: Any, *, confidence_level: float = 0.95,
                                estimand: str = "global effect") -> Estimate:
    r"""Difference between the average cluster mean of treated and of control clusters.

    Each cluster is reduced to its mean outcome :math:`\bar Y_c`; the estimate is
    :math:`\frac{1}{K_1}\sum_{c \in T} \bar Y_c - \frac{1}{K_0}\sum_{c \in C} \bar Y_c` with the
    Neyman variance :math:`s_{1}^2/K_1 + s_{0}^2/K_0` over cluster means (conservative under
    complete randomization of clusters) and Welch df.

    **Estimand.** Under cluster randomization, if no unit's neighbourhood crosses a cluster
    boundary, the *cluster-weighted* global effect (every cluster counts equally, whatever its
    size). Edges cut by the clustering leak treatment across arms and bias it toward the direct
    effect; the cut fraction of the clustering measures that risk.
    """
    check_confidence_level(confidence_level)
    y, z = _prep(y, z)
    cl = _cluster_codes(clusters, y.shape[0])
    K = int(cl.max()) + 1
    sizes = np.bincount(cl, minlength=K)
    zsum = np.bincount(cl, weights=z, minlength=K)
    if np.any((zsum > 0) & (zsum < sizes)):
        bad = int(((zsum > 0) & (zsum < sizes)).sum())
        raise EstimationError(f"{bad} clusters contain both treated and control units; cluster-level estimates "
                              "need an assignment that is constant within clusters (a cluster design).")
    means = np.bincount(cl, weights=y, minlength=K) / sizes
    zc = zsum > 0
    k1, k0 = int(zc.sum()), int((~zc).sum())
    if k1 < 2 or k0 < 2:
        raise EstimationError(f"Need at least 2 treated and 2 control clusters; got {k1} and {k0}.")
    m1, m0 = means[zc], means[~zc]
    v1, v0 = m1.var(ddof=1), m0.var(ddof=1)
    return Estimate.from_se(estimand=estimand, estimate=m1.mean() - m0.mean(), std_error=np.sqrt(v1 / k1 + v0 / k0),
                            n=y.shape[0], n_clusters=K, method="cluster means difference",
                            variance="Neyman over clusters (conservative)", df=welch_df(v1, k1, v0, k0),
                            confidence_level=confidence_level,
                            note="clusters weighted equally; biased toward the direct effect by edges cut "
                                 "between clusters")


def cluster_ols(y: Any, z: Any, clusters: Any, *, cov_type: str = "CR2", confidence_level: float = 0.95,
                estimand: str = "global effect") -> Estimate:
    r"""Unit-level regression ``y ~ 1 + z`` with cluster-robust standard error.

    The coefficient is the unit-weighted difference in means; ``CR2`` (Bell-McCaffrey, default)
    or ``CR1`` (Stata) variance over clusters; t reference with the Bell-McCaffrey
    Satterthwaite df for CR2 (Imbens & Kolesar 2016; what R's estimatr uses), G - 1 for CR1. Valid for any
    assignment that is constant within clusters; with a unit-level design it is the usual
    clustered-SE difference in means. Same estimand caveat as
    :func:`cluster_difference_in_means`, but units weighted equally.
    """
    check_confidence_level(confidence_level)
    cov_type = check_option("cov_type", cov_type, ("CR0", "CR1", "CR2"))
    y, z = _prep(y, z)
    cl = _cluster_codes(clusters, y.shape[0])
    X = np.column_stack([np.ones_like(y), z.astype(float)])
    fit = ols(X, y, cov_type=cov_type, clusters=cl)
    est, se = fit.contrast([0.0, 1.0])
    return Estimate.from_se(estimand=estimand, estimate=est, std_error=se, n=y.shape[0], n_clusters=fit.n_clusters,
                            method="difference in means, clustered", variance=f"{cov_type} cluster-robust",
                            df=fit.contrast_df([0.0, 1.0]), confidence_level=confidence_level,
                            note="units weighted equally; biased toward the direct effect by edges cut between "
                                 "clusters")


def exposure_regression(y: Any, z: Any, fraction: Any, *, clusters: Any = None, cov_type: str | None = None,
                        isolated: Any = None, confidence_level: float = 0.95) -> EstimateTable:
    r"""Regression of outcomes on own treatment and fraction of treated neighbours.

    .. math:: Y_i = \beta_0 + \beta_1 Z_i + \beta_2 F_i + e_i

    Reports three estimands, each with its own standard error:

    - ``direct effect`` :math:`\beta_1`;
    - ``spillover effect`` :math:`\beta_2 \bar c`: going from no to all neighbours treated,
      averaged over units, where :math:`\bar c` is the share of units with at least one
      neighbour (isolated units cannot receive spillover);
    - ``global effect`` :math:`\beta_1 + \beta_2 \bar c`, standard error from the covariance of
      the two coefficients.

    Valid when the linear-in-means model holds (outcomes depend on the assignment only
    through own treatment and the fraction treated); it is a model-based estimator, unlike the
    design-based ones. Covariance: ``HC1`` by default, ``CR2`` by default when ``clusters`` is
    given (required whenever the design randomized clusters).
    """
    check_confidence_level(confidence_level)
    y, zb = _prep(y, z)
    f = check_finite_vector("fraction", fraction, y.shape[0])
    if (f < 0).any() or (f > 1).any():
        raise InputError("fraction must lie in [0, 1].")
    if cov_type is None:
        cov_type = "HC1" if clusters is None else "CR2"
    cov_type = check_option("cov_type", cov_type, ("HC0", "HC1", "HC2", "CR0", "CR1", "CR2"))
    cl = None if clusters is None else _cluster_codes(clusters, y.shape[0])
    if np.ptp(f) == 0:
        raise EstimationError("The fraction of treated neighbours is the same for every unit; the spillover "
                              "coefficient is not identified. Use a design that varies neighbourhood exposure.")
    X = np.column_stack([np.ones_like(y), zb.astype(float), f])
    fit = ols(X, y, cov_type=cov_type, clusters=cl)
    share = 1.0 if isolated is None else float(1.0 - np.mean(np.asarray(isolated, dtype=bool)))
    out = []
    for name, c in (("direct effect", [0, 1, 0]), ("spillover effect", [0, 0, share]),
                    ("global effect", [0, 1, share])):
        est, se = fit.contrast(c)
        out.append(Estimate.from_se(estimand=name, estimate=est, std_error=se, n=fit.n, n_clusters=fit.n_clusters,
                                    method="exposure regression", variance=f"{cov_type} robust", df=fit.contrast_df(c),
                                    confidence_level=confidence_level,
                                    note="model-based: valid if outcomes depend on the assignment only through "
                                         "own treatment and the fraction of treated neighbours, linearly"))
    return EstimateTable(out)
