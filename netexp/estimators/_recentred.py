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
           "EXPOSURES"]

#: Built-in exposures: fraction / number of treated in-neighbours, at least one treated in-neighbour.
EXPOSURES = ("fraction", "count", "any")


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
        rows = []
        for version, tab in (("raw", self.raw), ("recentred", self.recentred)):
            for e in tab:
                r = e._row()
                r["version"] = version
                rows.append(r)
        return pd.DataFrame(rows, columns=["version"] + COLUMNS)

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
