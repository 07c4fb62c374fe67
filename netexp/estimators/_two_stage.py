"""Two-stage (randomized saturation) estimators: Hudgens & Halloran (2008) group-level effects
and the Baird, Bohren, McIntosh & Ozler (2018) saturation regression."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._align import aligned
from .._errors import EstimationError, InputError
from .._validation import check_confidence_level, check_option
from ._ols import ols
from ._result import Estimate, EstimateTable, welch_df

__all__ = ["two_stage_estimates", "saturation_regression"]


def _saturations(y, z, clusters, cluster_saturation):
    """Validated (y, z, cluster codes, saturation per cluster code)."""
    from ._estimators import _cluster_codes

    z_arr = np.asarray(z)
    if z_arr.ndim != 1:
        raise InputError("z must be one assignment vector (1-D).")
    from .._validation import check_binary_matrix, check_finite_vector

    zb = check_binary_matrix("z", z_arr, z_arr.shape[0])[0]
    y = check_finite_vector("y", y, zb.shape[0])
    n = y.shape[0]
    cl = _cluster_codes(clusters, n)
    K = int(cl.max()) + 1
    s = np.asarray(cluster_saturation, dtype=float)
    if s.ndim != 1 or s.shape[0] not in (n, K):
        raise InputError(f"cluster_saturation must give the saturation of each cluster ({K} values, in the sorted "
                         f"order of the cluster labels) or of each unit ({n} values); got shape {s.shape}.")
    if not np.all(np.isfinite(s)) or (s < 0).any() or (s > 1).any():
        raise InputError("cluster_saturation must lie in [0, 1] (the share of a cluster's units to treat).")
    if s.shape[0] == n:  # per unit (also when n == K): must be constant within clusters
        sc = np.full(K, np.nan)
        sc[cl] = s
        if np.any(sc[cl] != s):
            bad = np.unique(cl[sc[cl] != s]).shape[0]
            raise InputError(f"cluster_saturation given per unit varies within {bad} cluster(s); a cluster has one "
                             "saturation.")
        s = sc
    return y, zb, cl, K, s


def _fmt(a: float) -> str:
    return format(float(a), "g")


def _group_means(v, mask, cl, K):
    """Per-cluster mean of v over units in mask (nan where the cluster has none), and counts."""
    cnt = np.bincount(cl[mask], minlength=K).astype(float)
    tot = np.bincount(cl[mask], weights=v[mask], minlength=K)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tot / cnt, cnt


def _group_vars(v, mask, cl, K, means, cnt):
    """Per-cluster sample variance (ddof=1) of v over units in mask."""
    dev = v - means[cl]
    ss = np.bincount(cl[mask], weights=dev[mask] ** 2, minlength=K)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ss / (cnt - 1)


@aligned("y", "z", "clusters", "cluster_saturation")
def two_stage_estimates(y: Any, z: Any, clusters: Any, cluster_saturation: Any, *, alpha: float,
                        alpha_prime: float, confidence_level: float = 0.95) -> EstimateTable:
    r"""Hudgens & Halloran (2008) direct, indirect, total and overall effects of two saturations.

    Parameters
    ----------
    y : array-like of float, shape (n,)
        Outcomes.
    z : array-like of 0/1, shape (n,)
        Treatment of every unit.
    clusters : array-like, shape (n,)
        Group (cluster) label of every unit.
    cluster_saturation : array-like
        The saturation (allocation strategy) each group was assigned at stage 1: one value per
        group in the sorted order of the labels, or one per unit (constant within groups).
    alpha, alpha_prime : float
        The two saturations compared (values present in ``cluster_saturation``).
    confidence_level : float

    Returns
    -------
    EstimateTable
        ``direct effect (alpha=a)`` for each saturation with treated and untreated units,
        ``indirect effect (alpha=a vs a')``, ``total effect (alpha=a vs a')`` when units are
        treated under ``alpha`` and untreated under ``alpha_prime``, and
        ``overall effect (alpha=a vs a')``.

    Notes
    -----
    For a group :math:`i` assigned saturation :math:`\alpha` let :math:`\hat Y_i(z;\alpha)` be
    the mean outcome of its units with treatment :math:`z` and :math:`\hat Y_i(\alpha)` the mean
    of all its units; :math:`\hat Y(z;\alpha)` and :math:`\hat Y(\alpha)` average these over the
    :math:`C_\alpha` groups assigned :math:`\alpha` (groups weighted equally). netexp reports
    *treated minus untreated* and *alpha minus alpha'*:

    .. math::
        \widehat{DE}(\alpha) = \hat Y(1;\alpha) - \hat Y(0;\alpha), \quad
        \widehat{IE}(\alpha,\alpha') = \hat Y(0;\alpha) - \hat Y(0;\alpha'),

        \widehat{TE}(\alpha,\alpha') = \hat Y(1;\alpha) - \hat Y(0;\alpha'), \quad
        \widehat{OE}(\alpha,\alpha') = \hat Y(\alpha) - \hat Y(\alpha'),

    so :math:`TE = DE(\alpha) + IE`. Hudgens & Halloran, writing for vaccines where a lower
    outcome is better, define :math:`DE(\alpha) = \bar Y(0;\alpha) - \bar Y(1;\alpha)`: netexp's
    direct effect is the negative of theirs; its indirect, total and overall effects are theirs
    with :math:`(\phi,\psi)=(\alpha,\alpha')`, and total with the sign flipped.

    **Assumptions** (Hudgens & Halloran): partial interference (no interference between
    groups); stratified interference (a unit's outcome depends on its own treatment and on how
    many in its group are treated); stage 1 assigns a fixed number of the :math:`N` groups to
    each saturation completely at random, stage 2 treats a fixed number of units in each group
    completely at random. Under these the point estimators are unbiased for the group-averaged
    estimands over all :math:`N` groups.

    **Variances.** With :math:`s^2` the sample variance (ddof 1) over the groups assigned a
    saturation of the group-level quantity in brackets,

    - indirect, total, overall: :math:`\hat V = s^2[\hat Y_i(\cdot;\alpha)]/C_\alpha +
      s^2[\hat Y_i(\cdot;\alpha')]/C_{\alpha'}`. Its expectation exceeds the variance by
      :math:`S^2_\Delta/N`, the variance over all groups of the group-level effects: conservative,
      unbiased when the effect is the same in every group.
    - direct: :math:`\hat V = (1 - C/N)\, s^2[\widehat{DE}_i]/C + \frac{1}{NC}\sum_{i:\alpha}
      \hat\sigma^2_i`, with :math:`\hat\sigma^2_i = s^2_{i1}/k_i + s^2_{i0}/(n_i-k_i)` the Neyman
      variance within group :math:`i` (two-stage sampling, Cochran 1977 ch. 10). Conservative
      by :math:`\frac{1}{NC}\sum_i S^2_{\tau,i}/n_i`: unbiased when unit-level direct effects are
      constant within each group (additivity). When some group has fewer than two treated or
      two untreated units, :math:`\hat\sigma^2_i` does not exist and :math:`s^2[\widehat{DE}_i]/C`
      is used instead, conservative by :math:`S^2_{DE}/N` (unbiased when group direct effects
      are equal); the ``variance`` field says which.

    :math:`N` counts every group in the data (other saturations too: stage 1 is one complete
    randomization over all groups). Intervals: t with :math:`C-1` df (direct) or the
    Welch-Satterthwaite df over groups (others); Hudgens & Halloran use the normal.

    References
    ----------
    Hudgens, M. G. & Halloran, M. E. (2008). Toward causal inference with interference.
    *Journal of the American Statistical Association* 103(482), 832-842.

    Examples
    --------
    >>> import numpy as np
    >>> from netexp.estimators import two_stage_estimates
    >>> clusters = np.repeat(np.arange(6), 4)
    >>> sat = np.array([0.5, 0.25, 0.5, 0.25, 0.5, 0.25])
    >>> z = np.tile([1, 1, 0, 0], 6) * (sat[clusters] == 0.5) + np.tile([1, 0, 0, 0], 6) * (sat[clusters] == 0.25)
    >>> y = 1.0 + z + 0.5 * sat[clusters] + np.random.default_rng(0).normal(0, 0.1, 24)
    >>> t = two_stage_estimates(y, z, clusters, sat, alpha=0.5, alpha_prime=0.25)
    >>> [e.estimand for e in t]  # doctest: +NORMALIZE_WHITESPACE
    ['direct effect (alpha=0.5)', 'direct effect (alpha=0.25)', 'indirect effect (alpha=0.5 vs 0.25)',
     'total effect (alpha=0.5 vs 0.25)', 'overall effect (alpha=0.5 vs 0.25)']
    >>> round(t["indirect effect (alpha=0.5 vs 0.25)"].estimate, 2)
    0.14
    """
    check_confidence_level(confidence_level)
    y, zb, cl, N, s = _saturations(y, z, clusters, cluster_saturation)
    a, ap = float(alpha), float(alpha_prime)
    if a == ap:
        raise InputError(f"alpha and alpha_prime must differ; got {a:g} twice.")
    present = np.unique(s)
    groups = {}
    for name, val in (("alpha", a), ("alpha_prime", ap)):
        g = s == val
        if int(g.sum()) < 2:
            raise EstimationError(f"{name}={val:g}: {int(g.sum())} group(s) were assigned this saturation; need at "
                                  f"least 2. Saturations present: {present.tolist()}.")
        groups[val] = g
    sizes = np.bincount(cl, minlength=N).astype(float)
    m1, c1 = _group_means(y, zb, cl, N)
    m0, c0 = _group_means(y, ~zb, cl, N)
    mall = np.bincount(cl, weights=y, minlength=N) / sizes
    v1 = _group_vars(y, zb, cl, N, m1, c1)
    v0 = _group_vars(y, ~zb, cl, N, m0, c0)

    def has(val, counts, what):
        """True if every group at saturation val has a unit of this kind, False if none has."""
        k = counts[groups[val]] > 0
        if k.all():
            return True
        if not k.any():
            return False
        missing.append(f"{int((~k).sum())} of {k.shape[0]} groups at saturation {val:g} have no {what} unit while "
                       "the others do")
        return None

    def not_estimable(estimand):
        reason = "; ".join(dict.fromkeys(missing)) + (
            ": the group-average estimand needs every group at that saturation to have the units compared (a fixed "
            "number treated per group, 0 < k < size)")
        missing.clear()
        out.append(Estimate.not_estimable(estimand=estimand, reason=reason, **common))

    missing: list[str] = []

    out = []
    n = y.shape[0]
    common = dict(n=n, n_clusters=N, method="two-stage (Hudgens-Halloran)", confidence_level=confidence_level)
    note = ("assumes no interference between groups, stratified interference, and complete randomization at both "
            "stages; groups weighted equally")
    for val in (a, ap):
        h1, h0 = has(val, c1, "treated"), has(val, c0, "untreated")
        if h1 is None or h0 is None:
            not_estimable(f"direct effect (alpha={_fmt(val)})")
            continue
        if not (h1 and h0):
            continue
        g = groups[val]
        C = int(g.sum())
        de_i = (m1 - m0)[g]
        s2 = de_i.var(ddof=1)
        if np.all(c1[g] >= 2) and np.all(c0[g] >= 2):
            within = (v1[g] / c1[g] + v0[g] / c0[g]).sum()
            var = (1 - C / N) * s2 / C + within / (N * C)
            vname = "two-stage: between + within groups (conservative; unbiased under additivity)"
        else:
            var = s2 / C
            vname = "between groups (conservative; unbiased if group direct effects are equal)"
        out.append(Estimate.from_se(estimand=f"direct effect (alpha={_fmt(val)})", estimate=de_i.mean(),
                                    std_error=np.sqrt(var), variance=vname, df=C - 1, note=note, **common))

    def contrast(name, qa, qap):
        ga, gp = groups[a], groups[ap]
        xa, xp = qa[ga], qap[gp]
        va, vp = xa.var(ddof=1), xp.var(ddof=1)
        ka, kp = xa.shape[0], xp.shape[0]
        out.append(Estimate.from_se(estimand=f"{name} (alpha={_fmt(a)} vs {_fmt(ap)})", estimate=xa.mean() - xp.mean(),
                                    std_error=np.sqrt(va / ka + vp / kp), df=welch_df(va, ka, vp, kp),
                                    variance="between groups (conservative; unbiased if the group effects are equal)",
                                    note=note, **common))

    for name, qa, qap, (wa, wap) in (("indirect effect", m0, m0, ("untreated", "untreated")),
                                     ("total effect", m1, m0, ("treated", "untreated"))):
        ha, hp = has(a, c0 if wa == "untreated" else c1, wa), has(ap, c0, wap)
        if ha is None or hp is None:
            not_estimable(f"{name} (alpha={_fmt(a)} vs {_fmt(ap)})")
        elif ha and hp:
            contrast(name, qa, qap)
    contrast("overall effect", mall, mall)
    return EstimateTable(out)


@aligned("y", "z", "clusters", "cluster_saturation")
def saturation_regression(y: Any, z: Any, clusters: Any, cluster_saturation: Any, *, pooled: bool = False,
                          cov_type: str = "CR2", confidence_level: float = 0.95) -> EstimateTable:
    r"""Baird, Bohren, McIntosh & Ozler (2018) regression for randomized saturation designs.

    Outcomes are regressed on dummies for *treated at saturation s* and *untreated in a
    cluster at saturation s* (s > 0), with units in pure-control clusters (saturation 0) as the
    reference group; standard errors are cluster-robust.

    Parameters
    ----------
    y, z, clusters : array-like, shape (n,)
        Outcomes, treatment (0/1), cluster labels.
    cluster_saturation : array-like
        Saturation of each cluster (sorted label order) or of each unit; must include 0 (pure
        control clusters, with no treated unit).
    pooled : bool
        If True, one treated dummy and one untreated-in-treated-cluster dummy, pooling all
        positive saturations.
    cov_type : {"CR2", "CR1", "CR0"}
        CR2 (Bell-McCaffrey, t with the Bell-McCaffrey df) by default; CR1 is Stata's
        (statsmodels' ``cluster``) with G - 1 df.
    confidence_level : float

    Returns
    -------
    EstimateTable
        ``treated at s vs pure control`` (the intention-to-treat effect on treated units at
        saturation s) and ``spillover on untreated at s`` (untreated units in treated clusters
        vs pure control) for every positive saturation (no spillover term at saturation 1); with
        ``pooled=True``, ``treated vs pure control (pooled)`` and ``spillover on untreated
        (pooled)``.

    Notes
    -----
    .. math:: Y_{ic} = \beta_0 + \sum_{s>0} \tau_s\, Z_{ic} 1\{S_c=s\}
              + \sum_{0<s<1} \sigma_s\, (1-Z_{ic}) 1\{S_c=s\} + e_{ic}.

    :math:`\tau_s` compares treated units at saturation s with pure-control units (direct plus
    spillover effect at s: Baird et al.'s "total causal effect on the treated"), :math:`\sigma_s`
    untreated units at s with pure-control units (the spillover on the non-treated). Units are
    weighted equally (larger clusters count more), unlike :func:`two_stage_estimates`.

    References
    ----------
    Baird, S., Bohren, J. A., McIntosh, C. & Ozler, B. (2018). Optimal design of experiments in the
    presence of interference. *Review of Economics and Statistics* 100(5), 844-860.

    Examples
    --------
    >>> import numpy as np
    >>> from netexp.estimators import saturation_regression
    >>> rng = np.random.default_rng(0)
    >>> clusters = np.repeat(np.arange(30), 10)
    >>> sat = np.repeat([0.0, 0.5, 1.0], 10)
    >>> z = (rng.random(300) < sat[clusters]).astype(int)
    >>> y = 2 * z + 0.5 * (1 - z) * (sat[clusters] > 0) + rng.normal(size=300)
    >>> t = saturation_regression(y, z, clusters, sat)
    >>> [e.estimand for e in t]
    ['treated at 0.5 vs pure control', 'treated at 1 vs pure control', 'spillover on untreated at 0.5']
    """
    check_confidence_level(confidence_level)
    cov_type = check_option("cov_type", cov_type, ("CR0", "CR1", "CR2"))
    y, zb, cl, K, s = _saturations(y, z, clusters, cluster_saturation)
    su = s[cl]
    control = su == 0
    if not control.any():
        raise EstimationError("saturation_regression needs pure-control clusters (saturation 0) as the reference; "
                              f"saturations present: {np.unique(s).tolist()}.")
    if zb[control].any():
        raise EstimationError(f"{int(zb[control].sum())} unit(s) in pure-control clusters (saturation 0) are treated; "
                              "check z or cluster_saturation.")
    cols, names = [], []
    if pooled:
        cols += [zb & ~control, ~zb & ~control]
        names += ["treated vs pure control (pooled)", "spillover on untreated (pooled)"]
    else:
        levels = np.unique(s[s > 0])
        for lv in levels:
            cols.append(zb & (su == lv))
            names.append(f"treated at {_fmt(lv)} vs pure control")
        for lv in levels:
            cols.append(~zb & (su == lv))
            names.append(f"spillover on untreated at {_fmt(lv)}")
    keep = [i for i, c in enumerate(cols) if c.any()]
    cols, names = [cols[i] for i in keep], [names[i] for i in keep]
    if not cols:
        raise EstimationError("No unit is in a cluster with positive saturation; nothing to compare with pure "
                              "control.")
    X = np.column_stack([np.ones(y.shape[0])] + [c.astype(float) for c in cols])
    fit = ols(X, y, cov_type=cov_type, clusters=cl)
    out = []
    for j, name in enumerate(names, start=1):
        c = np.zeros(X.shape[1])
        c[j] = 1.0
        est, se = fit.contrast(c)
        out.append(Estimate.from_se(estimand=name, estimate=est, std_error=se, n=fit.n, n_clusters=fit.n_clusters,
                                    method="saturation regression (Baird et al. 2018)",
                                    variance=f"{cov_type} cluster-robust", df=fit.contrast_df(c),
                                    confidence_level=confidence_level,
                                    note="reference: units in pure-control clusters; assumes no interference "
                                         "between clusters; units weighted equally"))
    return EstimateTable(out)
