"""Matched-pair and fine-stratified difference in means with the pair-based variance.

The estimator of Imai (2008) for matched pairs and its cluster version (Imai, King & Nall 2009),
the variance estimatr's ``difference_in_means(blocks=)`` uses for matched pairs, and the blocked
estimator whose strata may hold a single treated or a single control unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._align import aligned
from .._unit_align import align_units
from .._errors import EstimationError, InputError
from .._validation import check_binary_matrix, check_confidence_level, dense_codes
from ._result import Estimate, welch_df

__all__ = ["paired_difference_in_means", "blocked_difference_in_means_parts"]


def _pair_variance(u: np.ndarray, n_total: float) -> float:
    r""":math:`\frac{J}{(J-1)N^2}\sum_j (u_j - \bar u)^2` for block totals :math:`u_j = n_j \hat\tau_j`."""
    J = u.shape[0]
    return float(J / (J - 1) * ((u - u.mean()) ** 2).sum() / n_total**2)


def blocked_difference_in_means_parts(y: np.ndarray, z: np.ndarray, codes: np.ndarray) -> dict:
    r"""Blocked difference in means when some blocks hold one treated or one control unit.

    Returns a dict with ``estimate``, ``variance``, ``df``, ``n_big``, ``n_small`` (strata counts)
    and ``variance_label``. Strata with at least two units in each arm get their Neyman variance;
    strata with a single treated or a single control unit ("small") are pooled with the
    matched-pair formula of Imai, King & Nall (2009) applied to their totals
    :math:`u_s = n_s \hat\tau_s`. Positional arrays; ``codes`` dense in ``0..S-1``.
    """
    S = int(codes.max()) + 1
    n_s = np.bincount(codes, minlength=S).astype(float)
    n1 = np.bincount(codes, weights=z, minlength=S)
    n0 = n_s - n1
    one_arm = (n1 == 0) | (n0 == 0)
    if one_arm.any():
        raise EstimationError(f"{int(one_arm.sum())} of {S} strata have units in only one arm (smallest: "
                              f"{int(n1.min())} treated, {int(n0.min())} control); every stratum needs a treated and "
                              "a control unit. Merge such strata with a neighbouring one.")
    s1 = np.bincount(codes, weights=y * z, minlength=S)
    s0 = np.bincount(codes, weights=y * ~z, minlength=S)
    m1, m0 = s1 / n1, s0 / n0
    tau = m1 - m0
    N = n_s.sum()
    est = float(n_s @ tau / N)
    big = (n1 >= 2) & (n0 >= 2)
    small = ~big
    ss1 = np.bincount(codes, weights=z * (y - m1[codes]) ** 2, minlength=S)
    ss0 = np.bincount(codes, weights=~z * (y - m0[codes]) ** 2, minlength=S)
    with np.errstate(divide="ignore", invalid="ignore"):
        nv = np.where(big, ss1 / (n1 - 1) / n1 + ss0 / (n0 - 1) / n0, 0.0)
    var = float(((n_s / N) ** 2 * nv)[big].sum())
    J = int(small.sum())
    if J == 1:
        raise EstimationError("exactly one stratum has a single treated or a single control unit; its variance "
                              "cannot be estimated on its own or from other such strata. Merge it with another "
                              "stratum (or pair it with another small stratum).")
    if J >= 2:
        var += _pair_variance((n_s * tau)[small], N)
    if J == 0:
        df = welch_df(float(ss1[0] / (n1[0] - 1)), int(n1[0]), float(ss0[0] / (n0[0] - 1)), int(n0[0])) \
            if S == 1 else None
        label = "Neyman by stratum (conservative)"
    elif J == S:
        df = float(J - 1)
        label = "matched-pair across strata (Imai 2008; conservative)"
    else:
        df = None
        label = (f"Neyman in {S - J} strata + matched-pair across {J} strata with a single treated or control "
                 "unit (conservative)")
    return {"estimate": est, "variance": var, "df": df, "n_big": S - J, "n_small": J, "variance_label": label}


def _resolve_pairs(pairs):
    """Pair label per unit (-1 = unpaired) and cluster codes per unit (or None) from a design or labels."""
    from ..designs import ClusterRandomized, MatchedPairs, UnitSubset

    if isinstance(pairs, UnitSubset):          # outcomes on some units: the base design's pairs read there
        lab, cl, _ = _resolve_pairs(pairs.base)
        if lab is None:
            raise InputError(f"paired_difference_in_means: the subset's base design is a "
                             f"{type(pairs.base).__name__}, not a matched-pair design.")
        idx = np.asarray(pairs.units)
        return lab[idx], None if cl is None else cl[idx], pairs.n_units
    if isinstance(pairs, ClusterRandomized):
        inner = pairs.cluster_design
        if not isinstance(inner, MatchedPairs):
            raise InputError("paired_difference_in_means: a ClusterRandomized design must pair its clusters "
                             f"(cluster_design=MatchedPairs(...)); got {type(inner).__name__}.")
        lab_c = _pair_labels_of(inner)
        return lab_c[pairs.labels], np.asarray(pairs.labels, dtype=np.int64), pairs.n_units
    if isinstance(pairs, MatchedPairs):
        return _pair_labels_of(pairs), None, pairs.n_units
    return None, None, None


def _pair_labels_of(design) -> np.ndarray:
    lab = np.full(design.n_units, -1, dtype=np.int64)
    P = np.asarray(design.pairs)
    lab[P[:, 0]] = np.arange(P.shape[0])
    lab[P[:, 1]] = np.arange(P.shape[0])
    return lab


@aligned("y", "z", "pairs", "clusters", positional=("pairs",))
def paired_difference_in_means(y: Any, z: Any, pairs: Any, *, clusters: Any = None,
                               confidence_level: float = 0.95, estimand: str | None = None) -> Estimate:
    r"""Matched-pair difference in means with the pair-based (Imai 2008) variance.

    Parameters
    ----------
    y : array-like or pandas Series
        Outcome of every unit. Pandas inputs (``y``, ``z``, label ``pairs``, ``clusters``) must
        share one index in one order: pairs and designs number units by position, so netexp
        refuses to reorder them (beside a design that index must be its positions 0..n-1: a design
        has no ids); arrays are positional.
    z : array-like or pandas Series of 0/1
        Assignment; every pair holds exactly one treated and one control unit (or cluster).
    pairs : MatchedPairs, ClusterRandomized over MatchedPairs, or array-like / Series of labels
        The pairs: a :class:`~netexp.MatchedPairs` design (units paired; its odd unit, if any, is
        left out), a :class:`~netexp.ClusterRandomized` design whose ``cluster_design`` is a
        ``MatchedPairs`` over its clusters, or a pair label for every unit (fine strata of one
        treated and one control unit; with ``clusters``, two clusters per label). A missing
        label (NaN / None) leaves the unit out.
    clusters : array-like or Series, optional
        Cluster of every unit when pairs of clusters were randomized and labels are given
        (taken from the design otherwise).
    confidence_level : float, default 0.95
    estimand : str, optional
        Label; default ``"average treatment effect"`` (unit pairs) or ``"pair-weighted average
        effect"`` (cluster pairs).

    Returns
    -------
    Estimate
        ``df`` is :math:`J-1`; ``n`` counts the units in pairs, ``n_clusters`` the clusters.

    Notes
    -----
    Pair :math:`j` has :math:`n_j` units (2 for unit pairs) and the within-pair difference
    :math:`\hat\tau_j = \bar Y_{j,\text{treated}} - \bar Y_{j,\text{control}}` (means over the
    treated and the control cluster). With :math:`N = \sum_j n_j` and :math:`J` pairs,

    .. math:: \hat\tau = \sum_j \frac{n_j}{N}\hat\tau_j, \qquad
              \widehat V = \frac{J}{(J-1)N^2}\sum_j \Big(n_j\hat\tau_j - \frac{N\hat\tau}{J}\Big)^2,

    which for unit pairs is :math:`\frac{1}{J(J-1)}\sum_j(\hat\tau_j - \hat\tau)^2`, the variance
    of the mean of the pair differences (Imai 2008; Imai, King & Nall 2009, as in estimatr's
    ``difference_in_means`` with blocks of two).

    **Estimand.** Unit pairs: the average treatment effect over the paired units, estimated
    without bias. Cluster pairs: :math:`\sum_j \frac{n_j}{N}\,\tfrac12(\bar\tau_{j1}+\bar\tau_{j2})`,
    each pair weighted by its size and each of its two clusters' mean effects counting equally;
    this is the unit ATE when paired clusters have equal sizes. Under network interference,
    read it as for :func:`~netexp.difference_in_means` (direct effect for unit pairs; for cluster
    pairs, the global effect up to edges cut between clusters).

    **Variance.** The pairs are randomized independently, so :math:`u_j = n_j\hat\tau_j` are
    independent with means :math:`\mu_j`, and

    .. math:: E\widehat V = \operatorname{Var}(\hat\tau) + \frac{J}{(J-1)N^2}\sum_j(\mu_j-\bar\mu)^2
              \ \ge\ \operatorname{Var}(\hat\tau):

    conservative, exactly unbiased when :math:`n_j\tau_j` is the same in every pair. It ignores
    the pairing's gain only through that term, unlike the unpaired Neyman variance, which also
    counts the between-pair spread of outcomes. Interval: Student t with :math:`J-1` df.

    References
    ----------
    Imai, K. (2008). Variance identification and efficiency analysis in randomized experiments
    under the matched-pair design. Statistics in Medicine 27(24), 4857-4873.

    Imai, K., King, G., & Nall, C. (2009). The essential role of pair matching in
    cluster-randomized experiments. Statistical Science 24(1), 29-53.

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> gen = np.random.default_rng(0)
    >>> x = gen.normal(size=40)
    >>> design = ne.MatchedPairs(x[:, None])
    >>> z = design.sample(rng=0)
    >>> y = 2 * x + 0.5 * z + gen.normal(scale=0.2, size=40)
    >>> est = ne.paired_difference_in_means(y, z, design)
    >>> round(est.estimate, 3), round(est.std_error, 3), est.df
    (0.579, 0.161, 19.0)
    >>> round(ne.difference_in_means(y, z).std_error, 3)   # unpaired: ignores the matching
    0.511
    """
    level = check_confidence_level(confidence_level)
    lab_d, cl_d, n_design = _resolve_pairs(pairs)
    if lab_d is not None:
        if clusters is not None:
            raise InputError("paired_difference_in_means: clusters come from the design; do not pass clusters= "
                             "with a design.")
        arrs, _ = align_units({"y": y, "z": z}, order=pd.RangeIndex(n_design),
                              order_name="the design's unit positions 0..n-1")
        pair_lab, cl = lab_d, cl_d
    else:
        arrs, _ = align_units({"y": y, "z": z, "pairs": pairs, "clusters": clusters})
        raw = pd.Series(arrs["pairs"])
        keep = raw.notna().to_numpy()
        pair_lab = np.full(raw.shape[0], -1, dtype=np.int64)
        if keep.any():
            pair_lab[keep] = dense_codes(raw[keep].to_numpy())[1]
        cl = None
        if arrs["clusters"] is not None:
            cl = dense_codes(arrs["clusters"])[1]
    zb = check_binary_matrix("z", arrs["z"], arrs["z"].shape[0])[0]
    yv = np.asarray(arrs["y"], dtype=float)
    used = pair_lab >= 0
    if not np.isfinite(yv[used]).all():
        bad = int((~np.isfinite(yv[used])).sum())
        raise InputError(f"y has {bad} missing or non-finite values among paired units; drop or impute them.")
    if cl is None:
        cl = np.arange(yv.shape[0], dtype=np.int64)
        unit_pairs = True
    else:
        unit_pairs = False
    broken = 0
    if lab_d is not None:
        # a design read at a subset of units (outcomes missing for some): pairs left with one unit (or one
        # cluster) cannot be compared and are left out as whole pairs
        lab_u = np.where(used, pair_lab, -1)
        K0 = int(cl.max()) + 1
        first = np.full(K0, -1, dtype=np.int64)
        first[cl[used]] = lab_u[used]
        present = np.bincount(first[first >= 0], minlength=int(lab_u.max()) + 1 if used.any() else 0)
        incomplete = np.flatnonzero(present != 2)
        if incomplete.size:
            drop = used & np.isin(pair_lab, incomplete)
            broken = int(incomplete.size - (present[incomplete] == 0).sum())
            used = used & ~drop
    yv, zb, pair_lab, cl = yv[used], zb[used], pair_lab[used], cl[used]
    if pair_lab.size == 0:
        raise EstimationError("paired_difference_in_means: no unit has a pair.")
    _, pair_lab = dense_codes(pair_lab)
    _, cl = dense_codes(cl)
    J = int(pair_lab.max()) + 1
    K = int(cl.max()) + 1
    n_c = np.bincount(cl, minlength=K).astype(float)
    z_c = np.bincount(cl, weights=zb, minlength=K)
    mixed = (z_c > 0) & (z_c < n_c)
    if mixed.any():
        raise EstimationError(f"{int(mixed.sum())} clusters hold both treated and control units; pairs of clusters "
                              "need an assignment constant within clusters.")
    # pair of every cluster (clusters must nest in pairs)
    pc = np.full(K, -1, dtype=np.int64)
    pc[cl] = pair_lab
    if (pc[cl] != pair_lab).any():
        raise EstimationError("some clusters span two pairs; every cluster must lie inside one pair.")
    clusters_per_pair = np.bincount(pc, minlength=J)
    treated_per_pair = np.bincount(pc, weights=(z_c > 0), minlength=J)
    bad = (clusters_per_pair != 2) | (treated_per_pair != 1)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        what = "units" if unit_pairs else "clusters"
        raise EstimationError(f"{int(bad.sum())} of {J} pairs do not hold exactly one treated and one control "
                              f"{what.rstrip('s')} (first: pair {j} has {int(clusters_per_pair[j])} {what}, "
                              f"{int(treated_per_pair[j])} treated). Use stratified_difference_in_means for larger "
                              "strata.")
    if J < 2:
        raise EstimationError("paired_difference_in_means: need at least 2 pairs to estimate the variance; got 1.")
    mean_c = np.bincount(cl, weights=yv, minlength=K) / n_c
    sign = np.where(z_c > 0, 1.0, -1.0)
    tau_j = np.bincount(pc, weights=sign * mean_c, minlength=J)
    n_j = np.bincount(pc, weights=n_c, minlength=J)
    N = float(n_j.sum())
    est = float(n_j @ tau_j / N)
    var = _pair_variance(n_j * tau_j, N)
    excluded = int((~used).sum())
    note = f"{J} pairs" + (f"; {excluded} unpaired units left out" if excluded else "") + (
        f" ({broken} pair(s) with a member missing from the analysed units left out)" if broken else "")
    if not unit_pairs:
        note += "; clusters weighted equally within a pair, pairs by size"
    return Estimate.from_se(estimand=estimand or ("average treatment effect" if unit_pairs
                                                  else "pair-weighted average effect"),
                            estimate=est, std_error=np.sqrt(var), n=int(N), n_clusters=None if unit_pairs else K,
                            method="paired difference in means",
                            variance="matched-pair (Imai 2008; conservative)", df=float(J - 1),
                            confidence_level=level, note=note)
