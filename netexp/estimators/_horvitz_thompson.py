"""Horvitz-Thompson and Hajek estimators of exposure contrasts with conservative design-based variances."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np

from .._align import aligned
from .._errors import EstimationError, EstimationWarning, ExposureError, InputError, warn
from .._validation import check_confidence_level, check_finite_vector, check_option
from ._result import Estimate, EstimateTable
from ._young_abs import (abs_young_structure, abs_young_unavailable, abs_young_variance, effective_groups,
                         group_shares)

__all__ = ["horvitz_thompson", "hajek", "difference_in_means_by_exposure"]

VARIANCES = ("auto", "abs-young", "aronow-samii", "constant-effects", "max")

#: The |M| small-sample rule (:func:`_small_sample`); benchmarks/bench_intervals_ht.py compares the measured
#: alternatives by setting it (issue 13). ``ht_df``: each HT level part on G_k ("G") or G_k - 1 ("G-1") df (at
#: least 1); ``hajek``: Hajek's level parts times G_k / (G_k - 1) ("cr1"), each unit's residual over sqrt(1 - h)
#: ("cr2", h its group's weight share, :func:`group_shares`; measured no better than cr1) or neither ("none");
#: ``hajek_df``: "G-1" or "G" likewise; ``hajek_scale``: Hajek residuals linearized at the realized level weights
#: W_k ("W") or at their expectation N ("N", before issue 13's second round).
_SMALL_SAMPLE = {"ht_df": "G", "hajek": "cr1", "hajek_df": "G-1", "hajek_scale": "W"}


def _codes(levels_observed, levels: tuple, n: int) -> np.ndarray:
    arr = np.asarray(levels_observed)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(f"levels_observed must be a vector of length {n}; got shape {arr.shape}.")
    if arr.dtype.kind in "iu":
        if arr.size and (arr.min() < 0 or arr.max() >= len(levels)):
            raise InputError(f"levels_observed codes must be in 0..{len(levels) - 1}; got values in "
                             f"[{arr.min()}, {arr.max()}].")
        return arr.astype(np.int64)
    lookup = {name: k for k, name in enumerate(levels)}
    out = np.fromiter((lookup.get(v, -1) for v in arr.tolist()), dtype=np.int64, count=n)
    if (out < 0).any():
        bad = sorted({str(v) for v in arr[out < 0][:5].tolist()})
        raise InputError(f"levels_observed has unknown level names {bad}; levels are {list(levels)}.")
    return out


def _contrasts(contrasts, levels: tuple) -> list[tuple[int, int]]:
    if isinstance(contrasts, str):
        if not contrasts.startswith("all-vs-"):
            raise InputError(f"contrasts must be a list of (level_a, level_b) pairs or 'all-vs-<level>'; "
                             f"got {contrasts!r}.")
        ref = contrasts[len("all-vs-"):]
        if ref not in levels:
            raise InputError(f"contrasts: unknown reference level {ref!r}; levels are {list(levels)}.")
        b = levels.index(ref)
        return [(a, b) for a in range(len(levels)) if a != b]
    out = []
    for pair in contrasts:
        if len(pair) != 2 or pair[0] not in levels or pair[1] not in levels or pair[0] == pair[1]:
            raise InputError(f"each contrast must be a pair of two different levels of {list(levels)}; got {pair!r}.")
        out.append((levels.index(pair[0]), levels.index(pair[1])))
    if not out:
        raise InputError("contrasts is empty; give at least one (level_a, level_b) pair.")
    return out


def _units_mask(units, probs) -> np.ndarray:
    n = probs.n_units
    if units is None:
        return np.ones(n, dtype=bool)
    arr = np.asarray(units)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise InputError(f"units as a boolean mask must have length {n}; got shape {arr.shape}.")
        return arr.copy()
    if arr.dtype.kind not in "iu" or arr.ndim != 1 or (arr.size and (arr.min() < 0 or arr.max() >= n)):
        raise InputError(f"units must be a boolean mask of length {n} or integer positions in 0..{n - 1}.")
    mask = np.zeros(n, dtype=bool)
    mask[arr] = True
    return mask


def _fit(kind, y, levels_observed, probabilities, contrasts, variance, units, confidence_level, outcome_ratio=1.0):
    from ..exposure._probabilities import ExposureProbabilities

    if not isinstance(probabilities, ExposureProbabilities):
        raise InputError("probabilities must be an ExposureProbabilities (from exposure_probabilities); "
                         f"got {type(probabilities).__name__}.")
    variance = check_option("variance", variance, VARIANCES)
    confidence_level = check_confidence_level(confidence_level)
    outcome_ratio = float(outcome_ratio)
    if not (np.isfinite(outcome_ratio) and outcome_ratio > 0):
        raise InputError(f"outcome_ratio must be a positive number fixed before seeing the outcomes; got "
                         f"{outcome_ratio!r}.")
    if variance == "max":
        return _fit_max(kind, y, levels_observed, probabilities, contrasts, units, confidence_level)
    P = probabilities.marginal
    n, L = P.shape
    levels = probabilities.levels
    y = check_finite_vector("y", y, n)
    codes = _codes(levels_observed, levels, n)
    pairs = _contrasts(contrasts, levels)
    mask = _units_mask(units, probabilities)
    N = int(mask.sum())
    if N == 0:
        raise EstimationError("units selects no unit; the estimand needs at least one.")
    for a, b in pairs:
        probabilities.check_contrast(a, b, units=mask)
    # the |M| variance carries a small-sample correction (_small_sample): without it Hajek's estimated residuals
    # under-covered with few clusters (0.874 +- 0.010 at 16 clusters of the bundled graph), HT's normal interval
    # 0.897 +- 0.012
    if variance in ("auto", "abs-young"):
        why = abs_young_unavailable(probabilities, pairs, mask)  # builds (and caches) the structures
        if why is None:
            variance = "abs-young"
        else:
            if variance == "abs-young" and probabilities.joint_available:
                warn(f"variance='abs-young' is not computed here: {why}; using 'aronow-samii' (also "
                              "conservative, wider).", EstimationWarning)
            variance = "aronow-samii"
    pobs = P[np.arange(n), codes]
    bad = mask & (pobs <= 0)
    if bad.any():
        raise ExposureError(f"{int(bad.sum())} units are observed at a level to which the probabilities give 0 "
                            "(Monte Carlo missed it); use more draws or convention='interference'.")
    w = np.where(mask, 1.0 / np.where(pobs > 0, pobs, 1.0), 0.0)
    tot = np.bincount(codes, weights=w * y, minlength=L)
    wsum = np.bincount(codes, weights=w, minlength=L)
    if kind == "hajek":
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = tot / wsum
        resid = np.where(mask, y - np.nan_to_num(mu)[codes], 0.0)
        yv = resid

    else:
        yv = np.where(mask, y, 0.0)
    U = (yv * w)[:, None]
    if not probabilities.joint_available:  # point estimates only
        warn(f"no joint probabilities ({probabilities._joint_note or 'joint=False'}): standard errors are "
                      "nan.", EstimationWarning)
        S, zc = np.full((L, L), np.nan), np.zeros((n, L), dtype=np.int64)
    elif variance == "aronow-samii":
        # only the contrasts' levels enter the variances below (S[a, b], and zc of the units at a or b): the
        # other units' rows are zeroed, and routes that skip zero rows skip them
        used = np.zeros(L, dtype=bool)
        used[[k for ab in pairs for k in ab]] = True
        # the Young's counts are needed only at the contrasts' levels (var_t / cov_t below read no others)
        S, zc = probabilities._pair_terms(codes, np.where(used[codes][:, None], U, 0.0), mask,
                                          levels=np.flatnonzero(used))
        S = S[0]
    if variance == "abs-young" and probabilities.joint_available:
        return _fit_abs_young(kind, probabilities, codes, yv, pairs, mask, N, tot, wsum, confidence_level,
                              outcome_ratio)
    if variance == "constant-effects":
        return _fit_constant_effects(kind, y, codes, probabilities, pairs, mask, N, tot, wsum, confidence_level)
    ind = np.zeros((n, L))
    ind[np.arange(n), codes] = mask
    u = yv * w
    # Var(Y_T(k)): pairs + diagonal (1 - pi) u^2 + Young's correction sum_i y^2/pi * #zero partners
    diag = np.bincount(codes, weights=mask * (1 - pobs) * u * u, minlength=L)
    y2p = np.where(mask, yv * yv * w, 0.0)
    var_t = np.array([S[k, k] + diag[k] + (y2p * ind[:, k] * zc[:, k]).sum() for k in range(L)])

    def cov_t(a, b):
        return S[a, b] - 0.5 * (y2p * ind[:, a] * zc[:, b]).sum() - 0.5 * (y2p * ind[:, b] * zc[:, a]).sum()

    label = _variance_label("Aronow-Samii (conservative: Young's-inequality bound for pairs with zero joint "
                            "probability)", kind, probabilities)
    out = []
    for a, b in pairs:
        est = _contrast_point(kind, a, b, tot, wsum, N, levels)
        v = (var_t[a] + var_t[b] - 2 * cov_t(a, b)) / N**2 if np.isfinite(est) else float("nan")
        out.append(_contrast_estimate(kind, levels, a, b, est, v, N, label, confidence_level,
                                      _scale(u, codes, mask, a, b, N)))
    return EstimateTable(out)


def _fit_abs_young(kind, probabilities, codes, yv, pairs, mask, N, tot, wsum, confidence_level, outcome_ratio=1.0):
    """HT / Hajek contrasts with the |M| Young bound (see horvitz_thompson, Notes)."""
    levels = probabilities.levels
    label = ("|M| Young bound (conservative: the zero-joint pairs bounded by the matrix absolute value of "
             "their indicator matrix)")
    if outcome_ratio != 1.0:
        label += f", outcome_ratio {outcome_ratio:g}"
    label = _variance_label(label, kind, probabilities)
    label += ("; small-sample: " + ("residuals linearized at the realized level weights, each level's part times "
                                    "G/(G-1), t on the Satterthwaite df of G-1 per level" if kind == "hajek" else
                                    "t on the Satterthwaite df of G per level")
              + " (G: effective number of independent groups observed at each level)")
    out = []
    for a, b in pairs:
        est = _contrast_point(kind, a, b, tot, wsum, N, levels)
        df = None
        if np.isfinite(est):
            st = abs_young_structure(probabilities, a, b, mask)
            v, df = _small_sample(kind, st, probabilities.marginal, a, b, codes, yv, N, outcome_ratio, levels)
        else:
            v = float("nan")
        pobs = probabilities.marginal[np.arange(codes.size), codes]
        u = np.where(pobs > 0, yv / np.where(pobs > 0, pobs, 1.0), 0.0)
        out.append(_contrast_estimate(kind, levels, a, b, est, v, N, label, confidence_level,
                                      _scale(u, codes, mask, a, b, N), df=df))
    return EstimateTable(out)


def _small_sample(kind, st, P, a, b, codes, yv, N, outcome_ratio, levels):
    """The |M| variance with its small-sample correction, and the t df (see :func:`hajek` and
    :func:`horvitz_thompson`, Notes). Returns (variance of the contrast, df or None).

    G_k: the effective number of independent groups observed at level k (:func:`effective_groups`). The
    interval is a t interval on the Welch-Satterthwaite df of the two levels' parts of the variance. HT: each
    part is a sum of squares of about G_k independent group totals with nothing estimated (no mean is
    subtracted), so it gets max(G_k, 1) df; the bound is conservative in expectation whatever G_k. Hajek: the
    error of a level's weighted mean is exactly its weighted residual total over the realized level weight W_k
    (sum of 1 / pi over the level's units), so the residuals are scaled by N / W_k (the linearization at the
    realized weights, not at their expectation N); the residuals are estimated and their weighted total at each
    level is exactly 0, which removes one group's worth of between-group variation: each part is multiplied by
    G_k / (G_k - 1) (CR1's factor, by level) and gets max(G_k - 1, 1) df; a level whose units form a single
    group (G_k <= 1) leaves the Hajek variance not estimable (nan).
    """
    Ga, Gb = effective_groups(st, P, a, b, codes)
    if kind == "hajek" and not (Ga > 1 and Gb > 1):
        warn(f"{levels[a]} vs {levels[b]}: the units observed at "
                      f"{levels[a] if not Ga > 1 else levels[b]!r} form a single group of dependent units (all "
                      "share the randomization of one cluster or overlapping neighbourhoods): the Hajek variance "
                      "cannot be estimated from them; standard error reported as nan.", EstimationWarning)
        return float("nan"), None
    rule = _SMALL_SAMPLE
    if kind == "hajek" and rule["hajek_scale"] == "W":
        idx = st["idx"]
        Wk = np.bincount(codes[idx], weights=1.0 / P[idx, codes[idx]], minlength=P.shape[1])
        yv = yv * np.where(codes == a, N / Wk[a], np.where(codes == b, N / Wk[b], 0.0))
    if kind == "hajek" and rule["hajek"] == "cr2":
        h = group_shares(st, P, a, b, codes)
        yv = yv / np.sqrt(np.clip(1.0 - h, 1e-12, None))  # h < 1 when G > 1 (G = 1 / weighted mean of h)
    v = abs_young_variance(st, P, a, b, codes, yv, outcome_ratio) / N**2
    va = abs_young_variance(st, P, a, b, codes, np.where(codes == a, yv, 0.0), outcome_ratio) / N**2
    vb = abs_young_variance(st, P, a, b, codes, np.where(codes == b, yv, 0.0), outcome_ratio) / N**2
    va, vb = max(va, 0.0), max(vb, 0.0)
    if kind == "hajek" and rule["hajek"] == "cr1":
        ca, cb = va * Ga / (Ga - 1), vb * Gb / (Gb - 1)
        v = v + (ca - va) + (cb - vb)
    else:
        ca, cb = va, vb
    # each part's df (G_k - 1 or G_k), at least 1 (a level unobserved, nan G, or less than two effective groups:
    # below 1 df the t quantile explodes: HT widths of 1e140 in 500 experiments on ego-Facebook)
    off = 1.0 if rule["hajek_df" if kind == "hajek" else "ht_df"] == "G-1" else 0.0
    da = Ga - off if Ga - off > 1 else 1.0
    db = Gb - off if Gb - off > 1 else 1.0
    den = ca**2 / da + cb**2 / db
    df = float((ca + cb) ** 2 / den) if den > 0 else None
    return v, df


def _scale(u, codes, mask, a, b, N) -> float:
    """Size of the variance's terms, sum of (y_i / pi_i)^2 / N^2 over the units at a or b: what 'zero' means."""
    sel = mask & ((codes == a) | (codes == b))
    return float(np.sum(u[sel] ** 2)) / N**2


def _variance_label(base: str, kind: str, probabilities) -> str:
    """The variance description shared by every variance type: linearization and Monte Carlo provenance."""
    label = base + (", linearized" if kind == "hajek" else "")
    if not probabilities.exact:
        label += f"; Monte Carlo probabilities ({probabilities.n_draws} draws, {probabilities.convention} convention)"
    return label


def _contrast_point(kind, a, b, tot, wsum, N, levels=None) -> float:
    """HT: difference of level totals over N; Hajek: difference of weighted means (nan, with a warning naming the
    level when ``levels`` is given, if a level is unobserved)."""
    if kind == "ht":
        return float((tot[a] - tot[b]) / N)
    if wsum[a] > 0 and wsum[b] > 0:
        return float(tot[a] / wsum[a] - tot[b] / wsum[b])
    if levels is not None:
        warn(f"no unit observed at {levels[a] if wsum[a] == 0 else levels[b]!r}: the Hajek mean is "
                      "undefined; reported as nan.", EstimationWarning)
    return float("nan")


def _contrast_estimate(kind, levels, a, b, est, v, N, label, confidence_level, scale=0.0, df=None) -> Estimate:
    """One contrast's Estimate; a variance estimate that is negative or exactly 0 gives a nan standard error
    (and interval) with a warning saying why, never a zero-width interval."""
    if np.isfinite(v) and v <= 1e-12 * scale:  # scale: the sum of the squared terms (rounding)
        why = (f"is negative ({v:.3g}; pair terms can be negative)" if v < -1e-12 * scale else
               "is exactly 0 (too few units observed at the two levels to estimate it)")
        warn(f"the variance estimate of {levels[a]} vs {levels[b]} {why}: standard error and interval "
                      "reported as nan.", EstimationWarning)
        v = float("nan")
    return Estimate.from_se(estimand=f"Y({levels[a]}) - Y({levels[b]})", estimate=est, std_error=np.sqrt(v), n=N,
                            method="Horvitz-Thompson" if kind == "ht" else "Hajek", variance=label,
                            confidence_level=confidence_level, df=df,
                            note="average over the n units; " + ("normal-based interval" if df is None else
                                                                 f"t interval on {df:.1f} df"))


def _fit_max(kind, y, levels_observed, probabilities, contrasts, units, confidence_level):
    """The larger of the Aronow-Samii and the constant-effects variance, contrast by contrast."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimationWarning)  # negative-variance warnings: re-issued below
        ce = _fit(kind, y, levels_observed, probabilities, contrasts, "constant-effects", units, confidence_level)
    as_ = _fit(kind, y, levels_observed, probabilities, contrasts, "aronow-samii", units, confidence_level)
    label = _variance_label("max(Aronow-Samii, constant effects) (conservative whenever Aronow-Samii is)", kind,
                            probabilities)
    out = []
    for a, c in zip(as_, ce):
        se = float(np.fmax(a.std_error, c.std_error))  # a nan constant-effects variance (level unobserved): AS
        out.append(Estimate.from_se(estimand=a.estimand, estimate=a.estimate, std_error=se, n=a.n, method=a.method,
                                    variance=label, confidence_level=confidence_level, note=a.note))
    return EstimateTable(out)


def _fit_constant_effects(kind, y, codes, probabilities, pairs, mask, N, tot, wsum, confidence_level):
    """Variance under constant effects: the design variance with imputed potential outcomes."""
    P = probabilities.marginal
    n, L = P.shape
    levels = probabilities.levels
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = tot / wsum  # Hajek means (nan for levels nobody is observed at)
    # level means: Horvitz-Thompson (always defined) for HT, Hajek for Hajek
    m = tot / N if kind == "ht" else mu
    e = np.where(mask, y - np.nan_to_num(m)[codes], 0.0)  # outcome net of the level effect
    needed = sorted({k for ab in pairs for k in ab})
    ok = np.isfinite(m)
    # imputed y_i(k) = y_i - mu(a_i) + mu(k) (HT); the Hajek linearization uses e_i at every level
    Yimp = np.zeros((n, L))
    for k in needed:
        if ok[k]:
            Yimp[:, k] = e + (m[k] if kind == "ht" else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        V = np.where(mask[:, None] & (P > 0), Yimp / np.where(P > 0, P, 1.0), 0.0)
    if probabilities.joint_available:
        T = probabilities._cov_terms(V, mask)
    else:
        T = np.full((L, L), np.nan)
    label = _variance_label("constant effects (Aronow & Samii 2017): design variance with every unit's potential "
                            "outcomes imputed under constant level effects estimated by the level means", kind,
                            probabilities)
    out = []
    for a, b in pairs:
        est = _contrast_point(kind, a, b, tot, wsum, N)
        if not (ok[a] and ok[b]):
            warn(f"no unit observed at {levels[a] if not ok[a] else levels[b]!r}: the constant-effects "
                          "variance needs both means; reported as nan.", EstimationWarning)
            v = float("nan")
        else:
            va, vb = V[:, a], V[:, b]
            diag = np.sum(P[:, a] * (1 - P[:, a]) * va**2 + P[:, b] * (1 - P[:, b]) * vb**2
                          + 2 * P[:, a] * P[:, b] * va * vb)
            v = (T[a, a] + T[b, b] - T[a, b] - T[b, a] + diag) / N**2
        out.append(_contrast_estimate(kind, levels, a, b, est, v, N, label, confidence_level,
                                      float(np.sum(V[:, a] ** 2 + V[:, b] ** 2)) / N**2))
    return EstimateTable(out)


@aligned("y", "levels_observed", graph="probabilities")
def horvitz_thompson(y: Any, levels_observed: Any, probabilities, *, contrasts: Any = "all-vs-no_exposure",
                     variance: Literal["auto", "abs-young", "aronow-samii", "constant-effects", "max"] = "auto",
                     units: Any = None, confidence_level: float = 0.95, outcome_ratio: float = 1.0) -> EstimateTable:
    """Horvitz-Thompson estimates of average contrasts between exposure levels.

    Parameters
    ----------
    y : array-like, shape (n_units,)
        Observed outcomes.
    levels_observed : array-like, shape (n_units,)
        Observed exposure level of each unit (codes into ``probabilities.levels`` or names).
    probabilities : ExposureProbabilities
        From :func:`netexp.exposure_probabilities` (with ``joint=True`` for the variance).
    contrasts : list of (level_a, level_b) or "all-vs-<level>"
        Contrasts to estimate. Default: every level against ``no_exposure``.
    variance : {"auto", "abs-young", "aronow-samii", "constant-effects", "max"}
        ``"auto"`` (default): ``"abs-young"`` whenever it is computed (see Notes: at most
        ``ABS_YOUNG_MAX_TYPES`` = 5000 position types; with dense joints, i.e. Monte Carlo
        probabilities or a Complete design off the profile route, at most ``ABS_YOUNG_MAX_UNITS`` =
        4000 units), else ``"aronow-samii"``. For Hajek the |M| bound is
        applied to the linearization's estimated residuals with a small-sample correction and a t
        reference (see :func:`hajek`). ``"abs-young"``: the
        Aronow-Samii estimator with its Young's-inequality correction replaced by the |M| bound
        (see Notes); conservative in expectation for every design and outcome, and never wider than
        Aronow-Samii when M is block diagonal (two-arm cluster trials: the cluster-level Young bound).
        ``"aronow-samii"``: the conservative estimator of
        Aronow & Samii (2017). ``"constant-effects"``: the design variance of the estimator when every
        unit's potential outcomes are imputed under constant level effects (see Notes); **not
        conservative in general**: its expectation can be below the true variance (an enumerated
        9-unit example is in the test suite). ``"max"``: the larger of Aronow-Samii and
        constant-effects, contrast by contrast (what the R package ``interference`` reports);
        conservative whenever the Aronow-Samii estimator is, since it is never smaller.
    units : bool mask or integer positions, optional
        Restrict the estimand to these units (e.g. those with positive probability of both levels).
    confidence_level : float
    outcome_ratio : float, default 1
        For ``"abs-young"``: a guess, fixed before seeing the outcomes (e.g. from a pilot or past
        experiments), of the typical size of outcomes at level b relative to level a
        (:math:`|y(b)| / |y(a)|`). The bound stays conservative for **any** positive value; a good
        guess narrows the HT interval when the two levels' outcomes differ in size (main job's
        design: expected SE / true SD 1.25 at 1, 1.03 at 0.3). Used when every zero-joint pair is
        across the two levels (cluster designs with the full-neighbourhood mapping); else ignored.

    Returns
    -------
    EstimateTable
        One :class:`Estimate` per contrast, named ``"Y(a) - Y(b)"``, with normal-based intervals.

    Notes
    -----
    With :math:`\\pi_i(k)` the probability that unit i is at level k and :math:`I_i(k)` the
    indicator that it is, over the N units of the estimand,

    .. math:: \\hat Y_T(k) = \\sum_i I_i(k) \\frac{y_i}{\\pi_i(k)}, \\qquad
              \\hat\\tau(a, b) = \\frac{\\hat Y_T(a) - \\hat Y_T(b)}{N},

    unbiased when every unit has :math:`\\pi_i(a), \\pi_i(b) > 0`. The variance estimator is
    :math:`\\widehat{Var}(\\hat\\tau) = N^{-2}[\\widehat{Var}(\\hat Y_T(a)) + \\widehat{Var}(\\hat Y_T(b))
    - 2 \\widehat{Cov}(\\hat Y_T(a), \\hat Y_T(b))]` with

    .. math:: \\widehat{Var}(\\hat Y_T(k)) = \\sum_i I_i(k)(1 - \\pi_i(k)) \\frac{y_i^2}{\\pi_i(k)^2}
              + \\sum_{i \\ne j: \\pi_{ij}(k) > 0} I_i(k) I_j(k) \\frac{\\pi_{ij}(k) - \\pi_i(k)\\pi_j(k)}
              {\\pi_{ij}(k)} \\frac{y_i y_j}{\\pi_i(k) \\pi_j(k)}
              + \\sum_{i \\ne j: \\pi_{ij}(k) = 0} \\Big[\\frac{I_i(k) y_i^2}{2 \\pi_i(k)} +
              \\frac{I_j(k) y_j^2}{2 \\pi_j(k)}\\Big],

    .. math:: \\widehat{Cov}(\\hat Y_T(a), \\hat Y_T(b)) = \\sum_{i, j: \\pi_{ij}(a,b) > 0}
              I_i(a) I_j(b) \\frac{\\pi_{ij}(a,b) - \\pi_i(a)\\pi_j(b)}{\\pi_{ij}(a,b)}
              \\frac{y_i y_j}{\\pi_i(a)\\pi_j(b)} - \\sum_{i, j: \\pi_{ij}(a,b) = 0}
              \\Big[\\frac{I_i(a) y_i^2}{2\\pi_i(a)} + \\frac{I_j(b) y_j^2}{2\\pi_j(b)}\\Big],

    the last sum including :math:`i = j` (a unit is never at two levels). The corrections come
    from Young's inequality and make the estimator conservative in expectation. With exact
    probabilities the pair sums stream over the pairs that can be dependent (compiled code, in
    parallel; under unit-level Bernoulli the pair joints are closed-form convolutions of three
    binomials), so memory stays linear in the number of units.

    **The |M| bound** (``variance="abs-young"``, the default). Index the positions
    :math:`p = (i, k)`, unit i at level :math:`k \\in \\{a, b\\}`, with signed outcomes
    :math:`x_p = \\pm y_i(k)` (+ for a, - for b) and :math:`I_p = I_i(k)`. Then
    :math:`N\\hat\\tau = \\sum_p I_p x_p / \\pi_p` and

    .. math:: Var(N\\hat\\tau) = \\sum_{p, q: \\pi_{pq} > 0} (\\pi_{pq} - \\pi_p\\pi_q)
              \\frac{x_p x_q}{\\pi_p \\pi_q} - x^\\top M x,

    with :math:`M_{pq} = 1[\\pi_{pq} = 0]` for :math:`p \\ne q` (always 1 for the two positions of one
    unit) and :math:`M_{pp} = 0`. The first sum is estimated without bias by weighting each observed
    pair by :math:`1/\\pi_{pq}`; the second involves pairs never observed together. Any matrix
    :math:`A` with :math:`A + M \\succeq 0` gives :math:`-x^\\top M x \\le x^\\top A x`, and
    :math:`x^\\top A x` is estimable, by :math:`\\sum_{p,q} I_p I_q A_{pq} x_p x_q / \\pi_{pq}`, when
    :math:`A_{pq} = 0` wherever :math:`\\pi_{pq} = 0`. Aronow-Samii take the Gershgorin choice
    :math:`A = \\mathrm{diag}(M\\mathbf 1)`. netexp takes the matrix absolute value
    :math:`|M| = (M^2)^{1/2}` (eigenvalues :math:`|\\lambda|`, so :math:`|M| + M \\succeq 0`), then
    moves each entry at a zero-joint pair onto the two diagonals
    (:math:`A_{pp} \\mathrel{+}= |A_{pq}|`, :math:`A_{qq} \\mathrel{+}= |A_{pq}|`, :math:`A_{pq} = 0`, which
    adds a PSD matrix), so the result is estimable and still dominates :math:`-M`. Hence
    :math:`E[\\widehat{Var}] \\ge Var(\\hat\\tau)` for every design and outcome schedule, with no
    approximation. When every zero-joint pair is across the two levels (cluster designs with the
    full-neighbourhood mapping: same-level joints are positive),
    :math:`M = [[0, B], [B^\\top, 0]]` and :math:`|M| = \\mathrm{diag}((BB^\\top)^{1/2}, (B^\\top B)^{1/2})`:
    nothing is moved. For a two-arm cluster trial (own treatment, each unit's level set by its cluster)
    :math:`B` is block diagonal with all-ones blocks :math:`J_c` and :math:`|J_c| = J_c`, so the bound is
    the cluster-level Young bound :math:`\\sum_c (T_c(a)^2 + T_c(b)^2)`, :math:`T_c(k)` the cluster's
    total of :math:`y_i(k)`; Aronow-Samii's is :math:`\\sum_c n_c \\sum_{i \\in c}(y_i(a)^2 + y_i(b)^2)`.
    :math:`|M|` is computed once per (probabilities, contrast, units) and cached: positions with equal
    rows of M are grouped into t types, :math:`M = Q K Q^\\top` with orthonormal :math:`Q`, and only
    the :math:`t \\times t` matrix :math:`K` is decomposed, by connected components of the type graph
    (an SVD of the cross block for a component whose zero-joint pairs are all across the levels).
    No 2N x 2N table is built where the joints allow it. Under complete randomization of clusters
    with a threshold mapping (the profile route of :func:`netexp.exposure_probabilities`) the units of
    one neighbourhood profile are always at one level and a pair's joint depends only on the two
    profiles, so M, the types and every sum above aggregate over (profile, level) cells: for cells
    c, d, :math:`\\sum_{p \\in c, q \\in d} A_{pq} x_p x_q / \\pi_{pq} = A_{cd} X_c X_d / \\pi_{cd}`
    with :math:`X_c` the cell's sum, less the p = q terms. Under designs whose unstored pairs are
    independent (Bernoulli over units or clusters) M is sparse, types come from its hashed rows (checked
    exactly), the sums run over types as if every pair were independent
    (:math:`x_p x_q / (\\pi_p\\pi_q) = u_p u_q`) and are corrected at the stored dependent pairs.
    The limit is then on the number of types (``ABS_YOUNG_MAX_TYPES`` = 5000; ego-Facebook under 16-17
    Leiden clusters has 40-46, ca-HepTh under 476 clusters 1770); Monte Carlo joints and Complete
    designs off the profile route keep the dense table, up to 4000 units. Beyond the limits ``"auto"``
    uses Aronow-Samii (asking for ``"abs-young"`` by name warns). When M is cross-level only,
    :math:`DMD = M` for :math:`D = \\mathrm{diag}(\\sqrt r\\, I, I / \\sqrt r)`, so
    :math:`D A D + M = D(A + M)D \\succeq 0`: the bound :math:`r Q_a + Q_b / r` (:math:`Q_k` the
    level-k block of :math:`x^\\top A x`) is valid for every fixed :math:`r > 0` (``outcome_ratio``),
    smallest at :math:`r = \\sqrt{Q_b / Q_a}`. (Rescaling the bound between the two levels
    by a plug-in ratio, :math:`2\\sqrt{\\hat Q_a \\hat Q_b}`, is valid only asymptotically and covered 0.91 on
    the main job's design, so it is not offered.)
    Hajek: the same bound applied to the residuals :math:`y_i - \\hat\\mu(k_i)`.

    **Small-sample reference.** The |M| variance is a sum over the independent groups of units
    (clusters, under a cluster design) observed at each level; with few groups it is noisy. With
    :math:`G_k` the effective number of independent groups observed at level k (Kish's count with
    the design correlations of the units' exposure indicators), the interval is a t interval on the
    Welch-Satterthwaite df of the two levels' parts, each on :math:`\\max(G_k, 1)` df: a part is a sum
    of squares of about :math:`G_k` independent group totals and no mean is estimated, so no degree of
    freedom is lost (a non-zero mean only adds df). It tends to the normal interval as groups grow in
    number. The standard error itself is unchanged. Measured (``benchmarks/bench_intervals_ht.py``):
    on ego-Facebook under ``netexp run``'s design (16 Leiden clusters, complete randomization, about
    3 effective groups per level, median 3.5 df) the normal interval covers 0.921, this one
    0.965 +- 0.006 (1000 experiments) at 1.54 times
    Aronow-Samii's normal width (2.13 times with :math:`G_k - 1` df, which covered 0.986); 16 clusters
    of the bundled graph 0.949 +- 0.006 (1500; the normal interval 0.89), 47 clusters 0.961.
    Under a Bernoulli design over clusters the two parts add up to the variance; under complete
    randomization the cross-level pairs subtract 5-20% of it (ego-Facebook) and the df is that of the
    two parts, dominated there by the treated level's (97% of the sum).

    ``variance="constant-effects"`` assumes :math:`y_i(k) = y_i^0 + \\tau_k` for every unit. It
    imputes :math:`\\hat y_i(k) = y_i - \\hat m(k_i) + \\hat m(k)` with :math:`\\hat m(k) = \\hat Y_T(k)/N`
    and :math:`k_i` the observed level, and returns the exact design variance of
    :math:`\\hat\\tau(a, b)` for that schedule,
    :math:`N^{-2} \\sum_{i,j} \\sum_{k, l \\in \\{a, b\\}} \\pm (\\pi_{ij}(k,l) - \\pi_i(k)\\pi_j(l))
    \\hat y_i(k) \\hat y_j(l) / (\\pi_i(k)\\pi_j(l))` (no Young bound is needed: every potential
    outcome is imputed). The R package ``interference`` estimates this quantity by simulating the
    design on regression residuals (Aronow 2013, eq. 2.15); here it is computed exactly from the
    joint probabilities. It is not guaranteed to be conservative: its expectation over the design
    can be smaller than the true variance when effects are heterogeneous. ``variance="max"`` takes
    :math:`\\max(\\widehat{Var}_{AS}, \\widehat{Var}_{CE})` per contrast, whose expectation is at least
    :math:`E[\\widehat{Var}_{AS}] \\ge Var(\\hat\\tau)`.

    Joint probabilities: under Bernoulli designs pairs more than 2k hops apart are independent;
    under Complete designs (unit-level or over clusters) every pair is dependent, and the sums
    use the fact that the joint of two units whose neighbourhoods share no randomization unit
    depends only on the two neighbourhood *types* (sizes, and cluster weights): those pairs are
    summed type pair by type pair and only the near pairs are visited one by one.

    A variance estimate that is negative (possible: pair terms can be negative) or exactly 0 is
    reported as a nan standard error and interval, with an ``EstimationWarning`` saying which.

    References
    ----------
    Aronow, P. M., & Samii, C. (2017). Estimating average causal effects under general
    interference, with application to a social network experiment. *Annals of Applied
    Statistics*, 11(4), 1912-1947.
    Aronow, P. M. (2013). *Model assisted causal inference*. PhD thesis, Yale University.
    Harshaw, C., Middleton, J. A., & Savje, F. (2021). Optimized variance estimation under
    interference and complex experimental designs. arXiv:2112.01709 (admissible quadratic bounds).

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.erdos_renyi(40, 0.1, rng=0)
    >>> clusters = ne.three_net(g, rng=0)
    >>> design = ne.ClusterRandomized(clusters, ne.Bernoulli(clusters.n_clusters, p=0.5))
    >>> mapping = ne.FullNeighborhood()
    >>> pr = ne.exposure_probabilities(g, design, mapping, method="exact")
    >>> z = design.sample(rng=1)
    >>> y = 1.0 + 2.0 * z
    >>> t = ne.horvitz_thompson(y, mapping.map(g, z), pr, contrasts=[("treated", "control")])
    >>> t[0].estimand
    'Y(treated) - Y(control)'
    """
    return _fit("ht", y, levels_observed, probabilities, contrasts, variance, units, confidence_level,
                outcome_ratio)


@aligned("y", "levels_observed", graph="probabilities")
def hajek(y: Any, levels_observed: Any, probabilities, *, contrasts: Any = "all-vs-no_exposure",
          variance: Literal["auto", "abs-young", "aronow-samii", "constant-effects", "max"] = "auto",
          units: Any = None, confidence_level: float = 0.95, outcome_ratio: float = 1.0) -> EstimateTable:
    """Hajek (ratio) estimates of contrasts between exposure levels.

    Same parameters as :func:`horvitz_thompson`.

    Notes
    -----
    :math:`\\hat\\mu(k) = \\sum_i I_i(k) y_i / \\pi_i(k) \\big/ \\sum_i I_i(k) / \\pi_i(k)` and
    :math:`\\hat\\tau(a, b) = \\hat\\mu(a) - \\hat\\mu(b)`: slightly biased, usually far less
    variable than Horvitz-Thompson. The variance linearizes: the Aronow-Samii estimator with
    :math:`y_i - \\hat\\mu(k_i)` in place of :math:`y_i` (Aronow & Samii 2017, Section 5); with
    ``variance="constant-effects"`` the residual :math:`y_i - \\hat\\mu(k_i)` is imputed at every
    level. A negative or zero variance estimate gives a nan standard error, with an ``EstimationWarning``.

    **Small-sample correction** (``variance="abs-young"``, the default). The error of a level's mean
    is exactly :math:`\\hat\\mu(k) - \\mu(k) = \\sum_i I_i(k) (y_i - \\mu(k)) / \\pi_i(k) \\big/ \\hat W_k`,
    :math:`\\hat W_k = \\sum_i I_i(k) / \\pi_i(k)` the realized level weight: the |M| bound is applied to the
    residuals :math:`(y_i - \\hat\\mu(k_i)) N / \\hat W_{k_i}` (the linearization at the realized weights,
    not at their expectation N: an assignment that puts little weight at a level gets the wider
    interval it needs). Hajek's residuals are estimated, and their weighted total at each level is
    exactly 0: the variance estimate loses one independent group's worth of between-group variation
    per level, which matters when few groups are observed. With :math:`G_k` the effective number of
    independent groups observed at level k (Kish's count with the design correlations of the units'
    exposure indicators; for a cluster design, the effective number of observed clusters), level k's
    part is multiplied by :math:`G_k / (G_k - 1)` (CR1's factor, level by level) and the interval is a
    t interval on the Welch-Satterthwaite df of the two parts, each on :math:`\\max(G_k - 1, 1)` df; as
    the groups grow in number it tends to the normal interval. In a two-arm cluster trial a level's
    part is then the cluster-robust variance of the level's weighted mean times :math:`G_k/(G_k-1)`,
    :math:`G_k` Kish's effective number of its clusters (tested in closed form). When the units at a
    level form a single group (:math:`G_k \\le 1`) the variance is not estimable: nan, with a warning.
    A CR2-style leverage correction (each residual over :math:`\\sqrt{1 - h_p}`,
    :math:`h_p = \\sum_q w_q \\rho^+_{pq} / \\sum_q w_q` its group's weight share, which is the cluster's
    CR2 leverage in a cluster trial) was measured in place of :math:`G_k/(G_k-1)`: no better on any
    of the settings below, so not used. Measured (``benchmarks/bench_intervals_ht.py``; the README's
    table): ``netexp run`` on ego-Facebook 0.947 +- 0.006 (three seeds, 1500 experiments; 0.935 when
    linearized at N), the same design with the bench's outcomes 0.958 +- 0.006 (SE / true SD 0.89);
    the bundled graph with 16 Leiden clusters 0.957 +- 0.005 (1500; 0.943 at N), with 47 clusters 0.977.

    References
    ----------
    Aronow, P. M., & Samii, C. (2017). *Annals of Applied Statistics*, 11(4), 1912-1947.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.erdos_renyi(40, 0.1, rng=0)
    >>> clusters = ne.three_net(g, rng=0)
    >>> design = ne.ClusterRandomized(clusters, ne.Bernoulli(clusters.n_clusters, p=0.5))
    >>> mapping = ne.FullNeighborhood()
    >>> pr = ne.exposure_probabilities(g, design, mapping, method="exact")
    >>> z = design.sample(rng=1)
    >>> e = ne.hajek(1.0 + 2.0 * z, mapping.map(g, z), pr, contrasts=[("treated", "control")])[0]
    >>> round(e.estimate, 6)   # constant outcomes within each arm: Hajek recovers the effect exactly
    2.0
    """
    return _fit("hajek", y, levels_observed, probabilities, contrasts, variance, units, confidence_level,
                outcome_ratio)


@aligned("y", "levels_observed")
def difference_in_means_by_exposure(y: Any, levels_observed: Any, contrasts: Any, *, levels=None) -> dict:
    """Unweighted difference of sample means between exposure levels (the R package's ``tau_dsm``).

    Biased in general (units at a level are not a random sample); a descriptive baseline.

    Parameters
    ----------
    y : array-like
    levels_observed : array-like of level names, or codes with ``levels``
    contrasts : list of (level_a, level_b) or "all-vs-<level>"
    levels : sequence of str, optional
        Level names (needed when ``levels_observed`` holds codes; default: the sorted names seen).

    Returns
    -------
    dict
        ``{"Y(a) - Y(b)": mean(y | a) - mean(y | b)}``.

    Examples
    --------
    >>> from netexp.estimators._horvitz_thompson import difference_in_means_by_exposure
    >>> difference_in_means_by_exposure([1, 2, 5, 7], ["c", "c", "t", "t"], [("t", "c")])
    {'Y(t) - Y(c)': 4.5}
    """
    arr = np.asarray(levels_observed)
    if levels is None:
        if arr.dtype.kind in "iu":
            raise InputError("levels_observed holds codes; give levels= (the level names).")
        levels = tuple(sorted({str(v) for v in arr.tolist()}))
    levels = tuple(levels)
    y = check_finite_vector("y", y, arr.shape[0])
    codes = _codes(arr, levels, arr.shape[0])
    s = np.bincount(codes, weights=y, minlength=len(levels))
    c = np.bincount(codes, minlength=len(levels))
    out = {}
    for a, b in _contrasts(contrasts, levels):
        if c[a] == 0 or c[b] == 0:
            raise EstimationError(f"no unit observed at {levels[a] if c[a] == 0 else levels[b]!r}.")
        out[f"Y({levels[a]}) - Y({levels[b]})"] = float(s[a] / c[a] - s[b] / c[b])
    return out
