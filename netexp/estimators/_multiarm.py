"""Difference in means for every pair of arms of a k-arm experiment, with the two-arm result types."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._align import aligned
from .._unit_align import align_units
from .._errors import EstimationError, InputError, warn
from .._validation import check_confidence_level, check_option
from ._estimators import cluster_ols, difference_in_means
from ..designs._multiarm import arm_codes
from ._result import Estimate, EstimateTable

__all__ = ["multiarm_difference_in_means", "multiarm_exposure_contrasts", "arm_codes"]


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


def _as_sums(P, D, u, y2p, mask, k, l):
    """Aronow-Samii sums for levels k, l: (Var_T(k), Var_T(l), Cov_T(k, l)) of the unscaled totals.

    ``u = Y / pi(observed level)`` (or the Hajek residual over pi), ``y2p = Y^2 / pi`` likewise, over
    the units of ``mask``; pairs with zero joint probability get Young's-inequality bound (Aronow &
    Samii 2017, section 5), so the variance is conservative.
    """
    M = np.flatnonzero(mask)
    ok_ = {}
    for lev in (k, l):
        ok_[lev] = np.flatnonzero(mask & (D == lev))

    def var_t(a):
        ia = ok_[a]
        if ia.size == 0:
            return 0.0
        pa = P.marginal[ia, a]
        J = P.joint(a, a, ia, ia)
        prod = np.outer(pa, pa)
        with np.errstate(divide="ignore", invalid="ignore"):
            W = np.where(J > 0, (J - prod) / J, 0.0)
        np.fill_diagonal(W, 0.0)
        s = float(((1 - pa) * u[ia] ** 2).sum() + u[ia] @ W @ u[ia])
        Jz = P.joint(a, a, ia, M)
        zc = (Jz <= 0).sum(1)
        return s + float((y2p[ia] * zc).sum())

    def cov_t(a, b):
        ia, ib = ok_[a], ok_[b]
        s = 0.0
        if ia.size and ib.size:
            J = P.joint(a, b, ia, ib)
            prod = np.outer(P.marginal[ia, a], P.marginal[ib, b])
            with np.errstate(divide="ignore", invalid="ignore"):
                W = np.where(J > 0, (J - prod) / J, 0.0)
            W[ia[:, None] == ib[None, :]] = 0.0
            s = float(u[ia] @ W @ u[ib])
        if ia.size:
            s -= 0.5 * float((y2p[ia] * (P.joint(a, b, ia, M) <= 0).sum(1)).sum())
        if ib.size:
            s -= 0.5 * float((y2p[ib] * (P.joint(a, b, M, ib) <= 0).sum(0)).sum())
        return s

    return var_t(k), var_t(l), cov_t(k, l)


@aligned("y", "z")
def multiarm_exposure_contrasts(y: Any, z: Any, graph: Any, design: Any, *, units: Any = None,
                                levels: Any = "full", q: float = 1.0, contrasts: Any = "vs-control",
                                control: Any = None,
                                estimator: str = "ht", probabilities: Any = None, method: str = "auto",
                                n_draws: int = 10_000, rng=None, min_probability: float | None = None,
                                confidence_level: float = 0.95) -> EstimateTable:
    r"""Horvitz-Thompson or Hajek contrasts between k-arm exposure levels, with the Aronow-Samii variance.

    Parameters
    ----------
    y : array-like or pandas Series
        Outcomes in node order (a Series is matched to ``graph.node_ids``); only ``units`` are read.
    z : array-like or pandas Series
        Arm of every unit (names of ``design.arms`` or codes), drawn from ``design``.
    graph : Graph
    design : MultiArmDesign
    units : array of int, optional
        Positions of the units in the estimand (default all); e.g. those with outcomes.
    levels : "full", "own-x-all" or sequence of (own arm, neighbours' arm)
        See :func:`~netexp.multiarm_exposure_probabilities`. Default: "all a" for each arm a.
    q : float in (0.5, 1], default 1
        Share threshold of the levels ("at least q of the in-neighbours in arm b"; Monte Carlo
        probabilities below 1).
    contrasts : "vs-control", "all" or sequence of (level, reference level)
        Default: every "all b" against "all <control>" (the k-arm global effects).
    control : arm, optional
        Default the design's first arm.
    estimator : {"ht", "hajek"}
    probabilities : MultiArmExposureProbabilities, optional
        Precomputed; otherwise from ``method`` / ``n_draws`` / ``rng``.
    min_probability : float, optional
        Keep, for each contrast, only the units with probability at least this of both its levels
        (positivity by restriction); the estimand is then the average over those units, and the row
        says how many.

    Returns
    -------
    EstimateTable
        One row per contrast, estimand ``"<level> - <reference level>"``.

    Notes
    -----
    **Estimand**: :math:`\frac1N\sum_i [Y_i(l) - Y_i(l')]` over the units, where :math:`Y_i(l)` is
    unit i's outcome at exposure level l (e.g. "all b": i and all its in-neighbours in arm b), valid
    when outcomes depend on the assignment only through these levels. HT:
    :math:`\hat\mu(l) = \frac1N \sum_i 1[D_i=l] Y_i/\pi_i(l)`, unbiased when every unit has
    :math:`\pi_i(l) > 0` (positivity; checked). Hajek divides by :math:`\sum_i 1[D_i=l]/\pi_i(l)`
    instead of N (consistent, not unbiased; often far less variable). **Variance**: Aronow & Samii
    (2017) with Young's-inequality bounds for pairs whose joint probability is 0 (always so for
    units that cannot share a level): conservative, :math:`E[\hat V] \ge \mathrm{Var}` for HT (Hajek:
    the same applied to residuals :math:`Y_i - \hat\mu(D_i)`, a linearization). Normal intervals.

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> g = ne.watts_strogatz(300, 2, 0.0, rng=0)           # a ring: two neighbours each
    >>> d = ne.MultiArmCluster(np.arange(300) // 3, ne.MultiArmComplete(100, prob_each=(0.4, 0.3, 0.3),
    ...                                                                 arms=("control", "a", "b")))
    >>> z = d.sample(rng=3)
    >>> y = np.array([0.0, 1.0, 2.0])[z] + np.random.default_rng(0).normal(scale=0.5, size=300)
    >>> tab = ne.multiarm_exposure_contrasts(y, z, g, d, estimator="hajek")
    >>> [(e.estimand, round(e.estimate, 2), round(e.std_error, 2)) for e in tab]
    [('all a - all control', 1.02, 0.15), ('all b - all control', 2.1, 0.16)]
    """
    from ..designs import MultiArmDesign
    from ..exposure._multiarm import MultiArmExposureProbabilities, multiarm_exposure_probabilities
    from ..graph import Graph

    level = check_confidence_level(confidence_level)
    estimator = check_option("estimator", estimator, ("ht", "hajek"))
    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    if not isinstance(design, MultiArmDesign):
        raise InputError(f"design must be a MultiArmDesign (the one that drew z); got {type(design).__name__}.")
    n = graph.n_nodes
    arrs, _ = align_units({"y": y, "z": z}, order=graph.node_ids)
    codes, _ = arm_codes(arrs["z"], design.arms)
    if codes.shape != (n,):
        raise InputError(f"z has {codes.shape[0]} units; the graph has {n}.")
    yv = np.asarray(arrs["y"], dtype=float)
    mask = np.zeros(n, dtype=bool)
    if units is None:
        mask[:] = True
    else:
        idx = np.asarray(units, dtype=np.int64)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= n:
            raise InputError(f"units must be positions in 0..{n - 1} (at least one).")
        mask[idx] = True
    if not np.isfinite(yv[mask]).all():
        raise InputError(f"y has {int((~np.isfinite(yv[mask])).sum())} missing or non-finite values among the units "
                         "of the estimand; pass units= to leave them out.")
    if probabilities is None:
        probabilities = multiarm_exposure_probabilities(graph, design, levels=levels, q=q, method=method,
                                                        n_draws=n_draws, rng=rng)
    elif not isinstance(probabilities, MultiArmExposureProbabilities):
        raise InputError("probabilities must come from multiarm_exposure_probabilities.")
    P = probabilities
    names = P.levels
    c = 0 if control is None else design.arm_code(control)
    if isinstance(contrasts, str):
        check_option("contrasts", contrasts, ("vs-control", "all"))
        if contrasts == "vs-control":
            ref = [L for L, (a, b) in enumerate(P.level_arms) if a == c and b == c]
            if not ref:
                raise InputError(f"the levels have no {design.arms[c]!r} reference level (own arm and neighbours in "
                                 "it); give contrasts=.")
            pairs = [(L, ref[0]) for L, (a, b) in enumerate(P.level_arms) if L != ref[0]]
        else:
            pairs = [(j, i) for i in range(len(names)) for j in range(i + 1, len(names))]
    else:
        pairs = [(P._code(a), P._code(b)) for a, b in contrasts]
    D = P.levels_of(codes)[0]
    base_mask = mask
    out = []
    method_name = f"{'Horvitz-Thompson' if estimator == 'ht' else 'Hajek'} (k-arm exposure levels)"
    for a, b in pairs:
        est_name = f"{names[a]} - {names[b]}"
        mask = base_mask
        restricted = ""
        if min_probability is not None:
            mask = base_mask & (P.marginal[:, a] >= min_probability) & (P.marginal[:, b] >= min_probability)
            mask &= (P.marginal[:, a] > 0) & (P.marginal[:, b] > 0)
            restricted = (f"; estimand over the {int(mask.sum())} of {int(base_mask.sum())} units with probability "
                          f">= {min_probability:g} of both levels")
            if not mask.any():
                out.append(Estimate.not_estimable(
                    estimand=est_name, n=0, method=f"{estimator} (k-arm exposure levels)", confidence_level=level,
                    reason=f"no unit has probability >= {min_probability:g} of both levels"))
                continue
        N = int(mask.sum())
        zero = [names[L] for L in (a, b) if (P.marginal[mask, L] <= 0).any()]
        if zero:
            bad = int(sum((P.marginal[mask, P._code(L)] <= 0).sum() for L in zero))
            out.append(Estimate.not_estimable(
                estimand=est_name, n=N, method=method_name, confidence_level=level,
                reason=f"{bad} units have probability 0 of level(s) {zero} under this design (positivity fails): "
                       "keep the units with positive probability (min_probability=; the estimand changes "
                       "accordingly), or use a design that can place their whole neighbourhood in one arm"))
            continue
        pobs = np.where(D >= 0, P.marginal[np.arange(n), np.maximum(D, 0)], 1.0)
        w = np.where(mask & ((D == a) | (D == b)), 1.0 / np.where(pobs > 0, pobs, 1.0), 0.0)
        if estimator == "ht":
            mu = [float((w * yv * (D == L)).sum() / N) for L in (a, b)]
            r = np.where(mask, yv, 0.0)
        else:
            ws = [float((w * (D == L)).sum()) for L in (a, b)]
            if min(ws) == 0:
                out.append(Estimate.not_estimable(
                    estimand=est_name, n=N, method=method_name, confidence_level=level,
                    reason=f"no unit is observed at {names[a] if ws[0] == 0 else names[b]}"))
                continue
            mu = [float((w * np.where(mask, yv, 0) * (D == L)).sum()) / s for L, s in zip((a, b), ws)]
            r = np.where(mask, yv - np.where(D == a, mu[0], np.where(D == b, mu[1], 0.0)), 0.0)
        u = r * w
        y2p = r * r * w
        va, vb, cab = _as_sums(P, D, u, y2p, mask, a, b)
        v = (va + vb - 2 * cab) / N**2
        if v < 0:  # possible for the Aronow-Samii estimator in a given sample; truncating it to 0 would claim certainty
            from .._errors import EstimationWarning

            warn(f"{est_name}: the Aronow-Samii variance estimate is negative ({v:.3g}) in this sample: "
                 "standard error and interval reported as nan.", EstimationWarning)
            v = float("nan")
        out.append(Estimate.from_se(
            estimand=est_name, estimate=mu[0] - mu[1], std_error=float(np.sqrt(v)), n=N, method=method_name,
            variance="Aronow-Samii (conservative: Young's-inequality bound for pairs with zero joint probability)",
            confidence_level=level,
            note=f"probabilities {P.method}; valid if outcomes depend on the assignment only through own arm and "
                 "the in-neighbours' arms at these levels" + restricted))
    return EstimateTable(out)
