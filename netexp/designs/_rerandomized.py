"""Re-randomization: draw from a base design, keep only assignments that balance covariates."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Sequence

import numpy as np

from .._covariates import covariate_matrix, whiten
from .._errors import DesignError, InputError
from .._validation import check_int, check_option, check_positive, check_probability
from ._base import Design
from ._stratified import Complete
from ._unit import Bernoulli

__all__ = ["Rerandomized", "RerandomizationDraws", "mahalanobis_balance"]


def mahalanobis_balance(X: np.ndarray, Z: np.ndarray, *, whitened: bool = False) -> np.ndarray:
    r"""Morgan & Rubin's balance statistic for every row of ``Z`` (vectorized).

    .. math:: M = (\bar x_T - \bar x_C)' \left[ S \left(\tfrac{1}{n_1} + \tfrac{1}{n_0}\right) \right]^{+}
              (\bar x_T - \bar x_C)

    with :math:`S` the sample covariance of the covariates over all units (pseudo-inverse on its
    rank, see :func:`netexp.covariate_matrix` and the shared whitening in ``_covariates.whiten``,
    the same definition :func:`netexp.balance_table` uses). Under complete randomization
    :math:`M` is approximately :math:`\chi^2` on the rank of :math:`S`. Rows with an empty arm get
    +inf. ``whitened=True`` means ``X`` is already whitened.
    """
    Xw = np.asarray(X, dtype=float) if whitened else whiten(np.asarray(X, dtype=float))[0]
    Zf = np.asarray(Z, dtype=float)
    if Zf.ndim == 1:
        Zf = Zf[None, :]
    n = Xw.shape[0]
    n1 = Zf.sum(1)
    n0 = n - n1
    tot = Xw.sum(0)
    s1 = Zf @ Xw
    with np.errstate(divide="ignore", invalid="ignore"):
        d = s1 / n1[:, None] - (tot[None, :] - s1) / n0[:, None]
        m = (d * d).sum(1) / (1.0 / n1 + 1.0 / n0)
    m[(n1 == 0) | (n0 == 0)] = np.inf
    return m


@dataclasses.dataclass(frozen=True, eq=False)
class RerandomizationDraws:
    """Accepted assignments with what it took to get them."""

    assignments: np.ndarray
    statistics: np.ndarray
    n_tried: int
    threshold: float
    criterion: str

    @property
    def acceptance_rate(self) -> float:
        return self.assignments.shape[0] / self.n_tried

    def __repr__(self) -> str:
        return (f"RerandomizationDraws(n={self.assignments.shape[0]}, tried={self.n_tried}, "
                f"acceptance_rate={self.acceptance_rate:.4f}, criterion={self.criterion!r}, "
                f"threshold={self.threshold:.4g})")


class Rerandomized(Design):
    r"""Re-randomization (Morgan & Rubin 2012): draws of a base design, kept only when balanced.

    Parameters
    ----------
    base : Design
        The design to draw from (Complete, Bernoulli, Stratified, ... or a design over clusters,
        with cluster-level covariates).
    covariates : DataFrame or array, one row per unit of ``base``
    columns : list of str, optional
        Covariates to balance (default: all; categorical columns become dummies).
    criterion : {"mahalanobis", "mean-difference"}
        ``"mahalanobis"``: accept when Morgan & Rubin's :math:`M` (see
        :func:`mahalanobis_balance`) is at most the threshold. ``"mean-difference"`` (also spelled
        ``"mean_difference"``): accept when
        :math:`|\bar x_T - \bar x_C|` is at most the threshold for every chosen column, in the
        column's own units (the seed notebook's cluster-size rule).
    threshold : float, optional
        The acceptance threshold.
    acceptance : float in (0, 1), optional
        For ``"mahalanobis"`` instead of ``threshold``: the share of base draws to accept; the
        threshold is the :math:`\chi^2_k` quantile at that probability (Morgan & Rubin's
        :math:`p_a`), exact in large samples.
    max_tries : int
        Give up with a clear error after this many base draws for one batch of requests, instead
        of looping forever as the seed notebook's ``while True`` does.

    Notes
    -----
    **Probabilities.** Marginal treatment probabilities are not known in closed form for every
    base design and criterion. They are exactly those of the base design when the base design
    and criterion are symmetric under swapping the arms: Bernoulli(1/2), or Complete with half the
    units treated (both criteria here are symmetric), where every unit has probability 1/2. Otherwise
    :attr:`probabilities` raises and :meth:`estimate_probabilities` estimates them from draws.
    Analyse a re-randomized experiment with randomization inference under this design (the
    accepted-draw distribution), not with the base design's variance formulas, which are then
    conservative.

    References
    ----------
    Morgan, K. L., & Rubin, D. B. (2012). Rerandomization to improve covariate balance in
    experiments. Annals of Statistics 40(2), 1263-1282.

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> x = np.random.default_rng(0).normal(size=(40, 2))
    >>> d = ne.Rerandomized(ne.Complete(40), x, acceptance=0.1)
    >>> draws = d.sample_with_diagnostics(5, rng=1)
    >>> bool((draws.statistics <= d.threshold).all())
    True
    """

    def __init__(self, base: Design, covariates: Any, columns: Sequence[str] | None = None, *,
                 criterion: Literal["mahalanobis", "mean_difference"] = "mahalanobis",
                 threshold: float | None = None, acceptance: float | None = None, max_tries: int = 1_000_000):
        from scipy import stats  # lazy: scipy.stats takes ~0.4 s to import
        if not isinstance(base, Design):
            raise InputError(f"Rerandomized: base must be a Design; got {type(base).__name__}.")
        criterion = check_option("Rerandomized: criterion", criterion, ("mahalanobis", "mean_difference"))
        X, names = covariate_matrix(covariates, columns, n_units=base.n_units, drop_first=criterion == "mahalanobis",
                                    what="Rerandomized: covariates")
        if (threshold is None) == (acceptance is None):
            raise DesignError("Rerandomized: give exactly one of threshold or acceptance.")
        cov = np.atleast_2d(np.cov(X, rowvar=False))
        if np.any(np.diag(cov) == 0):
            const = [nm for nm, v in zip(names, np.diag(cov)) if v == 0]
            raise DesignError(f"Rerandomized: covariate(s) {const} are constant; drop them.")
        Xw, rank, notes = whiten(X, names)
        if acceptance is not None:
            if criterion != "mahalanobis":
                raise DesignError("Rerandomized: acceptance sets a chi-square threshold and needs "
                                  "criterion='mahalanobis'; give a threshold for mean_difference.")
            acceptance = check_probability("Rerandomized: acceptance", acceptance)
            # df = rank of the covariance: collinear columns (e.g. shares of every category level)
            # add no dimension to M
            threshold = float(stats.chi2.ppf(acceptance, rank))
        else:
            threshold = check_positive("Rerandomized: threshold", threshold)
        for name, val in (("_base", base), ("_X", X), ("_names", names), ("_criterion", criterion),
                          ("_threshold", float(threshold)), ("_acceptance", acceptance),
                          ("_max_tries", check_int("Rerandomized: max_tries", max_tries, low=1)),
                          ("_Xw", Xw), ("_rank", rank)):
            object.__setattr__(self, name, val)
        self._X.flags.writeable = False
        self._freeze()

    @property
    def n_units(self) -> int:
        return self._base.n_units

    @property
    def base(self) -> Design:
        return self._base

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def covariate_names(self) -> list[str]:
        return list(self._names)

    def statistic(self, z: Any) -> np.ndarray:
        """The balance criterion of assignment(s) ``z`` (M, or the largest |mean difference|)."""
        Z = np.atleast_2d(np.asarray(z, dtype=bool))
        if self._criterion == "mahalanobis":
            return mahalanobis_balance(self._Xw, Z, whitened=True)
        Zf = Z.astype(float)
        n1 = Zf.sum(1)
        n0 = Z.shape[1] - n1
        s1 = Zf @ self._X
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.abs(s1 / n1[:, None] - (self._X.sum(0)[None, :] - s1) / n0[:, None])
        out = d.max(1)
        out[(n1 == 0) | (n0 == 0)] = np.inf
        return out

    def sample_with_diagnostics(self, n_draws: int, *, rng=None) -> RerandomizationDraws:
        """Accepted draws plus their statistics, the number of base draws tried and the acceptance rate."""
        from .._validation import check_rng

        n_draws = check_int("n_draws", n_draws, low=1)
        return self._draw(n_draws, check_rng(rng))

    def _draw(self, n_draws, rng) -> RerandomizationDraws:
        kept, stats_kept = [], []
        n_kept = 0
        tried = 0
        batch = max(64, min(4096, 2**24 // max(self.n_units, 1)))
        while n_kept < n_draws:
            if tried >= self._max_tries:
                rate = n_kept / tried if tried else 0.0
                raise DesignError(
                    f"Rerandomized: accepted {n_kept} of {tried} base draws (rate {rate:.2g}), short of the "
                    f"{n_draws} requested within max_tries={self._max_tries}; loosen the threshold (now "
                    f"{self._threshold:.4g}), raise the acceptance, or raise max_tries.")
            Z = self._base._sample_many(batch, rng)
            s = self.statistic(Z)
            ok = s <= self._threshold
            # keep draws in the order they were made, so the result does not depend on batch size
            idx = np.flatnonzero(ok)[: n_draws - n_kept]
            if idx.size:
                kept.append(Z[idx])
                stats_kept.append(s[idx])
                n_kept += idx.size
                tried += int(idx[-1]) + 1 if n_kept == n_draws else batch
            else:
                tried += batch
        return RerandomizationDraws(np.concatenate(kept), np.concatenate(stats_kept), tried, self._threshold,
                                    self._criterion)

    def _sample_many(self, n_draws, rng):
        return self._draw(n_draws, rng).assignments

    def _label_symmetric(self) -> bool:
        b = self._base
        if isinstance(b, Bernoulli):
            return b.p == 0.5
        if isinstance(b, Complete):
            return float(b.expected_treated[0]) * 2 == b.n_units and b._frac[0] == 0
        return False

    def _probabilities(self):
        if self._label_symmetric():
            return np.full(self.n_units, 0.5)
        raise DesignError(
            "Rerandomized: marginal probabilities have no closed form for this base design (only for "
            "Bernoulli(1/2) or Complete with half treated, by symmetry of the arms); estimate them with "
            "design.estimate_probabilities(n_draws, rng=...).")

    def _joint_probabilities(self):
        raise DesignError("Rerandomized: joint probabilities have no closed form; use "
                          "estimate_probabilities(..., joint=True).")

    def _enumerate(self):
        Z, w = self._base.enumerate()
        ok = self.statistic(Z) <= self._threshold
        if not ok.any():
            raise DesignError("Rerandomized: no assignment of the base design meets the threshold.")
        return Z[ok], w[ok] / w[ok].sum()

    def _repr_params(self):
        return {"base": self._base, "criterion": self._criterion, "threshold": round(self._threshold, 6),
                "covariates": self._names}
