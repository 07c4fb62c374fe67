"""Multiple-comparison adjustments of p-values (family-wise error and false discovery rate)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._errors import InputError
from .._validation import check_option, check_probability

__all__ = ["adjust_pvalues", "ADJUST_METHODS"]

ADJUST_METHODS = ("holm", "bonferroni", "bh", "by")


def adjust_pvalues(p: Any, *, method: Literal["holm", "bonferroni", "bh", "by"] = "holm",
                   alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    r"""Adjusted p-values and rejections for a family of tests.

    Parameters
    ----------
    p : array-like of float in [0, 1]
        One p-value per hypothesis.
    method : {"holm", "bonferroni", "bh", "by"}
        ``"bonferroni"`` and ``"holm"`` (step-down) control the family-wise error rate; ``"bh"``
        (Benjamini-Hochberg step-up) controls the false discovery rate for independent or
        positively dependent tests, ``"by"`` (Benjamini-Yekutieli) under any dependence.
    alpha : float, default 0.05
        Level at which ``reject`` is decided.

    Returns
    -------
    adjusted : ndarray
        Adjusted p-values, in the input order, capped at 1.
    reject : ndarray of bool
        Hypotheses rejected at ``alpha``.

    Notes
    -----
    With :math:`m` tests and sorted p-values :math:`p_{(1)} \le \dots \le p_{(m)}`:

    - Bonferroni: :math:`\tilde p_i = \min(1, m p_i)`; reject when :math:`p_i \le \alpha/m`.
    - Holm: :math:`\tilde p_{(k)} = \min(1, \max_{j \le k} (m - j + 1) p_{(j)})`; reject
      :math:`H_{(1)}, \dots, H_{(k-1)}` for the first :math:`k` with :math:`p_{(k)} > \alpha/(m-k+1)`.
    - BH: :math:`\tilde p_{(k)} = \min(1, \min_{j \ge k} m p_{(j)} / j)`; reject
      :math:`H_{(1)}, \dots, H_{(k)}` for the largest :math:`k` with :math:`p_{(k)} \le k\alpha/m`.
    - BY: BH with :math:`\alpha` divided by :math:`c_m = \sum_{i=1}^m 1/i` (p-values multiplied by it).

    The same arithmetic as ``statsmodels.stats.multitest.multipletests`` (methods ``"holm"``,
    ``"bonferroni"``, ``"fdr_bh"``, ``"fdr_by"``), so results agree exactly.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian Journal
    of Statistics* 6(2), 65-70.
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B* 57(1), 289-300.
    Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate in multiple
    testing under dependency. *Annals of Statistics* 29(4), 1165-1188.

    Examples
    --------
    >>> from netexp.inference import adjust_pvalues
    >>> adj, rej = adjust_pvalues([0.01, 0.04, 0.03, 0.20], method="holm")
    >>> adj.round(3).tolist(), rej.tolist()
    ([0.04, 0.09, 0.09, 0.2], [True, False, False, False])
    """
    method = check_option("method", method, ADJUST_METHODS)
    alpha = check_probability("alpha", alpha)
    try:
        pv = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        raise InputError("p must be an array of p-values (numbers in [0, 1]).") from None
    if pv.ndim != 1 or pv.size == 0:
        raise InputError(f"p must be a non-empty 1-D array of p-values; got shape {pv.shape}.")
    if not np.isfinite(pv).all() or (pv < 0).any() or (pv > 1).any():
        raise InputError("p must contain p-values in [0, 1] without NaN; drop the missing tests first.")
    m = pv.shape[0]
    if method == "bonferroni":
        adj = pv * float(m)
        reject = pv <= alpha / m
        return np.minimum(adj, 1.0), reject
    order = np.argsort(pv)
    ps = pv[order]
    if method == "holm":
        notreject = ps > alpha / np.arange(m, 0, -1)
        first = np.flatnonzero(notreject)
        cut = first[0] if first.size else m
        rej_s = np.arange(m) < cut
        adj_s = np.maximum.accumulate(ps * np.arange(m, 0, -1))
    else:
        factor = np.arange(1, m + 1) / float(m)
        if method == "by":
            factor = factor / np.sum(1.0 / np.arange(1, m + 1))
        ok = ps <= factor * alpha
        rej_s = np.zeros(m, dtype=bool)
        if ok.any():
            rej_s[:np.flatnonzero(ok)[-1] + 1] = True
        adj_s = np.minimum.accumulate((ps / factor)[::-1])[::-1]
    adj_s = np.minimum(adj_s, 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adj_s
    reject = np.empty(m, dtype=bool)
    reject[order] = rej_s
    return adjusted, reject
