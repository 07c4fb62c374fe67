"""Fisher randomization tests whose null draws come from the design, and intervals by test inversion."""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd

from .._align import aligned
from .._errors import DesignError, EstimationError, InputError
from .._validation import (check_binary_matrix, check_confidence_level, check_finite_vector, check_int, check_option,
                           check_rng)
from .._executor import check_executor
from ._statistics import EXPOSURE_STATISTICS, Statistic, make_statistic

__all__ = ["RandomizationTestResult", "RandomizationInterval", "randomization_test",
           "randomization_confidence_interval", "ALTERNATIVES"]

ALTERNATIVES = ("two-sided", "greater", "less")
#: relative tolerance for ties: a null value counts as "as extreme" when it is within
#: TIE_RTOL * (scale of the statistic) of the observed one, so that assignments giving the same
#: statistic mathematically are not split by floating-point rounding
TIE_RTOL = 1e-9
_AUTO_EXACT_MAX = 14          # "auto" tries enumeration when the design randomizes <= 14 units or clusters
_BATCH_ELEMENTS = 2**23       # draws per batch: ~2^23 unit-draws (64 MB as float64)


# ===================================================================== result
@dataclasses.dataclass(frozen=True, eq=False)
class RandomizationTestResult:
    """Outcome of a randomization test.

    Attributes
    ----------
    statistic : str
        Name of the test statistic.
    observed : float
        Statistic at the observed assignment.
    null_distribution : ndarray
        Statistic under every null draw (Monte Carlo) or every assignment of the support (exact),
        draws where it is undefined (an empty arm) removed. Read-only.
    p_value : float
    alternative : {"two-sided", "greater", "less"}
    method : str
        ``"exact enumeration over N assignments"`` or ``"Monte Carlo: (count+1)/(n_draws+1)"``.
    n_draws : int
        Null draws (or support size) used.
    weights : ndarray or None
        Probability of each assignment of ``null_distribution`` (exact enumeration); None for draws.
    null_effect : float or ndarray
        The constant additive effect of the sharp null hypothesis, or the unit effects (read-only
        array, one per unit) when the null gave a vector.
    null_mean : float
        Mean of the statistic under the null (the centre of the two-sided test).
    n_undefined : int
        Draws left out because the statistic was undefined there (the test is then conditional on
        the statistic being defined, which the observed assignment satisfies).
    note : str
    """

    statistic: str
    observed: float
    null_distribution: np.ndarray
    p_value: float
    alternative: str
    method: str
    n_draws: int
    weights: np.ndarray | None = None
    null_effect: float = 0.0
    null_mean: float = float("nan")
    n_undefined: int = 0
    note: str = ""

    @property
    def exact(self) -> bool:
        return self.weights is not None

    def to_dict(self) -> dict:
        """Scalar fields (the null distribution left out)."""
        return {"statistic": self.statistic, "observed": self.observed, "p_value": self.p_value,
                "alternative": self.alternative, "method": self.method, "n_draws": self.n_draws,
                "null_effect": self.null_effect, "null_mean": self.null_mean, "n_undefined": self.n_undefined,
                "note": self.note}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        q = np.quantile(self.null_distribution, [0.025, 0.5, 0.975]) if self.null_distribution.size else [np.nan] * 3
        lines = [f"Randomization test: {self.statistic}",
                 f"  observed        {self.observed: .6g}",
                 f"  null            mean {self.null_mean:.6g}; 2.5/50/97.5% {q[0]:.4g} / {q[1]:.4g} / {q[2]:.4g}",
                 f"  p-value         {self.p_value:.4g}   ({self.alternative}; H0: {_describe_null(self.null_effect)})",
                 f"  method          {self.method}"]
        if self.n_undefined:
            lines.append(f"  undefined draws {self.n_undefined} left out (test conditional on a defined statistic)")
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(statistic={self.statistic!r}, observed={self.observed:.6g}, "
                f"p_value={self.p_value:.4g}, alternative={self.alternative!r}, n_draws={self.n_draws})")

    def _repr_html_(self) -> str:
        body = self.to_frame().to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="")
        return f"<div><strong>{html.escape(type(self).__name__)}</strong>{body}</div>"

    def plot(self, ax=None):
        """Histogram of the null distribution with the observed statistic (needs matplotlib)."""
        from ..plots import plot_randomization_test

        return plot_randomization_test(self, ax=ax)


@dataclasses.dataclass(frozen=True, eq=False)
class RandomizationInterval:
    """Confidence interval for a constant additive effect by inverting randomization tests.

    Attributes
    ----------
    low, high : float
        Hull of the effects not rejected at level ``1 - confidence_level`` (infinite when a side is
        never rejected).
    confidence_level : float
    statistic : str
    estimate : float
        Observed statistic (for the linear statistics, the point estimate of the effect).
    method : str
    n_draws : int
    grid : ndarray
        Effects at which the p-value was evaluated.
    p_values : ndarray
        The p-value at each grid point.
    note : str
    """

    low: float
    high: float
    confidence_level: float
    statistic: str
    estimate: float
    method: str
    n_draws: int
    grid: np.ndarray
    p_values: np.ndarray
    note: str = ""

    @property
    def ci(self) -> tuple[float, float]:
        return (self.low, self.high)

    def covers(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "confidence_level": self.confidence_level,
                "statistic": self.statistic, "estimate": self.estimate, "method": self.method,
                "n_draws": self.n_draws, "note": self.note}

    def summary(self) -> str:
        lvl = 100 * self.confidence_level
        s = (f"Randomization interval ({self.statistic}): {lvl:g}% [{self.low:.6g}, {self.high:.6g}], "
             f"estimate {self.estimate:.6g}\n  method: {self.method}")
        return s + (f"\n  note: {self.note}" if self.note else "")

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        body = pd.DataFrame([self.to_dict()]).to_html(index=False, float_format=lambda x: f"{x:.4g}")
        return f"<div><strong>RandomizationInterval</strong>{body}</div>"


# ===================================================================== machinery
def _check_inputs(y, z, design):
    from ..designs import Design

    if not isinstance(design, Design):
        raise InputError(f"design must be a netexp Design (the one that produced z); got {type(design).__name__}.")
    if np.ndim(z) != 1:
        raise InputError(f"z must be one assignment vector (1-D); got shape {np.shape(z)}.")
    zb = check_binary_matrix("z", z, np.shape(z)[0])[0]
    if design.n_units != zb.shape[0]:
        raise InputError(f"design assigns {design.n_units} units but z has {zb.shape[0]}; pass the design that "
                         "produced z.")
    y = check_finite_vector("y", y, zb.shape[0])
    return y, zb


def _effective_units(design) -> int:
    inner = getattr(design, "cluster_design", None)
    return _effective_units(inner) if inner is not None else design.n_units


def _support(design, z, exact):
    """(Z, w) of the design's support, or None to use Monte Carlo draws."""
    if exact is False:
        return None
    if exact == "auto" and _effective_units(design) > _AUTO_EXACT_MAX:
        return None
    try:
        Z, w = design.enumerate()
    except DesignError:
        if exact is True:
            raise
        return None
    hit = (Z == z[None, :]).all(axis=1)
    if not (hit & (w > 0)).any():
        raise DesignError("z has probability 0 under the design (it is not in the design's support); pass the "
                          "design that produced z.")
    return np.asarray(Z, dtype=bool), np.asarray(w, dtype=float)


def _batches(design, n_draws, g, batch_size, progress, support, hint=None):
    """Yield bool batches of null assignments: the support in slices, or draws from the design.

    ``hint = (unit-draws per batch, multiple)`` overrides the default batch size (rounded down to a
    multiple of ``multiple`` draws: the exposure kernel packs 64 draws per word)."""
    n = design.n_units
    total = support[0].shape[0] if support is not None else n_draws
    if batch_size is None:
        elements, multiple = hint if hint is not None else (_BATCH_ELEMENTS, 1)
        batch_size = max(1, elements // max(n, 1))
        if batch_size > multiple:
            batch_size -= batch_size % multiple
        batch_size = max(1, min(total, batch_size))
    batch_size = check_int("batch_size", batch_size, low=1)
    starts = range(0, total, batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="randomization test", unit="batch")
    for s in starts:
        e = min(total, s + batch_size)
        yield support[0][s:e] if support is not None else design.sample_many(e - s, rng=g)


def _null_block(n, rng, y, z, design, stat, null_effect):
    """Null values of one seeded block of ``n`` design draws: ``(A, B)`` for a linear statistic at a
    constant null effect, else ``(T, None)`` at ``null_effect`` (a number or a vector of unit effects)."""
    Zb = design.sample_many(n, rng=rng)
    return _null_of(Zb, y, z, stat, null_effect)


def _null_of(Zb, y, z, stat, null_effect):
    if np.ndim(null_effect):
        tau = null_effect
        Y = (y - tau * z)[None, :] + tau[None, :] * Zb
        if stat.linear:
            Zf = Zb.astype(np.float64)
            return np.array([stat.cols(Zf[r:r + 1], Y[r][:, None])[0, 0] for r in range(Zb.shape[0])]), None
        return stat(Zb, Y), None
    if stat.linear:
        t = stat.cols(Zb.astype(np.float64), np.column_stack([y, z.astype(float)]))
        return t[:, 0], 1.0 - t[:, 1]     # T(Z*, Z*) = 1 for every linear built-in
    y0 = y - null_effect * z
    return stat(Zb, y0 if null_effect == 0 else y0[None, :] + null_effect * Zb), None


def _null_values(y, z, design, stat: Statistic, *, null_effect, n_draws, g, batch_size, progress, support,
                 executor=None):
    """Observed statistic and null values. Linear statistics at a constant effect return the parts
    (A, B) of ``T*(tau) = A + tau * B``; the others the values at ``null_effect`` (B None).

    Monte Carlo draws come in the fixed, seeded blocks of :mod:`netexp._executor` whether or not an
    executor is given (``executor=None`` runs them here), so the null distribution is the same, bit
    for bit, on every executor and for every ``batch_size``; ``batch_size`` slices an enumerated support.
    """
    if stat.linear:
        obs = float(stat.cols(z[None, :].astype(float), y[:, None])[0, 0])
    else:
        obs = float(stat(z[None, :], y)[0])
    if support is None:
        from .._executor import map_blocks

        parts = map_blocks(executor, _null_block, (y, z, design, stat, null_effect), n_draws, z.shape[0], g,
                           progress=bool(progress), desc="randomization test")
    else:
        parts = [_null_of(Zb, y, z, stat, null_effect)
                 for Zb in _batches(design, n_draws, g, batch_size, progress, support, stat.batch_hint)]
    T = np.concatenate([a for a, _ in parts])
    B = [b for _, b in parts]
    return obs, T, (np.concatenate(B) if B and B[0] is not None else None)


def _p_value(T, w, t_obs, alternative):
    """p-value and null mean from finite null values ``T`` (weights ``w`` or None for draws)."""
    if w is not None:
        center = float(w @ T)
    else:
        center = float((T.sum() + t_obs) / (T.shape[0] + 1))
    if alternative == "greater":
        d, d_obs = T, t_obs
    elif alternative == "less":
        d, d_obs = -T, -t_obs
    else:
        d, d_obs = np.abs(T - center), abs(t_obs - center)
    scale = max(abs(t_obs), float(np.abs(T).max(initial=0.0)), abs(center))
    hit = d >= d_obs - TIE_RTOL * scale
    if w is not None:
        p = float(min(1.0, w[hit].sum()))
    else:
        p = (int(hit.sum()) + 1) / (T.shape[0] + 1)
    return p, center


def _finite(T, w):
    ok = np.isfinite(T)
    n_bad = int((~ok).sum())
    if n_bad == 0:
        return T, w, 0
    if not ok.any():
        raise EstimationError("the statistic is undefined (an arm is empty) under every null assignment; choose "
                              "another statistic or design.")
    w2 = None if w is None else w[ok] / w[ok].sum()
    return T[ok], w2, n_bad


def _method(support, n_draws):
    if support is not None:
        return f"exact enumeration over {support[0].shape[0]} assignments"
    return f"Monte Carlo: (count+1)/(n_draws+1) over {n_draws} design draws"


def _describe_null(null_effect) -> str:
    if np.ndim(null_effect) == 0:
        return f"constant effect {float(null_effect):g}"
    t = np.asarray(null_effect)
    return f"unit effects (mean {t.mean():.4g}, range [{t.min():.4g}, {t.max():.4g}])"


def _unit_effects(null_effect, y, n):
    """``null_effect`` as a float, or a float array of unit effects (Series aligned to ``y``'s index)."""
    if np.ndim(null_effect) == 0:
        value = float(null_effect)
        if not np.isfinite(value):
            raise InputError(f"null_effect must be a finite number; got {null_effect!r}.")
        return value
    if isinstance(null_effect, pd.Series):     # not aligned by the decorator (y was an array): refuse
        raise InputError("null_effect is a pandas Series but y is not; pass y as a Series with the same index, "
                         "or null_effect as an array in the order of y.")
    tau = check_finite_vector("null_effect", null_effect, n)
    if np.all(tau == tau[0]):
        return float(tau[0])
    tau = tau.copy()
    tau.flags.writeable = False
    return tau


# ===================================================================== randomization test
@aligned("y", "z", "covariates", "clusters", "null_effect")
def randomization_test(y: Any, z: Any, design, *, statistic: str | Callable = "difference-in-means",
                       alternative: Literal["two-sided", "greater", "less"] = "two-sided", n_draws: int = 10_000,
                       rng=None, exact: bool | Literal["auto"] = "auto", null_effect: float = 0.0,
                       covariates: Any = None, clusters: Any = None, graph=None, mapping=None,
                       probabilities=None, contrast: tuple = ("treated", "control"), units: Any = None,
                       batch_size: int | None = None, progress: bool | None = None,
                       executor=None) -> RandomizationTestResult:
    r"""Fisher randomization test of a sharp null hypothesis, with null draws from the design.

    Tests :math:`H_0: Y_i(\mathbf z) = Y_i(\mathbf 0) + \tau_0 z_i` for every unit and assignment
    (a constant additive effect :math:`\tau_0`, by default no effect at all, interference
    included). Under :math:`H_0` every outcome is known for every assignment, so the statistic's
    distribution over the design's own assignments (cluster, stratified, blocked, re-randomized
    ... designs each give their own) is known exactly.

    Parameters
    ----------
    y : array-like of float, shape (n_units,)
        Observed outcomes.
    z : array-like of 0/1, shape (n_units,)
        Observed assignment, drawn from ``design``.
    design : Design
        The design that produced ``z``; null assignments are drawn from it (``sample_many``) or
        enumerated (``enumerate``).
    statistic : str or callable, default "difference-in-means"
        ``"difference-in-means"``; ``"studentized"`` (Welch t); ``"cluster-difference-in-means"``
        (difference of average cluster means; ``clusters`` or a cluster design's labels);
        ``"regression"`` (coefficient of ``z`` in the OLS of ``y`` on an intercept, ``z`` and
        ``covariates``); ``"horvitz-thompson"`` or ``"hajek"`` (the design-based estimate of the
        ``contrast`` between two exposure levels of ``mapping`` on ``graph``, weighted by the
        exposure ``probabilities``; see Notes); or ``f(Z, y) -> (R,)`` taking a bool batch ``Z`` of
        shape (R, n_units) and the outcomes, of shape (n_units,), or (R, n_units) when
        ``null_effect != 0`` (imputed outcomes of each draw). It must treat rows of ``Z``
        independently.
    alternative : {"two-sided", "greater", "less"}
    n_draws : int, default 10000
        Monte Carlo draws from the design (ignored under exact enumeration).
    rng : None, int, SeedSequence or Generator
    exact : {"auto", True, False}
        Enumerate the design's support: ``True`` (an error when the design cannot), ``False``
        (never), ``"auto"`` (when the design randomizes at most 14 units or clusters and can enumerate).
    null_effect : float or array-like of float, default 0
        :math:`\tau_0`. Must be 0 for the exposure statistics (see Notes). An array (or a Series
        with ``y``'s index, in the same order: the design numbers units by position) of one effect per unit tests the sharp null
        :math:`Y_i(\mathbf z) = Y_i(\mathbf 0) + \tau_{0i} z_i` of those unit effects (ri2's
        ``sharp_hypothesis`` as a vector): outcomes are imputed draw by draw,
        :math:`y^* = y - \tau_0 \circ z + \tau_0 \circ Z^*`.
    covariates : array-like, optional
        Covariates of ``statistic="regression"``, shape (n_units,) or (n_units, p).
    clusters : array-like, optional
        Cluster labels of ``statistic="cluster-difference-in-means"``.
    graph : Graph, optional
        Network of the exposure statistics (row i lists the units whose treatment can affect i).
    mapping : ExposureMapping, optional
        Exposure mapping of the exposure statistics, e.g. ``ne.FullNeighborhood()``.
    probabilities : ExposureProbabilities, optional
        Exposure probabilities of ``mapping`` under ``design``; default: computed once with
        ``exposure_probabilities(graph, design, mapping, method="auto", joint=False)`` (exact when
        a closed form exists, else Monte Carlo seeded by a child of ``rng`` that leaves the null
        draws unchanged).
    contrast : (level_a, level_b), default ("treated", "control")
        Exposure levels (names or codes) compared by the exposure statistics.
    units : bool mask or integer positions, optional
        Units of the exposure statistics' estimand; every one must have a positive probability of
        both levels (else ``ExposureError``: restrict ``units`` to those that do).
    batch_size : int, optional
        Enumerated assignments per batch (default: about 2^23 unit-draws per batch). Monte Carlo
        draws come in fixed blocks (below), so the result does not depend on it.
    executor : concurrent.futures.Executor, optional
        Run the Monte Carlo draws as tasks on it (a ``ProcessPoolExecutor`` with the ``spawn``
        context, a Dask client's ``get_executor()``...). Draws are seeded in fixed blocks
        (``SeedSequence.spawn`` per block, block sizes set by ``n_draws`` and the number of units
        only), and ``executor=None`` runs the same blocks in this process: the same seed gives the
        same result, bit for bit, with or without an executor.
    progress : bool, optional
        Progress bar over blocks of draws.

    Returns
    -------
    RandomizationTestResult

    Notes
    -----
    **Imputation.** Under :math:`H_0`, :math:`y(\mathbf 0) = y - \tau_0 z` and the outcomes
    under a null draw :math:`Z^*` are :math:`y^* = y(\mathbf 0) + \tau_0 Z^*`. The built-in
    statistics are linear in the outcomes and equal 1 at :math:`y = Z^*`, so
    :math:`T(Z^*, y^*) = T(Z^*, y) + \tau_0 \{1 - T(Z^*, z)\}`: each draw costs one matrix product
    for both columns ``[y, z]``.

    **p-values.** Exact: :math:`p = \sum_{s} w_s 1[T_s \succeq t]` over the support with
    probabilities :math:`w_s`. Monte Carlo with R draws: :math:`p = (1 + \#\{T^*_r \succeq t\})/(R+1)`,
    which is a valid p-value (:math:`P(p \le \alpha) \le \alpha`) for any R because the observed
    assignment is exchangeable with the draws. ":math:`\succeq`" is ``T >= t`` (greater),
    ``T <= t`` (less), and for two-sided :math:`|T - E_0| \ge |t - E_0|` with :math:`E_0` the
    null mean of T: :math:`\sum_s w_s T_s` exactly, or the mean of the R draws *and* the observed
    value under Monte Carlo. Centring at the null mean (rather than doubling the smaller one-sided
    p-value) keeps the test valid for statistics whose null distribution is not centred at 0 (the
    difference in means under a Bernoulli design conditional on both arms being non-empty, the
    regression coefficient, custom statistics); including the observed value keeps the draws and
    the observation exchangeable, so the Monte Carlo p-value stays exactly valid. Ties: a null value
    counts as at least as extreme when it is within ``1e-9 * max(|t|, max|T|, |E_0|)`` of the
    observed one, so that assignments giving the same statistic are not split by rounding.

    **Undefined draws.** Draws where the statistic is undefined (an empty arm) are left out: the test
    is then conditional on an event of the assignment alone that contains the observed one, which
    keeps it valid.

    **Exposure statistics.** With :math:`\pi_i(k)` the probability under the design that unit i
    is at exposure level k, :math:`I_i(k; \mathbf z)` the indicator that it is under
    :math:`\mathbf z`, and N the units of ``units``,

    .. math:: T_{HT}(\mathbf z) = \frac1N \sum_i \Big[\frac{I_i(a; \mathbf z)\, y_i}{\pi_i(a)}
              - \frac{I_i(b; \mathbf z)\, y_i}{\pi_i(b)}\Big], \qquad
              T_{Hajek}(\mathbf z) = \frac{\sum_i I_i(a; \mathbf z) y_i / \pi_i(a)}
              {\sum_i I_i(a; \mathbf z) / \pi_i(a)} - (\text{same for } b),

    the point estimates of :func:`netexp.horvitz_thompson` and :func:`netexp.hajek`. They test the
    sharp null of **no effect of any exposure**, :math:`Y_i(\mathbf z) = Y_i` for every
    :math:`\mathbf z` (interference included), under which :math:`y` is fixed across the null
    draws. A constant additive effect has no unique meaning for a contrast between exposure
    levels, so ``null_effect`` must be 0 (and :func:`randomization_confidence_interval` does not
    take these statistics). For every batch of R draws the levels come from one call of the
    batched exposure kernel :meth:`ExposureMapping.map_many` (int8 codes, shape (R, n)); the
    weights :math:`y_i/\pi_i(a)`, :math:`y_i/\pi_i(b)` (and :math:`1/\pi_i(\cdot)` for Hajek)
    are fixed, so each draw's statistic is a masked weighted sum over its codes, computed for all
    draws in one compiled pass. A Hajek draw with no unit at a level is undefined and left out.
    Units with :math:`\pi_i(a) = 0` or :math:`\pi_i(b) = 0` must be excluded with ``units``.

    References
    ----------
    Fisher, R. A. (1935). *The Design of Experiments*. Oliver & Boyd.
    Imbens, G. W. & Rubin, D. B. (2015). *Causal Inference for Statistics, Social, and Biomedical
    Sciences*, ch. 5. Cambridge University Press.
    Aronow, P. M., & Samii, C. (2017). Estimating average causal effects under general
    interference, with application to a social network experiment. *Annals of Applied
    Statistics*, 11(4), 1912-1947.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> from netexp.inference import randomization_test
    >>> design = ne.Complete(6, n_treated=3)
    >>> z = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    >>> y = np.array([5.0, 6.0, 7.0, 1.0, 2.0, 3.0])
    >>> res = randomization_test(y, z, design, alternative="greater", rng=0)
    >>> res.method, res.p_value      # only 1 of the 20 equally likely assignments is as extreme
    ('exact enumeration over 20 assignments', 0.05)

    A Hajek test of "no effect of any exposure" under a cluster-randomized design
    (``statistic="horvitz-thompson"`` is called the same way):

    >>> g = ne.erdos_renyi(400, mean_degree=4, rng=0)
    >>> design = ne.ClusterRandomized(ne.three_net(g, rng=0), p=0.5)
    >>> z = design.sample(rng=1)
    >>> y = 2.0 * z + np.random.default_rng(2).normal(size=400)
    >>> res = randomization_test(y, z, design, statistic="hajek", graph=g,
    ...                          mapping=ne.FullNeighborhood(), n_draws=200, rng=0)
    >>> res.statistic, bool(res.p_value < 0.05)
    ('hajek: Y(treated) - Y(control)', True)
    """
    alternative = check_option("alternative", alternative, ALTERNATIVES)
    if exact not in ("auto", True, False):
        raise InputError(f"exact must be 'auto', True or False; got {exact!r}.")
    n_draws = check_int("n_draws", n_draws, low=1)
    y_in = y
    y, z = _check_inputs(y, z, design)
    null_effect = _unit_effects(null_effect, y_in, z.shape[0])
    g = check_rng(rng)
    stat = make_statistic(statistic, z.shape[0], covariates=covariates, clusters=clusters, design=design,
                          graph=graph, mapping=mapping, probabilities=probabilities, contrast=contrast, units=units,
                          rng=g)
    if stat.exposure and np.any(null_effect != 0):
        raise InputError(f"statistic={statistic!r} tests the sharp null of no effect of any exposure (outcomes fixed "
                         f"whatever the assignment); a null effect ({_describe_null(null_effect)}) has no unique "
                         "meaning for a contrast between exposure levels. Use null_effect=0, or a statistic of own "
                         "treatment (e.g. 'difference-in-means') for constant-effect nulls.")
    support = _support(design, z, exact)
    obs, T, B = _null_values(y, z, design, stat, null_effect=null_effect, n_draws=n_draws, g=g,
                             batch_size=batch_size, progress=progress, support=support,
                             executor=check_executor(executor))
    if B is not None:
        T = T + null_effect * B
    if not np.isfinite(obs):
        raise EstimationError(f"statistic {stat.name!r} is undefined at the observed assignment (an empty arm?).")
    w = support[1] if support is not None else None
    T, w, n_bad = _finite(T, w)
    p, center = _p_value(T, w, obs, alternative)
    return RandomizationTestResult(stat.name, obs, _ro(T), p, alternative, _method(support, n_draws),
                                   int(T.shape[0] + n_bad), None if w is None else _ro(w), null_effect, center,
                                   n_bad)


def _ro(a):
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a


# ===================================================================== test inversion
def _p_curve(A, Bv, a_obs, w, taus, alternative, chunk=2**22):
    """p-value of the constant-effect null at every tau, from the linear parts ``T* = A + tau B``."""
    R = A.shape[0]
    out = np.empty(taus.shape[0])
    if w is None:
        ca, cb = (A.sum() + a_obs) / (R + 1), Bv.sum() / (R + 1)
    else:
        ca, cb = float(w @ A), float(w @ Bv)
    step = max(1, chunk // max(R, 1))
    for s in range(0, taus.shape[0], step):
        t = taus[s:s + step, None]
        T = A[None, :] + t * Bv[None, :]
        if alternative == "greater":
            d, d_obs = T, np.full_like(t, a_obs)
        elif alternative == "less":
            d, d_obs = -T, np.full_like(t, -a_obs)
        else:
            c = ca + cb * t
            d, d_obs = np.abs(T - c), np.abs(a_obs - c)
        scale = np.maximum(np.abs(T).max(axis=1, keepdims=True), np.maximum(abs(a_obs), np.abs(ca + cb * t)))
        hit = d >= d_obs - TIE_RTOL * scale
        out[s:s + step] = (hit @ w) if w is not None else (hit.sum(axis=1) + 1) / (R + 1)
    return np.minimum(out, 1.0)


def _breakpoints(A, Bv, a_obs, w, alternative):
    """Effects where some draw's comparison with the observed statistic can switch."""
    R = A.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = [(a_obs - A) / Bv]
        if alternative == "two-sided":
            if w is None:
                ca, cb = (A.sum() + a_obs) / (R + 1), Bv.sum() / (R + 1)
            else:
                ca, cb = float(w @ A), float(w @ Bv)
            bp.append((2 * ca - A - a_obs) / (Bv - 2 * cb))
            bp.append(np.array([(a_obs - ca) / cb]) if cb != 0 else np.empty(0))
    bp = np.concatenate(bp)
    return np.unique(bp[np.isfinite(bp)])


def _hull(points, is_bp, p, alpha):
    acc = p > alpha
    note = ""
    if not acc.any():
        return np.nan, np.nan, "every effect is rejected (the observed statistic is extreme for all of them)"
    idx = np.flatnonzero(acc)
    i0, i1 = idx[0], idx[-1]
    if idx.shape[0] != i1 - i0 + 1:
        note = "the set of effects not rejected is not an interval; (low, high) is its hull"
    low = -np.inf if i0 == 0 else (points[i0] if is_bp[i0] else points[i0 - 1])
    high = np.inf if i1 == points.shape[0] - 1 else (points[i1] if is_bp[i1] else points[i1 + 1])
    return float(low), float(high), note


@aligned("y", "z", "covariates", "clusters")
def randomization_confidence_interval(y: Any, z: Any, design, *, statistic: str | Callable = "difference-in-means",
                                      confidence_level: float = 0.95, n_draws: int = 2000, rng=None,
                                      exact: bool | Literal["auto"] = "auto", covariates: Any = None,
                                      clusters: Any = None, bracket: tuple[float, float] | None = None,
                                      batch_size: int | None = None, executor=None) -> RandomizationInterval:
    r"""Confidence interval for a constant additive effect: the effects a randomization test keeps.

    The interval is :math:`\{\tau_0 : p(\tau_0) > 1 - \text{confidence\_level}\}` for the
    two-sided :func:`randomization_test` of :math:`H_0: Y_i(\mathbf z) = Y_i(\mathbf 0) + \tau_0 z_i`,
    every :math:`\tau_0` tested against the *same* null draws (common random numbers), so
    :math:`p(\tau_0)` is one deterministic step function.

    Parameters
    ----------
    y, z, design, statistic, covariates, clusters, exact, batch_size, executor
        As in :func:`randomization_test` (with an executor every p-value evaluation sends its
        blocks of draws to it; the interval is the same, bit for bit, as with ``executor=None``).
    confidence_level : float, default 0.95
    n_draws : int, default 2000
    rng : None, int, SeedSequence or Generator
    bracket : (float, float), optional
        Search bracket ``(low, high)`` for the non-linear statistics (studentized, callables); both
        ends must be rejected. Default: grown from the difference in means +- 4 Neyman standard
        errors. Unused by the linear statistics, whose interval is found exactly.

    Returns
    -------
    RandomizationInterval

    Notes
    -----
    **Linear statistics** (difference in means, cluster difference in means, regression): every
    null value is linear in :math:`\tau_0`, :math:`T^*_r(\tau_0) = A_r + \tau_0 B_r` with
    :math:`A_r = T(Z^*_r, y)`, :math:`B_r = 1 - T(Z^*_r, z)`, while the observed statistic does not
    depend on :math:`\tau_0`. Each comparison with the observed value (and with the centred one for the
    two-sided test, whose centre :math:`E_0(\tau_0)` is linear too) switches only where two lines
    cross, so :math:`p(\tau_0)` is constant between at most :math:`3R` breakpoints. The p-value is
    evaluated at every breakpoint and between consecutive ones, and the interval is the hull of the
    effects with :math:`p > \alpha`: exact for the given draws, no grid or root-finding error.

    **Other statistics**: :math:`p(\tau_0)` is evaluated with the same draws (re-drawn from one
    stored seed) and each endpoint is found by :func:`scipy.optimize.brentq` on
    :math:`p(\tau_0) - \alpha` between the point estimate and a rejected bracket end (a step function:
    the root is its jump, located to ``1e-6`` of a standard error); assumes :math:`p` is unimodal.

    References
    ----------
    Rosenbaum, P. R. (2002). Covariance adjustment in randomized experiments and observational
    studies. *Statistical Science* 17(3), 286-327.
    Imbens, G. W. & Rubin, D. B. (2015), ch. 5.7.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> from netexp.inference import randomization_confidence_interval
    >>> design = ne.Complete(40, n_treated=20)
    >>> z = design.sample(rng=0)
    >>> y = np.random.default_rng(1).normal(size=40) + 2.0 * z
    >>> ci = randomization_confidence_interval(y, z, design, n_draws=500, rng=0)
    >>> bool(ci.low < 2.0 < ci.high)
    True
    """
    from scipy.optimize import brentq

    level = check_confidence_level(confidence_level)
    alpha = 1 - level
    n_draws = check_int("n_draws", n_draws, low=1)
    if exact not in ("auto", True, False):
        raise InputError(f"exact must be 'auto', True or False; got {exact!r}.")
    y, z = _check_inputs(y, z, design)
    if isinstance(statistic, str) and statistic in EXPOSURE_STATISTICS:
        raise InputError(f"statistic={statistic!r} tests only the null of no effect of any exposure; a constant "
                         "additive effect, which the interval inverts, has no unique meaning for a contrast between "
                         "exposure levels. Use randomization_test(..., statistic=" + repr(statistic) + ") for the "
                         "test, or an own-treatment statistic (e.g. 'difference-in-means') for an interval.")
    stat = make_statistic(statistic, z.shape[0], covariates=covariates, clusters=clusters, design=design)
    executor = check_executor(executor)
    g = check_rng(rng)
    support = _support(design, z, exact)
    w = support[1] if support is not None else None
    method = _method(support, n_draws)
    if stat.linear:
        obs, A, Bv = _null_values(y, z, design, stat, null_effect=0.0, n_draws=n_draws, g=g,
                                  batch_size=batch_size, progress=False, support=support, executor=executor)
        ok = np.isfinite(A) & np.isfinite(Bv)
        A, Bv = A[ok], Bv[ok]
        ww = None if w is None else w[ok] / w[ok].sum()
        bp = _breakpoints(A, Bv, obs, ww, "two-sided")
        if bp.size == 0:
            bp = np.array([obs])
        span = max(bp[-1] - bp[0], abs(obs), 1.0)
        mids = (bp[:-1] + bp[1:]) / 2
        pts = np.empty(2 * bp.size + 1)
        pts[1::2] = bp
        pts[2:-1:2] = mids
        pts[0], pts[-1] = bp[0] - span, bp[-1] + span
        is_bp = np.zeros(pts.shape[0], dtype=bool)
        is_bp[1::2] = True
        p = _p_curve(A, Bv, obs, ww, pts, "two-sided")
        low, high, note = _hull(pts, is_bp, p, alpha)
        return RandomizationInterval(low, high, level, stat.name, obs,
                                     method + "; exact inversion (statistic linear in the effect)",
                                     int(A.shape[0]), _ro(pts), _ro(p), note)

    # non-linear statistic: root bracketing with common random numbers
    seed = int(g.integers(0, 2**63 - 1))
    evals: dict[float, float] = {}

    def pval(tau):
        tau = float(tau)
        if tau not in evals:
            obs_t, T, _ = _null_values(y, z, design, stat, null_effect=tau, n_draws=n_draws,
                                       g=np.random.default_rng(seed), batch_size=batch_size, progress=False,
                                       support=support, executor=executor)
            T, w2, _ = _finite(T, w)
            evals[tau] = _p_value(T, w2, obs_t, "two-sided")[0]
        return evals[tau]

    y1, y0 = y[z], y[~z]
    est = float(y1.mean() - y0.mean()) if y1.size and y0.size else 0.0
    se = float(np.sqrt(y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size)) if min(y1.size, y0.size) > 1 else 0.0
    se = se if se > 0 else float(np.std(y)) or 1.0
    obs = float(stat(z[None, :], y)[0])
    note = ""
    if pval(est) <= alpha:
        return RandomizationInterval(np.nan, np.nan, level, stat.name, obs, method, n_draws, _ro(list(evals)),
                                     _ro(list(evals.values())),
                                     "the difference in means itself is rejected; give bracket=(low, high)")
    ends = []
    for sign, given in ((-1, None if bracket is None else bracket[0]), (1, None if bracket is None else bracket[1])):
        if given is not None:
            edge = float(given)
            if pval(edge) > alpha:
                raise InputError(f"bracket end {edge:g} is not rejected (p = {pval(edge):.3g} > {alpha:g}); "
                                 "widen bracket.")
        else:
            step, edge = 4 * se, est + sign * 4 * se
            for _ in range(40):
                if pval(edge) <= alpha:
                    break
                step *= 2
                edge = est + sign * step
            else:
                ends.append(sign * np.inf)
                note = "a side was never rejected within 2^40 standard errors"
                continue
        ends.append(brentq(lambda t: pval(t) - alpha, min(est, edge), max(est, edge), xtol=1e-6 * se))
    grid = np.array(sorted(evals))
    return RandomizationInterval(float(ends[0]), float(ends[1]), level, stat.name, obs,
                                 method + "; endpoints by brentq on p(tau) - alpha with common random numbers",
                                 n_draws, _ro(grid), _ro([evals[t] for t in grid]), note)
