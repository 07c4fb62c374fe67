"""Intra-cluster correlation from pre-period data (one-way ANOVA estimator), for power calculations."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._unit_align import align_units, aligns_itself
from .._errors import EstimationError, InputError
from .._validation import check_confidence_level, dense_codes

__all__ = ["intra_cluster_correlation", "ICCResult"]


@dataclasses.dataclass(frozen=True)
class ICCResult:
    """One-way ANOVA estimate of the intra-cluster correlation.

    Attributes
    ----------
    icc : float
        :math:`\\hat\\rho` (may be negative when clusters are more alike across than within; use
        :attr:`icc_for_power`, truncated at 0, in power formulas).
    ci : (float, float)
        Interval at ``confidence_level`` (exact for equal cluster sizes under the normal
        random-intercept model, approximate otherwise).
    confidence_level : float
    f_statistic, p_value : float
        One-way ANOVA F test of no between-cluster variance (``scipy.stats.f_oneway``'s).
    ms_between, ms_within : float
    n, n_clusters : int
    n0 : float
        The ANOVA's effective cluster size :math:`(N - \\sum_g n_g^2/N)/(G-1)` (the common size
        when sizes are equal).
    mean_cluster_size, cluster_size_cv : float
        Mean and coefficient of variation of the cluster sizes (for :func:`~netexp.design_effect`).
    """

    icc: float
    ci: tuple
    confidence_level: float
    f_statistic: float
    p_value: float
    ms_between: float
    ms_within: float
    n: int
    n_clusters: int
    n0: float
    mean_cluster_size: float
    cluster_size_cv: float

    @property
    def icc_for_power(self) -> float:
        """:math:`\\max(\\hat\\rho, 0)`."""
        return max(self.icc, 0.0)

    def design_effect(self, cluster_size: float | None = None, cluster_size_cv: float | None = None) -> float:
        """:func:`~netexp.design_effect` at this ICC (default: these clusters' mean size and CV)."""
        from ._power import design_effect

        return design_effect(self.mean_cluster_size if cluster_size is None else cluster_size, self.icc_for_power,
                             self.cluster_size_cv if cluster_size_cv is None else cluster_size_cv)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["ci_low"], d["ci_high"] = d.pop("ci")
        return d

    def summary(self) -> str:
        lvl = int(round(100 * self.confidence_level))
        return "\n".join([
            "Intra-cluster correlation (one-way ANOVA)",
            f"  icc        {self.icc:.4g}   {lvl}% CI [{self.ci[0]:.4g}, {self.ci[1]:.4g}]",
            f"  F          {self.f_statistic:.4g} on ({self.n_clusters - 1}, {self.n - self.n_clusters}) df, "
            f"p = {self.p_value:.4g}",
            f"  n          {self.n} units in {self.n_clusters} clusters (mean size {self.mean_cluster_size:.4g}, "
            f"CV {self.cluster_size_cv:.3g}, n0 {self.n0:.4g})",
        ])

    def __str__(self) -> str:
        return self.summary()


@aligns_itself("y", "clusters")
def intra_cluster_correlation(y: Any, clusters: Any, *, confidence_level: float = 0.95) -> ICCResult:
    r"""Intra-cluster correlation of a pre-period outcome, for planning a cluster experiment.

    Parameters
    ----------
    y : array-like or pandas Series
        Pre-period (baseline) outcome of every unit.
    clusters : array-like, pandas Series or Clustering
        Cluster of every unit. A Series is matched to ``y`` by index; a
        :class:`~netexp.Clustering` is in its graph's node order, so a Series ``y`` is matched to
        the graph's node ids.
    confidence_level : float, default 0.95

    Returns
    -------
    ICCResult

    Notes
    -----
    With :math:`G` clusters of sizes :math:`n_g`, :math:`N = \sum_g n_g`,

    .. math:: MSB = \frac{\sum_g n_g(\bar y_g - \bar y)^2}{G-1},\quad
              MSW = \frac{\sum_g\sum_{i \in g}(y_i - \bar y_g)^2}{N-G},\quad
              n_0 = \frac{N - \sum_g n_g^2/N}{G-1},

    .. math:: \hat\rho = \frac{MSB - MSW}{MSB + (n_0 - 1)\,MSW}

    (the ANOVA estimator of :math:`\sigma_b^2/(\sigma_b^2+\sigma_w^2)` in the random-intercept
    model :math:`y_{gi} = \mu + b_g + e_{gi}`; Donner 1986). Interval (Searle 1971): with
    :math:`F = MSB/MSW` and :math:`F_L = F / F_{1-\alpha/2}(G-1, N-G)`,
    :math:`F_U = F / F_{\alpha/2}(G-1, N-G)`, :math:`[(F_L-1)/(F_L+n_0-1),\ (F_U-1)/(F_U+n_0-1)]`,
    exact for equal sizes and normal effects, an approximation otherwise.

    References
    ----------
    Donner, A. (1986). A review of inference procedures for the intraclass correlation coefficient
    in the one-way random effects model. International Statistical Review 54(1), 67-82.

    Searle, S. R. (1971). Linear Models. Wiley, section 9.7.

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> gen = np.random.default_rng(0)
    >>> clusters = np.repeat(np.arange(60), 25)
    >>> y = gen.normal(scale=np.sqrt(0.1), size=60)[clusters] + gen.normal(scale=np.sqrt(0.9), size=1500)
    >>> r = ne.intra_cluster_correlation(y, clusters)
    >>> round(r.icc, 3), tuple(round(c, 3) for c in r.ci)
    (0.105, (0.067, 0.163))
    >>> round(r.design_effect(), 2)          # 1 + (25 - 1) * icc
    3.51
    """
    from ..clustering import Clustering

    level = check_confidence_level(confidence_level)
    if isinstance(clusters, Clustering):
        arrs, _ = align_units({"y": y, "clusters": np.asarray(clusters.labels)}, order=clusters.graph.node_ids)
    else:
        arrs, _ = align_units({"y": y, "clusters": clusters})
    yv = np.asarray(arrs["y"], dtype=float)
    if not np.isfinite(yv).all():
        raise InputError(f"y has {int((~np.isfinite(yv)).sum())} missing or non-finite values; drop those units "
                         "(from y and clusters) first.")
    if pd.isna(pd.Series(arrs["clusters"])).any():
        raise InputError("clusters has missing labels; give every unit a cluster.")
    _, cl = dense_codes(arrs["clusters"])
    N = yv.shape[0]
    G = int(cl.max()) + 1 if N else 0
    if G < 2 or N - G < 1:
        raise EstimationError(f"need at least 2 clusters and more units than clusters; got {N} units in {G} "
                              "clusters.")
    n_g = np.bincount(cl, minlength=G).astype(float)
    mean_g = np.bincount(cl, weights=yv, minlength=G) / n_g
    grand = yv.mean()
    ssb = float(n_g @ (mean_g - grand) ** 2)
    ssw = float(((yv - mean_g[cl]) ** 2).sum())
    msb, msw = ssb / (G - 1), ssw / (N - G)
    n0 = (N - (n_g**2).sum() / N) / (G - 1)
    if msw <= 0:
        raise EstimationError("y does not vary within clusters (within-cluster mean square 0); the ICC is 1 or "
                              "undefined.")
    icc = (msb - msw) / (msb + (n0 - 1) * msw)
    F = msb / msw
    a = 1 - level
    d1, d2 = G - 1, N - G
    FL = F / stats.f.ppf(1 - a / 2, d1, d2)
    FU = F / stats.f.ppf(a / 2, d1, d2)
    ci = (float((FL - 1) / (FL + n0 - 1)), float((FU - 1) / (FU + n0 - 1)))
    return ICCResult(float(icc), ci, level, float(F), float(stats.f.sf(F, d1, d2)), msb, msw, N, G, float(n0),
                     float(n_g.mean()), float(n_g.std() / n_g.mean()))
