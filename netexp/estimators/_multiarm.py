"""Difference in means for every pair of arms of a k-arm experiment, with the two-arm result types."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._align import aligned
from .._unit_align import align_units
from .._errors import EstimationError, InputError
from .._validation import check_confidence_level, check_option
from ._estimators import cluster_ols, difference_in_means
from ..designs._multiarm import arm_codes
from ._result import EstimateTable

__all__ = ["multiarm_difference_in_means", "arm_codes"]


@aligned("y", "z", "clusters")
def multiarm_difference_in_means(y: Any, z: Any, *, arms: Sequence | None = None, control: Any = None,
                                 comparisons: str = "vs-control", clusters: Any = None,
                                 confidence_level: float = 0.95) -> EstimateTable:
    r"""Difference in means between pairs of arms, each with its two-arm standard error.

    Parameters
    ----------
    y : array-like or pandas Series
    z : array-like or pandas Series
        Arm of every unit: names, or codes ``0..k-1`` of ``arms`` (what a
        :class:`~netexp.MultiArmDesign` draws). Series are matched by index.
    arms : sequence, optional
        Arm names in order (e.g. ``design.arms``); default the sorted distinct values of ``z``.
    control : arm, optional
        Reference arm of ``comparisons="vs-control"``; default the first arm.
    comparisons : {"vs-control", "all"}
        Every other arm against ``control``, or every pair ``(a, b)`` with ``a`` before ``b``.
    clusters : array-like or Series, optional
        With a cluster design: each comparison is :func:`~netexp.cluster_ols` (CR2) on the units
        of the two arms.
    confidence_level : float, default 0.95

    Returns
    -------
    EstimateTable
        One :class:`~netexp.Estimate` per comparison, estimand ``"b - a"``.

    Notes
    -----
    For arms :math:`a, b`, :math:`\hat\tau_{ba} = \bar Y_b - \bar Y_a` over the units assigned to
    them, with the Neyman variance :math:`s_b^2/n_b + s_a^2/n_a` and Welch df (as
    :func:`~netexp.difference_in_means`). **Estimand:** under a complete or Bernoulli k-arm design
    with no interference, :math:`\frac1n\sum_i [Y_i(b) - Y_i(a)]`, the finite-population average
    effect of b against a (the units of other arms are a random sample too, so each pairwise
    estimator is unbiased for the whole population's contrast); the variance is conservative as
    for two arms. With interference read it as the two-arm estimator's direct effect. The
    comparisons share arms, so their estimates are correlated; adjust the p-values for multiplicity
    with :func:`~netexp.adjust_pvalues` when reading several.

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> design = ne.MultiArmComplete(300, prob_each=(0.4, 0.3, 0.3), arms=("control", "a", "b"))
    >>> z = design.sample(rng=0)
    >>> y = np.array([0.0, 0.5, 1.0])[z] + np.random.default_rng(1).normal(size=300)
    >>> tab = ne.multiarm_difference_in_means(y, z, arms=design.arms)
    >>> tab.to_frame()[["estimand", "estimate", "std_error"]].round(3)
          estimand  estimate  std_error
    0  a - control     0.625      0.125
    1  b - control     1.077      0.132
    """
    level = check_confidence_level(confidence_level)
    comparisons = check_option("comparisons", comparisons, ("vs-control", "all"))
    arrs, _ = align_units({"y": y, "z": z, "clusters": clusters})
    codes, names = arm_codes(arrs["z"], arms)
    k = len(names)
    if k < 2:
        raise EstimationError(f"need at least 2 arms; z has only {list(names)}.")
    yv = np.asarray(arrs["y"], dtype=float)
    if comparisons == "vs-control":
        c = 0 if control is None else (names.index(control) if control in names else None)
        if c is None:
            raise InputError(f"control {control!r} is not an arm; arms are {list(names)}.")
        pairs = [(c, b) for b in range(k) if b != c]
    else:
        pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
    out = []
    for a, b in pairs:
        keep = (codes == a) | (codes == b)
        est_name = f"{names[b]} - {names[a]}"
        try:
            if arrs["clusters"] is None:
                e = difference_in_means(yv[keep], codes[keep] == b, confidence_level=level, estimand=est_name)
            else:
                e = cluster_ols(yv[keep], codes[keep] == b, arrs["clusters"][keep], confidence_level=level,
                                estimand=est_name)
        except EstimationError as exc:
            raise EstimationError(f"comparison {est_name}: {exc}") from None
        out.append(e)
    return EstimateTable(out)
