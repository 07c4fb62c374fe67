"""Recentred exposure regression (Borusyak & Hull): exposure minus its expectation under the design.

Exposure to treated neighbours is random only through the assignment, but its *expectation* varies
across units with their position in the graph (degree, whom they are linked to) and with the design
(units' treatment probabilities). A regression on raw exposure compares units whose expected
exposures differ, which mixes in whatever else those positions predict. Subtracting each unit's
expected exposure under the design actually used leaves only the design's own variation.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Callable

import numpy as np
import pandas as pd

from .._align import aligned
from .._unit_align import align_units
from .._errors import DesignError, EstimationError, InputError
from .._validation import check_binary_matrix, check_confidence_level, check_int, check_option, check_rng
from ._ols import ols
from ._result import COLUMNS, Estimate, EstimateTable, _html_table

__all__ = ["expected_exposure", "ExpectedExposure", "recentred_exposure_regression", "RecentredExposureRegression",
           "multiarm_recentred_regression", "MultiArmRecentredRegression",
           "EXPOSURES"]

#: Built-in exposures: fraction / number of treated in-neighbours, at least one treated in-neighbour.
EXPOSURES = ("fraction", "count", "any")


def _versions_frame(raw, recentred) -> pd.DataFrame:
    """One row per (version, estimand) of a raw and a recentred fit: the shared estimate columns plus ``version``."""
    rows = []
    for version, tab in (("raw", raw), ("recentred", recentred)):
        for e in tab:
            r = e._row()
            r["version"] = version
            rows.append(r)
    return pd.DataFrame(rows, columns=["version"] + COLUMNS)


@dataclasses.dataclass(frozen=True, eq=False)
class ExpectedExposure:
    """Each unit's expected exposure under a design.

    Attributes
    ----------
    values : ndarray, shape (n_units,)
        :math:`\\mu_i = E_{design}[X_i(Z)]`.
    exposure : str
        Name of the exposure (``"fraction"``, ``"count"``, ``"any"`` or ``"custom"``).
    exact : bool
        True when computed in closed form (no Monte Carlo error).
    method : str
        How it was computed.
    std_error : ndarray or None
        Monte Carlo standard error of every value (None when exact).
    n_draws : int or None
    """

    values: np.ndarray
    exposure: str
    exact: bool
    method: str
    std_error: np.ndarray | None = None
    n_draws: int | None = None


def _exposure_of(graph, Z: np.ndarray, exposure) -> np.ndarray:
    from ..exposure import treated_neighbor_counts

    if callable(exposure):
        X = np.asarray(exposure(graph, Z), dtype=float)
        if X.shape != Z.shape:
            raise InputError(f"exposure callable must return one value per unit and draw, shape {Z.shape}; got "
                             f"{X.shape}.")
        return X
    counts = np.asarray(treated_neighbor_counts(graph, Z), dtype=float)
    if exposure == "count":
        return counts
    if exposure == "any":
        return (counts > 0).astype(float)
    deg = np.asarray(graph.degree, dtype=float)
    return counts * np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)


def _exact_expected(graph, design, exposure) -> tuple[np.ndarray, str] | None:
    """Closed form, or None when this design / exposure has none."""
    from ..designs import Bernoulli, ClusterRandomized

    if callable(exposure):
        return None
    A = graph.adjacency
    deg = np.asarray(graph.degree, dtype=float)
    if exposure in ("fraction", "count"):
        try:
            p = np.asarray(design.probabilities, dtype=float)
        except DesignError:
            return None
        s = A @ p
        if exposure == "count":
            return s, "exact: sum of the in-neighbours' treatment probabilities"
        return (np.divide(s, deg, out=np.zeros_like(s), where=deg > 0),
                "exact: mean of the in-neighbours' treatment probabilities")
    # "any": independent units or independent clusters
    if isinstance(design, Bernoulli):
        q = np.log1p(-np.asarray(design.probabilities, dtype=float))
        return 1.0 - np.exp(A @ q), "exact: 1 - prod over in-neighbours of (1 - p_j) (independent units)"
    if isinstance(design, ClusterRandomized) and isinstance(design.cluster_design, Bernoulli):
        import scipy.sparse as sp

        pc = np.asarray(design.cluster_design.probabilities, dtype=float)
        K = design.n_clusters
        L = sp.csr_array((np.ones(graph.n_nodes), (np.arange(graph.n_nodes), design.labels)),
                         shape=(graph.n_nodes, K))
        touched = (A @ L) > 0                                      # unit x cluster: some in-neighbour in it
        return (1.0 - np.exp(touched.astype(float) @ np.log1p(-pc)),
                "exact: 1 - prod over the in-neighbours' clusters of (1 - p_c) (independent clusters)")
    return None


def expected_exposure(graph: Any, design: Any, *, exposure: str | Callable = "fraction", method: str = "auto",
                      n_draws: int = 2000, rng=None) -> ExpectedExposure:
    r"""Every unit's expected exposure to treated neighbours under a design.

    Parameters
    ----------
    graph : Graph
    design : Design
        The design actually used, over the graph's units (in node order).
    exposure : {"fraction", "count", "any"} or callable, default "fraction"
        Fraction or number of treated in-neighbours, or whether at least one is treated; a callable
        ``f(graph, Z)`` maps a ``(n_draws, n_units)`` bool matrix of assignments to exposures of
        the same shape.
    method : {"auto", "exact", "monte-carlo"}, default "auto"
        ``"auto"``: the closed form where one exists, else Monte Carlo over ``n_draws`` draws of the
        design. ``"exact"`` raises when there is no closed form.
    n_draws : int, default 2000
    rng : None, int, SeedSequence or Generator
        For the Monte Carlo draws.

    Returns
    -------
    ExpectedExposure

    Notes
    -----
    Fraction and count are linear in the assignment, so for **any** design with exact marginal
    probabilities :math:`p_j = P(Z_j = 1)` (Bernoulli, complete, stratified, cluster designs over
    any of them, saturation, ...),

    .. math:: E[F_i] = \frac{1}{d_i}\sum_{j \in N(i)} p_j, \qquad E[C_i] = \sum_{j \in N(i)} p_j

    (0 for isolated units), whatever the dependence between units. "At least one treated
    in-neighbour" is not linear; it has the closed form :math:`1-\prod_{j \in N(i)}(1-p_j)` under
    Bernoulli and :math:`1-\prod_{c}(1-p_c)` over the distinct clusters of :math:`N(i)` under
    cluster-Bernoulli designs. Otherwise the mean over draws of the design, with its Monte Carlo
    standard error :math:`s_i/\sqrt{R}`.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> mu = ne.expected_exposure(g, ne.Complete(g.n_nodes, n_treated=17))
    >>> mu.exact, round(float(mu.values[0]), 3)
    (True, 0.5)
    """
    from ..graph import Graph

    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    if getattr(design, "n_units", None) != graph.n_nodes:
        raise InputError(f"design assigns {getattr(design, 'n_units', None)} units but the graph has "
                         f"{graph.n_nodes} nodes; declare the design over the graph's units, in node order.")
    if not callable(exposure):
        check_option("exposure", exposure, EXPOSURES)
    method = check_option("method", method, ("auto", "exact", "monte-carlo"))
    name = "custom" if callable(exposure) else exposure
    if method != "monte-carlo":
        ex = _exact_expected(graph, design, exposure)
        if ex is not None:
            return ExpectedExposure(np.asarray(ex[0], dtype=float), name, True, ex[1])
        if method == "exact":
            raise InputError(f"no closed form for the expected {name!r} exposure under {type(design).__name__}; "
                             "use method='monte-carlo' (or 'auto').")
    n_draws = check_int("n_draws", n_draws, low=2)
    gen = check_rng(rng)
    total = np.zeros(graph.n_nodes)
    total2 = np.zeros(graph.n_nodes)
    done = 0
    batch = max(1, min(n_draws, int(2e7 // max(graph.n_nodes, 1))))
    while done < n_draws:
        b = min(batch, n_draws - done)
        X = _exposure_of(graph, design.sample_many(b, rng=gen), exposure)
        total += X.sum(0)
        total2 += (X * X).sum(0)
        done += b
    mean = total / n_draws
    var = np.clip(total2 / n_draws - mean**2, 0, None) * n_draws / (n_draws - 1)
    return ExpectedExposure(mean, name, False, f"Monte Carlo over {n_draws} draws of the design",
                            np.sqrt(var / n_draws), n_draws)


@dataclasses.dataclass(frozen=True, eq=False)
class RecentredExposureRegression:
    """Raw and recentred exposure regressions, side by side.

    Attributes
    ----------
    raw : EstimateTable
        ``direct effect`` and ``spillover`` from ``y ~ 1 + z + X``.
    recentred : EstimateTable
        The same from ``y ~ 1 + (z - p) + (X - mu)``.
    expected : ExpectedExposure
        :math:`\\mu_i`, the expected exposures used.
    treatment_probabilities : ndarray
        :math:`p_i`, own treatment probabilities used.
    """

    raw: EstimateTable
    recentred: EstimateTable
    expected: ExpectedExposure
    treatment_probabilities: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per (version, estimand): the shared estimate columns plus ``version``."""
        return _versions_frame(self.raw, self.recentred)

    def summary(self) -> str:
        f = self.to_frame()
        lines = ["exposure regression, raw vs recentred (Borusyak & Hull)",
                 f"  expected exposure: {self.expected.method}"]
        for _, r in f.iterrows():
            lines.append(f"  {r.version:<10} {r.estimand:<14} {r.estimate: .5g}  (se {r.std_error:.3g}, "
                         f"95% CI [{r.ci_low:.4g}, {r.ci_high:.4g}])")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return _html_table(self.to_frame(), title=html.escape("Exposure regression: raw vs recentred"),
                           note=f"expected exposure: {self.expected.method}")


@aligned("y", "z", "clusters")
def recentred_exposure_regression(y: Any, z: Any, graph: Any, design: Any, *, exposure: str | Callable = "fraction",
                                  expected: ExpectedExposure | None = None, clusters: Any = None,
                                  cov_type: str | None = None, method: str = "auto", n_draws: int = 2000, rng=None,
                                  confidence_level: float = 0.95) -> RecentredExposureRegression:
    r"""Exposure regression on exposure recentred by its expectation under the design, next to the raw one.

    Parameters
    ----------
    y : array-like or pandas Series
        Outcomes of every unit (a Series is matched to ``graph.node_ids`` by index).
    z : array-like or pandas Series of 0/1
        The realized assignment, drawn from ``design``.
    graph : Graph
    design : Design
        The design that drew ``z`` (its probabilities, or its draws, give the expectations).
    exposure : {"fraction", "count", "any"} or callable, default "fraction"
        See :func:`expected_exposure`.
    expected : ExpectedExposure, optional
        Precomputed expectations (e.g. Monte Carlo with many draws); computed otherwise.
    clusters : array-like, optional
        Cluster labels for a cluster-robust covariance; default: the design's clusters when it is a
        :class:`~netexp.ClusterRandomized`.
    cov_type : str, optional
        ``"HC2"`` by default, ``"CR2"`` with clusters (see :func:`~netexp.ols`).
    method, n_draws, rng
        Passed to :func:`expected_exposure` when ``expected`` is not given.
    confidence_level : float, default 0.95

    Returns
    -------
    RecentredExposureRegression
        ``raw`` and ``recentred`` tables, each with ``direct effect`` (coefficient of own
        treatment) and ``spillover`` (coefficient of the exposure).

    Notes
    -----
    With :math:`p_i = P(Z_i=1)` and :math:`\mu_i = E[X_i(Z)]` under the design, the recentred fit
    is OLS of :math:`Y_i` on :math:`1,\ Z_i - p_i,\ X_i - \mu_i` (Borusyak & Hull 2023). If
    :math:`Y_i = \alpha_i + \tau Z_i + \beta X_i` with unit-specific :math:`\alpha_i` (anything
    fixed about unit i: degree, baseline behaviour), the recentred regressors have mean zero under
    the design for every unit, so they are uncorrelated by design with :math:`\alpha_i` and the
    coefficients are consistent for :math:`(\tau, \beta)` as the number of units grows (ratio
    estimators: unbiased to first order). The raw regression is consistent only when
    :math:`\alpha_i` is unrelated to :math:`(p_i, \mu_i)`; when expected exposure varies with
    degree and outcomes do too, the raw spillover coefficient mixes the two. Under Bernoulli or
    complete designs with one :math:`p` and the ``fraction`` exposure, :math:`\mu_i = p` for every
    unit with a neighbour and the two fits differ only through isolated units; they differ when
    probabilities vary (targeted or stratified designs) or for ``count`` / ``any`` exposures.

    **Estimand.** :math:`\tau, \beta` of the linear exposure model above (model-based, as
    :func:`~netexp.exposure_regression`); the recentring removes confounding by graph position,
    not misspecification of the exposure. **Variance.** HC2 (or CR2 by cluster) of the OLS fit:
    residual correlation between neighbours is not accounted for without clusters.

    References
    ----------
    Borusyak, K., & Hull, P. (2023). Nonrandom exposure to exogenous shocks. Econometrica 91(6),
    2155-2185.

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> g = ne.barabasi_albert(2000, 2, rng=0)
    >>> deg = g.degree
    >>> design = ne.Stratified(deg > np.median(deg), p={False: 0.2, True: 0.7})   # hubs targeted
    >>> z = design.sample(rng=1)
    >>> frac = ne.fraction_treated_neighbors(g, z)
    >>> y = np.log(deg) + 0.3 * z + 0.5 * frac + np.random.default_rng(2).normal(scale=0.1, size=2000)
    >>> fit = ne.recentred_exposure_regression(y, z, g, design)
    >>> fit.to_frame()[["version", "estimand", "estimate"]].round(2)   # truth: 0.3 and 0.5
         version       estimand  estimate
    0        raw  direct effect      0.74
    1        raw      spillover      0.12
    2  recentred  direct effect      0.29
    3  recentred      spillover      0.47
    """
    from ..designs import ClusterRandomized
    from ..graph import Graph

    level = check_confidence_level(confidence_level)
    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    arrs, _ = align_units({"y": y, "z": z, "clusters": clusters}, order=graph.node_ids)
    zb = check_binary_matrix("z", arrs["z"], graph.n_nodes)[0]
    yv = np.asarray(arrs["y"], dtype=float)
    if not np.isfinite(yv).all():
        raise InputError(f"y has {int((~np.isfinite(yv)).sum())} missing or non-finite values; drop or impute them "
                         "(every unit's treatment is still needed for its neighbours' exposure).")
    if expected is None:
        expected = expected_exposure(graph, design, exposure=exposure, method=method, n_draws=n_draws, rng=rng)
    elif not isinstance(expected, ExpectedExposure) or expected.values.shape != (graph.n_nodes,):
        raise InputError("expected must be an ExpectedExposure over the graph's units (from expected_exposure).")
    try:
        p = np.asarray(design.probabilities, dtype=float)
    except DesignError:
        p = np.asarray(design.estimate_probabilities(expected.n_draws or n_draws, rng=rng)[0], dtype=float)
    X = _exposure_of(graph, zb[None, :], exposure)[0]
    cl = arrs["clusters"]
    if cl is None and isinstance(design, ClusterRandomized):
        cl = np.asarray(design.labels)
    if cov_type is None:
        cov_type = "CR2" if cl is not None else "HC2"
    ones = np.ones_like(yv)
    tables = []
    for version, (a, b) in (("raw", (zb.astype(float), X)), ("recentred", (zb - p, X - expected.values))):
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            raise EstimationError(f"{version} regression: own treatment or exposure does not vary across units.")
        fit = ols(np.column_stack([ones, a, b]), yv, cov_type=cov_type, clusters=cl)
        rows = []
        for k, name in ((1, "direct effect"), (2, "spillover")):
            c = np.zeros(3)
            c[k] = 1.0
            est, se = fit.contrast(c)
            rows.append(Estimate.from_se(
                estimand=name, estimate=est, std_error=se, n=yv.shape[0], n_clusters=fit.n_clusters,
                method=f"exposure regression ({version})", variance=f"{cov_type} (model-based)",
                df=fit.contrast_df(c), confidence_level=level,
                note=("exposure recentred by its expectation under the design (Borusyak & Hull)" if version ==
                      "recentred" else "raw exposure: confounded when expected exposure varies with unit traits")
                + f"; spillover = coefficient of the {expected.exposure!r} exposure"))
        tables.append(EstimateTable(rows))
    return RecentredExposureRegression(tables[0], tables[1], expected, p)


@dataclasses.dataclass(frozen=True, eq=False)
class MultiArmRecentredRegression:
    """Raw and recentred k-arm exposure regressions, side by side.

    Attributes
    ----------
    raw, recentred : EstimateTable
        ``direct effect <b> - <control>`` (own arm b) and ``spillover share[<b>]`` (moving every
        in-neighbour from the control arm to b) for each non-control arm b.
    expected : DataFrame
        Expected exposure of every unit to every arm under the design (``share[<arm>]`` or
        ``count[<arm>]`` columns).
    own_probabilities : ndarray, shape (n_units, n_arms)
    expected_method : str
    """

    raw: EstimateTable
    recentred: EstimateTable
    expected: pd.DataFrame
    own_probabilities: np.ndarray
    expected_method: str

    def to_frame(self) -> pd.DataFrame:
        return _versions_frame(self.raw, self.recentred)

    def summary(self) -> str:
        f = self.to_frame()
        lines = ["k-arm exposure regression, raw vs recentred (Borusyak & Hull)",
                 f"  expected exposure: {self.expected_method}"]
        for _, r in f.iterrows():
            lines.append(f"  {r.version:<10} {r.estimand:<24} {r.estimate: .5g}  (se {r.std_error:.3g})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _arm_exposure(graph, Z: np.ndarray, k: int, exposure: str) -> np.ndarray:
    """(R, n, k): count or share of in-neighbours in each arm, for each row of arm codes Z."""
    import scipy.sparse as sp

    Z = np.atleast_2d(np.asarray(Z, dtype=np.int64))
    R, n = Z.shape
    A = graph.adjacency
    deg = np.asarray(graph.degree, dtype=float)
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    out = np.empty((R, n, k))
    for a in range(k):
        counts = (A @ sp.csr_array((Z == a).T.astype(np.float64))).toarray().T   # (R, n)
        out[:, :, a] = counts if exposure == "count" else counts * inv
    return out


def _expected_arm_exposure(graph, design, exposure, method, n_draws, rng):
    """``(E[X_ib] (n, k), how)``: exact from the per-arm probabilities, or the mean over draws of the design."""
    from ..exposure._multiarm import expected_arm_shares

    n, k = graph.n_nodes, design.n_arms
    if method in ("auto", "exact"):
        mu = expected_arm_shares(graph, design).to_numpy()
        if exposure == "count":
            mu = mu * np.asarray(graph.degree, dtype=float)[:, None]
        return mu, f"exact: in-neighbours' per-arm probabilities under {type(design).__name__}"
    n_draws = check_int("n_draws", n_draws, low=2)
    gen = check_rng(rng)
    total = np.zeros((n, k))
    done = 0
    batch = max(1, min(n_draws, int(5e6 // max(n * k, 1))))
    while done < n_draws:
        b = min(batch, n_draws - done)
        total += _arm_exposure(graph, design.sample_many(b, rng=gen), k, exposure).sum(0)
        done += b
    return total / n_draws, f"Monte Carlo over {n_draws} draws of the design"


@aligned("y", "z", "clusters")
def multiarm_recentred_regression(y: Any, z: Any, graph: Any, design: Any, *, units: Any = None, control: Any = None,
                                  exposure: str = "share", clusters: Any = None, cov_type: str | None = None,
                                  method: str = "auto", n_draws: int = 2000, rng=None,
                                  confidence_level: float = 0.95) -> MultiArmRecentredRegression:
    r"""k-arm exposure regression on own arm and the neighbours' arms, raw and recentred by the design.

    Parameters
    ----------
    y : array-like or pandas Series
        Outcomes in node order; only ``units`` are read (default all).
    z : array-like or pandas Series
        Arm of every unit (names of ``design.arms`` or codes), drawn from ``design``.
    graph : Graph
    design : MultiArmDesign
    units : array of int, optional
        Positions of the units in the fit (e.g. those with outcomes); exposures use every unit's arm.
    control : arm, optional
        Reference arm (default the design's first).
    exposure : {"share", "count"}
        Share (default) or number of in-neighbours in each arm.
    clusters : array-like, optional
        For CR2; default the design's clusters for a :class:`~netexp.MultiArmCluster`.
    method : {"auto", "exact", "monte-carlo"}
        Expected exposures: exact from the design's per-arm probabilities (every k-arm design has
        them), or the mean over ``n_draws`` draws of the design.

    Returns
    -------
    MultiArmRecentredRegression

    Notes
    -----
    Model: :math:`Y_i = \alpha_i + \sum_{b \ne c} \tau_b 1[Z_i=b] + \sum_{b \ne c} \beta_b X_{ib}`,
    :math:`X_{ib}` the share (or count) of i's in-neighbours in arm b; the control arm's exposure is
    the omitted category, so with shares :math:`\beta_b` is the effect of moving all neighbours from
    control to b, with counts that of one more neighbour in b. Raw fit: OLS on :math:`1, 1[Z_i=b], X_{ib}`. Recentred (Borusyak & Hull 2023): on
    :math:`1, 1[Z_i=b] - P(Z_i=b), X_{ib} - E[X_{ib}]`, with expectations under the design:
    :math:`E[X_{ib}] = \sum_{j \in N(i)} P(Z_j=b)` (divided by :math:`d_i` for shares) by linearity,
    exact for any dependence between units. With shares and equal arm probabilities the two differ
    only through isolated units; with counts :math:`E[X_{ib}] = d_i p_b` grows with degree, and the
    raw spillover coefficients absorb whatever degree does to the outcome while the recentred ones
    do not. **Estimand**: the model's :math:`\tau_b, \beta_b`. **Variance**: HC2 (CR2 by the
    randomized clusters), model-based; residual correlation between neighbours is not accounted for
    without clusters.

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> g = ne.barabasi_albert(1500, 2, rng=0)
    >>> d = ne.MultiArmComplete(g.n_nodes, prob_each=(0.5, 0.25, 0.25), arms=("control", "a", "b"))
    >>> z = d.sample(rng=1)
    >>> count_b = g.adjacency @ (z == 2)                   # neighbours in arm b: 0.2 each; degree matters too
    >>> y = np.log(g.degree) + 0.3 * (z == 1) + 0.2 * count_b
    >>> f = ne.multiarm_recentred_regression(y, z, g, d, exposure="count").to_frame()
    >>> f.loc[f.estimand.str.startswith("spillover"), ["version", "estimand", "estimate"]].round(2)
         version            estimand  estimate
    2        raw  spillover count[a]      0.16
    3        raw  spillover count[b]      0.35
    6  recentred  spillover count[a]      0.00
    7  recentred  spillover count[b]      0.16
    """
    from ..designs import MultiArmCluster, MultiArmDesign
    from ..designs._multiarm import arm_codes
    from ..graph import Graph

    level = check_confidence_level(confidence_level)
    exposure = check_option("exposure", exposure, ("share", "count"))
    method = check_option("method", method, ("auto", "exact", "monte-carlo"))
    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    if not isinstance(design, MultiArmDesign):
        raise InputError(f"design must be a MultiArmDesign (the one that drew z); got {type(design).__name__}.")
    n = graph.n_nodes
    if design.n_units != n:
        raise InputError(f"design assigns {design.n_units} units but the graph has {n} nodes.")
    arrs, _ = align_units({"y": y, "z": z, "clusters": clusters}, order=graph.node_ids)
    codes, arms = arm_codes(arrs["z"], design.arms)
    k = len(arms)
    c = 0 if control is None else design.arm_code(control)
    idx = np.arange(n) if units is None else np.asarray(units, dtype=np.int64)
    yv = np.asarray(arrs["y"], dtype=float)[idx]
    if not np.isfinite(yv).all():
        raise InputError(f"y has {int((~np.isfinite(yv)).sum())} missing or non-finite values among the units; pass "
                         "units= to leave them out.")
    P = np.asarray(design.probabilities, dtype=float)
    mu, how = _expected_arm_exposure(graph, design, exposure, method, n_draws, rng)
    X = _arm_exposure(graph, codes[None, :], k, exposure)[0]
    cl = arrs["clusters"]
    if cl is None and isinstance(design, MultiArmCluster):
        cl = np.asarray(design.labels_of_units)
    cl = None if cl is None else np.asarray(cl)[idx]
    if cov_type is None:
        cov_type = "CR2" if cl is not None else "HC2"
    others = [b for b in range(k) if b != c]
    own = (codes[:, None] == np.arange(k)[None, :]).astype(float)
    tables = []
    for version in ("raw", "recentred"):
        O = own if version == "raw" else own - P
        S = X if version == "raw" else X - mu
        # the control arm is the omitted category of own arm and of the exposures (the recentred
        # exposures of all k arms sum to zero, so they cannot all enter)
        D = np.column_stack([np.ones(idx.shape[0])] + [O[idx, b] for b in others] + [S[idx, b] for b in others])
        for j in range(1, D.shape[1]):
            if np.ptp(D[:, j]) == 0:
                raise EstimationError(f"{version} regression: a regressor (own arm or neighbours' exposure) does not "
                                      "vary across the units.")
        fit = ols(D, yv, cov_type=cov_type, clusters=cl)
        rows = []
        names = ([f"direct effect {arms[b]} - {arms[c]}" for b in others]
                 + [f"spillover {'share' if exposure == 'share' else 'count'}[{arms[b]}]" for b in others])
        for j, name in enumerate(names, start=1):
            cvec = np.zeros(D.shape[1])
            cvec[j] = 1.0
            est, se = fit.contrast(cvec)
            rows.append(Estimate.from_se(
                estimand=name, estimate=est, std_error=se, n=idx.shape[0], n_clusters=fit.n_clusters,
                method=f"k-arm exposure regression ({version})", variance=f"{cov_type} (model-based)",
                df=fit.contrast_df(cvec), confidence_level=level,
                note=("exposures recentred by their expectation under the design (Borusyak & Hull)"
                      if version == "recentred" else "raw exposures: confounded when expected exposure varies "
                      "with unit traits")))
        tables.append(EstimateTable(rows))
    expected = pd.DataFrame(mu, index=pd.Index(graph.node_ids, name="node_id"),
                            columns=[f"{exposure}[{a}]" for a in arms])
    return MultiArmRecentredRegression(tables[0], tables[1], expected, P, how)
