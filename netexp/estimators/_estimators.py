"""Estimators of treatment effects under interference: naive, cluster-level, exposure regression."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._align import aligned
from .._errors import EstimationError, InputError, warn
from .._validation import check_binary_matrix, check_confidence_level, check_finite_vector, check_option, dense_codes
from ._ols import OLSFit, ols
from ._result import Estimate, EstimateTable, welch_df

__all__ = ["difference_in_means", "cluster_difference_in_means", "cluster_ols", "exposure_regression",
           "exposure_regression_fit", "ExposureRegressionFit", "EXPOSURE_COVARIANCE_TYPES"]


def _prep(y, z, *, name="z"):
    if np.ndim(z) != 1:
        raise InputError(f"{name} must be one assignment vector (1-D).")
    zb = check_binary_matrix(name, z, np.shape(z)[0])[0]
    y = check_finite_vector("y", y, zb.shape[0])
    n1, n0 = int(zb.sum()), int((~zb).sum())
    if n1 < 2 or n0 < 2:
        raise EstimationError(f"Each arm needs at least 2 units with outcomes; got {n1} treated and {n0} control.")
    return y, zb


@aligned("y", "z")
def difference_in_means(y: Any, z: Any, *, confidence_level: float = 0.95,
                        estimand: str = "average treatment effect") -> Estimate:
    r"""Difference in mean outcomes between treated and control units, with Neyman standard error.

    .. math:: \hat\tau = \bar Y_1 - \bar Y_0, \qquad \widehat{V} = s_1^2/n_1 + s_0^2/n_0

    **Estimand.** Without interference, the average treatment effect. Under interference and
    a Bernoulli or complete unit design it estimates the *expected average direct effect*
    (Savje, Aronow & Hudgens 2021): own treatment's effect averaged over the design's
    neighbour assignments. It does **not** estimate the global effect (all treated vs none),
    which is the point of netexp.

    **Variance.** The Neyman variance is conservative for the finite-population ATE under
    complete randomization (it omits the unidentifiable :math:`-S_\tau^2/n` term) and unbiased
    when effects are constant. Interval: Student t with Welch-Satterthwaite df.

    Examples
    --------
    >>> import netexp as ne
    >>> ne.difference_in_means([1.0, 2.0, 3.0, 4.0, 6.0], [0, 0, 1, 1, 1]).estimate
    2.833333333333333
    """
    check_confidence_level(confidence_level)
    y, z = _prep(y, z)
    y1, y0 = y[z], y[~z]
    n1, n0 = y1.shape[0], y0.shape[0]
    v1, v0 = y1.var(ddof=1), y0.var(ddof=1)
    se = np.sqrt(v1 / n1 + v0 / n0)
    return Estimate.from_se(estimand=estimand, estimate=y1.mean() - y0.mean(), std_error=se, n=n1 + n0,
                            method="difference in means", variance="Neyman (conservative)",
                            df=welch_df(v1, n1, v0, n0), confidence_level=confidence_level,
                            note="ignores interference: under spillovers this is the average direct effect, "
                                 "not the global effect")


def _cluster_codes(clusters, n):
    c = np.asarray(clusters)
    if c.ndim != 1 or c.shape[0] != n:
        raise InputError(f"clusters must have one label per unit ({n}); got shape {c.shape}.")
    _, cl = dense_codes(c)
    return cl.astype(np.int64)


@aligned("y", "z", "clusters")
def cluster_difference_in_means(y: Any, z: Any, clusters: Any, *, confidence_level: float = 0.95,
                                estimand: str = "global effect") -> Estimate:
    r"""Difference between the average cluster mean of treated and of control clusters.

    Each cluster is reduced to its mean outcome :math:`\bar Y_c`; the estimate is
    :math:`\frac{1}{K_1}\sum_{c \in T} \bar Y_c - \frac{1}{K_0}\sum_{c \in C} \bar Y_c` with the
    Neyman variance :math:`s_{1}^2/K_1 + s_{0}^2/K_0` over cluster means (conservative under
    complete randomization of clusters) and Welch df.

    **Estimand.** Under cluster randomization, if no unit's neighbourhood crosses a cluster
    boundary, the *cluster-weighted* global effect (every cluster counts equally, whatever its
    size). Edges cut by the clustering leak treatment across arms and bias it toward the direct
    effect; the cut fraction of the clustering measures that risk.
    """
    check_confidence_level(confidence_level)
    y, z = _prep(y, z)
    cl = _cluster_codes(clusters, y.shape[0])
    K = int(cl.max()) + 1
    sizes = np.bincount(cl, minlength=K)
    zsum = np.bincount(cl, weights=z, minlength=K)
    if np.any((zsum > 0) & (zsum < sizes)):
        bad = int(((zsum > 0) & (zsum < sizes)).sum())
        raise EstimationError(f"{bad} clusters contain both treated and control units; cluster-level estimates "
                              "need an assignment that is constant within clusters (a cluster design).")
    means = np.bincount(cl, weights=y, minlength=K) / sizes
    zc = zsum > 0
    k1, k0 = int(zc.sum()), int((~zc).sum())
    if k1 < 2 or k0 < 2:
        raise EstimationError(f"Need at least 2 treated and 2 control clusters; got {k1} and {k0}.")
    m1, m0 = means[zc], means[~zc]
    v1, v0 = m1.var(ddof=1), m0.var(ddof=1)
    return Estimate.from_se(estimand=estimand, estimate=m1.mean() - m0.mean(), std_error=np.sqrt(v1 / k1 + v0 / k0),
                            n=y.shape[0], n_clusters=K, method="cluster means difference",
                            variance="Neyman over clusters (conservative)", df=welch_df(v1, k1, v0, k0),
                            confidence_level=confidence_level,
                            note="clusters weighted equally; biased toward the direct effect by edges cut "
                                 "between clusters")


#: Below this many clusters ``cluster_ols`` warns that cluster-robust inference is fragile.
FEW_CLUSTERS = 42


def few_clusters_message(G: int, what: str) -> str:
    """The few-clusters caveat, stating the number ("" with at least FEW_CLUSTERS clusters)."""
    if G >= FEW_CLUSTERS:
        return ""
    return (f"{what} rests on only {G} clusters (fewer than {FEW_CLUSTERS}): cluster-robust standard errors are "
            "noisy and intervals can under-cover (by 1-3 points at 14-30 clusters of sizes 3-120 in "
            "benchmarks/bench_intervals_cluster.py)")


def few_clusters_warning(G: int, what: str) -> None:
    """Warn (an EstimationWarning stating the number) when an interval rests on fewer than FEW_CLUSTERS
    clusters. For callers that report to users (``analyze``, ``run``); estimators put it in the note."""
    from .._errors import EstimationWarning

    msg = few_clusters_message(G, what)
    if msg:
        warn(msg + ".", EstimationWarning)


@aligned("y", "z", "clusters")
def cluster_ols(y: Any, z: Any, clusters: Any, *, cov_type: str = "CR2", confidence_level: float = 0.95,
                estimand: str = "global effect", inference: str = "t", n_boot: int = 999,
                bootstrap_weights: str = "webb", rng: Any = None) -> Estimate:
    r"""Unit-level regression ``y ~ 1 + z`` with cluster-robust standard error.

    The coefficient is the unit-weighted difference in means; ``CR2`` (Bell-McCaffrey, default),
    ``CR1`` (Stata) or ``CR3`` (leave-one-cluster-out jackknife, t with G - 1 df) variance over
    clusters. Valid for any assignment that is constant within
    clusters; with a unit-level design it is the usual clustered-SE difference in means. Same
    estimand caveat as :func:`cluster_difference_in_means`, but units weighted equally.

    Parameters
    ----------
    inference : {"t", "wild"}
        How the interval and p-value are formed. ``"t"`` (default): t reference with the Bell-McCaffrey
        Satterthwaite df for CR2 (Imbens & Kolesar 2016; what R's estimatr and clubSandwich use),
        G - 1 for CR1. ``"wild"``: the restricted wild cluster bootstrap-t (WCR; Cameron, Gelbach
        & Miller 2008), inverted into an interval (Roodman et al. 2019), ``n_boot`` draws of
        ``bootstrap_weights`` ("webb" six-point or "rademacher") from ``rng``; the standard error
        reported is still ``cov_type``'s. The default stays ``"t"`` because the bootstrap did not
        cover better in the benchmark below (it is about 9% narrower). With fewer than
        ``FEW_CLUSTERS`` (42) clusters the result's ``note`` says so, stating the number
        (:func:`few_clusters_warning` issues the same text as a warning for reporting layers).
    rng : None, int, SeedSequence or Generator
        For the bootstrap weights; None uses the fixed seed 0 (the same data give the same interval).

    Notes
    -----
    Coverage of the 95% interval with geometric cluster sizes 3-120, half the clusters treated,
    heterogeneous cluster effects (``benchmarks/bench_intervals_cluster.py``, 1000 replications):
    see the README's "What the estimators estimate". The ``confidence_interval(level)`` method
    of a bootstrap result recomputes a t interval from the standard error; call again with
    ``confidence_level=`` for a bootstrap interval at another level.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> labels = np.repeat(np.arange(60), 5)
    >>> z = np.isin(labels, np.arange(0, 60, 2))
    >>> y = 1 + 0.5 * z + np.random.default_rng(0).normal(size=300)
    >>> ne.cluster_ols(y, z, labels, rng=0).variance
    'CR2 cluster-robust'
    """
    check_confidence_level(confidence_level)
    cov_type = check_option("cov_type", cov_type, ("CR0", "CR1", "CR2", "CR3"))
    inference = check_option("inference", inference, ("t", "wild"))
    y, z = _prep(y, z)
    cl = _cluster_codes(clusters, y.shape[0])
    # a cluster-robust variance needs replication of clusters within each arm: with one cluster in an arm
    # its between-cluster variance is unidentified and the sandwich is ~0 (a zero-width interval)
    k1 = np.unique(cl[z]).shape[0]
    k0 = np.unique(cl[~z]).shape[0]
    if min(k1, k0) < 2:
        raise EstimationError(f"cluster_ols needs at least 2 clusters with treated units and 2 with control units; "
                              f"got {k1} and {k0}. With one cluster in an arm its variance cannot be estimated.")
    X = np.column_stack([np.ones_like(y), z.astype(float)])
    fit = ols(X, y, cov_type=cov_type, clusters=cl)
    est, se = fit.contrast([0.0, 1.0])
    G = int(fit.n_clusters)
    note = "units weighted equally; biased toward the direct effect by edges cut between clusters"
    few = few_clusters_message(G, "the interval")
    if few:
        note += "; " + few
    if inference == "t":
        return Estimate.from_se(estimand=estimand, estimate=est, std_error=se, n=y.shape[0], n_clusters=G,
                                method="difference in means, clustered", variance=f"{cov_type} cluster-robust",
                                df=fit.contrast_df([0.0, 1.0]), confidence_level=confidence_level, note=note)
    from ._wild_bootstrap import wild_cluster_bootstrap

    r = wild_cluster_bootstrap(X, y, cl, 1, confidence_level=confidence_level, n_boot=n_boot,
                               weights=bootstrap_weights, rng=rng)
    from ._result import zero_se_to_nan

    if np.isnan(zero_se_to_nan(float(se), float(est), estimand)):  # warned: no interval from a zero variance
        se, r = float("nan"), {"ci": (float("nan"), float("nan")), "p_value": float("nan")}
    return Estimate(estimand, float(est), float(se), tuple(float(v) for v in r["ci"]), float(r["p_value"]),
                    int(y.shape[0]), "difference in means, clustered",
                    f"{cov_type} cluster-robust; interval and p-value: restricted wild cluster bootstrap "
                    f"({bootstrap_weights} weights, {n_boot} draws)", None, G, float(confidence_level), note)


EXPOSURE_COVARIANCE_TYPES = ("HC0", "HC1", "HC2", "HC3", "CR0", "CR1", "CR2", "network-HAC", "cluster-draws")

_EXPOSURE_NOTE = ("model-based: valid if outcomes depend on the assignment only through own treatment and the "
                  "fraction of treated neighbours, linearly")


@dataclasses.dataclass(frozen=True, eq=False)
class ExposureRegressionFit:
    r"""A fitted exposure regression from which every covariance type can be read.

    Built by :func:`exposure_regression_fit`. Coefficients are fixed at fit time; covariances are
    computed on first request and kept (the network HAC needs one truncated BFS per unit).

    Attributes
    ----------
    params : ndarray
        Coefficients in the order of ``names``: intercept, ``z``, ``fraction``, then the
        centred covariates.
    names : tuple of str
    n : int
    share : float
        Share of units with at least one neighbour (scales the spillover coefficient).
    weighted : bool
    """

    params: np.ndarray
    names: tuple
    n: int
    share: float
    weighted: bool
    _X: np.ndarray = dataclasses.field(repr=False)
    _y: np.ndarray = dataclasses.field(repr=False)
    _weights: np.ndarray | None = dataclasses.field(repr=False)
    _clusters: np.ndarray | None = dataclasses.field(repr=False)
    _graph: Any = dataclasses.field(repr=False)
    _bandwidth: int | None = dataclasses.field(repr=False)
    _kernel: str = dataclasses.field(repr=False)
    _cache: dict = dataclasses.field(default_factory=dict, repr=False)
    _design: Any = dataclasses.field(default=None, repr=False)

    def default_cov_type(self) -> str:
        """``cluster-draws`` with a design, else ``CR2`` with clusters, else ``network-HAC`` with a graph, else
        ``HC1``."""
        if self._design is not None:
            return "cluster-draws"
        if self._clusters is not None:
            return "CR2"
        return "network-HAC" if self._graph is not None else "HC1"

    def _fit(self, cov_type: str) -> tuple[OLSFit, str]:
        cov_type = check_option("cov_type", cov_type, EXPOSURE_COVARIANCE_TYPES)
        if cov_type in self._cache:
            return self._cache[cov_type]
        if cov_type == "network-HAC":
            if self._graph is None:
                raise InputError("cov_type='network-HAC' needs graph= (the network whose path distances define "
                                 "which units' errors may be correlated).")
            from ._hac import network_hac_meat

            X, y, w = self._X, self._y, (np.ones(self.n) if self._weights is None else self._weights)
            M = np.linalg.inv((X * w[:, None]).T @ X)
            e = y - X @ self.params
            meat, b, corrected = network_hac_meat(self._graph, X * (w * e)[:, None], self._bandwidth, self._kernel)
            k = X.shape[1]
            # small-sample: the HC1 factor n / (n - k) here; per contrast (OLSFit.contrast) nu / (nu - k) and a
            # t reference on nu, the Satterthwaite df of the HAC quadratic form (network_hac_df)
            V = M @ meat @ M * (self.n / (self.n - k))
            fit = OLSFit(self.params, 0.5 * (V + V.T), None, self.n, None, cov_type,
                         _hac=(self._graph, X * w[:, None] @ M, b, self._kernel, {}))
            label = (f"network HAC ({self._kernel} kernel, bandwidth {b}"
                     + (", eigenvalue-corrected" if corrected else "") + "; n/(n-k), nu/(nu-k), t on the Satterthwaite df nu)")
        else:
            if cov_type.startswith("CR") and self._clusters is None:
                raise InputError(f"cov_type={cov_type!r} needs clusters= (the cluster label of every unit).")
            fit = ols(self._X, self._y, cov_type=cov_type, clusters=self._clusters, weights=self._weights)
            label = f"{cov_type} robust"
        self._cache[cov_type] = (fit, label)
        return fit, label

    def cov(self, cov_type: str | None = None) -> np.ndarray:
        """Covariance matrix of ``params`` (a copy) for one of ``EXPOSURE_COVARIANCE_TYPES``.

        ``"cluster-draws"``: the linearized design covariance without the per-contrast
        :math:`\\nu/(\\nu-k)` factor that :meth:`estimates` applies."""
        cov_type = check_option("cov_type", cov_type or self.default_cov_type(), EXPOSURE_COVARIANCE_TYPES)
        if cov_type == "cluster-draws":
            from ._draw_variance import cluster_draw_cov

            return cluster_draw_cov(self, self._graph, self._design)
        return self._fit(cov_type)[0].cov.copy()

    def estimates(self, cov_type: str | None = None, *, confidence_level: float = 0.95) -> EstimateTable:
        """Direct, spillover and global effects with standard errors of the chosen covariance type."""
        check_confidence_level(confidence_level)
        cov_type = check_option("cov_type", cov_type or self.default_cov_type(), EXPOSURE_COVARIANCE_TYPES)
        if cov_type == "cluster-draws":
            from ._draw_variance import cluster_draw_estimates

            return cluster_draw_estimates(self, self._graph, self._design, confidence_level=confidence_level)
        fit, label = self._fit(cov_type)
        k = self.params.shape[0]
        out = []
        for name, head in (("direct effect", [0, 1, 0]), ("spillover effect", [0, 0, self.share]),
                           ("global effect", [0, 1, self.share])):
            c = np.zeros(k)
            c[:3] = head
            est, se = fit.contrast(c)
            out.append(Estimate.from_se(estimand=name, estimate=est, std_error=se, n=fit.n,
                                        n_clusters=fit.n_clusters,
                                        method="exposure regression" + (" (weighted)" if self.weighted else ""),
                                        variance=label, df=fit.contrast_df(c), confidence_level=confidence_level,
                                        note=_EXPOSURE_NOTE))
        return EstimateTable(out)


@aligned("y", "z", "fraction", "weights", "covariates", "clusters", "isolated")
def exposure_regression_fit(y: Any, z: Any, fraction: Any, *, weights: Any = None, covariates: Any = None,
                            clusters: Any = None, graph: Any = None, isolated: Any = None,
                            bandwidth: int | None = None, kernel: str = "uniform",
                            design: Any = None) -> ExposureRegressionFit:
    r"""Fit the exposure regression once; read estimates for any covariance type from the result.

    Same model and arguments as :func:`exposure_regression` (which calls this and returns
    ``fit.estimates(cov_type)``).

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> g = ne.erdos_renyi(300, 0.01, rng=0)
    >>> z = ne.Bernoulli(300, p=0.5).sample(rng=0)
    >>> f = ne.fraction_treated_neighbors(g, z)
    >>> y = 1 + 0.5 * z + 1.0 * f + np.random.default_rng(1).normal(size=300)
    >>> from netexp.estimators import exposure_regression_fit
    >>> fit = exposure_regression_fit(y, z, f, graph=g)
    >>> [e.variance for e in (fit.estimates("HC2")[0], fit.estimates("network-HAC")[0])]
    ['HC2 robust', 'network HAC (uniform kernel, bandwidth 2; n/(n-k), nu/(nu-k), t on the Satterthwaite df nu)']
    """
    from .._errors import EstimationWarning

    if hasattr(fraction, "fraction") and hasattr(fraction, "isolated"):  # a NeighborhoodExposure: both at once
        if isolated is None:
            isolated = fraction.isolated
        fraction = fraction.fraction
    y, zb = _prep(y, z)
    n = y.shape[0]
    if isolated is None and graph is not None and graph.n_nodes == n:
        isolated = np.diff(np.asarray(graph.indptr)) == 0
    if isolated is None:
        warn("exposure_regression: isolated= not given, so every unit is assumed to have neighbours; units "
             "without neighbours cannot be exposed and bias the global effect when counted as exposable. "
             "Pass the NeighborhoodExposure of ne.exposure(g, z) as `fraction` (or isolated=expo.isolated, "
             "or graph=g).", EstimationWarning)
    elif np.asarray(isolated, dtype=bool).shape != (n,):
        raise InputError(f"isolated must be a bool vector of length {n}; got shape {np.shape(isolated)}.")
    elif np.asarray(isolated, dtype=bool).all():
        raise EstimationError("every unit is isolated (no neighbours), so no unit can be exposed to treated "
                              "neighbours and the spillover effect is not estimable.")
    f = check_finite_vector("fraction", fraction, n)
    if (f < 0).any() or (f > 1).any():
        raise InputError("fraction must lie in [0, 1].")
    if np.ptp(f) == 0:
        raise EstimationError("The fraction of treated neighbours is the same for every unit; the spillover "
                              "coefficient is not identified. Use a design that varies neighbourhood exposure.")
    w = None
    if weights is not None:
        w = check_finite_vector("weights", weights, n)
        if (w <= 0).any():
            raise InputError(f"weights must be positive (e.g. inverse exposure probabilities); got "
                             f"{int((w <= 0).sum())} zero or negative values. Drop those units instead.")
    cl = None if clusters is None else _cluster_codes(clusters, n)
    if graph is not None and graph.n_nodes != n:
        raise InputError(f"graph must have one node per unit ({n}); got a graph on {graph.n_nodes} nodes.")
    if design is not None and getattr(design, "n_units", None) != n:
        raise InputError(f"design must assign one unit per outcome ({n}); got {type(design).__name__} on "
                         f"{getattr(design, 'n_units', '?')} units. With outcomes on a subset of the units use "
                         "cov_type='CR2' with clusters= (cluster designs) or 'HC1' (unit designs).")
    if kernel is not None:
        from ._hac import HAC_KERNELS

        kernel = check_option("kernel", kernel, HAC_KERNELS)
    X = np.column_stack([np.ones(n), zb.astype(float), f])
    names = ["intercept", "z", "fraction"]
    if covariates is not None:
        from ._lin import centred_covariates

        C, cnames = centred_covariates(covariates, n, weights=w)
        X = np.column_stack([X, C])
        names += cnames
    base = ols(X, y, cov_type="HC0", weights=w)
    share = 1.0 if isolated is None else float(1.0 - np.mean(np.asarray(isolated, dtype=bool)))
    X.flags.writeable = False
    return ExposureRegressionFit(base.params, tuple(names), n, share, w is not None, X, y, w, cl, graph,
                                 bandwidth, kernel, {"HC0": (base, "HC0 robust")}, design)


@aligned("y", "z", "fraction", "clusters", "isolated", "weights", "covariates")
def exposure_regression(y: Any, z: Any, fraction: Any, *, clusters: Any = None, cov_type: str | None = None,
                        isolated: Any = None, confidence_level: float = 0.95, weights: Any = None,
                        covariates: Any = None, graph: Any = None, bandwidth: int | None = None,
                        kernel: str = "uniform", design: Any = None) -> EstimateTable:
    r"""Regression of outcomes on own treatment and fraction of treated neighbours.

    .. math:: Y_i = \beta_0 + \beta_1 Z_i + \beta_2 F_i + \tilde x_i'\gamma + e_i

    Reports three estimands, each with its own standard error:

    - ``direct effect`` :math:`\beta_1`;
    - ``spillover effect`` :math:`\beta_2 \bar c`: going from no to all neighbours treated,
      averaged over units, where :math:`\bar c` is the share of units with at least one
      neighbour (isolated units cannot receive spillover);
    - ``global effect`` :math:`\beta_1 + \beta_2 \bar c`, standard error from the covariance of
      the two coefficients.

    Parameters
    ----------
    y, z, fraction : array-like, shape (n,)
        Outcomes, treatment (0/1) and fraction of treated neighbours (in [0, 1]).
    clusters : array-like, optional
        Cluster label per unit, for the CR covariances (required whenever the design randomized
        clusters).
    cov_type : {"HC0", "HC1", "HC2", "HC3", "CR0", "CR1", "CR2", "network-HAC", "cluster-draws"}, optional
        Default ``cluster-draws`` with a design, else ``CR2`` with clusters, else ``network-HAC``
        with a graph, else ``HC1``. ``"cluster-draws"`` (with ``graph=`` and ``design=``) is the
        design-based variance over the draws of a cluster design (Notes); it is what ``netexp run``,
        ``netexp analyze`` and :meth:`Experiment.analyze` use for cluster Bernoulli / complete
        cluster designs with every unit's outcome.
    isolated : array-like of bool, optional
        Units with no neighbour; sets :math:`\bar c`.
    confidence_level : float
    weights : array-like, optional
        Positive weights, e.g. inverse probabilities of each unit's observed exposure: weighted
        least squares (the HC/CR formulas apply to the :math:`\sqrt{w}`-scaled data).
    covariates : DataFrame or array-like, optional
        Pre-treatment covariates, centred at their (weighted) mean so the intercept remains the
        mean outcome of untreated units with no treated neighbours; categorical columns become
        dummies. Constant or collinear columns raise :class:`EstimationError`.
    graph : Graph, optional
        The network, for ``cov_type="network-HAC"`` and ``"cluster-draws"``.
    bandwidth : int, optional
        Network HAC bandwidth in hops; default Leung's rule (:func:`network_hac_bandwidth`).
    kernel : {"uniform", "bartlett", "parzen"}
        Network HAC kernel; uniform by default (Leung 2022). The network HAC covariance is Leung's
        with the small-sample factors :math:`n/(n-k)` and, per contrast, :math:`\\nu/(\\nu-k)`, and a t
        reference on :math:`\\nu`, the Satterthwaite df of the HAC quadratic form
        (:func:`netexp.estimators._hac.network_hac_df`: the effective number of independent
        neighbourhoods), so the interval tends to Leung's normal one as the graph grows. At n = 1000
        (``benchmarks/bench_intervals_hac.py``, 1000 experiments each) Leung's normal interval covered
        the direct effect 0.937 / 0.924 / 0.917 (Erdos-Renyi / two Barabasi-Albert graphs), this one
        0.953 / 0.955 / 0.955, 9-15% wider. ``fit.cov("network-HAC")`` has the n/(n-k) factor only.
    design : ClusterRandomized, optional
        The cluster design that drew ``z``, for ``cov_type="cluster-draws"``: its clusters and the
        exact joint probabilities of its cluster-level design (Bernoulli, complete randomization, or
        any with a closed form). ``z`` and ``fraction`` must be what its clusters' draws give on
        ``graph`` for every unit (node order, all units).

    Returns
    -------
    EstimateTable

    Notes
    -----
    Valid when the linear-in-means model holds (outcomes depend on the assignment only through
    own treatment and the fraction treated); it is a model-based estimator, unlike the
    design-based ones. Covariates change only the precision: centred, they leave
    :math:`\beta_1, \beta_2` with the same meaning.

    **Network HAC** (Kojevnikov, Marmer & Song 2021; Leung 2022): with
    :math:`W = \mathrm{diag}(w)`, scores :math:`s_i = x_i w_i e_i` and :math:`d(i,j)` the path
    distance in the graph (directions ignored),

    .. math:: \hat V = (X'WX)^{-1} \Big[\sum_{i,j:\, d(i,j) \le b} K\big(d(i,j)/b\big)\,
              s_i s_j'\Big] (X'WX)^{-1},

    uniform :math:`K` by default (Bartlett / Parzen optional). Bandwidth (Leung 2022, as in his
    ``networkinference`` package): with :math:`L` the average path length of the largest component
    and :math:`\delta` the average degree, :math:`b = \mathrm{round}(L/2)` if
    :math:`L < 2\log n/\log\delta`, else :math:`\mathrm{round}(L^{1/3})`, at least 1. If the bracket
    is not positive semi-definite its negative eigenvalues are set to zero, with an
    :class:`EstimationWarning`. Normal reference distribution (no df). It allows the errors of
    units up to :math:`b` hops apart to be correlated, as happens when outcomes depend on
    neighbours' shocks or on treatments beyond the exposure mapping (approximate neighbourhood
    interference); it does not repair a misspecified exposure mapping's bias.

    **Cluster draws** (``cov_type="cluster-draws"``). Estimand: the same coefficients and
    contrasts; the variance is their variance over the cluster design's draws with the potential
    outcomes fixed (finite population; noise independent of the assignment is part of them). Why
    it is valid where CR2 is not: under a cluster design every regressor is linear in the
    clusters' draws :math:`Z_1, \dots, Z_G`, :math:`z_i = Z_{c(i)}` and
    :math:`f_i = \sum_g W_{ig} Z_g` (:math:`W_{ig}` the share of unit i's neighbours in cluster
    g), so with the errors fixed the score is linear in the draws,
    :math:`X'e = \text{const} + \sum_g Z_g a_g` with
    :math:`a_g = (0, \sum_{i \in g} e_i, \sum_i W_{ig} e_i, 0, \dots)'`, and its covariance is
    exactly :math:`A'\,\mathrm{Cov}(Z)\,A` with :math:`\mathrm{Cov}(Z)` from the design's joint
    probabilities (Bernoulli: :math:`\mathrm{diag}(p_g(1-p_g))`). A contrast :math:`c'\hat\beta`
    gets, to first order, :math:`t'\,\mathrm{Cov}(Z)\,t` with :math:`t = A(X'X)^{-1}c`, residuals
    standing in for :math:`e`. CR2 instead treats the clusters' summed scores as independent,
    although a cluster's exposures depend on the draws of the clusters bordering it: in ``netexp
    run``'s cluster design (47 clusters) CR2 covered 0.922-0.934 and this 0.936-0.955, 1.12-1.16x
    wider (README, "What the estimators estimate"). Small sample: the contrast's variance is
    multiplied by :math:`\nu/(\nu-k)` and the interval uses t on :math:`\nu`, the Satterthwaite
    df of the quadratic form under independent homoskedastic errors; when
    :math:`\nu \le k + 1` (a handful of clusters) no standard error is reported and the note
    says why (use CR2 then). It refuses (:class:`InputError`, naming ``cov_type="CR2"`` with
    ``clusters=`` as the fix) a design that is not a ``ClusterRandomized`` (for unit designs use
    the network HAC), a cluster-level design without exact joint probabilities, weights
    (assignment-dependent weights move with the draws), a ``z`` or ``fraction`` the design's
    draws do not give (e.g. outcomes on a subset of the units) and more than 5000 clusters
    (dense :math:`G \times G` covariance). ``fit.cov("cluster-draws")`` is
    :math:`(X'X)^{-1}A'\,\mathrm{Cov}(Z)\,A(X'X)^{-1}` without the :math:`\nu/(\nu-k)` factor.

    Other covariances: see :func:`ols`; CR2 uses the Bell-McCaffrey df.

    References
    ----------
    Kojevnikov, D., Marmer, V. & Song, K. (2021). Limit theorems for network dependent random
    variables. *Journal of Econometrics* 222(2), 882-908.
    Leung, M. P. (2022). Causal inference under approximate neighborhood interference.
    *Econometrica* 90(1), 267-293.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> g = ne.erdos_renyi(300, 0.01, rng=0)
    >>> z = ne.Bernoulli(300, p=0.5).sample(rng=0)
    >>> f = ne.fraction_treated_neighbors(g, z)
    >>> y = 1 + 0.5 * z + 1.0 * f + np.random.default_rng(1).normal(size=300)
    >>> t = ne.exposure_regression(y, z, f, graph=g, cov_type="network-HAC")
    >>> round(t["direct effect"].estimate, 2)
    0.67

    Under a cluster design, the variance over its cluster draws:

    >>> labels = np.arange(300) % 30
    >>> cd = ne.ClusterRandomized(labels, cluster_design=ne.Bernoulli(30, p=0.5))
    >>> z = cd.sample(rng=0)
    >>> expo = ne.exposure(g, z)
    >>> y = 1 + 0.5 * z + 1.0 * expo.fraction + np.random.default_rng(1).normal(size=300)
    >>> ne.exposure_regression(y, z, expo, graph=g, design=cd, cov_type="cluster-draws")[0].variance[:36]
    'design-based over the cluster draws '
    """
    check_confidence_level(confidence_level)
    if cov_type is not None:
        cov_type = check_option("cov_type", cov_type, EXPOSURE_COVARIANCE_TYPES)
    fit = exposure_regression_fit(y, z, fraction, weights=weights, covariates=covariates, clusters=clusters,
                                  graph=graph, isolated=isolated, bandwidth=bandwidth, kernel=kernel,
                                  design=design)
    return fit.estimates(cov_type, confidence_level=confidence_level)
