"""Sample ratio mismatch: do the analyzed arm counts match the planned allocation?"""

from __future__ import annotations

import dataclasses
import html
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._align import aligned
from .._errors import EstimationError, InputError
from .._validation import check_probability, dense_codes
from ..designs import ClusterRandomized, Design
from ..estimators._result import _html_table
from ._balance import _assignment_vector, _fmt_p2

__all__ = ["SRMResult", "srm_test"]

COLUMNS = ["level", "method", "observed_control", "observed_treated", "expected_control", "expected_treated",
           "planned_control", "planned_treated", "chi2", "df", "p_value", "alpha", "mismatch"]

_ARM_KEYS = {0: 0, 1: 1, "control": 0, "treated": 1}  # False/True hash as 0/1 and find these too


@dataclasses.dataclass(frozen=True)
class SRMResult:
    """Chi-square goodness-of-fit test of arm counts against the planned allocation (:func:`srm_test`).

    Attributes
    ----------
    observed : tuple of int
        Analyzed counts ``(control, treated)``, of units or clusters (see ``level``).
    expected : tuple of float
        Planned counts ``(control, treated)``: the analyzed total split by the planned shares.
    chi2 : float
        Pearson statistic :math:`\\sum_a (O_a - E_a)^2 / E_a`.
    df : int
        Degrees of freedom (1: two arms).
    p_value : float
    alpha : float
        Level below which a mismatch is declared.
    mismatch : bool
        ``p_value < alpha``.
    level : {"units", "clusters"}
    message : str
        The verdict in one or two sentences.
    method : {"goodness of fit", "lost units", "planned counts"}
        ``"goodness of fit"``: analyzed counts against the planned shares (binomial reference).
        ``"lost units"``: the design fixed the planned counts, so the test asks whether the
        units lost since assignment are spread over the arms like the planned counts
        (hypergeometric reference). ``"planned counts"``: an arm has more analyzed units than
        the design assigns, which is impossible under the design (``p_value = 0``).
    planned : tuple of int or None
        Planned counts ``(control, treated)`` when the design fixes them.
    """

    observed: tuple
    expected: tuple
    chi2: float
    df: int
    p_value: float
    alpha: float
    mismatch: bool
    level: str
    message: str
    method: str = "goodness of fit"
    planned: tuple | None = None

    @property
    def planned_share(self) -> float:
        """Planned share of treated units (or clusters)."""
        return self.expected[1] / sum(self.expected)

    @property
    def observed_share(self) -> float:
        """Analyzed share of treated units (or clusters)."""
        return self.observed[1] / sum(self.observed)

    def to_frame(self) -> pd.DataFrame:
        """One row (concatenate rows of several experiments or levels)."""
        return pd.DataFrame([{
            "level": self.level, "method": self.method, "observed_control": self.observed[0],
            "observed_treated": self.observed[1], "expected_control": self.expected[0],
            "expected_treated": self.expected[1],
            "planned_control": None if self.planned is None else self.planned[0],
            "planned_treated": None if self.planned is None else self.planned[1], "chi2": self.chi2,
            "df": self.df, "p_value": self.p_value, "alpha": self.alpha, "mismatch": self.mismatch,
        }], columns=COLUMNS)

    def summary(self) -> str:
        what = self.level
        rows = [f"Sample ratio test ({what})",
                f"  {'arm':<8}{'observed':>12}{'expected':>14}{'share':>9}{'planned':>9}"]
        tot_o, tot_e = sum(self.observed), sum(self.expected)
        for i, arm in enumerate(("control", "treated")):
            rows.append(f"  {arm:<8}{self.observed[i]:>12,}{self.expected[i]:>14,.1f}"
                        f"{self.observed[i] / tot_o:>9.4f}{self.expected[i] / tot_e:>9.4f}")
        if self.planned is not None:
            rows.append(f"  planned  {self.planned[0]:,} control / {self.planned[1]:,} treated (fixed by the design)")
        ptxt = "p = 0 (impossible under the design)" if self.method == "planned counts" else _p_text(self.p_value)
        rows.append(f"  chi2 = {self.chi2:.4g} on {self.df} df, {ptxt} (alpha = {self.alpha:g}; {self.method})")
        rows.append(f"  {self.message}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return _html_table(self.to_frame(), title=html.escape(f"Sample ratio test ({self.level})"), note=self.message)


def _p_text(p: float) -> str:
    """'p = 0.0023', or a bound below double precision's resolution (chi2.sf underflows to 0)."""
    return f"p = {_fmt_p2(p)}" if not p < 1e-16 else "p < 1e-16"


def _count(x: float) -> str:
    r = round(x)
    return f"{int(r):,}" if abs(x - r) < 1e-9 else f"{x:,.1f}"


def _two_arms(value: Any, name: str) -> np.ndarray:
    """``(control, treated)`` from a mapping (keys 0/1, False/True, 'control'/'treated') or a length-2 sequence."""
    if isinstance(value, (Mapping, pd.Series)):
        items = dict(value.items())
        out = np.zeros(2)
        seen = set()
        for k, v in items.items():
            key = k.item() if isinstance(k, np.generic) else k
            if key not in _ARM_KEYS:
                raise InputError(f"{name}: unknown arm {k!r}; use keys 'control' and 'treated' (or 0 and 1).")
            seen.add(_ARM_KEYS[key])
            out[_ARM_KEYS[key]] = v
        if seen != {0, 1}:
            raise InputError(f"{name} must give both arms ('control' and 'treated'); got keys {list(items)}.")
        return out
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be two numbers (control, treated) or a mapping "
                         "{'control': ..., 'treated': ...}.") from None
    if arr.shape != (2,):
        raise InputError(f"{name} must be two numbers (control, treated) or a mapping "
                         f"{{'control': ..., 'treated': ...}}; got shape {arr.shape}.")
    return arr


def _planned_shares(expected: Any) -> np.ndarray:
    if isinstance(expected, numbers.Real) and not isinstance(expected, bool):
        p = check_probability("expected (planned treated share)", expected)
        return np.array([1 - p, p])
    e = _two_arms(expected, "expected")
    if not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise InputError(f"expected shares or counts must be positive and finite; got {e.tolist()} "
                         "(control, treated).")
    return e / e.sum()


@aligned("z", "clusters")
def srm_test(z: Any = None, *, design: Design | None = None, expected: Any = None, observed: Any = None,
             clusters: Any = None, alpha: float = 0.001) -> SRMResult:
    r"""Sample ratio mismatch (SRM) test: chi-square goodness of fit of analyzed arm counts to the plan.

    A sample ratio mismatch, treated and control counts that do not match the planned split,
    is the most common sign of a broken experiment: units lost after assignment in one arm
    more than the other (logging loss, crashes, bot filtering, a join or an eligibility filter
    that depends on treatment). Differential loss biases every estimate, so check this first.

    Parameters
    ----------
    z : array-like of 0/1 or bool, optional
        Assignment of the *analyzed* units (after every filter and join), one entry per unit.
    design : Design, optional
        The planned design. Planned treated share: the mean of ``design.probabilities``
        (expected treated count ``sum(design.probabilities)`` when every planned unit is
        analyzed). When the design fixes the planned counts (:class:`Complete`, the stratified and
        blocked designs, :class:`MatchedPairs`, also over
        clusters) the test is the sharper "lost units" test (Notes). For a
        :class:`ClusterRandomized` design, the test is at the cluster level with the shares of
        ``design.cluster_design``.
    expected : float, pair or mapping, optional
        Instead of ``design``: the planned treated share (a float), or planned shares or counts
        ``(control, treated)`` / ``{"control": ..., "treated": ...}``; counts are turned into
        shares.
    observed : pair or mapping, optional
        Instead of ``z``: the analyzed counts ``(control, treated)``, or a mapping such as
        ``pd.Series(z).value_counts()``.
    clusters : array-like, optional
        Cluster label of every analyzed unit (same order as ``z``). The test then counts
        clusters: a cluster is treated if its units are (a cluster with units in both arms is an
        error). Needs a :class:`ClusterRandomized` design or ``expected`` cluster shares.
    alpha : float, default 0.001
        Declare a mismatch when ``p_value < alpha``. Strict by convention: the check runs on
        every experiment, and real mismatches usually have tiny p-values.

    Returns
    -------
    SRMResult

    Raises
    ------
    InputError
        Neither or both of ``z`` / ``observed``, of ``design`` / ``expected``; malformed input;
        clusters split between arms.

    Notes
    -----
    **Goodness of fit** (the usual SRM test). With analyzed counts :math:`O_0, O_1`, total
    :math:`N = O_0 + O_1` and planned treated share :math:`\pi`, the expected counts are
    :math:`E_1 = N\pi`, :math:`E_0 = N(1 - \pi)` and

    .. math:: \chi^2 = \sum_{a \in \{0,1\}} \frac{(O_a - E_a)^2}{E_a} \;\approx\; \chi^2_1,

    as ``scipy.stats.chisquare(observed, expected)``. Exact in large samples when each unit's arm
    is an independent coin (Bernoulli designs, hash-based assignment), with or without loss.

    **Lost units** (designs that fix the count: :class:`Complete`, Blocked, Stratified,
    StratifiedBlocked, MatchedPairs, on units or on clusters). The
    test compares the *analyzed* counts with the *planned* ones. When ``z`` covers every planned
    unit the count is fixed by construction and the test cannot fail, so run it on the units
    that survive filtering and joins: any mismatch then means units were lost (or added) after
    assignment, which is the usual SRM situation (logging loss, crashes, bots filtered out).
    With planned counts :math:`n_0, n_1` (:math:`n = n_0 + n_1`) and :math:`L = n - N > 0`
    units lost, loss that ignores the arm leaves the number of lost treated units
    hypergeometric, and the Pearson statistic of the 2 x 2 table arm x (analyzed, lost) is

    .. math:: \chi^2 = \chi^2_{\text{goodness of fit}} \cdot \frac{n}{L} \;\approx\; \chi^2_1,

    as ``scipy.stats.chi2_contingency(table, correction=False)``. The factor :math:`n / L` is
    the finite-population correction the binomial test misses: losing 100 of 10,000 units, all
    of them treated, gives p = 0.31 by goodness of fit and :math:`p < 10^{-16}` here. An arm
    with more analyzed units than the design assigns is impossible under the design
    (``p_value = 0``). With ``expected=`` the test is always the goodness of fit.

    **Clusters.** Under cluster randomization whole clusters move together, so the unit count
    varies far more than a binomial and a unit-level test raises false alarms; the test counts
    clusters instead. It detects lost clusters; units lost inside surviving clusters need a
    per-cluster comparison of analyzed and planned sizes.

    References
    ----------
    Fabijan, A., Gupchup, J., Gupta, S., Omhover, J., Qin, W., Vermeer, L., & Dmitriev, P. (2019).
    Diagnosing sample ratio mismatch in online controlled experiments: a taxonomy and rules of
    thumb for practitioners. *Proceedings of the 25th ACM SIGKDD International Conference on
    Knowledge Discovery & Data Mining*, 2156-2164.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.diagnostics import srm_test
    >>> r = srm_test(observed={"control": 5188, "treated": 4812}, expected=0.5)
    >>> r.mismatch, round(r.chi2, 3)
    (True, 14.138)
    >>> print(r.message)  # doctest: +NORMALIZE_WHITESPACE
    Sample ratio mismatch: 4,812 treated vs 5,000 expected (p = 0.00017 < 0.001).
    Do not trust the estimates until you find where units were lost.
    >>> z = ne.Bernoulli(1000, p=0.3).sample(rng=0)
    >>> srm_test(z, design=ne.Bernoulli(1000, p=0.3)).mismatch
    False
    """
    alpha = check_probability("alpha", alpha)
    if (z is None) == (observed is None):
        raise InputError("srm_test: pass the analyzed assignment z, or the counts observed=(control, treated); "
                         "exactly one of them.")
    if (design is None) == (expected is None):
        raise InputError("srm_test: pass the planned allocation as design= or as expected= (e.g. expected=0.5 for a "
                         "50/50 split); exactly one of them.")
    if design is not None and not isinstance(design, Design):
        raise InputError(f"design must be a netexp Design; got {type(design).__name__}.")
    cluster_design = isinstance(design, ClusterRandomized)
    extra = ""

    if observed is not None:
        if clusters is not None:
            raise InputError("clusters= needs z (the assignment of every analyzed unit), not observed counts.")
        if cluster_design:
            raise InputError("observed counts are ambiguous with a cluster design (units or clusters?): pass z and "
                             "clusters=, or the cluster counts with expected=<planned share of treated clusters>.")
        obs = _two_arms(observed, "observed")
        if not np.all(np.isfinite(obs)) or np.any(obs < 0) or np.any(obs != np.round(obs)):
            raise InputError(f"observed counts must be non-negative integers; got {obs.tolist()} (control, treated).")
        level = "units"
    else:
        zb = _assignment_vector(z)
        n = zb.shape[0]
        if clusters is None and cluster_design:
            if n != design.n_units:
                raise InputError(f"with a ClusterRandomized design the test counts clusters: pass clusters= (the "
                                 f"cluster label of each of the {n:,} analyzed units); a unit-level chi-square test "
                                 "would flag the ordinary variation of cluster sizes as a mismatch.")
            clusters = design.labels
        if clusters is not None:
            if design is not None and not cluster_design:
                raise InputError(f"clusters= needs a ClusterRandomized design or expected= cluster shares; "
                                 f"{type(design).__name__} randomizes units.")
            c = np.asarray(clusters)
            if c.ndim != 1 or c.shape[0] != n:
                raise InputError(f"clusters must have one label per analyzed unit ({n:,}); got shape {c.shape}.")
            uniq, codes = dense_codes(c)
            k = uniq.shape[0]
            size = np.bincount(codes, minlength=k)
            treated = np.bincount(codes, weights=zb, minlength=k)
            mixed = (treated > 0) & (treated < size)
            if mixed.any():
                raise InputError(f"{int(mixed.sum())} clusters have units in both arms (first: "
                                 f"{uniq[mixed][:5].tolist()}); a cluster-level test needs an assignment constant "
                                 "within clusters. Check the labels, or test units without clusters=.")
            k1 = int((treated > 0).sum())
            obs = np.array([k - k1, k1], dtype=float)
            level = "clusters"
            if cluster_design and k != design.n_clusters:
                extra = f" Analyzed {k:,} of the design's {design.n_clusters:,} clusters."
        else:
            obs = np.array([n - int(zb.sum()), int(zb.sum())], dtype=float)
            level = "units"
            if design is not None and n != design.n_units:
                extra = f" Analyzed {n:,} of the design's {design.n_units:,} units."

    if design is not None:
        p = np.asarray(design.cluster_design.probabilities if cluster_design else design.probabilities, dtype=float)
        share = float(p.mean())
        if not 0 < share < 1:
            raise InputError(f"the design plans a treated share of {share:g}; a sample ratio test needs both arms "
                             "planned.")
        shares = np.array([1 - share, share])
    else:
        shares = _planned_shares(expected)
    total = float(obs.sum())
    if total <= 0:
        raise EstimationError(f"srm_test: no analyzed {level}; nothing to test.")
    exp = total * shares
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    method, planned, lost_note = "goodness of fit", None, ""

    candidates = _fixed_counts(design)
    if candidates:
        fits = [c for c in candidates if obs[0] <= c[0] and obs[1] <= c[1]]
        if not fits:
            plans = " or ".join(f"{_count(c[0])} control and {_count(c[1])} treated" for c in candidates)
            msg = (f"Sample ratio mismatch: analyzed {_count(obs[0])} control and {_count(obs[1])} treated {level}, "
                   f"but the design assigns exactly {plans}; an arm cannot grow after assignment. z was not "
                   f"produced by this design, or {level} were duplicated or added; do not trust the estimates until "
                   "you find out why.")
            return SRMResult(observed=(int(obs[0]), int(obs[1])), expected=(float(exp[0]), float(exp[1])),
                             chi2=float("inf"), df=1, p_value=0.0, alpha=alpha, mismatch=True, level=level,
                             message=msg, method="planned counts", planned=tuple(int(x) for x in candidates[0]))
        best = None
        for c in fits:  # several candidates only when some stratum's odd unit goes to a random arm
            n_plan = c[0] + c[1]
            lost = n_plan - total
            share_c = np.array(c, dtype=float) / n_plan
            exp_c = total * share_c
            gof = float(((obs - exp_c) ** 2 / exp_c).sum())
            stat = gof * n_plan / lost if lost > 0 else gof
            if best is None or stat < best[0]:
                best = (stat, c, exp_c, lost)
        chi2, planned, exp, lost = best[0], tuple(int(x) for x in best[1]), best[2], best[3]
        method = "lost units"
        if lost > 0:
            l1, l0 = planned[1] - obs[1], planned[0] - obs[0]
            noun = level if lost != 1 else level[:-1]
            lost_note = (f" Of the {_count(lost)} {noun} lost since assignment, {_count(l1)} were treated and "
                         f"{_count(l0)} control ({_count(planned[1])} and {_count(planned[0])} planned).")
            extra = ""
    p_value = float(stats.chi2.sf(chi2, 1))
    mismatch = bool(p_value < alpha)

    what = "treated" if level == "units" else "treated clusters"
    counts = f"{_count(obs[1])} {what} vs {_count(exp[1])} expected"
    if mismatch:
        msg = (f"Sample ratio mismatch: {counts} ({_p_text(p_value)} < {alpha:g}).{lost_note}{extra} Do not trust "
               f"the estimates until you find where {level} were lost.")
    else:
        msg = f"No sample ratio mismatch: {counts} ({_p_text(p_value)} >= {alpha:g}).{lost_note}{extra}"
        if method == "lost units" and lost == 0 and observed is None:
            msg += (f" The design fixes the treated count and z covers every planned {level[:-1]}, so this check "
                    f"cannot fail here; run it on the {level} that remain after filtering and joins.")
    return SRMResult(observed=(int(obs[0]), int(obs[1])), expected=(float(exp[0]), float(exp[1])), chi2=chi2, df=1,
                     p_value=p_value, alpha=alpha, mismatch=mismatch, level=level, message=msg, method=method,
                     planned=planned)


def _fixed_counts(design) -> list[tuple[int, int]]:
    """Planned ``(control, treated)`` counts of a design that fixes them, on units or clusters.

    Complete, Blocked, Stratified and StratifiedBlocked fix the treated count of every stratum;
    strata whose odd unit goes to a random arm (``extra="random"``) make the total one of a few
    values, all returned as candidates. MatchedPairs treats one unit per pair (plus possibly the odd
    unit). Empty for designs whose count varies freely (Bernoulli, re-randomized Bernoulli, ...).
    """
    from ..designs import MatchedPairs
    from ..designs._stratified import _StrataDesign

    if design is None:
        return []
    if isinstance(design, ClusterRandomized):
        design = design.cluster_design
    n = design.n_units
    if isinstance(design, _StrataDesign):
        lo = int(np.sum(design._k_low))
        n_random = int(np.sum(design._frac > 0))
        ks = range(lo, lo + n_random + 1)
    elif isinstance(design, MatchedPairs):
        n_pairs = int(design.pairs.shape[0])
        ks = [n_pairs] if design.odd_unit is None else [n_pairs, n_pairs + 1]
    else:
        return []
    return [(n - k, k) for k in ks if 0 < k < n]
