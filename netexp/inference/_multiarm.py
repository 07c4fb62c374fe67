"""Randomization tests for k-arm experiments, null draws from the k-arm design."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._align import aligned
from .._unit_align import align_units
from .._errors import EstimationError, InputError
from .._executor import check_executor
from .._validation import check_int, check_option, check_rng
from ._randomization import ALTERNATIVES, RandomizationTestResult, _finite, _p_value

__all__ = ["multiarm_randomization_test"]

_EXACT_MAX = 50_000


def _stats(Z: np.ndarray, y: np.ndarray, k: int, statistic) -> np.ndarray:
    """Statistic of every row of arm codes ``Z`` (R, n) for fixed outcomes ``y``."""
    R, n = Z.shape
    S = np.empty((R, k))
    N = np.empty((R, k))
    for a in range(k):
        M = (Z == a).astype(np.float64)
        S[:, a] = M @ y
        N[:, a] = M.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic == "F":
            ybar = y.mean()
            sst = float(((y - ybar) ** 2).sum())
            ssb = (S**2 / N).sum(1) - n * ybar**2
            F = (ssb / (k - 1)) / ((sst - ssb) / (n - k))
            F[(N == 0).any(1)] = np.nan
            return F
        a, b = statistic
        t = S[:, b] / N[:, b] - S[:, a] / N[:, a]
        t[(N[:, a] == 0) | (N[:, b] == 0)] = np.nan
        return t


def _null_block(n, rng, design, y, k, statistic):
    """Statistic of one seeded block of ``n`` draws from the design (see :mod:`netexp._executor`)."""
    return _stats(design.sample_many(n, rng=rng), y, k, statistic)


@aligned("y", "z")
def multiarm_randomization_test(y: Any, z: Any, design, *, statistic: Any = "F", alternative: str | None = None,
                                n_draws: int = 10_000, rng=None, exact: Any = "auto",
                                executor=None) -> RandomizationTestResult:
    r"""Fisher randomization test of no effect of any arm, null draws from the k-arm design.

    Parameters
    ----------
    y : array-like or pandas Series
        Outcomes. Pandas inputs (``y``, ``z``) must share one index in one order, the design's
        positions 0..n-1 (the design numbers units by position and has no ids); arrays are positional.
    z : array-like
        Observed arms (names of ``design.arms`` or codes), drawn from ``design``.
    design : MultiArmDesign
        The design that drew ``z``: null assignments are drawn from it (or enumerated).
    statistic : "F" or (arm_a, arm_b), default "F"
        The one-way ANOVA F statistic across all arms (equals ``scipy.stats.f_oneway``'s), or the
        difference in means of arm_b minus arm_a.
    alternative : {"two-sided", "greater", "less"}, optional
        Default "greater" for F, "two-sided" for a difference.
    n_draws : int, default 10000
    rng : None, int, SeedSequence or Generator
    exact : {"auto", True, False}
        Enumerate the design's support (``"auto"``: when it has at most 50,000 assignments).
    executor : concurrent.futures.Executor, optional
        Where the Monte Carlo draws run (a process pool with the ``spawn`` start method, a Dask
        client's ``get_executor()``...). Draws are seeded in fixed blocks (``SeedSequence.spawn``, one
        child per block; block sizes depend on ``n_draws`` and the number of units only), and
        ``executor=None`` runs the same blocks in this process: the same ``rng`` gives the same null
        distribution and p-value, bit for bit, with or without an executor. The null draws for
        ``rng=s`` are ``netexp._executor.design_draws(design, n_draws, s)``. Unused when enumerating.

    Returns
    -------
    RandomizationTestResult

    Notes
    -----
    Under the sharp null :math:`Y_i(a) = Y_i` for every arm :math:`a` and unit, outcomes are
    fixed and the statistic's distribution is that of :math:`T(Z^*, y)` over the design's own
    assignments :math:`Z^*` (complete, Bernoulli, cluster: each their own). p-values as in
    :func:`~netexp.randomization_test`: exact sum over the support, or :math:`(1 + \#)/(R + 1)`
    over R draws; draws where the statistic is undefined (an empty arm) are left out (a test
    conditional on it being defined). Unlike permuting arm labels, the null draws respect
    clusters and the design's arm-size rule (the point of ri2 issue 33).

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> design = ne.MultiArmComplete(90, num_arms=3)
    >>> z = design.sample(rng=0)
    >>> y = np.array([0.0, 0.0, 0.6])[z] + np.random.default_rng(1).normal(size=90)
    >>> res = ne.multiarm_randomization_test(y, z, design, n_draws=2000, rng=0)
    >>> res.statistic, res.p_value < 0.05
    ('F across 3 arms', True)
    """
    from ..designs import MultiArmDesign
    from ..designs._multiarm import arm_codes

    if not isinstance(design, MultiArmDesign):
        raise InputError(f"design must be a MultiArmDesign (the one that drew z); got {type(design).__name__}.")
    import pandas as pd

    arrs, _ = align_units({"y": y, "z": z}, order=pd.RangeIndex(design.n_units),
                          order_name="the design's unit positions 0..n-1")
    codes, _ = arm_codes(arrs["z"], design.arms)
    yv = np.asarray(arrs["y"], dtype=float)
    if not np.isfinite(yv).all():
        raise InputError(f"y has {int((~np.isfinite(yv)).sum())} missing or non-finite values.")
    k = design.n_arms
    if isinstance(statistic, str):
        check_option("statistic", statistic, ("F",))
        name, default_alt = f"F across {k} arms", "greater"
    else:
        try:
            a, b = (design.arm_code(s) for s in statistic)
        except (TypeError, ValueError):
            raise InputError(f"statistic must be 'F' or a pair of arms; got {statistic!r}.") from None
        statistic = (a, b)
        name, default_alt = f"difference in means {design.arms[b]} - {design.arms[a]}", "two-sided"
    alternative = check_option("alternative", alternative or default_alt, ALTERNATIVES)
    n_draws = check_int("n_draws", n_draws, low=1)
    executor = check_executor(executor)
    obs = float(_stats(codes[None, :], yv, k, statistic)[0])
    if not np.isfinite(obs):
        raise EstimationError("the statistic is undefined at the observed assignment (an empty arm).")
    support = None
    if exact is True or exact == "auto":
        n_eff = design.n_clusters if hasattr(design, "n_clusters") else design.n_units
        if k**n_eff <= _EXACT_MAX:
            support = design.enumerate()
        elif exact is True:
            raise InputError(f"cannot enumerate {k}^{n_eff} assignments; use exact=False or 'auto'.")
    if support is not None:
        Zs, w = support
        T = _stats(Zs.astype(np.int64), yv, k, statistic)
        method, count = f"exact enumeration over {Zs.shape[0]} assignments", Zs.shape[0]
    else:
        from .._executor import map_blocks

        T = np.concatenate(map_blocks(executor, _null_block, (design, yv, k, statistic), n_draws, design.n_units,
                                      check_rng(rng)))
        w, method, count = None, f"Monte Carlo: (count+1)/(n_draws+1) over {n_draws} design draws", n_draws
    T, w, n_bad = _finite(T, w)
    p, center = _p_value(T, w, obs, alternative)
    Tro = np.array(T, dtype=float)
    Tro.flags.writeable = False
    return RandomizationTestResult(name, obs, Tro, p, alternative, method, int(count),
                                   None if w is None else w, 0.0, center, n_bad,
                                   note=f"sharp null: no effect of any of the {k} arms")
