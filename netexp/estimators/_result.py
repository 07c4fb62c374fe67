"""The one result type every estimator returns, and a table of several."""

from __future__ import annotations

import dataclasses
import html
from typing import Iterable

import numpy as np
import pandas as pd

from .._validation import check_confidence_level

__all__ = ["Estimate", "EstimateTable", "format_estimates"]

COLUMNS = ["estimand", "estimate", "std_error", "ci_low", "ci_high", "confidence_level", "p_value", "df",
           "n", "n_clusters", "method", "variance"]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """An estimate with its standard error, confidence interval and test of zero effect.

    Attributes
    ----------
    estimand : str
        What is estimated (e.g. ``"global effect"``, ``"direct effect"``).
    estimate : float
    std_error : float
    ci : tuple of float
        Two-sided interval at ``confidence_level``: ``estimate +- q * std_error`` with ``q`` the
        Student t quantile on ``df`` degrees of freedom (normal when ``df`` is None).
    p_value : float
        Two-sided p-value for the null hypothesis estimand = 0.
    n : int
        Units used.
    method : str
        Estimator name.
    variance : str
        Variance estimator, and whether it is conservative.
    df : float or None
        Degrees of freedom of the reference t distribution.
    n_clusters : int or None
    confidence_level : float
    note : str
        Assumptions under which the interval is valid.
    """

    estimand: str
    estimate: float
    std_error: float
    ci: tuple
    p_value: float
    n: int
    method: str
    variance: str
    df: float | None = None
    n_clusters: int | None = None
    confidence_level: float = 0.95
    note: str = ""

    @classmethod
    def from_se(cls, *, estimand, estimate, std_error, n, method, variance, df=None, n_clusters=None,
                confidence_level=0.95, note="") -> "Estimate":
        from scipy import stats  # lazy: scipy.stats takes ~0.4 s to import
        est, se = float(estimate), float(std_error)
        se = zero_se_to_nan(se, est, estimand)
        ci = _interval(est, se, df, confidence_level)
        if se > 0 and np.isfinite(se):
            t = est / se
            p = 2 * (stats.t.sf(abs(t), df) if df is not None else stats.norm.sf(abs(t)))
        else:
            p = float("nan")
        return cls(estimand, est, se, ci, float(p), int(n), method, variance,
                   None if df is None else float(df), n_clusters, float(confidence_level), note)

    @classmethod
    def not_estimable(cls, *, estimand, reason, n, method, n_clusters=None, confidence_level=0.95,
                      variance="not estimable") -> "Estimate":
        """A row that says why ``estimand`` could not be estimated: every number NaN, the reason in ``note``."""
        nan = float("nan")
        return cls(estimand, nan, nan, (nan, nan), nan, int(n), method, variance, None, n_clusters,
                   float(confidence_level), f"not estimable: {reason}")

    @property
    def estimable(self) -> bool:
        """False for a row made by :meth:`not_estimable`."""
        return not self.note.startswith("not estimable:")

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[float, float]:
        """Interval at another level, same reference distribution."""
        return _interval(self.estimate, self.std_error, self.df, check_confidence_level(confidence_level))

    def covers(self, value: float) -> bool:
        """Whether the interval contains ``value``."""
        return bool(self.ci[0] <= value <= self.ci[1])

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns shared by every estimator."""
        return pd.DataFrame([self._row()], columns=COLUMNS)

    def _row(self) -> dict:
        return {"estimand": self.estimand, "estimate": self.estimate, "std_error": self.std_error,
                "ci_low": self.ci[0], "ci_high": self.ci[1], "confidence_level": self.confidence_level,
                "p_value": self.p_value, "df": self.df, "n": self.n, "n_clusters": self.n_clusters,
                "method": self.method, "variance": self.variance}

    def to_dict(self) -> dict:
        d = self._row()
        d["note"] = self.note
        return d

    def summary(self) -> str:
        lvl = int(round(100 * self.confidence_level))
        lines = [
            f"{self.method}: {self.estimand}",
            f"  estimate   {self.estimate: .6g}",
            f"  std error  {self.std_error: .6g}   ({self.variance})",
            f"  {lvl}% CI     [{self.ci[0]:.6g}, {self.ci[1]:.6g}]"
            + (f"   t with {self.df:.4g} df" if self.df is not None else "   normal"),
            f"  p-value    {_fmt_p(self.p_value)}   (H0: {self.estimand} = 0)",
            f"  n          {self.n}" + (f" units in {self.n_clusters} clusters" if self.n_clusters else " units"),
        ]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        lvl = int(round(100 * self.confidence_level))
        return (f"Estimate({self.estimand}: {self.estimate:.4g} (se {self.std_error:.3g}), {lvl}% CI "
                f"[{self.ci[0]:.4g}, {self.ci[1]:.4g}], p {_p_short(self.p_value)}, n={self.n}, {self.method})")

    def plot(self, ax=None, **kw):
        """The estimate and its interval: :func:`netexp.plots.plot_forest`."""
        from ..plots import plot_forest

        return plot_forest([self], ax=ax, **kw)

    def _repr_html_(self) -> str:
        return _html_table(self.to_frame(), title=html.escape(f"{self.method}: {self.estimand}"), note=self.note)


class EstimateTable(tuple):
    """A tuple of :class:`Estimate` with a shared table view (``to_frame``) and lookup by estimand."""

    def __new__(cls, estimates: Iterable[Estimate]):
        return super().__new__(cls, tuple(estimates))

    def __getitem__(self, key):
        if isinstance(key, str):
            for e in self:
                if e.estimand == key:
                    return e
            raise KeyError(f"no estimand {key!r}; have {[e.estimand for e in self]}")
        return super().__getitem__(key)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([e._row() for e in self], columns=COLUMNS)

    def summary(self) -> str:
        """Every estimate in full (method, variance, degrees of freedom, note), one block each."""
        return "\n\n".join(e.summary() for e in self)

    def __str__(self) -> str:
        """A compact table: one row per estimand with estimate, standard error, interval, p-value and n."""
        return format_estimates(self)

    def __repr__(self) -> str:
        return format_estimates(self)

    def plot(self, ax=None, **kw):
        """Forest plot of the estimates (``truth=``, ``label_by=``): :func:`netexp.plots.plot_forest`."""
        from ..plots import plot_forest

        return plot_forest(self, ax=ax, **kw)

    def _repr_html_(self) -> str:
        return _html_table(self.to_frame(), title="Estimates")


def _p_short(p: float) -> str:
    """A p-value for tables: ``< 0.001`` below 0.001, else three decimals (with its ``=``)."""
    if p is None or not np.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _num(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.4g}"


def format_estimates(estimates: Iterable[Estimate], *, labels: Iterable[str] | None = None) -> str:
    """A compact text table of estimates: estimand, estimate, std. error, interval, p-value, n.

    >>> from netexp.estimators import Estimate
    >>> e = Estimate.from_se(estimand="global effect", estimate=0.3, std_error=0.01, n=100, method="m", variance="v")
    >>> print(format_estimates([e]))
    estimand       estimate  std_error  95% CI            p-value  n
    global effect  0.3       0.01       [0.2804, 0.3196]  < 0.001  100
    """
    ests = list(estimates)
    if not ests:
        return "(no estimates)"
    lvls = {int(round(100 * e.confidence_level)) for e in ests}
    ci_head = f"{lvls.pop()}% CI" if len(lvls) == 1 else "CI"
    head = (["estimator"] if labels is not None else []) + ["estimand", "estimate", "std_error", ci_head, "p-value",
                                                            "n"]
    rows = []
    for i, e in enumerate(ests):
        ci = "n/a" if not (np.isfinite(e.ci[0]) and np.isfinite(e.ci[1])) else f"[{e.ci[0]:.4g}, {e.ci[1]:.4g}]"
        p = _p_short(e.p_value)
        row = [e.estimand, _num(e.estimate), _num(e.std_error), ci, p[2:] if p.startswith("= ") else p,
               str(e.n) + (f" ({e.n_clusters} clusters)" if e.n_clusters else "")]
        rows.append(row)
    if labels is not None:
        rows = [[lab] + r for lab, r in zip(labels, rows)]
    width = [max(len(str(r[k])) for r in [head] + rows) for k in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, width)).rstrip() for r in [head] + rows)


def _fmt_p(p: float) -> str:
    """p-values below double precision's resolution print as a bound, not as 0."""
    if not np.isfinite(p):
        return "nan"
    return "< 1e-16" if p < 1e-16 else f"{p:.4g}"


def zero_se_to_nan(se: float, estimate: float, estimand: str = "the estimate") -> float:
    """nan (with an EstimationWarning saying why) for a standard error that is 0 or rounding-level.

    A zero standard error means the data leave nothing to estimate the variance from (outcomes constant
    within each arm, a model that fits exactly, one unit per group): a zero-width interval would claim
    certainty the design does not give. Rounding-level: at most 1e-12 of the estimate's size.
    """
    if np.isfinite(se) and np.isfinite(estimate) and se <= 1e-12 * abs(estimate):
        from .._errors import EstimationWarning, warn

        warn(f"the standard error of {estimand} is {'0' if se == 0 else f'{se:.3g}, 0 to rounding'}: "
             "the data leave no variation to estimate the variance from (outcomes constant within "
             "each group, or a model that fits exactly); standard error, interval and p-value "
             "reported as nan.", EstimationWarning)
        return float("nan")
    return se


def _interval(est, se, df, level):
    from scipy import stats  # lazy: scipy.stats takes ~0.4 s to import
    if not (np.isfinite(se) and se >= 0):
        return (float("nan"), float("nan"))
    a = 1 - level
    q = stats.t.ppf(1 - a / 2, df) if df is not None else stats.norm.ppf(1 - a / 2)
    return (float(est - q * se), float(est + q * se))


def _html_table(df: pd.DataFrame, title: str, note: str = "") -> str:
    body = df.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="")
    foot = f"<p><small>{html.escape(note)}</small></p>" if note else ""
    return f"<div><strong>{title}</strong>{body}{foot}</div>"


def welch_df(v1: float, n1: int, v0: float, n0: int) -> float:
    """Welch-Satterthwaite degrees of freedom for s1^2/n1 + s0^2/n0."""
    a, b = v1 / n1, v0 / n0
    den = a * a / (n1 - 1) + b * b / (n0 - 1)
    return float((a + b) ** 2 / den) if den > 0 else float("inf")

