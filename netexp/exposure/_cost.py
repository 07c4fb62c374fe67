"""What an exposure-probability computation will cost, counted before doing it."""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from .._validation import check_option

__all__ = ["ProbabilityCost", "estimate_cost"]

# seconds per unit of work on one core of the project's 2-core machines (rough, order of magnitude):
# measured on ego-Facebook (per-pair programme: 442 s for 1.6e10 neighbour-products), 10^5 units with
# 1000 Monte Carlo draws (HT + Hajek pair sums 5 s CPU for 4.9e4^2 pairs of 16-word rows, half the units
# active; bench_probabilities.py mc-100k), profile pairs on ego-Facebook.
_SECONDS = {"profile-pairs": 2e-8, "near-pairs": 2.7e-8, "near-pairs-closed-form": 5e-8, "monte-carlo": 1.3e-10,
            # per row entry scanned: 3.7e-8 on ego-Facebook (in cache), several times more at 10^6 units
            "cluster-pairs-closed-form": 1e-7,
            # per unit walked by the observed-units route (exposure/_observed_pairs.py) when every unit has a
            # term (an upper bound); social_network(10^6), full neighbourhood (a fifth of the walks): 43 s
            # estimated, HT + Hajek 19 s CPU measured
            "observed-pairs": 3e-8}
# (closed forms under unit-level Complete designs count (d + 1) per pair, the per-pair hypergeometric sums)
_EXACT_PAIR_COUNT_MAX = 5e7  # pair visits up to which the dependent pairs are counted exactly
_EXACT_ZERO_COUNT_MAX = 5e6  # pair visits up to which the zero-joint pairs are counted exactly
_SAMPLE_UNITS = 4000  # units sampled (without replacement, fixed seed) to estimate the pair counts beyond


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
        handled in aggregate. Exact when ``dependent_pairs_exact``, else estimated from a uniform sample of
        units (``n`` times their mean number of partners; standard error ``dependent_pairs_se``).
    dependent_pairs_exact : bool
    dependent_pairs_se : float
        Standard error of a sampled ``dependent_pairs`` (0 when exact).
    zero_joint_pairs : int or None
        Ordered dependent pairs with a zero joint ``pi_ij(k, l) = 0`` at levels both units can take (the pairs
        whose terms the Aronow-Samii variance bounds by Young's inequality). Counted on the closed-form
        cluster route (independent clusters, threshold mapping) only, else None. Exact when
        ``zero_joint_pairs_exact``, else estimated from a uniform sample of units (``zero_joint_pairs_se``).
    zero_joint_pairs_exact : bool
    zero_joint_pairs_se : float
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
    dependent_pairs_se: float = 0.0
    zero_joint_pairs: int | None = None
    zero_joint_pairs_exact: bool = True
    zero_joint_pairs_se: float = 0.0

    def __str__(self) -> str:
        pairs = _count(self.dependent_pairs, self.dependent_pairs_exact, self.dependent_pairs_se)
        zero = ("" if self.zero_joint_pairs is None else
                f" ({_count(self.zero_joint_pairs, self.zero_joint_pairs_exact, self.zero_joint_pairs_se)} "
                "with a zero joint)")
        prof = "" if self.n_profiles is None else f", {self.n_profiles:,} neighbourhood profiles"
        return (f"exposure probabilities: route {self.route!r} ({'exact' if self.exact else 'Monte Carlo'}), "
                f"{self.n_units:,} units, {pairs} dependent ordered pairs{zero}{prof}; pair sums "
                f"~{_fmt(self.seconds)}")


def _count(value: int, exact: bool, se: float) -> str:
    return f"{value:,}" if exact else f"~{value:,} (sampled, SE {se:,.0f})"


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
    return count_partners(ptr, col, tptr, tidx, np.arange(n)).sum()


@njit(cache=True)
def count_partners(ptr, col, tptr, tidx, units):
    """For each unit i of ``units``: the units j != i whose rows share a randomization unit with i's."""
    n = ptr.shape[0] - 1
    stamp = np.full(n, -1, dtype=np.int64)
    out = np.zeros(units.shape[0], dtype=np.int64)
    for s in range(units.shape[0]):
        i = units[s]
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            for t in range(tptr[r], tptr[r + 1]):
                j = tidx[t]
                if j != i and stamp[j] != i:
                    stamp[j] = i
                    out[s] += 1
    return out


def _sample(n: int) -> np.ndarray:
    """The units sampled for the pair counts: uniform without replacement, fixed seed (same answer each call)."""
    return np.sort(np.random.default_rng(0).choice(n, size=min(n, _SAMPLE_UNITS), replace=False)).astype(np.int64)


def _scaled(counts: np.ndarray, n: int) -> tuple[int, float]:
    """Total over n units and its standard error from a uniform sample without replacement of per-unit counts."""
    s = counts.shape[0]
    if s >= n:
        return int(counts.sum()), 0.0
    se = n * float(counts.std(ddof=1)) / np.sqrt(s) * np.sqrt(1.0 - s / n) if s > 1 else float("nan")
    return int(round(n * float(counts.mean()))), se


def _zero_joint_pairs(ptr, col, wt, own, tptr, tidx, ltab, loff, d, p, visits):
    """(count, exact, se) of the ordered dependent pairs with a zero joint at levels both can take
    (independent clusters with one probability, threshold mapping), or None for other mappings."""
    from . import _probabilities as pm
    from ._observed_pairs import _CACHE_SLOTS, _cluster_order, sampled_pair_counts

    thr = pm._threshold_tables(ltab, loff, d, ptr, col, wt, own, p)
    if thr is None:
        return None
    st = dict(thr, ptr=ptr, col=col, wt=wt, own=own, tptr=tptr, tidx=tidx)
    o = _cluster_order(st)
    if not o["ok"]:
        return None
    n = ptr.shape[0] - 1
    units = np.arange(n, dtype=np.int64) if visits <= _EXACT_ZERO_COUNT_MAX else o["inv"][_sample(n)]
    L = int(ltab.max(initial=0)) + 1
    dep = np.zeros(units.shape[0], dtype=np.int64)
    zero = np.zeros(units.shape[0], dtype=np.int64)
    sampled_pair_counts(o["ptr"], o["col"], o["wt"], o["unit_ptr"], o["unit_of"], o["entry_rec0"],
                        o["rec"][o["unit_of"], 2], o["rec"], p, st["pw0"], st["pw1"], o["lev"], L, units, 1,
                        np.full((1, n), -1, dtype=np.int64), np.zeros((1, n, 3), dtype=np.int64),
                        np.full((1, o["nR"]), -1, dtype=np.int64),
                        np.full((1, _CACHE_SLOTS), -1, dtype=np.int64), np.zeros((1, _CACHE_SLOTS + 1, L, L)), dep,
                        zero)
    total, se = _scaled(zero, n)
    return total, units.shape[0] >= n, se


def estimate_cost(graph, design, mapping, *, method="auto", n_draws: int = 10_000, joint: bool = True,
                  units=None) -> ProbabilityCost:
    """Route and estimated cost of exact (or Monte Carlo) exposure probabilities, before computing them.

    Counts the pairs of units whose neighbourhoods overlap (cheap: a pass over the incidence of units and
    randomization units; beyond 5*10^7 pair visits estimated from 4,000 units sampled with a fixed seed,
    with its standard error), under independent clusters with a threshold mapping the pairs among them
    with a zero joint probability (Young's-inequality pairs; sampled the same way beyond 5*10^6 visits)
    and, under complete randomization of clusters with a threshold mapping, the distinct neighbourhood
    profiles; from them picks the route :func:`exposure_probabilities` will take
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
    :math:`(d_i + 1)(d_j + 1)`); closed forms over independent clusters with one probability (the
    observed-units route), :math:`\\sum_r t_r^2` for :math:`t_r` units touching cluster r -- an upper bound:
    only the units with a term in the variance (for the estimators, those observed at a contrast's level)
    walk the units touching their clusters, under full neighbourhood exposure and Bernoulli(p) clusters a
    share :math:`p^{m_i} + (1-p)^{m_i}` of the units with m_i clusters, a fifth of the walks at 10^6 units;
    other closed forms over clusters, :math:`\\sum_r t_r \\sum_{j \\to r} m_j` (each
    dependent pair scans the m_j clusters of its second unit); unit-level closed
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
    kind, labels, p_r, _, _ = struct
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
        dep, dep_exact, dep_se = int(count_dependent_pairs(ptr, col, tptr, tidx)), True, 0.0
    else:
        dep, dep_se = _scaled(count_partners(ptr, col, tptr, tidx, _sample(n)), n)
        dep_exact = False
    counts = {"dependent_pairs_se": dep_se}
    if not joint:
        return ProbabilityCost("marginals-only", True, n, dep, dep_exact, None, 0.0, 0.0, **counts)
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
                                       work * _SECONDS["profile-pairs"], **counts)
    # closed-form joints: unit-level designs; threshold mappings over independent clusters or levels
    indep = kind == "bernoulli" or (kind == "saturation" and design.stage1 == "bernoulli")
    closed = labels is None or (lev is not None and indep)
    if closed and labels is None:
        work = float(dep) * (1.0 if kind != "complete" else float(d.mean() + 1.0) if n else 1.0)
        return ProbabilityCost("near-pairs-closed-form", True, n, dep, dep_exact, None, work,
                               work * _SECONDS["near-pairs-closed-form"], **counts)
    if closed and kind == "bernoulli" and np.all(p_r == p_r[0]):
        # the observed-units route: each unit with a term walks the units touching its clusters
        zero = _zero_joint_pairs(ptr, col, wt, own, tptr, tidx, ltab, loff, d, float(p_r[0]), visits)
        if zero is not None:
            counts.update(zero_joint_pairs=zero[0], zero_joint_pairs_exact=zero[1], zero_joint_pairs_se=zero[2])
            return ProbabilityCost("near-pairs-closed-form", True, n, dep, dep_exact, None, visits,
                                   visits * _SECONDS["observed-pairs"], **counts)
    if closed:  # each dependent pair scans the row of its second unit: sum_r touch_r * (rows' lengths over r)
        m = np.diff(ptr).astype(float)
        msum = np.bincount(np.repeat(np.arange(n_r), np.diff(tptr)), weights=m[tidx], minlength=n_r)
        work = float((touch * msum).sum())
        return ProbabilityCost("near-pairs-closed-form", True, n, dep, dep_exact, None, work,
                               work * _SECONDS["cluster-pairs-closed-form"], **counts)
    wsum = np.bincount(np.repeat(np.arange(n_r), np.diff(tptr)), weights=(d + 1.0)[tidx], minlength=n_r)
    work = float((wsum * wsum).sum())
    return ProbabilityCost("near-pairs", True, n, dep, dep_exact, None, work, work * _SECONDS["near-pairs"],
                           **counts)
