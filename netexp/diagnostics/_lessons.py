"""The teaching notebook's lessons on randomized experiments, as functions with known truth.

Seed notebook "01. Randomized Experiments": unbiasedness by repeated randomization, targeted
versus randomized assignment, segment readouts, regression adjustment and blocking. Each
function reproduces one section with netexp's designs and estimators, and corrects the
notebook's mistakes (listed in each docstring).
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .._align import aligned
from .._covariates import covariate_matrix
from .._errors import EstimationError, EstimationWarning, InputError, warn
from .._validation import (check_binary_matrix, check_confidence_level, check_finite_vector, check_int, check_option,
                           check_probability, check_rng, dense_codes)
from ..designs import Complete, Design, Stratified
from ..estimators import Estimate, difference_in_means
from ..estimators._ols import ols
from ..estimators._result import _html_table
from ._diagnose import Diagnosis, diagnose, truth_of

__all__ = ["repeated_randomization", "RepeatedRandomization", "targeted_vs_randomized", "segment_effects",
           "regression_adjustment_comparison", "blocking_precision", "stratified_difference_in_means",
           "adjust_p_values", "ADJUSTMENTS"]

#: Multiple-testing adjustments of :func:`segment_effects` (statsmodels' names).
ADJUSTMENTS = ("holm", "bonferroni", "bh", "fdr_bh", "by", "none")


def _one_assignment(z) -> np.ndarray:
    if np.ndim(z) != 1:
        raise InputError(f"z must be one assignment vector (1-D, a 0/1 entry per unit); got shape {np.shape(z)}.")
    return check_binary_matrix("z", z, np.shape(z)[0])[0]


# ------------------------------------------------------------------------------ section 4
@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class RepeatedRandomization:
    """Randomization distribution of an estimator over repeated draws of one design.

    Attributes
    ----------
    estimates, std_errors : ndarray
        One per draw (read-only).
    estimand : str
    truth : float
        True value of the estimand in the fixed population.
    mean_estimate, bias, bias_mc_se, sd, coverage : float
        Average estimate, its distance to the truth with Monte Carlo standard error
        ``sd / sqrt(n_draws)``, the randomization SD (ddof 1), and interval coverage.
    """

    estimates: np.ndarray
    std_errors: np.ndarray
    estimand: str
    truth: float
    mean_estimate: float
    bias: float
    bias_mc_se: float
    sd: float
    coverage: float

    @property
    def n_draws(self) -> int:
        return int(self.estimates.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """The notebook's summary table: quantity, value."""
        return pd.DataFrame({
            "quantity": ["average estimate over randomizations", f"true {self.estimand}", "Monte Carlo bias",
                         "Monte Carlo SE of the bias", "randomization SD", "mean standard error", "coverage"],
            "value": [self.mean_estimate, self.truth, self.bias, self.bias_mc_se, self.sd,
                      float(np.mean(self.std_errors)), self.coverage]})

    def __repr__(self) -> str:
        return (f"RepeatedRandomization(n_draws={self.n_draws}, truth={self.truth:.4g}, mean={self.mean_estimate:.4g}, "
                f"bias={self.bias:.3g} (MC SE {self.bias_mc_se:.2g}), sd={self.sd:.4g})")

    def _repr_html_(self) -> str:
        return _html_table(self.to_frame(), title=html.escape("Repeated randomization"))

    def plot(self, ax=None, **kw):
        """Histogram of the estimates with the truth and their mean:
        :func:`netexp.plots.plot_randomization_distribution`."""
        from ..plots import plot_randomization_distribution

        return plot_randomization_distribution(self.estimates, truth=self.truth, ax=ax, **kw)


def repeated_randomization(design: Design, potential_outcomes: Any, estimator: Any = "difference-in-means", *,
                           n_draws: int = 1000, rng=None, estimand: str | None = None,
                           confidence_level: float = 0.95) -> RepeatedRandomization:
    r"""Re-randomize a fixed population many times: the estimator's randomization distribution.

    Parameters
    ----------
    design : Design
    potential_outcomes : realized potential outcomes
        E.g. ``HeterogeneousPopulation().realize(20_000, rng=10)``; held fixed (finite population).
    estimator : str or callable, default "difference-in-means"
        As in :func:`~netexp.diagnostics.diagnose`.
    n_draws : int, default 1000
    rng : None, int, SeedSequence or Generator
    estimand : str, optional
        Entry of ``potential_outcomes.truth`` to compare with (default: the estimator's target).

    Returns
    -------
    RepeatedRandomization

    Notes
    -----
    Under complete randomization without interference the difference in means is unbiased for
    the finite-population ATE, :math:`E_Z[\hat\tau] = \frac1N\sum_i\{Y_i(1) - Y_i(0)\}`
    (Neyman 1923; Imbens & Rubin 2015, ch. 6): the mean over draws approaches the truth within
    its Monte Carlo error ``bias_mc_se``. The seed notebook reseeds a fresh generator from
    ``rng.integers`` in every draw; here one stream drives all draws.

    References
    ----------
    Imbens, G. W., & Rubin, D. B. (2015). *Causal Inference for Statistics, Social, and
    Biomedical Sciences*. Cambridge University Press.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.diagnostics import repeated_randomization
    >>> from netexp.simulate import HeterogeneousPopulation
    >>> po = HeterogeneousPopulation().realize(2000, rng=0)
    >>> rr = repeated_randomization(ne.Complete(2000, p=0.5), po, n_draws=300, rng=0)
    >>> bool(abs(rr.bias) < 4 * rr.bias_mc_se)
    True
    """
    dx = diagnose({"design": design}, {"estimator": estimator}, potential_outcomes, getattr(
        potential_outcomes, "graph", None), n_sims=n_draws, rng=rng, noise="fixed", estimand=estimand,
        diagnosands=("bias", "sd", "coverage"), confidence_level=confidence_level)
    row = dx.to_frame().iloc[0]
    sims = dx.simulations()
    ok = np.isfinite(sims["estimate"].to_numpy())
    est = sims["estimate"].to_numpy()[ok]
    se = sims["std_error"].to_numpy()[ok]
    for a in (est, se):
        a.flags.writeable = False
    return RepeatedRandomization(est, se, str(row["estimand"]), float(row["mean_estimand"]),
                                 float(row["mean_estimate"]), float(row["bias"]), float(row["bias_mc_se"]),
                                 float(row["sd"]), float(row["coverage"]))


# ------------------------------------------------------------------------------ section 6
def _notebook_score(cov: pd.DataFrame) -> np.ndarray:
    need = ("prior_usage", "account_age", "is_team_account")
    if cov is None or any(c not in cov.columns for c in need):
        raise InputError(f"targeted_vs_randomized: the default targeting score uses covariates {need}; pass score= "
                         "(an array, or a function of the covariates) for other populations.")
    return (0.9 * np.log1p(cov["prior_usage"].to_numpy(float)) + 0.05 * cov["account_age"].to_numpy(float)
            + 0.6 * cov["is_team_account"].to_numpy(float))


def targeted_vs_randomized(potential_outcomes: Any, score: Any = None, *, design: Design | None = None,
                           treated_share: float = 0.5, rng=None, confidence_level: float = 0.95,
                           estimand: str = "global effect") -> pd.DataFrame:
    r"""One randomized experiment next to targeting the units that look most promising.

    Parameters
    ----------
    potential_outcomes : realized potential outcomes
        With ``covariates`` when ``score`` is omitted.
    score : array or callable, optional
        Targeting score per unit, or ``score(covariates) -> array``. Default: the notebook's
        :math:`0.9\log(1+\text{prior usage}) + 0.05\,\text{account age} + 0.6\,\text{team}`.
        The ``treated_share`` of units with the highest scores are treated.
    design : Design, optional
        The randomized design (default ``Complete(n, p=treated_share)``).
    treated_share : float, default 0.5
    rng : None, int, SeedSequence or Generator
        Draws the randomized assignment.

    Returns
    -------
    DataFrame
        Rows ``randomized`` and ``targeted``: estimate (difference in means), std_error,
        ci_low, ci_high, truth, error, and the decomposition ``error = selection_bias +
        (effect_among_treated - truth)`` (Notes).

    Notes
    -----
    With :math:`T, C` the treated and control units and :math:`Y_i(\mathbf 0)` the outcome
    with no one treated, the difference in means splits exactly into

    .. math:: \bar Y_T - \bar Y_C = \underbrace{\overline{Y(\mathbf 0)}_T - \overline{Y(\mathbf 0)}_C}_{\text{selection bias}}
              + \underbrace{\overline{\{Y(z) - Y(\mathbf 0)\}}_T - \overline{\{Y(z) - Y(\mathbf 0)\}}_C}_{\text{effect among treated}}.

    Without interference the second term is the effect on the treated units (ATT). Targeting
    makes the selection bias large; randomization makes it zero in expectation. The notebook
    reports the targeted estimate's whole error against the ATE, which mixes the selection bias
    with the difference between ATT and ATE; the decomposition separates them (in the notebook's
    population almost all of the error is selection bias: the targeted units' average effect is
    close to the ATE).

    Examples
    --------
    >>> from netexp.diagnostics import targeted_vs_randomized
    >>> from netexp.simulate import HeterogeneousPopulation
    >>> po = HeterogeneousPopulation().realize(20_000, rng=10)
    >>> t = targeted_vs_randomized(po, rng=101)
    >>> t.set_index("assignment")["selection_bias"].round(1).tolist()
    [0.1, 5.3]
    """
    check_confidence_level(confidence_level)
    share = check_probability("treated_share", treated_share)
    truth = truth_of(potential_outcomes)
    if estimand not in truth:
        raise InputError(f"estimand {estimand!r} is not in the potential outcomes' truth {sorted(truth)}.")
    n = int(getattr(potential_outcomes, "n_units", None) or len(potential_outcomes.noise))
    cov = getattr(potential_outcomes, "covariates", None)
    if score is None:
        s = _notebook_score(cov)
    elif callable(score):
        s = check_finite_vector("score", score(cov), n)
    else:
        s = check_finite_vector("score", score, n)
    z_t = s >= np.quantile(s, 1 - share)
    if design is None:
        design = Complete(n, p=share)
    z_r = design.sample(rng=rng)
    y0 = np.asarray(potential_outcomes.outcomes(np.zeros(n, dtype=bool)), dtype=float)
    rows = []
    for name, z in (("randomized", z_r), ("targeted", z_t)):
        y = np.asarray(potential_outcomes.outcomes(z), dtype=float)
        e = difference_in_means(y, z, confidence_level=confidence_level, estimand=estimand)
        sel = float(y0[z].mean() - y0[~z].mean())
        d = y - y0
        rows.append({"assignment": name, "estimate": e.estimate, "std_error": e.std_error, "ci_low": e.ci[0],
                     "ci_high": e.ci[1], "truth": truth[estimand], "error": e.estimate - truth[estimand],
                     "selection_bias": sel, "effect_among_treated": float(d[z].mean() - d[~z].mean()),
                     "n_treated": int(z.sum()), "n_control": int((~z).sum())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ section 10
def adjust_p_values(p: Any, method: str = "holm") -> np.ndarray:
    """Adjusted p-values for :func:`segment_effects`: :func:`netexp.adjust_pvalues`, plus ``"none"``.

    ``"fdr_bh"`` (statsmodels' name) and ``"bh"`` both mean Benjamini-Hochberg.

    Examples
    --------
    >>> from netexp.diagnostics._lessons import adjust_p_values
    >>> adjust_p_values([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    from ..inference import adjust_pvalues

    method = check_option("adjust", method, ADJUSTMENTS)
    p = np.asarray(p, dtype=float)
    if method == "none" or p.shape[0] == 0:
        return p.copy()
    return adjust_pvalues(p, method={"fdr_bh": "bh"}.get(method, method))[0]


@aligned("y", "z", "segments")
def segment_effects(y: Any, z: Any, segments: Any, *, adjust: str = "holm", confidence_level: float = 0.95,
                    truth: Mapping | pd.Series | None = None) -> pd.DataFrame:
    r"""Treatment effect within each segment, with p-values adjusted for testing several segments.

    Parameters
    ----------
    y, z : array-like
        Outcomes and 0/1 assignment, one per unit.
    segments : array-like
        Segment label of every unit (pre-specified, pre-treatment).
    adjust : {"holm", "bonferroni", "bh" (= "fdr_bh"), "by", "none"}, default "holm"
        Multiple-testing adjustment across segments (:func:`adjust_p_values`; statsmodels'
        ``multipletests`` names). ``"none"`` with several segments warns.
    confidence_level : float, default 0.95
    truth : mapping or Series, optional
        True segment effects (e.g. ``po.segment_effects`` in a simulation), added as a column.

    Returns
    -------
    DataFrame
        One row per segment: segment, n, n_treated, n_control, estimate, std_error, ci_low,
        ci_high (per-segment, unadjusted), p_value, p_adjusted, significant (``p_adjusted <
        1 - confidence_level``) and truth when given.

    Notes
    -----
    Each segment's estimate is :func:`~netexp.difference_in_means` on its units (Neyman SE,
    Welch t). Testing :math:`m` segments at level :math:`\alpha` each rejects at least one true
    null with probability up to :math:`1 - (1-\alpha)^m`; Holm's step-down adjustment keeps that
    family-wise error at :math:`\alpha`. The notebook's segment readout has no adjustment and
    uses 1.96 whatever the segment size.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
    Journal of Statistics*, 6(2), 65-70.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.diagnostics import segment_effects
    >>> from netexp.simulate import HeterogeneousPopulation
    >>> po = HeterogeneousPopulation().realize(20_000, rng=10)
    >>> z = ne.Complete(20_000, p=0.5).sample(rng=101)
    >>> seg = segment_effects(po.outcomes(z), z, po.covariates["segment"], truth=po.segment_effects)
    >>> seg["segment"].tolist()
    ['growing', 'mature', 'new']
    """
    level = check_confidence_level(confidence_level)
    adjust = check_option("adjust", adjust, ADJUSTMENTS)
    zb = _one_assignment(z)
    yv = check_finite_vector("y", y, zb.shape[0])
    seg = np.asarray(segments)
    if seg.ndim != 1 or seg.shape[0] != zb.shape[0]:
        raise InputError(f"segments must have one label per unit ({zb.shape[0]}); got shape {seg.shape}.")
    labels, codes = dense_codes(seg)
    rows = []
    for k, lab in enumerate(labels):
        m = codes == k
        try:
            e = difference_in_means(yv[m], zb[m], confidence_level=level)
        except EstimationError as exc:
            raise EstimationError(f"segment {lab!r}: {exc}") from None
        rows.append({"segment": lab, "n": int(m.sum()), "n_treated": int(zb[m].sum()),
                     "n_control": int((~zb[m]).sum()), "estimate": e.estimate, "std_error": e.std_error,
                     "ci_low": e.ci[0], "ci_high": e.ci[1], "p_value": e.p_value})
    out = pd.DataFrame(rows)
    out["p_adjusted"] = adjust_p_values(out["p_value"].to_numpy(), adjust)
    out["significant"] = out["p_adjusted"] < 1 - level
    if truth is not None:
        t = pd.Series(truth) if not isinstance(truth, pd.Series) else truth
        out["truth"] = [float(t.get(lab, np.nan)) for lab in labels]
    m = len(labels)
    note = (f"{m} segment tests; p-values adjusted by {adjust}. Intervals are per segment (not simultaneous). "
            "Pre-specify segments; treat others as exploratory.")
    if adjust == "none" and m > 1:
        fw = 1 - level**m
        warn(f"{m} segment tests without adjustment: the chance of at least one false positive is up to "
             f"{fw:.0%}. Use adjust='holm' (family-wise) or 'fdr_bh', or label the readout exploratory.",
             EstimationWarning)
        note = f"{m} segment tests, no adjustment: up to {fw:.0%} chance of a false positive."
    out.attrs["note"] = note
    return out


# ------------------------------------------------------------------------------ section 9
@aligned("y", "z", "covariates")
def regression_adjustment_comparison(y: Any, z: Any, covariates: Any, *, cov_type: str = "HC1",
                                     confidence_level: float = 0.95) -> pd.DataFrame:
    r"""Treatment effect unadjusted, adjusted for covariates, and with Lin's interacted adjustment.

    Parameters
    ----------
    y, z : array-like
    covariates : DataFrame or array
        Pre-treatment covariates (transform them first, e.g. ``log1p(prior_usage)``); text and
        categorical columns become dummies (first level dropped).
    cov_type : {"HC0", "HC1", "HC2"}, default "HC1"
        Heteroskedasticity-robust covariance (the notebook's HC1; HC2 is Lin's recommendation).
    confidence_level : float, default 0.95

    Returns
    -------
    DataFrame
        Rows ``unadjusted``, ``additive``, ``interacted (Lin)``: estimate, std_error, ci_low,
        ci_high, p_value, df, r_squared, n_parameters.

    Notes
    -----
    - unadjusted: :math:`y = a + \tau z` (the difference in means);
    - additive: :math:`y = a + \tau z + X\beta`;
    - interacted (Lin 2013): :math:`y = a + \tau z + \tilde X\beta + z\tilde X\gamma` with
      covariates centered, :math:`\tilde X = X - \bar X`. Centering makes :math:`\tau` the
      average effect; it is consistent and never less precise asymptotically than the
      unadjusted estimator, with HC standard errors.

    Intervals: t with :math:`n - k` df. The notebook's "interactions" model interacts the
    treatment with uncentered segment dummies, so its coefficient on Z is the effect in the
    reference segment ("growing"), not the average effect it is presented as.

    References
    ----------
    Lin, W. (2013). Agnostic notes on regression adjustments to experimental data: reexamining
    Freedman's critique. *Annals of Applied Statistics*, 7(1), 295-318.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> from netexp.diagnostics import regression_adjustment_comparison
    >>> from netexp.simulate import HeterogeneousPopulation
    >>> po = HeterogeneousPopulation().realize(20_000, rng=10)
    >>> z = ne.Complete(20_000, p=0.5).sample(rng=101)
    >>> X = po.covariates.assign(prior_usage=np.log1p(po.covariates["prior_usage"]))
    >>> t = regression_adjustment_comparison(po.outcomes(z), z, X)
    >>> bool(t["std_error"].iloc[1] < t["std_error"].iloc[0])
    True
    """
    level = check_confidence_level(confidence_level)
    cov_type = check_option("cov_type", cov_type, ("HC0", "HC1", "HC2"))
    zb = _one_assignment(z)
    n = zb.shape[0]
    yv = check_finite_vector("y", y, n)
    X, _ = covariate_matrix(covariates, n_units=n, drop_first=True)
    keep = np.ptp(X, axis=0) > 0 if X.shape[1] else np.zeros(0, dtype=bool)
    X = X[:, keep]
    zf = zb.astype(float)
    one = np.ones(n)
    Xc = X - X.mean(axis=0)
    designs = {
        "unadjusted": np.column_stack([one, zf]),
        "additive": np.column_stack([one, zf, X]),
        "interacted (Lin)": np.column_stack([one, zf, Xc, zf[:, None] * Xc]),
    }
    tss = float(((yv - yv.mean()) ** 2).sum())
    rows = []
    for name, D in designs.items():
        fit = ols(D, yv, cov_type=cov_type)
        est, se = fit.contrast(np.eye(D.shape[1])[1])
        e = Estimate.from_se(estimand="average treatment effect", estimate=est, std_error=se, n=n, method=name,
                             variance=cov_type, df=fit.df, confidence_level=level)
        r2 = 1.0 - float(((yv - D @ fit.params) ** 2).sum()) / tss if tss > 0 else float("nan")
        rows.append({"model": name, "estimate": e.estimate, "std_error": e.std_error, "ci_low": e.ci[0],
                     "ci_high": e.ci[1], "p_value": e.p_value, "df": fit.df, "r_squared": r2,
                     "n_parameters": D.shape[1]})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ section 11
@aligned("y", "z", "strata")
def stratified_difference_in_means(y: Any, z: Any, strata: Any, *, confidence_level: float = 0.95,
                                   estimand: str = "global effect") -> Estimate:
    r"""Blocked estimator: stratum differences in means weighted by stratum size.

    .. math:: \hat\tau = \sum_s \frac{n_s}{n}(\bar Y_{1s} - \bar Y_{0s}), \qquad
              \widehat V = \sum_{s \in B} \Big(\frac{n_s}{n}\Big)^2 \Big(\frac{s_{1s}^2}{n_{1s}} +
              \frac{s_{0s}^2}{n_{0s}}\Big) + \frac{J}{(J-1)n^2}\sum_{s \in P}(u_s - \bar u)^2

    :math:`B`: strata with at least 2 treated and 2 control units (Neyman variance, Imbens &
    Rubin 2015, ch. 9). :math:`P`: the :math:`J` strata with a single treated or a single control
    unit (matched pairs and other fine strata), whose own variance is not estimable; their totals
    :math:`u_s = n_s(\bar Y_{1s} - \bar Y_{0s})` are pooled with the matched-pair formula of
    Imai, King & Nall (2009), as in :func:`~netexp.paired_difference_in_means` (when every stratum
    is a pair the two functions agree). Both parts are conservative (strata are randomized
    independently); exactly one fine stratum is refused. Reference distribution: Welch t with a
    single stratum, t on :math:`J-1` df when every stratum is fine, else normal. Unlike the
    notebook's blocked readout, which reuses the unblocked two-sample SE, the variance reflects
    the blocking. ``y``, ``z`` and ``strata`` are matched by index when pandas Series, by position
    when arrays.

    Examples
    --------
    >>> import netexp as ne
    >>> y = [1.0, 2.0, 2.5, 3.5, 3.0, 5.0]; z = [0, 1, 0, 1, 0, 1]; pairs = [0, 0, 1, 1, 2, 2]
    >>> est = ne.stratified_difference_in_means(y, z, pairs, estimand="average treatment effect")
    >>> round(est.estimate, 4), round(est.std_error, 4), est.df
    (1.3333, 0.3333, 2.0)
    """
    from .._unit_align import align_units
    from ..estimators._paired import blocked_difference_in_means_parts

    level = check_confidence_level(confidence_level)
    arrs, _ = align_units({"y": y, "z": z, "strata": strata})
    zb = _one_assignment(arrs["z"])
    yv = check_finite_vector("y", arrs["y"], zb.shape[0])
    _, codes = dense_codes(arrs["strata"])
    parts = blocked_difference_in_means_parts(yv, zb, codes)
    return Estimate.from_se(estimand=estimand, estimate=parts["estimate"], std_error=np.sqrt(parts["variance"]),
                            n=zb.shape[0], method="stratified difference in means",
                            variance=parts["variance_label"], df=parts["df"], confidence_level=level)


def _stratified_estimator(ctx):
    strata = getattr(ctx.design, "strata", None)
    if strata is None:
        strata = np.zeros(ctx.z.shape[0], dtype=np.int64)
    return stratified_difference_in_means(ctx.y, ctx.z, strata, confidence_level=ctx.confidence_level)


_stratified_estimator.estimand = "global effect"


def blocking_precision(potential_outcomes: Any, blocks: Any, *, p: float = 0.5, n_sims: int = 600, rng=None,
                       estimators: Any = None, n_jobs: int = 1, confidence_level: float = 0.95) -> Diagnosis:
    r"""Complete randomization versus randomization within blocks, on a fixed population.

    Parameters
    ----------
    potential_outcomes : realized potential outcomes
    blocks : str or array-like
        Block of every unit, or the name of a column of ``potential_outcomes.covariates``
        (e.g. ``"segment"``).
    p : float, default 0.5
        Share treated (in every block for the blocked design).
    n_sims : int, default 600
    rng : None, int, SeedSequence or Generator
    estimators : dict or list, optional
        Default: ``{"difference in means": "difference-in-means", "stratified": <block-weighted
        difference in means with its blocked variance>}``; the stratified estimator uses the
        design's strata (one stratum under complete randomization, where it equals the
        difference in means).

    Returns
    -------
    Diagnosis
        Designs ``complete`` and ``blocked``; noise fixed (finite population).

    Notes
    -----
    Blocking removes the between-block part of the variance: with block shares :math:`w_s`,
    :math:`V_{block} \approx \sum_s w_s^2 (S^2_{1s}/n_{1s} + S^2_{0s}/n_{0s})`, smaller than
    complete randomization's when blocks predict outcomes. The notebook draws both designs from
    the same seed each simulation and reports, for the blocked design, the unblocked standard
    error (so its table shows no gain); here each estimator's SE is compared with the SD.

    Examples
    --------
    >>> from netexp.diagnostics import blocking_precision
    >>> from netexp.simulate import HeterogeneousPopulation
    >>> po = HeterogeneousPopulation().realize(5000, rng=10)
    >>> dx = blocking_precision(po, "segment", n_sims=100, rng=0)
    >>> sd = dx.compare("sd")["difference in means"]
    >>> bool(sd["blocked"] < sd["complete"])
    True
    """
    p = check_probability("p", p)
    check_int("n_sims", n_sims, low=2)
    n = int(potential_outcomes.n_units) if hasattr(potential_outcomes, "n_units") else len(potential_outcomes.noise)
    if isinstance(blocks, str):
        cov = getattr(potential_outcomes, "covariates", None)
        if cov is None or blocks not in cov.columns:
            raise InputError(f"blocks={blocks!r} is not a covariate column of the potential outcomes "
                             f"({None if cov is None else list(cov.columns)}); pass one block label per unit.")
        blocks = cov[blocks].to_numpy()
    b = np.asarray(blocks)
    if b.ndim != 1 or b.shape[0] != n:
        raise InputError(f"blocks must have one label per unit ({n}); got shape {b.shape}.")
    if estimators is None:
        estimators = {"difference in means": "difference-in-means", "stratified": _stratified_estimator}
    designs = {"complete": Complete(n, p=p), "blocked": Stratified(b, p=p)}
    return diagnose(designs, estimators, potential_outcomes, getattr(potential_outcomes, "graph", None),
                    n_sims=n_sims, rng=check_rng(rng), noise="fixed", n_jobs=n_jobs,
                    confidence_level=confidence_level)

