"""Power and minimum detectable effects: closed forms for unit and cluster designs, and by simulation."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._errors import InputError
from .._validation import check_int, check_option, check_positive, check_probability

__all__ = ["design_effect", "power_cluster", "mde_cluster", "power_individual", "mde_individual", "simulate_power",
           "SimulatedPower", "power_curve", "plot_power_curve"]


def design_effect(cluster_size: float, icc: float, cluster_size_cv: float = 0.0) -> float:
    r"""Variance inflation of a cluster design over individual randomization of the same units.

    .. math:: DE = 1 + \{(1 + CV^2)\,\bar m - 1\}\,\rho

    with mean cluster size :math:`\bar m`, coefficient of variation of cluster sizes :math:`CV`
    and intracluster correlation :math:`\rho` (Eldridge, Ashby & Kerry 2006; :math:`CV = 0`
    gives Kish's :math:`1 + (m - 1)\rho`).

    References
    ----------
    Eldridge, S. M., Ashby, D., & Kerry, S. (2006). Sample size for cluster randomized trials:
    effect of coefficient of variation of cluster size and analysis method. *International
    Journal of Epidemiology*, 35(5), 1292-1300.

    Examples
    --------
    >>> from netexp.diagnostics import design_effect
    >>> round(design_effect(20, 0.05), 6)
    1.95
    """
    m = check_positive("cluster_size", cluster_size)
    rho = check_probability("icc", icc, open_interval=False)
    cv = check_positive("cluster_size_cv", cluster_size_cv, allow_zero=True)
    return float(1.0 + ((1.0 + cv**2) * m - 1.0) * rho)


def _power_from_ncp(ncp: float, df: float | None, alpha: float) -> float:
    """Two-sided power of a test with non-centrality ``ncp`` (t on ``df`` or normal when None)."""
    if df is None:
        z = stats.norm.ppf(1 - alpha / 2)
        return float(stats.norm.sf(z - ncp) + stats.norm.cdf(-z - ncp))
    t = stats.t.ppf(1 - alpha / 2, df)
    d = abs(float(ncp))
    # P(T < -t) = P(-T > t), -T noncentral with -ncp; scipy's nct.cdf in the far tail returns NaN
    far = float(stats.nct.sf(t, df, -d))
    return float(stats.nct.sf(t, df, d) + (far if np.isfinite(far) else 0.0))


def _check_common(effect, sd, p, alpha, distribution):
    effect = float(effect)
    if not np.isfinite(effect):
        raise InputError(f"effect must be a finite number; got {effect!r}.")
    sd = check_positive("sd", sd)
    p = check_probability("p", p)
    alpha = check_probability("alpha", alpha)
    distribution = check_option("distribution", distribution, ("t", "normal"))
    return effect, sd, p, alpha, distribution


def power_cluster(effect: float, *, n_clusters: int, cluster_size: float, icc: float, sd: float = 1.0,
                  p: float = 0.5, alpha: float = 0.05, cluster_size_cv: float = 0.0,
                  distribution: str = "t") -> float:
    r"""Power of a two-sided test of no effect in a cluster-randomized experiment.

    Parameters
    ----------
    effect : float
        True average effect (outcome units).
    n_clusters : int
        Clusters randomized, :math:`K`.
    cluster_size : float
        Mean units per cluster, :math:`\bar m`.
    icc : float in [0, 1]
        Intracluster correlation of the outcome, :math:`\rho`.
    sd : float, default 1
        Total outcome standard deviation :math:`\sigma` (between plus within clusters).
    p : float, default 0.5
        Share of clusters treated.
    alpha : float, default 0.05
    cluster_size_cv : float, default 0
        Coefficient of variation of cluster sizes (0: equal sizes).
    distribution : {"t", "normal"}, default "t"
        Reference distribution: Student t on :math:`K - 2` degrees of freedom (the analysis of
        cluster means by a pooled two-sample t test) or normal.

    Notes
    -----
    The difference in means has variance
    :math:`V = \sigma^2 \, DE / \{K \bar m \, p(1-p)\}` with the design effect
    :math:`DE = 1 + \{(1 + CV^2)\bar m - 1\}\rho` (:func:`design_effect`). With
    :math:`\delta = \tau/\sqrt V` and critical value :math:`c = t_{K-2,\,1-\alpha/2}`, power is
    :math:`P(T > c) + P(T < -c)` for :math:`T` noncentral t with :math:`K - 2` df and
    non-centrality :math:`\delta` (exact for equal cluster sizes, normal random effects and a
    t test on cluster means); with ``distribution="normal"``,
    :math:`\Phi(\delta - z_{1-\alpha/2}) + \Phi(-\delta - z_{1-\alpha/2})`. With unequal sizes
    the design effect is Eldridge et al.'s approximation for the unit-weighted analysis.

    References
    ----------
    Eldridge, S. M., Ashby, D., & Kerry, S. (2006). Sample size for cluster randomized trials:
    effect of coefficient of variation of cluster size and analysis method. *International
    Journal of Epidemiology*, 35(5), 1292-1300.

    Donner, A., & Klar, N. (2000). *Design and Analysis of Cluster Randomization Trials in Health
    Research*. Arnold.

    Examples
    --------
    >>> from netexp.diagnostics import power_cluster
    >>> round(power_cluster(0.2, n_clusters=60, cluster_size=20, icc=0.05), 3)
    0.684
    """
    effect, sd, p, alpha, distribution = _check_common(effect, sd, p, alpha, distribution)
    K = check_int("n_clusters", n_clusters, low=3)
    de = design_effect(cluster_size, icc, cluster_size_cv)
    v = sd**2 * de / (K * float(cluster_size) * p * (1 - p))
    return _power_from_ncp(effect / np.sqrt(v), K - 2 if distribution == "t" else None, alpha)


def power_individual(effect: float, *, n: int, sd: float = 1.0, p: float = 0.5, alpha: float = 0.05,
                     distribution: str = "t") -> float:
    r"""Power of a two-sided test of no effect when ``n`` units are randomized individually.

    Notes
    -----
    :math:`V = \sigma^2/\{n p (1-p)\}`, non-centrality :math:`\delta = \tau/\sqrt V`, power as
    in :func:`power_cluster` with :math:`n - 2` df (the pooled two-sample t test), or normal.

    References
    ----------
    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences* (2nd ed.). Erlbaum.

    Examples
    --------
    >>> from netexp.diagnostics import power_individual
    >>> round(power_individual(0.2, n=1000), 3)
    0.885
    """
    effect, sd, p, alpha, distribution = _check_common(effect, sd, p, alpha, distribution)
    n = check_int("n", n, low=3)
    v = sd**2 / (n * p * (1 - p))
    return _power_from_ncp(effect / np.sqrt(v), n - 2 if distribution == "t" else None, alpha)


def _mde(power_fn: Callable[[float], float], power: float, scale: float) -> float:
    power = check_probability("power", power)
    lo, hi = 0.0, scale
    while power_fn(hi) < power:
        hi *= 2
        if hi > 1e6 * scale:
            raise InputError("no effect size reaches this power; check the inputs.")
    return float(optimize.brentq(lambda e: power_fn(e) - power, lo, hi, xtol=1e-12 * scale))


def mde_cluster(*, n_clusters: int, cluster_size: float, icc: float, sd: float = 1.0, p: float = 0.5,
                alpha: float = 0.05, power: float = 0.8, cluster_size_cv: float = 0.0,
                distribution: str = "t") -> float:
    """Minimum detectable effect of a cluster design: the effect with the given ``power``.

    Solves :func:`power_cluster` ``= power`` for the effect (root finding on the exact power,
    not the :math:`(z_{1-\\alpha/2} + z_{power})` shortcut).

    Examples
    --------
    >>> from netexp.diagnostics import mde_cluster, power_cluster
    >>> e = mde_cluster(n_clusters=60, cluster_size=20, icc=0.05)
    >>> round(power_cluster(e, n_clusters=60, cluster_size=20, icc=0.05), 6)
    0.8
    """
    kw = dict(n_clusters=n_clusters, cluster_size=cluster_size, icc=icc, sd=sd, p=p, alpha=alpha,
              cluster_size_cv=cluster_size_cv, distribution=distribution)
    power_cluster(0.0, **kw)  # validates
    return _mde(lambda e: power_cluster(e, **kw), power, float(sd))


def mde_individual(*, n: int, sd: float = 1.0, p: float = 0.5, alpha: float = 0.05, power: float = 0.8,
                   distribution: str = "t") -> float:
    """Minimum detectable effect when ``n`` units are randomized individually (see :func:`mde_cluster`).

    Examples
    --------
    >>> from netexp.diagnostics import mde_individual
    >>> round(mde_individual(n=1000), 4)
    0.1774
    """
    kw = dict(n=n, sd=sd, p=p, alpha=alpha, distribution=distribution)
    power_individual(0.0, **kw)
    return _mde(lambda e: power_individual(e, **kw), power, float(sd))


@dataclasses.dataclass(frozen=True)
class SimulatedPower:
    """Power estimated by simulation: rejection rate, its Monte Carlo SE, and the full diagnosis row."""

    power: float
    mc_se: float
    n_sims: int
    effect: float
    row: dict

    def __float__(self) -> float:
        return self.power


def _with_effect(outcome_model, effect, effect_param):
    if effect_param is None and not hasattr(outcome_model, "realize") and callable(outcome_model):
        return outcome_model(effect)
    name = effect_param or getattr(type(outcome_model), "_effect_param", None)
    if name is None:
        from ..simulate import LinearInMeans

        if isinstance(outcome_model, LinearInMeans):
            name = "direct"
    if name is None or not dataclasses.is_dataclass(outcome_model) or not hasattr(outcome_model, name):
        raise InputError(f"simulate_power: cannot set the effect of {type(outcome_model).__name__}; pass "
                         "effect_param='<field name>' or outcome_model as a function effect -> model.")
    return dataclasses.replace(outcome_model, **{name: float(effect)})


def simulate_power(design, estimator: Any, outcome_model: Any, *, effect: float, n_sims: int = 1000, rng=None,
                   graph=None, effect_param: str | None = None, confidence_level: float = 0.95,
                   noise: str = "redraw", n_jobs: int = 1, executor=None) -> SimulatedPower:
    """Power of ``estimator`` under ``design`` by simulation (:func:`~netexp.diagnostics.diagnose`).

    Parameters
    ----------
    design : Design
    estimator : str or callable
        A built-in estimator name or ``f(ctx) -> Estimate`` (see :func:`diagnose`).
    outcome_model : outcome model, or callable ``effect -> outcome model``
        The model's effect parameter (``effect_param``; by default ``direct`` for
        LinearInMeans and ThresholdContagion, ``effect`` for HeterogeneousPopulation) is set to
        ``effect``.
    effect : float
    n_sims : int, default 1000
    rng : None, int, SeedSequence or Generator
    graph : Graph, optional
    n_jobs, executor
        Parallel simulation, as in :func:`diagnose` (``executor``: any
        ``concurrent.futures.Executor``, e.g. a Dask client's ``get_executor()``).

    Returns
    -------
    SimulatedPower
        ``power`` = share of intervals at ``confidence_level`` excluding 0; ``mc_se`` its
        binomial Monte Carlo standard error.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.diagnostics import simulate_power
    >>> from netexp.simulate import HeterogeneousPopulation
    >>> r = simulate_power(ne.Complete(400, p=0.5), "difference-in-means", HeterogeneousPopulation(),
    ...                    effect=0.0, n_sims=200, rng=0)
    >>> 0.0 < r.power <= 1.0
    True
    """
    from ._diagnose import diagnose

    model = _with_effect(outcome_model, effect, effect_param)
    dx = diagnose({"design": design}, {"estimator": estimator}, model, graph, n_sims=n_sims, rng=rng,
                  diagnosands=("power", "bias", "coverage"), confidence_level=confidence_level, noise=noise,
                  n_jobs=n_jobs, executor=executor)
    row = dx.to_frame().iloc[0].to_dict()
    return SimulatedPower(float(row["power"]), float(row["power_mc_se"]), int(row["n_sims"]), float(effect), row)


def power_curve(x: str, values: Any, *, kind: str = "cluster", effect: float | None = None,
                n_clusters: int | None = None, cluster_size: float | None = None, icc: float | None = None,
                n: int | None = None, sd: float = 1.0, p: float = 0.5, alpha: float = 0.05,
                cluster_size_cv: float = 0.0, distribution: str = "t") -> pd.DataFrame:
    """Closed-form power over a grid of one input.

    Parameters
    ----------
    x : {"n_clusters", "effect", "n", "icc", "cluster_size"}
        The input that varies; the others are fixed by the keyword arguments.
    values : sequence
    kind : {"cluster", "individual"}
        :func:`power_cluster` or :func:`power_individual`.

    Returns
    -------
    DataFrame
        One row per value: the column named ``x``, ``power``, and the fixed inputs. Plot it with
        :func:`plot_power_curve`.

    Examples
    --------
    >>> from netexp.diagnostics import power_curve
    >>> pc = power_curve("n_clusters", [20, 40, 80], effect=0.2, cluster_size=20, icc=0.05)
    >>> pc["power"].round(3).tolist()
    [0.274, 0.506, 0.808]
    """
    kind = check_option("kind", kind, ("cluster", "individual"))
    allowed = ("n_clusters", "effect", "icc", "cluster_size") if kind == "cluster" else ("n", "effect")
    x = check_option("x", x, allowed)
    vals = list(np.atleast_1d(np.asarray(values)).tolist())
    if not vals:
        raise InputError("values is empty; give the grid of the varying input.")
    fixed = (dict(effect=effect, n_clusters=n_clusters, cluster_size=cluster_size, icc=icc)
             if kind == "cluster" else dict(effect=effect, n=n))
    missing = [k for k, v in fixed.items() if v is None and k != x]
    if missing:
        raise InputError(f"power_curve(kind={kind!r}, x={x!r}) needs {', '.join(missing)}.")
    rows = []
    for v in vals:
        kw = {**fixed, x: v}
        e = kw.pop("effect")
        if kind == "cluster":
            pw = power_cluster(e, sd=sd, p=p, alpha=alpha, cluster_size_cv=cluster_size_cv,
                               distribution=distribution, **kw)
        else:
            pw = power_individual(e, sd=sd, p=p, alpha=alpha, distribution=distribution, **kw)
        rows.append({x: v, "power": pw, **{k: val for k, val in {**fixed, "effect": e}.items() if k != x},
                     "sd": sd, "p": p, "alpha": alpha})
    out = pd.DataFrame(rows)
    out.attrs["x"] = x
    out.attrs["kind"] = kind
    return out


def plot_power_curve(frame: pd.DataFrame, ax=None, **kwargs):
    """Plot a :func:`power_curve` frame (``netexp.plots.plot_power_curve``, matplotlib imported lazily)."""
    from ..plots import plot_power_curve as _plot

    return _plot(frame, ax=ax, **kwargs)
