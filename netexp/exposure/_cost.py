"""What an exposure-probability computation will cost, counted before doing it."""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from .._validation import check_option

__all__ = ["ProbabilityCost", "estimate_cost"]

# seconds per unit of work on one core of the project's 2-core machines (rough, order of magnitude):
# measured on ego-Facebook (per-pair programme: 442 s for 1.6e10 neighbour-products), 10^4 units with
# 1000 Monte Carlo draws (3.9 s CPU for 1e8 ordered pairs of 16-word rows), profile pairs on ego-Facebook.
_SECONDS = {"profile-pairs": 2e-8, "near-pairs": 2.7e-8, "near-pairs-closed-form": 5e-8, "monte-carlo": 2.5e-9,
            # per row entry scanned: 3.7e-8 on ego-Facebook (in cache), several times more at 10^6 units
            "cluster-pairs-closed-form": 1e-7}
# (closed forms under unit-level Complete designs count (d + 1) per pair, the per-pair hypergeometric sums)
_EXACT_PAIR_COUNT_MAX = 5e7  # pair visits up to which the dependent pairs are counted exactly


@dataclasses.dataclass(frozen=True)
class ProbabilityCost:
    """The route and the estimated cost of ``exposure_probabilities`` plus one Aronow-Samii variance.

    Attributes
    ----------
    route : str
        ``"profile-pairs"`` (complete randomization of clusters, threshold mapping: pair joints per pair of
        neighbourhood profiles), ``"near-pairs"`` (one dynamic programme per pair of units that share a
        randomization unit; under Complete designs the other pairs come from a table over types),
        ``"near-pairs-closed-form"`` (independent randomization units: closed-form joints of the pairs
        sharing one), ``"monte-carlo"`` (frequencies over draws; every pair of units is summed) or
        ``"marginals-only"`` (no joints requested).
    exact : bool
        Whether the route is exact.
    n_units : int
    dependent_pairs : int
        Ordered pairs of distinct units whose closed k-hop neighbourhoods share a randomization unit (the
        pairs that need a joint of their own); every other pair is independent (Bernoulli designs) or
        handled in aggregate. Exact when ``dependent_pairs_exact``, else an upper bound (the sum over
        randomization units of the squared number of units they touch).
    dependent_pairs_exact : bool
    n_profiles : int or None
        Distinct neighbourhood profiles (profile route only).
    work : float
        Operations of the pair sums in the route's own unit.
    seconds : float
        Rough single-core time of the pair sums (order of magnitude; the machine's load changes it).
    """

    route: str
    exact: bool
    n_units: int
    dependent_pairs: int
    dependent_pairs_exact: bool
    n_profiles: int | None
    work: float
    seconds: float

    def __str__(self) -> str:
        pairs = f"{self.dependent_pairs:,}" + ("" if self.dependent_pairs_exact else " at most")
        prof = "" if self.n_profiles is None else f", {self.n_profiles:,} neighbourhood profiles"
        return (f"exposure probabilities: route {self.route!r} ({'exact' if self.exact else 'Monte Carlo'}), "
                f"{self.n_units:,} units, {pairs} dependent ordered pairs{prof}; pair sums ~{_fmt(self.seconds)}")


def _fmt(s: float) -> str:
    if s < 60:
        return f"{s:.2g} s"
    if s < 3600:
        return f"{s / 60:.2g} min"
    return f"{s / 3600:.2g} h"


@njit(cache=True)
def count_dependent_pairs(ptr, col, tptr, tidx):
    """Ordered pairs (i, j), i != j, whose rows share a randomization unit (a stamp per i)."""
    n = ptr.shape[0] - 1
    stamp = np.full(n, -1, dtype=np.int64)
    total = 0
    for i in range(n):
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            for t in range(tptr[r], tptr[r + 1]):
                j = tidx[t]
                if j != i and stamp[j] != i:
                    stamp[j] = i
                    total += 1
    return total


def estimate_cost(graph, design, mapping, *, method="auto", n_draws: int = 10_000, joint: bool = True,
                  units=None) -> ProbabilityCost:
    """Route and estimated cost of exact (or Monte Carlo) exposure probabilities, before computing them.

    Counts the pairs of units whose neighbourhoods overlap (cheap: a pass over the incidence of units and
    randomization units) and, under complete randomization of clusters with a threshold mapping, the
    distinct neighbourhood profiles; from them picks the route :func:`exposure_probabilities` will take
    and estimates the time of the Aronow-Samii pair sums. Use it to decide between ``method="exact"`` and
    ``method="monte-carlo"`` (or a coarser clustering) before committing to a long computation.

    Parameters
    ----------
    graph : Graph
    design : Design
    mapping : ExposureMapping
    method : {"auto", "exact", "monte-carlo"}
        As in :func:`exposure_probabilities`.
    n_draws : int
        Monte Carlo draws (for the Monte Carlo estimate).
    joint : bool
        Whether pair joints (the Aronow-Samii variance) are wanted.
    units : int, optional
        Units entering the variance (default: all); the Monte Carlo pair sums grow with its square.

    Returns
    -------
    ProbabilityCost

    Notes
    -----
    Work units: profile route, :math:`P^2 (\\bar w + 2)^2` for P profiles touching :math:`\\bar w` clusters
    on average; per-pair programme, :math:`\\sum_r (\\sum_{i \\to r} (d_i + 1))^2` over randomization units r
    and the units i touching them (an upper bound of the sum over dependent pairs of
    :math:`(d_i + 1)(d_j + 1)`); closed forms over clusters, :math:`\\sum_r t_r \\sum_{j \\to r} m_j` (each
    dependent pair scans the m_j clusters of its second unit; :math:`t_r` units touch r); unit-level closed
    forms, the dependent pairs; Monte Carlo, :math:`m^2 \\lceil R / 64 \\rceil` for m units in the variance. Seconds are work times constants measured on this project's
    2-core machines, good to an order of magnitude.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> c = ne.leiden(g, rng=0)
    >>> cost = ne.estimate_cost(g, ne.ClusterRandomized(c, p=0.5), ne.FullNeighborhood())
    >>> cost.route
    'profile-pairs'
    """
    from . import _probabilities as pm

    method = check_option("method", method, pm.METHODS)
    n = graph.n_nodes
    struct = pm._design_structure(design)
    count_based = bool(getattr(mapping, "count_based", False)) and hasattr(mapping, "level_from_counts")
    exact = method != "monte-carlo" and struct is not None and count_based
    m_units = n if units is None else int(units)
    if not exact:
        R = int(n_draws)
        work = float(m_units) ** 2 * ((R + 63) // 64) if joint else 0.0
        return ProbabilityCost("monte-carlo", False, n, n * (n - 1), True, None, work, work * _SECONDS["monte-carlo"])
    kind, labels, _, _, _ = struct
    hops = int(getattr(mapping, "hops", 1))
    K = pm._khop(graph, hops)
    d = np.diff(K.indptr).astype(np.int64)
    if kind == "saturation":
        n_r = int(design.n_clusters)
    else:
        n_r = n if labels is None else int(labels.max()) + 1
    ptr, col, wt, own, tptr, tidx = pm._incidence(K, labels, n_r)
    touch = np.diff(tptr).astype(float)
    visits = float((touch * touch).sum())
    if visits <= _EXACT_PAIR_COUNT_MAX:
        dep, dep_exact = int(count_dependent_pairs(ptr, col, tptr, tidx)), True
    else:
        dep, dep_exact = int(visits), False
    if not joint:
        return ProbabilityCost("marginals-only", True, n, dep, dep_exact, None, 0.0, 0.0)
    loff, ltab = pm._level_table(mapping, np.concatenate([d, [0]]))
    lev = pm._threshold_levels(ltab, loff, d)
    if kind == "complete" and labels is not None:
        if lev is not None:
            from ._cluster_profiles import build_profiles

            prof = build_profiles(ptr, col, wt, own, lev)
            if prof is not None and prof["reps"].shape[0] <= pm._PROFILE_MAX:
                P = int(prof["reps"].shape[0])
                wm = float(np.diff(prof["w_ptr"]).mean()) if P else 0.0
                work = float(P) ** 2 * (wm + 2.0) ** 2
                return ProbabilityCost("profile-pairs", True, n, dep, dep_exact, P, work,
                                       work * _SECONDS["profile-pairs"])
    # closed-form joints: unit-level designs; threshold mappings over independent clusters or levels
    indep = kind == "bernoulli" or (kind == "saturation" and design.stage1 == "bernoulli")
    closed = labels is None or (lev is not None and indep)
    if closed and labels is None:
        work = float(dep) * (1.0 if kind != "complete" else float(d.mean() + 1.0) if n else 1.0)
        return ProbabilityCost("near-pairs-closed-form", True, n, dep, dep_exact, None, work,
                               work * _SECONDS["near-pairs-closed-form"])
    if closed:  # each dependent pair scans the row of its second unit: sum_r touch_r * (rows' lengths over r)
        m = np.diff(ptr).astype(float)
        msum = np.bincount(np.repeat(np.arange(n_r), np.diff(tptr)), weights=m[tidx], minlength=n_r)
        work = float((touch * msum).sum())
        return ProbabilityCost("near-pairs-closed-form", True, n, dep, dep_exact, None, work,
                               work * _SECONDS["cluster-pairs-closed-form"])
    wsum = np.bincount(np.repeat(np.arange(n_r), np.diff(tptr)), weights=(d + 1.0)[tidx], minlength=n_r)
    work = float((wsum * wsum).sum())
    return ProbabilityCost("near-pairs", True, n, dep, dep_exact, None, work, work * _SECONDS["near-pairs"])
