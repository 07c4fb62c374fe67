"""Tests of the no-interference hypothesis: Athey-Eckles-Imbens focal-unit tests and the
Saveski et al. mixed (unit- vs cluster-randomized) design test."""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._align import aligned
from .._errors import DesignError, EstimationError, ExposureError, InputError
from .._executor import check_executor
from .._validation import (check_binary_matrix, check_confidence_level, check_finite_vector, check_int, check_option,
                           check_rng, dense_codes)
from ._randomization import ALTERNATIVES, RandomizationTestResult, _finite, _p_value, _ro

__all__ = ["InterferenceTestResult", "interference_test", "MixedDesignTestResult", "mixed_design_test",
           "INTERFERENCE_STATISTICS"]

INTERFERENCE_STATISTICS = ("has-treated-neighbor", "edge-contrast", "score")


@dataclasses.dataclass(frozen=True, eq=False)
class InterferenceTestResult(RandomizationTestResult):
    """A :class:`RandomizationTestResult` of the no-spillover null, plus the focal units used.

    Attributes
    ----------
    n_focal : int
        Number of focal units (outcomes used).
    focal : ndarray of bool
        Focal-unit mask, shape (n_units,). Read-only.
    """

    n_focal: int = 0
    focal: np.ndarray | None = None

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["n_focal"] = self.n_focal
        return d


# ===================================================================== conditional samplers
def _unit_level_sampler(design, fixed: np.ndarray, z: np.ndarray, where: str):
    """``sample(b, g) -> bool (b, n)``: draws of ``design`` conditional on ``z[fixed]`` (and, for
    designs with fixed arm sizes, on the number treated among the free units of each stratum)."""
    from ..designs import Bernoulli
    from ..designs._stratified import _StrataDesign

    free = ~fixed
    m = int(free.sum())
    base = np.where(fixed, z, False)
    if isinstance(design, Bernoulli):
        sub = Bernoulli(m, p=design.p)

        def sample(b, g):
            out = np.tile(base, (b, 1))
            out[:, free] = sub.sample_many(b, rng=g)
            return out

        return sample
    if isinstance(design, _StrataDesign):
        codes = np.asarray(design.strata)[free]
        v = z[free]
        one_stratum = codes.size == 0 or (codes == codes[0]).all()
        order0 = np.argsort(codes, kind="stable")
        v_sorted = v[order0]

        def sample(b, g):
            out = np.tile(base, (b, 1))
            if one_stratum:
                sub = np.tile(v, (b, 1))
                g.permuted(sub, axis=1, out=sub)
            else:
                # within-stratum shuffles for all draws at once: sort free units by (stratum, uniform)
                perm = np.argsort(codes[None, :] + g.random((b, m)), axis=1)
                sub = np.empty((b, m), dtype=bool)
                np.put_along_axis(sub, perm, np.broadcast_to(v_sorted, (b, m)), axis=1)
            out[:, free] = sub
            return out

        return sample
    raise DesignError(f"{where}: the artificial experiment needs the design's distribution of the non-focal "
                      f"treatments given the focal ones; supported for Bernoulli, Complete and the stratified "
                      f"family, and ClusterRandomized over those; got {type(design).__name__}.")


def _conditional_sampler(design, focal: np.ndarray, z: np.ndarray):
    from ..designs import ClusterRandomized

    where = "interference_test"
    if isinstance(design, ClusterRandomized):
        labels = np.asarray(design.labels)
        k = design.n_clusters
        size = np.bincount(labels, minlength=k)
        nf = np.bincount(labels, weights=focal.astype(float), minlength=k)
        if ((nf != 0) & (nf != size)).any():
            raise DesignError(f"{where}: under a ClusterRandomized design the focal units must be whole clusters; "
                              f"{int(((nf != 0) & (nf != size)).sum())} clusters are split. Pass focal as a fraction "
                              "(focal clusters are then drawn at random) or a mask that is a union of clusters.")
        zt = np.bincount(labels, weights=z.astype(float), minlength=k)
        if ((zt != 0) & (zt != size)).any():
            raise InputError(f"{where}: z is not constant within the design's clusters; pass the assignment drawn "
                             "from this design.")
        inner = _unit_level_sampler(design.cluster_design, nf == size, zt == size, where)
        return lambda b, g: inner(b, g)[:, labels]
    return _unit_level_sampler(design, focal, z, where)


def _choose_focal(focal, design, n, g):
    from ..designs import ClusterRandomized

    if isinstance(focal, (float, int)) and not isinstance(focal, bool) and np.ndim(focal) == 0:
        frac = float(focal)
        if not 0 < frac < 1:
            raise InputError(f"focal must be a fraction in (0, 1) or a bool mask of length {n}; got {focal!r}.")
        if isinstance(design, ClusterRandomized):
            k = design.n_clusters
            kf = min(max(int(round(frac * k)), 1), k - 1)
            fc = np.zeros(k, dtype=bool)
            fc[g.choice(k, size=kf, replace=False)] = True
            return fc[np.asarray(design.labels)]
        nf = min(max(int(round(frac * n)), 1), n - 1)
        mask = np.zeros(n, dtype=bool)
        mask[g.choice(n, size=nf, replace=False)] = True
        return mask
    mask = check_binary_matrix("focal", focal, n)
    if mask.shape[0] != 1:
        raise InputError(f"focal must be a fraction or one bool mask of length {n}; got shape {np.shape(focal)}.")
    mask = mask[0].copy()
    if mask.all() or not mask.any():
        raise InputError("focal must mark at least one focal and one non-focal unit.")
    return mask


class _FocalStatistic:
    """The statistic on focal outcomes as a function of each focal unit's count of treated
    non-focal neighbours."""

    def __init__(self, name, y_f, z_f, d_aux, deg):
        self.name = name
        # residuals after own treatment: focal treatments are fixed in the artificial experiment
        r = y_f.astype(float).copy()
        for arm in (False, True):
            sel = z_f == arm
            if sel.any():
                r[sel] -= y_f[sel].mean()
        self.r = r
        self.d = d_aux.astype(float)
        self.keep = d_aux > 0
        self.r_keep = r[self.keep]
        self.w_score = np.divide(r, deg, out=np.zeros_like(r), where=deg > 0) / r.shape[0]
        self.sum_dr = float(self.d @ r)
        self.sum_d = float(self.d.sum())

    def __call__(self, C):
        """C: (R, n_focal) treated non-focal neighbour counts -> (R,)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.name == "has-treated-neighbor":
                H = (C[:, self.keep] > 0).astype(np.float64)
                nh = H.sum(axis=1)
                nk = self.r_keep.shape[0]
                sh = H @ self.r_keep
                t = sh / nh - (self.r_keep.sum() - sh) / (nk - nh)
                t[(nh == 0) | (nh == nk)] = np.nan
                return t
            Cf = C.astype(np.float64)
            if self.name == "edge-contrast":
                st = Cf @ self.r
                nt = Cf.sum(axis=1)
                t = st / nt - (self.sum_dr - st) / (self.sum_d - nt)
                t[(nt == 0) | (nt == self.sum_d)] = np.nan
                return t
            return Cf @ self.w_score


def _null_block(n, rng, sampler, graph, fidx, stat, batch_size):
    """Statistic of one seeded block of ``n`` draws of the artificial experiment (see
    :mod:`netexp._executor`); ``batch_size`` only slices the exposure kernel, never the draws."""
    from ..exposure import treated_neighbor_counts

    Zb = sampler(n, rng)
    Zb[:, fidx] = False                     # count treated *auxiliary* neighbours only
    C = treated_neighbor_counts(graph, Zb, batch_size=min(n, batch_size or n), progress=False)
    return stat(C[:, fidx])


@aligned("y", "z")
def interference_test(graph, y: Any, z: Any, design, *, focal: float | Any = 0.5,
                      statistic: Literal["has-treated-neighbor", "edge-contrast", "score"] = "has-treated-neighbor",
                      alternative: Literal["two-sided", "greater", "less"] = "two-sided", n_draws: int = 2000,
                      rng=None, batch_size: int | None = None, progress: bool | None = None,
                      executor=None) -> InterferenceTestResult:
    r"""Exact test of the null hypothesis of no spillovers (Athey, Eckles & Imbens 2018).

    :math:`H_0`: every unit's outcome depends on its own treatment only,
    :math:`Y_i(\mathbf z) = Y_i(z_i)`. This null is not sharp for the experiment (a unit's outcome
    under the other own treatment is unknown), but it is for an *artificial experiment*: fix a set
    of focal units and their treatments and re-randomize only the other (auxiliary) units. Under
    :math:`H_0` the focal outcomes do not change, so any statistic of focal outcomes and auxiliary
    treatments has a known null distribution.

    Parameters
    ----------
    graph : Graph
        Row i lists the units whose treatment could affect unit i.
    y : array-like of float, shape (n_units,)
    z : array-like of 0/1, shape (n_units,)
        Observed assignment, drawn from ``design``.
    design : Design
        ``Bernoulli`` (auxiliary units redrawn independently), ``Complete`` / ``Stratified`` /
        ``Blocked`` (auxiliary treatments permuted within strata, which conditions on the number
        treated among them) or ``ClusterRandomized`` over one of those (focal units are whole
        clusters, the auxiliary clusters are redrawn).
    focal : float in (0, 1) or bool mask, default 0.5
        Share of units (of clusters, under a cluster design) drawn at random with ``rng`` as focal,
        or the mask itself. A mask must be chosen without looking at ``z`` or ``y`` (for example
        from the graph only).
    statistic : {"has-treated-neighbor", "edge-contrast", "score"}
        Computed on focal units, from the residuals :math:`r_i = y_i - \bar y_{F, z_i}` of their
        outcomes after their own (fixed) treatment and the number :math:`c_i` of treated auxiliary
        neighbours (:math:`d_i` auxiliary neighbours):

        - ``"has-treated-neighbor"``: mean :math:`r` of focal units with :math:`c_i > 0` minus that
          with :math:`c_i = 0`, among focal units with :math:`d_i > 0`.
        - ``"edge-contrast"`` (AEI's edge-level contrast): over focal-auxiliary edges, mean
          :math:`r` at the focal end of edges to treated minus to control auxiliary units,
          :math:`\sum_i r_i c_i / \sum_i c_i - \sum_i r_i (d_i - c_i) / \sum_i (d_i - c_i)`.
        - ``"score"`` (AEI's score statistic for the linear-in-means peer effect):
          :math:`\frac{1}{|F|}\sum_{i \in F} r_i\, c_i / \deg_i`, the covariance of the residuals
          with the fraction of treated neighbours (the focal neighbours' fixed part shifts every
          value by the same constant and is left out).
    alternative : {"two-sided", "greater", "less"}
        As in :func:`randomization_test` (two-sided: centred at the null mean).
    n_draws : int, default 2000
    rng : None, int, SeedSequence or Generator
    batch_size, progress
        Draws per call of the exposure kernel within a block of draws (it does not change the draws
        or the result); progress bar over the blocks.
    executor : concurrent.futures.Executor, optional
        Where the draws of the artificial experiment run (a process pool with the ``spawn`` start
        method, a Dask client's ``get_executor()``...). ``rng`` first draws the focal units (when
        ``focal`` is a fraction), then seeds fixed blocks of draws (``SeedSequence.spawn``, one child
        per block; block sizes depend on ``n_draws`` and the number of units only); ``executor=None``
        runs the same blocks in this process, so the same ``rng`` gives the same null distribution
        and p-value, bit for bit, with or without an executor.

    Returns
    -------
    InterferenceTestResult

    Notes
    -----
    The p-value is :math:`(1 + \#\{r : T^*_r \succeq t\}) / (R + 1)` over R draws of the
    artificial experiment, exactly valid under :math:`H_0` for any R. The artificial assignment
    distribution is the design's distribution of auxiliary treatments given the focal ones (or,
    for complete/stratified designs, also given the auxiliary count per stratum: conditioning on a
    further function of the assignment keeps the test exact). The focal units' own treatments are
    fixed, so residualizing on them is allowed and removes the direct effect from the comparison.
    Exposures of the draws come from :func:`netexp.treated_neighbor_counts`, one call per block of draws.

    References
    ----------
    Athey, S., Eckles, D. & Imbens, G. W. (2018). Exact p-values for network interference.
    *Journal of the American Statistical Association* 113(521), 230-240.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> from netexp.inference import interference_test
    >>> g = ne.erdos_renyi(300, mean_degree=6, rng=0)
    >>> design = ne.Bernoulli(300, p=0.5)
    >>> z = design.sample(rng=1)
    >>> y = z + 2.0 * ne.fraction_treated_neighbors(g, z) + np.random.default_rng(2).normal(size=300)
    >>> res = interference_test(g, y, z, design, n_draws=500, rng=0)
    >>> bool(res.p_value < 0.05)
    True
    """
    from ..exposure import treated_neighbor_counts
    from ..graph import Graph

    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    statistic = check_option("statistic", statistic, INTERFERENCE_STATISTICS)
    alternative = check_option("alternative", alternative, ALTERNATIVES)
    n_draws = check_int("n_draws", n_draws, low=1)
    executor = check_executor(executor)
    n = graph.n_nodes
    if np.ndim(z) != 1:
        raise InputError(f"z must be one assignment vector (1-D); got shape {np.shape(z)}.")
    zb = check_binary_matrix("z", z, n)[0]
    y = check_finite_vector("y", y, n)
    if getattr(design, "n_units", None) != n:
        raise InputError(f"design must be a Design over the graph's {n} units; got {design!r}.")
    g = check_rng(rng)
    mask = _choose_focal(focal, design, n, g)
    sampler = _conditional_sampler(design, mask, zb)
    fidx = np.flatnonzero(mask)
    d_aux = treated_neighbor_counts(graph, ~mask)[fidx]
    if not (d_aux > 0).any():
        raise ExposureError("no focal unit has a non-focal neighbour, so nothing in the artificial experiment "
                            "reaches the focal units; choose fewer focal units or a denser graph.")
    stat = _FocalStatistic(statistic, y[fidx], zb[fidx], d_aux, np.asarray(graph.degree)[fidx].astype(float))
    obs = float(stat(treated_neighbor_counts(graph, zb & ~mask)[None, fidx])[0])
    if not np.isfinite(obs):
        raise EstimationError(f"statistic {statistic!r} is undefined at the observed assignment (no focal unit, or "
                              "every one, has a treated non-focal neighbour); try another statistic.")
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, low=1)
    from .._executor import map_blocks

    out = map_blocks(executor, _null_block, (sampler, graph, fidx, stat, batch_size), n_draws, n, g,
                     progress=bool(progress), desc="interference test")
    T, _, n_bad = _finite(np.concatenate(out), None)
    p, center = _p_value(T, None, obs, alternative)
    method = ("Monte Carlo over the artificial experiment (non-focal treatments redrawn given the focal ones): "
              f"(count+1)/(n_draws+1) over {n_draws} draws")
    mask.flags.writeable = False
    return InterferenceTestResult(f"no spillovers: {statistic}", obs, _ro(T), p, alternative, method, n_draws,
                                  None, 0.0, center, n_bad, f"{int(mask.sum())} focal units", int(mask.sum()), mask)


# ===================================================================== Saveski et al. mixed design
@dataclasses.dataclass(frozen=True, eq=False)
class MixedDesignTestResult:
    """Result of :func:`mixed_design_test`.

    Attributes
    ----------
    difference : Estimate
        :math:`\\Delta = \\hat\\mu_{cr} - \\hat\\mu_{ur}` with its conservative standard error.
    unit_arm, cluster_arm : Estimate
        The effect estimated in each arm.
    statistic : float
        :math:`\\Delta / \\widehat{SE}`.
    p_value : float
        Two-sided normal p-value of the no-interference null.
    """

    difference: Any
    unit_arm: Any
    cluster_arm: Any
    statistic: float
    p_value: float

    def to_frame(self) -> pd.DataFrame:
        from ..estimators import EstimateTable

        return EstimateTable([self.unit_arm, self.cluster_arm, self.difference]).to_frame()

    def to_dict(self) -> dict:
        return {"difference": self.difference.estimate, "std_error": self.difference.std_error,
                "statistic": self.statistic, "p_value": self.p_value, "unit_arm": self.unit_arm.estimate,
                "cluster_arm": self.cluster_arm.estimate}

    def summary(self) -> str:
        return (f"Mixed-design test of no interference (Saveski et al. 2017)\n"
                f"  unit-randomized arm     {self.unit_arm.estimate: .6g} (se {self.unit_arm.std_error:.4g}, "
                f"n {self.unit_arm.n})\n"
                f"  cluster-randomized arm  {self.cluster_arm.estimate: .6g} (se {self.cluster_arm.std_error:.4g}, "
                f"{self.cluster_arm.n_clusters} clusters)\n"
                f"  difference              {self.difference.estimate: .6g} (se {self.difference.std_error:.4g})\n"
                f"  z = {self.statistic:.4g}, p-value {self.p_value:.4g} (two-sided, normal)")

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        body = self.to_frame().to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="")
        return f"<div><strong>{html.escape('Mixed-design test of no interference')}</strong>{body}</div>"


@aligned("y", "z", "clusters", "cluster_arm")
def mixed_design_test(y: Any, z: Any, clusters: Any, cluster_arm: Any, *,
                      confidence_level: float = 0.95) -> MixedDesignTestResult:
    r"""Test of no interference from a mixed design: unit- vs cluster-randomized arms (Saveski et al. 2017).

    Clusters are split at random into two arms. In the cluster-randomized (CR) arm whole clusters
    are treated; in the unit-randomized (UR) arm units are randomized individually. Without
    interference both arms estimate the same average treatment effect; interference (positive
    spillovers) pushes the CR estimate towards the global effect and the UR one towards the direct
    effect, so their difference detects it.

    Parameters
    ----------
    y : array-like of float, shape (n_units,)
    z : array-like of 0/1, shape (n_units,)
        Treatment; constant within each CR-arm cluster.
    clusters : array-like, shape (n_units,)
        Cluster label of every unit.
    cluster_arm : array-like of bool
        True where the cluster is in the CR arm: one value per unit (length n_units), or one per
        cluster (length n_clusters, in the order of the sorted distinct labels).
    confidence_level : float, default 0.95
        Level of the interval reported for the difference.

    Returns
    -------
    MixedDesignTestResult

    Notes
    -----
    UR arm (:math:`n_t` treated, :math:`n_c` control units): difference in means
    :math:`\hat\mu_{ur}` with :math:`\hat\sigma^2_{ur} = s_t^2/n_t + s_c^2/n_c`.
    CR arm (:math:`M = m_t + m_c` clusters, :math:`N` units, cluster totals :math:`Y_j^+`):
    Horvitz-Thompson estimator :math:`\hat\mu_{cr} = \frac{M}{N}\left(\frac{1}{m_t}\sum_{j \in T}
    Y_j^+ - \frac{1}{m_c}\sum_{j \in C} Y_j^+\right)` with
    :math:`\hat\sigma^2_{cr} = \frac{M^2}{N^2}\left(\frac{S_t^{+2}}{m_t} + \frac{S_c^{+2}}{m_c}\right)`,
    :math:`S^{+2}` the sample variances of the cluster totals. The test statistic is
    :math:`\Delta / \sqrt{\hat\sigma^2_{cr} + \hat\sigma^2_{ur}}`, :math:`\Delta = \hat\mu_{cr} -
    \hat\mu_{ur}`, referred to the standard normal.

    **Why conservative.** Each arm's variance estimator is Neyman's: in expectation it exceeds the
    estimator's true randomization variance by the unidentifiable heterogeneity term
    (:math:`S^2_\tau/n` of unit effects in the UR arm, of cluster-total effects in the CR arm), which is
    never negative. Adding the two arms' variances treats the arm estimators as uncorrelated, which
    is how the paper bounds :math:`\mathrm{Var}(\Delta)` under the null of no interference; the
    estimator is therefore unbiased only for constant effects and too large otherwise, and the
    test's type I error is at most nominal (asymptotically), typically below it.

    References
    ----------
    Saveski, M., Pouget-Abadie, J., Saint-Jacques, G., Duan, W., Ghosh, S., Xu, Y. & Airoldi, E. M.
    (2017). Detecting network effects: randomizing over randomized experiments. *KDD '17*, 1027-1035.
    Pouget-Abadie, J. et al. (2019). Testing for arbitrary interference on experimentation
    platforms. *Biometrika* 106(4), 929-940.

    Examples
    --------
    >>> import numpy as np
    >>> from netexp.inference import mixed_design_test
    >>> rng = np.random.default_rng(0)
    >>> clusters = np.repeat(np.arange(40), 10)
    >>> arm = np.repeat(np.arange(40) < 20, 10)                   # first 20 clusters: cluster arm
    >>> zc = rng.permutation(np.repeat([True, False], 10))        # treat 10 of the 20 clusters
    >>> z = np.where(arm, np.repeat(np.r_[zc, np.zeros(20, bool)], 10), rng.random(400) < 0.5)
    >>> y = 1.0 * z + rng.normal(size=400)
    >>> res = mixed_design_test(y, z, clusters, arm)
    >>> bool(res.p_value > 0.05)
    True
    """
    from ..estimators import Estimate

    level = check_confidence_level(confidence_level)
    if np.ndim(z) != 1:
        raise InputError(f"z must be one assignment vector (1-D); got shape {np.shape(z)}.")
    zb = check_binary_matrix("z", z, np.shape(z)[0])[0]
    n = zb.shape[0]
    y = check_finite_vector("y", y, n)
    c = np.asarray(clusters)
    if c.ndim != 1 or c.shape[0] != n:
        raise InputError(f"clusters must have one label per unit ({n}); got shape {c.shape}.")
    _, codes = dense_codes(c)
    k = int(codes.max()) + 1
    arm_raw = np.asarray(cluster_arm)
    if arm_raw.ndim != 1 or arm_raw.shape[0] not in (n, k):
        raise InputError(f"cluster_arm must have one value per unit ({n}) or per cluster ({k}); got shape "
                         f"{arm_raw.shape}.")
    arm = check_binary_matrix("cluster_arm", arm_raw, arm_raw.shape[0])[0]
    size = np.bincount(codes, minlength=k)
    if arm.shape[0] == n:
        tot = np.bincount(codes, weights=arm.astype(float), minlength=k)
        if ((tot != 0) & (tot != size)).any():
            raise InputError("cluster_arm must be constant within each cluster (a whole cluster is in one arm).")
        arm_c = tot == size
    else:
        arm_c = arm
    unit_cr = arm_c[codes]
    ztot = np.bincount(codes, weights=zb.astype(float), minlength=k)
    cr = np.flatnonzero(arm_c)
    if ((ztot[cr] != 0) & (ztot[cr] != size[cr])).any():
        raise InputError("z must be constant within each cluster of the cluster-randomized arm.")

    # unit-randomized arm
    yu, zu = y[~unit_cr], zb[~unit_cr]
    n1, n0 = int(zu.sum()), int((~zu).sum())
    if n1 < 2 or n0 < 2:
        raise EstimationError(f"the unit-randomized arm needs at least 2 treated and 2 control units; got {n1} and "
                              f"{n0}.")
    mu_ur = yu[zu].mean() - yu[~zu].mean()
    v_ur = yu[zu].var(ddof=1) / n1 + yu[~zu].var(ddof=1) / n0

    # cluster-randomized arm, at the level of cluster totals
    ytot = np.bincount(codes, weights=y, minlength=k)[cr]
    zc = ztot[cr] == size[cr]
    mt, mc = int(zc.sum()), int((~zc).sum())
    if mt < 2 or mc < 2:
        raise EstimationError(f"the cluster-randomized arm needs at least 2 treated and 2 control clusters; got {mt} "
                              f"and {mc}.")
    M, N = mt + mc, int(size[cr].sum())
    f = M / N
    mu_cr = f * (ytot[zc].mean() - ytot[~zc].mean())
    v_cr = f * f * (ytot[zc].var(ddof=1) / mt + ytot[~zc].var(ddof=1) / mc)

    se = float(np.sqrt(v_ur + v_cr))
    unit = Estimate.from_se(estimand="average treatment effect (unit-randomized arm)", estimate=mu_ur,
                            std_error=np.sqrt(v_ur), n=n1 + n0, method="difference in means",
                            variance="Neyman (conservative)", confidence_level=level)
    clus = Estimate.from_se(estimand="average treatment effect (cluster-randomized arm)", estimate=mu_cr,
                            std_error=np.sqrt(v_cr), n=N, n_clusters=M, method="Horvitz-Thompson on cluster totals",
                            variance="Neyman on cluster totals (conservative)", confidence_level=level)
    diff = Estimate.from_se(estimand="cluster arm - unit arm", estimate=mu_cr - mu_ur, std_error=se, n=n,
                            n_clusters=k, method="mixed-design test (Saveski et al. 2017)",
                            variance="sum of the arms' Neyman variances (conservative)", confidence_level=level,
                            note="zero without interference; the normal reference is asymptotic")
    stat = float((mu_cr - mu_ur) / se) if se > 0 else float("nan")
    p = float(2 * stats.norm.sf(abs(stat))) if np.isfinite(stat) else float("nan")
    return MixedDesignTestResult(diff, unit, clus, stat, p)
