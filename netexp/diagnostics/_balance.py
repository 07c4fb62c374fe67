"""Covariate balance: standardized differences, Morgan & Rubin's Mahalanobis statistic, and
their randomization distribution under the design that produced the assignment."""

from __future__ import annotations

import dataclasses
import html
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._align import aligned
from .._covariates import as_covariate_frame, covariate_matrix, whiten
from .._errors import EstimationError, InputError
from .._validation import check_binary_matrix, check_int, check_rng
from ..designs import ClusterRandomized, Design
from ..estimators._result import _fmt_p, _html_table

__all__ = ["BalanceTable", "balance_table"]

#: Rule-of-thumb bound on |standardized difference| (Imbens & Rubin 2015, ch. 14; Austin 2009).
THRESHOLD = 0.1
#: Elements of one (draws x units) float work matrix: 2^22 float64 = 32 MB per batch.
_BATCH_ELEMENTS = 2**22
#: Eigenvalues of the covariate correlation matrix below this share of the largest count as zero.
#: Pooled variance (in units of the overall variance) below which a draw's std difference is undefined.
_ZERO_VAR = 1e-12
#: Relative tolerance for "at least as extreme": ties computed along different float paths still count.
_TIE_RTOL = 1e-9

COLUMNS = ["covariate", "mean_treated", "mean_control", "difference", "std_difference", "variance_ratio",
           "n_treated", "n_control", "p_value", "abs_std_difference_q95"]


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class BalanceTable:
    """Covariate balance between the arms of one assignment, returned by :func:`balance_table`.

    Per-covariate arrays follow the order of :attr:`covariates` (categorical covariates appear
    as one dummy per level, named ``column=level``). All arrays are read-only.

    Attributes
    ----------
    covariates : tuple of str
    mean_treated, mean_control, difference : ndarray
        Arm means (weighted when ``weights`` was given) and treated minus control.
    std_difference : ndarray
        ``difference / sqrt((s1^2 + s0^2) / 2)``; NaN where a covariate is constant within
        both arms.
    variance_ratio : ndarray
        ``s1^2 / s0^2``.
    n_treated, n_control : int
    mahalanobis : float
        Morgan & Rubin's :math:`M` over all covariates (first level of each categorical dropped).
    mahalanobis_df : int
        Rank of the covariate covariance: degrees of freedom of the chi-square reference.
    mahalanobis_p_value_chi2 : float
        :math:`P(\\chi^2_{df} \\ge M)`, the asymptotic reference under complete randomization of units.
    p_value : ndarray or None
        Randomization p-value of each ``|std_difference|`` under ``design`` (None without a design).
    abs_std_difference_q95 : ndarray or None
        95th percentile of ``|std_difference|`` over the design's draws: the imbalance this design
        produces by chance one time in twenty.
    mahalanobis_p_value, mahalanobis_q95 : float or None
        Randomization p-value of :math:`M` and the draws' 95th percentile of :math:`M`.
    max_abs_std_difference_q95 : float or None
        95th percentile over draws of the largest ``|std_difference|``: the reference for the
        largest row, which is what eyes go to in a long table.
    n_draws : int or None
        Draws of the design used (draws with an arm too small to compute a statistic are left out).
    design : str or None
        ``repr`` of the design.
    weights : {"none", "ipw", "user"}
    mahalanobis_draws : ndarray or None, shape (n_draws,)
    std_difference_draws : ndarray or None, shape (n_draws, n_covariates)
    notes : tuple of str
    """

    covariates: tuple
    mean_treated: np.ndarray
    mean_control: np.ndarray
    difference: np.ndarray
    std_difference: np.ndarray
    variance_ratio: np.ndarray
    n_treated: int
    n_control: int
    mahalanobis: float
    mahalanobis_df: int
    mahalanobis_p_value_chi2: float
    p_value: np.ndarray | None = None
    abs_std_difference_q95: np.ndarray | None = None
    mahalanobis_p_value: float | None = None
    mahalanobis_q95: float | None = None
    max_abs_std_difference_q95: float | None = None
    n_draws: int | None = None
    design: str | None = None
    weights: str = "none"
    mahalanobis_draws: np.ndarray | None = None
    std_difference_draws: np.ndarray | None = None
    notes: tuple = ()

    # ------------------------------------------------------------------ views
    @property
    def max_abs_std_difference(self) -> float:
        """Largest ``|std_difference|`` over covariates (NaN rows ignored)."""
        a = np.abs(self.std_difference)
        return float(np.nanmax(a)) if np.isfinite(a).any() else float("nan")

    @property
    def reference_p_value(self) -> float:
        """The p-value the verdict uses: randomization p-value of M if a design was given, else chi-square."""
        return self.mahalanobis_p_value if self.mahalanobis_p_value is not None else self.mahalanobis_p_value_chi2

    @property
    def verdict(self) -> str:
        """One line: largest standardized difference, M, its p-value and what that means."""
        mx = self.max_abs_std_difference
        if self.mahalanobis_p_value is not None:
            ref = (f"rule-of-thumb threshold {THRESHOLD:g}; 5% of this design's draws exceed "
                   f"{self.max_abs_std_difference_q95:.2g}")
            which = "randomization"
        else:
            ref = f"threshold {THRESHOLD:g}"
            which = "chi-square"
        head = f"max |std diff| {mx:.2g} ({ref})"
        p = self.reference_p_value
        if not np.isfinite(self.mahalanobis) or not np.isfinite(p):
            return f"{head}; Mahalanobis M undefined (no covariate varies across units)"
        m = f"Mahalanobis M = {self.mahalanobis:.3g} on {self.mahalanobis_df} df, {which} p = {_fmt_p2(p)}"
        floor = self.mahalanobis_p_value is not None and p <= 1.0 / (self.n_draws + 1) * (1 + 1e-12)
        if floor:
            m += f" (none of the {self.n_draws:,} draws is as imbalanced)"
        if floor and p >= 0.05:
            concl = f"too few draws to judge (p cannot go below {p:.2g} with {self.n_draws} draws); raise n_draws"
        elif p >= 0.05:
            concl = "no sign of imbalance beyond chance"
        elif p >= 0.001 and not floor:
            concl = (f"more imbalance than chance usually gives (about 1 experiment in {1 / p:.0f} looks like "
                     "this); adjust for these covariates and check how z was produced")
        else:
            concl = ("imbalance this large is very unlikely by chance: check the randomization code, eligibility "
                     "filters and lost units (srm_test) before trusting estimates")
        if self.mahalanobis_p_value is None:
            concl += (" (the chi-square reference assumes complete randomization of units; pass design= for "
                      "cluster or other designs)")
        return f"{head}; {m}: {concl}"

    def to_frame(self) -> pd.DataFrame:
        """One row per covariate (dummy), columns ``COLUMNS``; randomization columns NaN without a design."""
        k = len(self.covariates)
        nan = np.full(k, np.nan)
        return pd.DataFrame({
            "covariate": list(self.covariates),
            "mean_treated": np.array(self.mean_treated),
            "mean_control": np.array(self.mean_control),
            "difference": np.array(self.difference),
            "std_difference": np.array(self.std_difference),
            "variance_ratio": np.array(self.variance_ratio),
            "n_treated": np.full(k, self.n_treated),
            "n_control": np.full(k, self.n_control),
            "p_value": nan if self.p_value is None else np.array(self.p_value),
            "abs_std_difference_q95": nan if self.abs_std_difference_q95 is None
            else np.array(self.abs_std_difference_q95),
        }, columns=COLUMNS)

    def summary(self) -> str:
        head = (f"Covariate balance: {len(self.covariates)} covariate column(s), {self.n_treated:,} treated / "
                f"{self.n_control:,} control units")
        if self.weights != "none":
            head += f", weights: {self.weights}"
        if self.design is not None:
            head += f"\n  reference: {self.n_draws:,} draws of {self.design}"
        df = self.to_frame().drop(columns=["n_treated", "n_control", "difference"])
        if self.p_value is None:
            df = df.drop(columns=["p_value", "abs_std_difference_q95"])
        df = df.rename(columns={"std_difference": "std_diff", "variance_ratio": "var_ratio",
                                "abs_std_difference_q95": "q95_abs_std_diff"})
        table = df.to_string(index=False, float_format=lambda x: f"{x:.4g}", na_rep="nan")
        lines = [head, "", table, "", self.verdict]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"BalanceTable(covariates={len(self.covariates)}, n_treated={self.n_treated}, "
                f"n_control={self.n_control}, max_abs_std_difference={self.max_abs_std_difference:.4g}, "
                f"mahalanobis={self.mahalanobis:.4g}, p_value={_fmt_p(self.reference_p_value)})")

    def plot(self, ax=None, **kw):
        """Standardized differences with the ``±threshold`` band: :func:`netexp.plots.plot_balance`."""
        from ..plots import plot_balance

        return plot_balance(self, ax=ax, **kw)

    def _repr_html_(self) -> str:
        note = " ".join([self.verdict + "."] + list(self.notes))
        return _html_table(self.to_frame(), title=html.escape("Covariate balance"), note=note)


def _fmt_p2(p: float) -> str:
    if not np.isfinite(p):
        return "nan"
    return "< 1e-16" if p < 1e-16 else f"{p:.2g}"


# ---------------------------------------------------------------------- input checks
def _assignment_vector(z: Any, name: str = "z") -> np.ndarray:
    if np.ndim(z) != 1:
        raise InputError(f"{name} must be one assignment vector (1-D, a 0/1 entry per unit); got shape "
                         f"{np.shape(z)}.")
    n = int(np.shape(z)[0])
    if n == 0:
        raise InputError(f"{name} is empty; pass the 0/1 assignment of every unit.")
    return check_binary_matrix(name, z, n)[0]


def _resolve_weights(weights: Any, z: np.ndarray, design: Design | None):
    """Per-unit weight if treated and if control, and the kind: (w_t, w_c, kind)."""
    n = z.shape[0]
    if weights is None:
        return None, None, "none"
    if isinstance(weights, str):
        if weights != "ipw":
            raise InputError(f"weights must be None, 'ipw' or an array of positive weights; got {weights!r}.")
        if design is None:
            raise InputError("weights='ipw' needs design= (the weights are 1/P(Z_i=1) and 1/P(Z_i=0) from "
                             "design.probabilities); pass the design, or an array of weights.")
        p = np.asarray(design.probabilities, dtype=float)
        bad = (p <= 0) | (p >= 1)
        if bad.any():
            raise InputError(f"weights='ipw': {int(bad.sum())} units have treatment probability 0 or 1 under the "
                             "design; inverse-probability weights need 0 < P(Z_i=1) < 1. Drop those units.")
        return 1.0 / p, 1.0 / (1.0 - p), "ipw"
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise InputError("weights must be None, 'ipw' or an array of positive numbers, one per unit.") from None
    if w.ndim != 1 or w.shape[0] != n:
        raise InputError(f"weights must have one entry per unit ({n}); got shape {w.shape}.")
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise InputError(f"weights must be finite and positive; {int(bad.sum())} entries are not (first positions "
                         f"{np.flatnonzero(bad)[:5].tolist()}).")
    if design is not None:
        p = np.asarray(design.probabilities, dtype=float)
        if np.ptp(p) > 0 and np.all((p > 0) & (p < 1)):
            ipw = np.where(z, 1.0 / np.where(p > 0, p, 1), 1.0 / np.where(p < 1, 1 - p, 1))
            ratio = w / ipw
            if np.allclose(ratio, ratio[0], rtol=1e-8, atol=0):
                raise InputError("weights look like inverse-probability weights computed from the observed z; "
                                 "with design= every draw needs its own weights, so pass weights='ipw'.")
    w.flags.writeable = False
    return w, w, "user"


def _mahalanobis_basis(Xm: np.ndarray, names_m: list[str]):
    """Whitened covariates ``Xw`` (n x r) with ``||mean diff of Xw||^2 = d' S^+ d``, rank r, notes."""
    return whiten(Xm, names_m)


class _DrawStats:
    """Std differences and M for many assignments at once: two matrix products per batch.

    Columns of ``G`` (per unit, times the unit's weight in the arm): weight, weight^2, scaled
    covariates, their squares, whitened covariates. ``Z @ G`` gives every arm's weighted sums.
    """

    def __init__(self, Xa, Xw, w_t, w_c):
        n, self.k = Xa.shape
        self.r = Xw.shape[1]
        mu = Xa.mean(0)
        sd = Xa.std(0)
        sd[sd == 0] = 1.0
        Xs = (Xa - mu) / sd  # std difference and variance ratio are invariant to shift and scale
        F = np.hstack([np.ones((n, 1)), Xs, Xs * Xs, Xw])
        self.same = w_t is w_c
        wt = np.ones(n) if w_t is None else w_t
        wc = np.ones(n) if w_c is None else w_c
        self.Gt = np.hstack([wt[:, None], (wt * wt)[:, None], wt[:, None] * F[:, 1:]])
        self.Gc = self.Gt if self.same else np.hstack([wc[:, None], (wc * wc)[:, None], wc[:, None] * F[:, 1:]])
        self.tot_c = self.Gc.sum(0)

    def __call__(self, Z: np.ndarray):
        Zf = Z.astype(float)
        At = Zf @ self.Gt
        Ac = self.tot_c - (At if self.same else Zf @ self.Gc)
        k, r = self.k, self.r
        with np.errstate(divide="ignore", invalid="ignore"):
            out = []
            for A in (At, Ac):
                v1, v2 = A[:, 0], A[:, 1]
                s, q, mw = A[:, 2:2 + k], A[:, 2 + k:2 + 2 * k], A[:, 2 + 2 * k:2 + 2 * k + r]
                mean = s / v1[:, None]
                denom = v1 - v2 / v1  # V1 - V2/V1: n - 1 when unweighted
                var = np.maximum(q - s * mean, 0.0) / denom[:, None]
                var[~(denom > 1e-12 * v1)] = np.nan
                out.append((v1, v2, mean, var, mw / v1[:, None]))
            (v1t, v2t, mt, vt, wt), (v1c, v2c, mc, vc, wc) = out
            pooled = (vt + vc) / 2
            sd = (mt - mc) / np.sqrt(pooled)
            sd[~(pooled > _ZERO_VAR)] = np.nan
            d = wt - wc
            M = (d * d).sum(1) / (v2t / v1t**2 + v2c / v1c**2)
        M[~((v1t > 0) & (v1c > 0))] = np.nan
        if r == 0:
            M[:] = np.nan
        return sd, M


def _arm_moments(X: np.ndarray, w: np.ndarray | None):
    """Weighted mean and bias-corrected weighted variance of each column (two-pass)."""
    if w is None:
        return X.mean(0), X.var(0, ddof=1)
    v1, v2 = w.sum(), (w * w).sum()
    m = w @ X / v1
    var = w @ ((X - m) ** 2) / (v1 - v2 / v1)
    return m, var


# ---------------------------------------------------------------------- main entry point
@aligned("covariates", "z", "weights")
def balance_table(covariates: Any, z: Any, columns: Sequence[str] | None = None, *, design: Design | None = None,
                  n_draws: int = 1000, rng=None, weights: Any = None) -> BalanceTable:
    r"""Covariate balance between treated and control units, judged against the design's chance imbalance.

    Randomization balances covariates in expectation, not in any one assignment: some
    imbalance is always there, and more of it with few units or cluster randomization. A balance
    table is a check of the *implementation* (a broken randomization key, an eligibility filter
    applied after assignment, lost units), not a ritual in which a noisy p-value voids the
    experiment. Passing ``design`` answers the useful question: is this imbalance surprising for
    *this* design?

    Parameters
    ----------
    covariates : DataFrame, Series or array
        Pre-treatment covariates, one row per unit, rows in the same order as ``z``.
        Categorical and string columns are expanded to one 0/1 dummy per level. Missing values
        are an error.
    z : array-like of 0/1 or bool, shape (n_units,)
        The assignment to check.
    columns : list of str, optional
        Covariate columns to use (default: all).
    design : Design, optional
        The design ``z`` was drawn from. Adds the randomization distribution of every statistic
        over ``n_draws`` draws of the design, randomization p-values and 95th percentiles.
    n_draws : int, default 1000
        Draws of ``design`` (ignored without a design).
    rng : None, int, SeedSequence or Generator
        Seeds the design draws.
    weights : None, "ipw" or array of positive float, optional
        ``"ipw"`` (needs ``design``): inverse-probability weights :math:`1/\pi_i` for treated and
        :math:`1/(1-\pi_i)` for control units, :math:`\pi_i` = ``design.probabilities``,
        recomputed for every draw. An array: fixed weights per unit, kept by each unit in
        whichever arm a draw puts it (sampling weights, say). Weights that depend on the
        observed arm belong in ``"ipw"``, not in an array.

    Returns
    -------
    BalanceTable
        ``to_frame()`` gives one row per covariate; ``summary()`` a table and a verdict line.

    Raises
    ------
    InputError
        ``z`` is not a 0/1 vector, ``covariates`` has a different number of rows, a column is
        missing or has missing / infinite values, bad ``weights`` or ``design``.
    EstimationError
        An arm has fewer than 2 units.

    Notes
    -----
    Arm :math:`a \in \{1, 0\}` with weights :math:`w_i` (all 1 when unweighted),
    :math:`V_1 = \sum_{i \in a} w_i`, :math:`V_2 = \sum_{i \in a} w_i^2`:

    .. math::

        \bar x_a = \frac{\sum_{i \in a} w_i x_i}{V_1}, \qquad
        s_a^2 = \frac{\sum_{i \in a} w_i (x_i - \bar x_a)^2}{V_1 - V_2 / V_1},

    the usual mean and :math:`n_a - 1` variance when the weights are equal (weighted means are
    Hajek means; the variance is the "reliability weights" correction). Per covariate:

    .. math::

        \text{std difference} = \frac{\bar x_1 - \bar x_0}{\sqrt{(s_1^2 + s_0^2)/2}}, \qquad
        \text{variance ratio} = s_1^2 / s_0^2 .

    The denominator is the *average of the two arm variances* (Imbens & Rubin 2015, eq. 14.2),
    not the variance of the pooled sample, so a treatment-dependent spread does not enter
    twice. When both arm variances are 0 the std difference is NaN (noted; with different
    constants in the two arms the arms do not overlap at all).

    Overall balance is Morgan & Rubin's (2012) Mahalanobis statistic on the covariates with the
    first level of each categorical dropped (a full-rank set; :math:`M` does not depend on which
    level is dropped):

    .. math::

        M = (\bar x_1 - \bar x_0)' \left[ S \left(\tfrac{1}{n_1} + \tfrac{1}{n_0}\right)\right]^{-1}
            (\bar x_1 - \bar x_0),

    :math:`S` the sample covariance (divisor :math:`n - 1`) of the covariates over all units,
    which is exactly the covariance of :math:`\bar x_1 - \bar x_0` under complete randomization
    up to the factor, so :math:`E[M] = k` and :math:`M \approx \chi^2_k` for large :math:`n`.
    A singular :math:`S` (constant or collinear columns) uses the pseudo-inverse and its rank
    as df. With weights, :math:`1/n_a` becomes :math:`V_2/V_1^2` (one over Kish's effective
    size) and :math:`S` stays unweighted; the chi-square reference is then only approximate.

    The chi-square p-value assumes complete randomization of units. Under cluster, blocked or
    re-randomized designs it is wrong in either direction; the randomization p-value,
    :math:`(1 + \#\{r: T_r \ge T_{obs}\}) / (1 + R)` over :math:`R` draws of ``design`` (counting
    the observed assignment as one draw, so never 0 and valid at every level), is right for any
    design. For the std differences the statistic is :math:`|\text{std difference}|`.
    Draws are processed in batches of about :math:`2^{22}` unit-assignments with two matrix
    products each.

    References
    ----------
    Morgan, K. L., & Rubin, D. B. (2012). Rerandomization to improve covariate balance in
    experiments. *The Annals of Statistics*, 40(2), 1263-1282.

    Imbens, G. W., & Rubin, D. B. (2015). *Causal Inference for Statistics, Social, and
    Biomedical Sciences*, ch. 14 (assessing overlap: normalized differences). Cambridge
    University Press.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import netexp as ne
    >>> from netexp.diagnostics import balance_table
    >>> gen = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": gen.normal(40, 10, 200), "plan": gen.choice(["free", "pro"], 200)})
    >>> design = ne.Complete(200)
    >>> z = design.sample(rng=0)
    >>> bt = balance_table(X, z, design=design, n_draws=500, rng=0)
    >>> bt.to_frame()[["covariate", "std_difference", "p_value", "abs_std_difference_q95"]].round(3)
       covariate  std_difference  p_value  abs_std_difference_q95
    0        age          -0.093    0.509                   0.277
    1  plan=free           0.080    0.677                   0.281
    2   plan=pro          -0.080    0.677                   0.281
    >>> print(bt.verdict)  # doctest: +NORMALIZE_WHITESPACE
    max |std diff| 0.093 (rule-of-thumb threshold 0.1; 5% of this design's draws exceed 0.32);
    Mahalanobis M = 0.78 on 2 df, randomization p = 0.69: no sign of imbalance beyond chance

    With 100 units per arm, a |std diff| of 0.28 happens one time in twenty by chance alone:
    the 0.1 rule of thumb is meant for large samples.
    """
    zb = _assignment_vector(z)
    n = zb.shape[0]
    if isinstance(covariates, (pd.DataFrame, pd.Series)) and isinstance(z, pd.Series) \
            and not covariates.index.equals(z.index):
        raise InputError("z and covariates have different indexes; balance_table matches rows by position. "
                         "Align them first (z = z.reindex(covariates.index)) or pass z.to_numpy().")
    frame = as_covariate_frame(covariates, what="covariates")
    if len(frame) != n:
        raise InputError(f"covariates has {len(frame)} rows but z has {n} entries; pass one row per unit, in the "
                         "same order as z.")
    Xa, names = covariate_matrix(frame, columns, what="covariates")
    Xm, names_m = covariate_matrix(frame, columns, drop_first=True, what="covariates")
    bad = ~np.isfinite(Xa).all(0)
    if bad.any():
        raise InputError(f"covariates: column(s) {[nm for nm, b in zip(names, bad) if b]} have infinite values; "
                         "drop or cap them.")
    n1, n0 = int(zb.sum()), int((~zb).sum())
    if n1 < 2 or n0 < 2:
        raise EstimationError(f"balance needs at least 2 units in each arm (to estimate variances); got {n1} treated "
                              f"and {n0} control. Check that z is the assignment (0 = control, 1 = treated).")
    if design is not None:
        if not isinstance(design, Design):
            raise InputError(f"design must be a netexp Design; got {type(design).__name__}.")
        if design.n_units != n:
            raise InputError(f"design assigns {design.n_units} units but z has {n}; pass the design that produced z, "
                             "with units in the same order.")
        n_draws = check_int("n_draws", n_draws, low=1)
    w_t, w_c, kind = _resolve_weights(weights, zb, design)
    notes: list[str] = []

    # ---- per-covariate rows, observed assignment (two-pass, original units)
    w_obs = None if w_t is None else np.where(zb, w_t, w_c)
    m1, v1 = _arm_moments(Xa[zb], None if w_obs is None else w_obs[zb])
    m0, v0 = _arm_moments(Xa[~zb], None if w_obs is None else w_obs[~zb])
    diff = m1 - m0
    pooled = (v1 + v0) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        std_diff = np.where(pooled > 0, diff / np.sqrt(pooled), np.nan)
        vratio = v1 / v0
    for j in np.flatnonzero(~(pooled > 0)):
        if diff[j] != 0:
            notes.append(f"{names[j]!r} is constant within each arm but differs between them (treated "
                         f"{m1[j]:.4g}, control {m0[j]:.4g}): the arms do not overlap; std difference undefined.")
        else:
            notes.append(f"{names[j]!r} is constant in both arms: std difference undefined (NaN).")

    # ---- Mahalanobis statistic
    Xw, df, m_notes = _mahalanobis_basis(Xm, names_m)
    notes += m_notes
    stat = _DrawStats(Xa, Xw, w_t, w_c)
    sd_obs_v, M_obs_v = stat(zb[None, :])
    M_obs = float(M_obs_v[0])
    p_chi2 = float(stats.chi2.sf(M_obs, df)) if df > 0 and np.isfinite(M_obs) else float("nan")

    result = dict(covariates=tuple(names), mean_treated=_ro(m1), mean_control=_ro(m0), difference=_ro(diff),
                  std_difference=_ro(std_diff), variance_ratio=_ro(vratio), n_treated=n1, n_control=n0,
                  mahalanobis=M_obs, mahalanobis_df=df, mahalanobis_p_value_chi2=p_chi2, weights=kind)
    if design is None:
        if kind == "user" and np.ptp(w_t) > 0:
            notes.append("weighted M: its chi-square reference is approximate; pass design= for an exact one.")
        return BalanceTable(**result, notes=tuple(notes))

    # ---- randomization distribution under the design
    gen = check_rng(rng)
    batch = max(1, min(n_draws, _BATCH_ELEMENTS // n))
    sd_draws = np.empty((n_draws, len(names)))
    M_draws = np.empty(n_draws)
    n1_draws = np.empty(n_draws, dtype=np.int64)
    for start in range(0, n_draws, batch):
        stop = min(n_draws, start + batch)
        Zb = design.sample_many(stop - start, rng=gen)
        sd_draws[start:stop], M_draws[start:stop] = stat(Zb)
        n1_draws[start:stop] = Zb.sum(1)
    if n1 < n1_draws.min() or n1 > n1_draws.max():
        notes.append(f"z treats {n1} units but the design's draws treat {n1_draws.min()}-{n1_draws.max()}: z does "
                     "not look like a draw of this design (units lost or added after assignment? see srm_test).")
    if isinstance(design, ClusterRandomized):
        lab = np.asarray(design.labels)
        tc = np.bincount(lab, weights=zb, minlength=design.n_clusters)
        mixed = int(((tc > 0) & (tc < np.bincount(lab, minlength=design.n_clusters))).sum())
        if mixed:
            notes.append(f"{mixed} of the design's clusters are split between arms in z: z did not come from this "
                         "cluster design, so the randomization reference does not apply.")
    if kind == "none" and np.ptp(np.asarray(design.probabilities)) > 0:
        notes.append("the design's treatment probabilities differ across units, so unweighted arm means differ by "
                     "design; the randomization reference accounts for that (weights='ipw' compares like with like).")

    abs_obs = np.abs(sd_obs_v[0])
    abs_d = np.abs(sd_draws)
    valid_sd = np.isfinite(abs_d)
    with np.errstate(invalid="ignore"):
        hits = abs_d >= abs_obs - _TIE_RTOL * np.maximum(1.0, abs_obs)
    p_rows = (1 + hits.sum(0)) / (1 + valid_sd.sum(0))
    p_rows[~np.isfinite(abs_obs)] = np.nan
    valid_m = np.isfinite(M_draws)
    if np.isfinite(M_obs) and valid_m.any():
        p_m = float((1 + (M_draws[valid_m] >= M_obs - _TIE_RTOL * max(1.0, M_obs)).sum()) / (1 + valid_m.sum()))
        q95_m = float(np.quantile(M_draws[valid_m], 0.95))
    else:
        p_m, q95_m = float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (constant covariates)
        q95_rows = np.nanquantile(abs_d, 0.95, axis=0)
        row_max = np.nanmax(abs_d, axis=1)
    q95_max = float(np.nanquantile(row_max, 0.95)) if np.isfinite(row_max).any() else float("nan")
    n_bad = int((~valid_m).sum())
    if n_bad:
        notes.append(f"{n_bad} of {n_draws} draws left an arm empty or too small and are left out of the reference.")
    k_fin = int(np.isfinite(abs_obs).sum())
    beyond = int((abs_obs > q95_rows).sum())
    if k_fin >= 5:
        notes.append(f"{beyond} of {k_fin} covariates are beyond this design's 95th percentile of |std diff| "
                     f"(about {0.05 * k_fin:.2g} expected by chance alone).")
    return BalanceTable(**result, p_value=_ro(p_rows), abs_std_difference_q95=_ro(q95_rows),
                        mahalanobis_p_value=p_m, mahalanobis_q95=q95_m, max_abs_std_difference_q95=q95_max,
                        n_draws=int(valid_m.sum()), design=repr(design), mahalanobis_draws=_ro(M_draws[valid_m]),
                        std_difference_draws=_ro(sd_draws[valid_m]), notes=tuple(notes))
