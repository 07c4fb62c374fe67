"""Sample ratio mismatch and covariate balance across the k arms of a multi-arm experiment."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._align import aligned
from .._covariates import covariate_matrix
from .._errors import InputError
from .._validation import check_probability

__all__ = ["multiarm_srm_test", "MultiArmSRMResult", "multiarm_balance"]


@dataclasses.dataclass(frozen=True)
class MultiArmSRMResult:
    """Chi-square goodness of fit of the k arm counts to the stated per-arm probabilities.

    Attributes
    ----------
    arms : tuple
    observed : tuple of int
    expected : tuple of float
        Analyzed total times the planned shares.
    chi2 : float
    df : int
        k - 1.
    p_value : float
    alpha : float
    mismatch : bool
    message : str
    """

    arms: tuple
    observed: tuple
    expected: tuple
    chi2: float
    df: int
    p_value: float
    alpha: float
    mismatch: bool
    message: str

    def to_frame(self) -> pd.DataFrame:
        """One row per arm."""
        tot_o, tot_e = sum(self.observed), sum(self.expected)
        return pd.DataFrame({"arm": list(self.arms), "observed": list(self.observed), "expected": list(self.expected),
                             "observed_share": [o / tot_o for o in self.observed],
                             "planned_share": [e / tot_e for e in self.expected]})

    def summary(self) -> str:
        rows = ["Sample ratio test across arms", self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4g}"),
                f"chi2 = {self.chi2:.4g} on {self.df} df, p = {self.p_value:.4g} (alpha = {self.alpha:g})", self.message]
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.summary()


@aligned("z")
def multiarm_srm_test(z: Any, *, prob_each: Sequence[float] | None = None, design: Any = None,
                      arms: Sequence | None = None, alpha: float = 0.001) -> MultiArmSRMResult:
    r"""Sample ratio mismatch test across k arms: analyzed counts against the planned shares.

    Parameters
    ----------
    z : array-like
        Arm (name or code) of every analyzed unit.
    prob_each : sequence of float, optional
        Planned share of each arm, in the order of ``arms``.
    design : MultiArmDesign, optional
        Instead of ``prob_each``: the planned share of arm a is the design's mean
        :math:`\frac1n\sum_i P(Z_i = a)` (exact), and its ``arms`` name the arms.
    arms : sequence, optional
        Arm names in order (default: the design's, else the sorted distinct values of ``z``).
    alpha : float, default 0.001

    Returns
    -------
    MultiArmSRMResult

    Notes
    -----
    Pearson's :math:`\chi^2 = \sum_a (O_a - E_a)^2/E_a` with :math:`E_a = N \pi_a` on
    :math:`k-1` df (``scipy.stats.chisquare`` gives the same statistic and p-value). Under a
    complete design the counts are fixed by the design, so a mismatch means units were lost
    unevenly after assignment; under a Bernoulli design the reference distribution is exact in
    the limit. Arms with planned share 0 must have no unit.

    Examples
    --------
    >>> import netexp as ne
    >>> r = ne.multiarm_srm_test(["a"] * 310 + ["b"] * 300 + ["c"] * 390, prob_each=(0.3, 0.3, 0.4))
    >>> round(r.chi2, 4), round(r.p_value, 4), r.mismatch
    (0.5833, 0.747, False)
    """
    from ..designs._multiarm import arm_codes

    alpha = check_probability("alpha", alpha)
    if (prob_each is None) == (design is None):
        raise InputError("give the planned shares as prob_each= or design=, exactly one.")
    if design is not None:
        arms = design.arms if arms is None else arms
        pi = np.asarray(design.probabilities, dtype=float).mean(0)
    else:
        pi = np.asarray(prob_each, dtype=float)
        if pi.ndim != 1 or (pi < 0).any() or abs(pi.sum() - 1) > 1e-9:
            raise InputError(f"prob_each must be non-negative shares summing to 1; got {list(np.atleast_1d(pi))}.")
    codes, names = arm_codes(np.asarray(z), arms)
    if len(names) != pi.shape[0]:
        raise InputError(f"{len(names)} arms ({list(names)}) but {pi.shape[0]} planned shares; give arms= in the "
                         "order of the shares.")
    O = np.bincount(codes, minlength=len(names)).astype(float)
    N = O.sum()
    E = N * pi
    if ((E == 0) & (O > 0)).any():
        bad = [names[a] for a in np.flatnonzero((E == 0) & (O > 0))]
        return MultiArmSRMResult(tuple(names), tuple(int(o) for o in O), tuple(E.tolist()), float("inf"),
                                 len(names) - 1, 0.0, alpha, True,
                                 f"arms {bad} have units but a planned share of 0: impossible under the plan.")
    pos = E > 0
    chi2 = float(((O[pos] - E[pos]) ** 2 / E[pos]).sum())
    df = int(pos.sum()) - 1
    p = float(stats.chi2.sf(chi2, df))
    worst = int(np.argmax(np.where(pos, np.abs(O - E) / np.sqrt(np.where(pos, E, 1)), -1)))
    msg = (f"sample ratio mismatch: p = {p:.3g} < {alpha:g}; arm {names[worst]!r} has {int(O[worst])} units against "
           f"{E[worst]:.1f} expected. Find where units were lost before reading the effects." if p < alpha else
           f"no sample ratio mismatch (p = {p:.3g}).")
    return MultiArmSRMResult(tuple(names), tuple(int(o) for o in O), tuple(E.tolist()), chi2, df, p, alpha,
                             bool(p < alpha), msg)


@aligned("covariates", "z")
def multiarm_balance(covariates: Any, z: Any, *, arms: Sequence | None = None, control: Any = None) -> pd.DataFrame:
    r"""Covariate means by arm, standardized differences against a control arm, and an F test per covariate.

    Parameters
    ----------
    covariates : DataFrame or array-like, one row per unit
        Categorical columns become one dummy per level.
    z : array-like or Series
        Arm of every unit (a Series is matched to a DataFrame's index).
    arms : sequence, optional
        Arm names in order (e.g. ``design.arms``).
    control : arm, optional
        Reference of the standardized differences (default the first arm).

    Returns
    -------
    DataFrame
        One row per covariate: ``mean[<arm>]`` for each arm, ``std_diff[<arm>]`` for each other
        arm, :math:`(\bar x_a - \bar x_c)/\sqrt{(s_a^2 + s_c^2)/2}`, and ``f_p_value``, the one-way
        ANOVA p-value of equal means across arms (``scipy.stats.f_oneway``).

    Examples
    --------
    >>> import numpy as np, pandas as pd, netexp as ne
    >>> X = pd.DataFrame({"age": np.random.default_rng(0).normal(40, 10, 300)})
    >>> z = ne.MultiArmComplete(300, num_arms=3).sample(rng=0)
    >>> list(ne.multiarm_balance(X, z, arms=("T1", "T2", "T3")).columns)
    ['covariate', 'mean[T1]', 'mean[T2]', 'mean[T3]', 'std_diff[T2]', 'std_diff[T3]', 'f_p_value']
    """
    from ..designs._multiarm import arm_codes

    frame = covariates if isinstance(covariates, pd.DataFrame) else pd.DataFrame(np.asarray(covariates))
    if isinstance(z, pd.Series):
        if not z.index.equals(frame.index):
            if set(z.index) != set(frame.index) or not z.index.is_unique:
                raise InputError("z is a Series whose index does not match the covariates' rows; align them first.")
            z = z.reindex(frame.index)
    elif len(np.asarray(z)) != len(frame):
        raise InputError(f"z has {len(np.asarray(z))} entries but covariates has {len(frame)} rows.")
    codes, names = arm_codes(np.asarray(z), arms)
    X, cols = covariate_matrix(frame, None, what="covariates")
    c = 0 if control is None else names.index(control)
    rows = []
    for j, col in enumerate(cols):
        x = X[:, j]
        groups = [x[codes == a] for a in range(len(names))]
        row = {"covariate": col}
        for a, g in enumerate(groups):
            row[f"mean[{names[a]}]"] = g.mean() if g.size else np.nan
        for a, g in enumerate(groups):
            if a == c:
                continue
            sd = np.sqrt((g.var(ddof=1) + groups[c].var(ddof=1)) / 2)
            row[f"std_diff[{names[a]}]"] = (g.mean() - groups[c].mean()) / sd if sd > 0 else 0.0
        ok = [g for g in groups if g.size]
        row["f_p_value"] = float(stats.f_oneway(*ok).pvalue) if len(ok) > 1 and np.ptp(x) > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
