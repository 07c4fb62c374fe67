"""Matched-pair randomization: units (or clusters) paired by an optimal non-bipartite matching on
their covariates, then one unit of every pair treated by a fair coin."""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np
from numba import njit

from .._covariates import as_covariate_frame, covariate_matrix
from .._errors import DesignError, InputError, NetexpWarning, warn
from .._validation import check_option
from ._base import _MAX_ENUMERATE, Design

__all__ = ["MatchedPairs"]

_DISTANCES = ("mahalanobis", "standardized")
_EIG_RTOL = 1e-10     # eigenvalues of the covariance below this fraction of the largest count as zero
_DUAL_RTOL = 1e-9     # relative tolerance of the optimality certificate (floating-point rounding only)
_K_NEIGHBOURS = 15    # candidate graph: each unit's nearest neighbours ...
_DENSE_BELOW = 40     # ... or every pair below this many units
_MAX_ROUNDS = 8       # pricing rounds before falling back to the complete graph
_PER_UNIT = 5         # violated pairs added per unit and round


class MatchedPairs(Design):
    r"""Pair similar units by an optimal matching, then treat one unit of every pair at random.

    Units (or clusters, inside :class:`ClusterRandomized`) are paired so that the **total**
    covariate distance within pairs is as small as possible over all ways of pairing them
    (an optimal non-bipartite matching, not a greedy one: every unit is paired). Within each pair
    a fair coin decides which unit is treated, independently across pairs. With an odd number of
    units, exactly one unit, itself chosen optimally, stays unpaired and is treated with
    probability 1/2 on its own coin (:attr:`odd_unit`).

    Parameters
    ----------
    covariates : DataFrame or array-like, shape (n_units, n_covariates)
        One row per unit (per cluster, in label order, for a cluster-level design). Categorical
        columns become dummies. Optional when ``pairs`` is given.
    columns : sequence of str, optional
        Covariate columns to match on (default: all).
    distance : {"mahalanobis", "standardized"}, default "mahalanobis"
        ``"mahalanobis"``: :math:`\sqrt{(x_i-x_j)' S^{-1} (x_i-x_j)}` with :math:`S` the sample
        covariance of the covariates (one dummy per categorical level dropped so that :math:`S`
        has full rank; a singular :math:`S` is replaced by its pseudo-inverse, with a warning).
        ``"standardized"``: Euclidean distance after dividing every column by its standard
        deviation (all dummy levels kept; a constant column is an error).
    pairs : array-like of int, shape (n_pairs, 2), optional
        Pairs given explicitly as unit positions instead of being computed. Every unit must be in
        exactly one pair, except one unit when ``n_units`` is odd. ``n_units`` is the number of
        covariate rows if ``covariates`` is given (then :attr:`total_distance` is the distance
        of these pairs), else the largest position plus one.

    Attributes
    ----------
    pairs : ndarray of int, shape (n_pairs, 2), read-only
        Unit positions of every pair (computed pairs: smaller position first, sorted).
    odd_unit : int or None
        The unpaired unit when ``n_units`` is odd, else None.
    total_distance : float
        Sum of within-pair distances (NaN when pairs are given without covariates).
    pair_distances : ndarray of float, shape (n_pairs,), read-only
        Distance within each pair.
    distance : str or None
        The distance used (None when pairs are given without covariates).

    Notes
    -----
    **Design.** Every unit has :math:`P(Z_i=1)=1/2`. Partners are never treated together,
    :math:`P(Z_i=1, Z_j=1)=0`; any other two units (including the odd unit) are independent,
    :math:`P(Z_i=1, Z_j=1)=1/4`. A draw uses one random bit per pair (and one for the odd unit).

    **Matching.** The pairs minimise :math:`\sum_{\{i,j\}} d_{ij}` over all perfect matchings of
    the complete graph on the units, as in Greevy et al. (2004). With an odd number of units a
    dummy vertex at distance 0 from every unit is added; the unit matched to it is the odd unit,
    so that choice is optimal too. Units with identical covariates are first paired with each
    other (an exchange argument using the triangle inequality shows some optimal matching does
    this), which removes all ties of categorical data.

    **Algorithm (exact).** Edmonds' (1965) primal-dual blossom algorithm, in the
    :math:`O(n^3)` form of Gabow (1974) and Galil (1986), compiled with numba, with a greedy
    dual jump start. Below 40 units it is run on the complete graph. Otherwise it is run on a
    sparse candidate graph, the 15 nearest neighbours of every unit (k-d tree) plus a
    Hamiltonian path so that a perfect matching exists, and the result is then *certified* on
    the complete graph: the blossom algorithm returns an optimal dual
    solution (vertex duals :math:`y_i`, blossom duals :math:`z_B \ge 0`) of the candidate
    problem, and the matching is optimal for the complete graph iff every pair of units has a
    non-negative reduced cost :math:`d_{ij} - y_i - y_j + \sum_{B \ni i,j} z_B \ge 0` (LP duality
    for Edmonds' perfect-matching polytope). All :math:`n(n-1)/2` pairs are checked in one
    :math:`O(n^2 p)` compiled pass over the blossom forest in depth-first order (no distance
    matrix is stored). Violated pairs (at most five per unit, most violated first) are added to
    the candidates and the problem re-solved, until the certificate holds (in practice after 1-3
    rounds; after 8 rounds the complete graph is used, which needs no certificate). The
    certificate is checked to a relative floating-point tolerance of ``1e-9``. Cost: about
    :math:`O(n \, m)` for the :math:`m = O(kn)` candidate edges plus :math:`O(n^2 p)` for the
    certificate, :math:`O(n^3)` in the worst case. 2,000 units take about 0.1-0.5 s and 4,000
    about 0.5-1.5 s (``benchmarks/bench_matched_pairs.py``); on the complete graph networkx's
    pure-Python blossom needs 36 s for 500 units and rustworkx's compiled one 92 s for 2,000.
    The pairs are deterministic: the same covariates always give the same pairs.

    References
    ----------
    Edmonds, J. (1965). Paths, trees, and flowers. Canadian Journal of Mathematics 17, 449-467;
    and Maximum matching and a polyhedron with 0,1-vertices. J. Res. NBS 69B, 125-130.

    Gabow, H. N. (1974). Implementation of algorithms for maximum matching on nonbipartite
    graphs. PhD thesis, Stanford University.

    Galil, Z. (1986). Efficient algorithms for finding maximum matching in graphs. ACM Computing
    Surveys 18(1), 23-38.

    Greevy, R., Lu, B., Silber, J. H., & Rosenbaum, P. (2004). Optimal multivariate matching
    before randomization. Biostatistics 5(2), 263-275.

    Kolmogorov, V. (2009). Blossom V: a new implementation of a minimum cost perfect matching
    algorithm. Mathematical Programming Computation 1(1), 43-67 (the pricing idea: solve on a
    sparse subgraph, then check the dual on all edges).

    Examples
    --------
    >>> import pandas as pd, netexp as ne
    >>> covs = pd.DataFrame({"size": [120, 80, 95, 130, 60, 85, 100],
    ...                      "baseline": [0.30, 0.21, 0.25, 0.33, 0.18, 0.22, 0.40]})
    >>> d = ne.MatchedPairs(covs, distance="standardized")
    >>> d.pairs.tolist(), d.odd_unit
    ([[0, 3], [1, 4], [2, 5]], 6)
    >>> d.sample(rng=0).astype(int).tolist()
    [1, 1, 1, 0, 0, 0, 1]
    """

    def __init__(self, covariates: Any = None, columns: Sequence[str] | None = None, *,
                 distance: Literal["mahalanobis", "standardized"] = "mahalanobis", pairs: Any = None):
        distance = check_option("MatchedPairs: distance", distance, _DISTANCES)
        if covariates is None and pairs is None:
            raise InputError("MatchedPairs: give covariates (to compute optimal pairs) or pairs (to use "
                             "given ones); got neither.")
        Y = None
        if covariates is not None:
            n = len(as_covariate_frame(covariates, what="MatchedPairs: covariates"))
            if n < 2:
                raise DesignError(f"MatchedPairs: need at least 2 units to form a pair; got {n}. "
                                  "Pass one covariate row per unit (or per cluster).")
            X, Y = _metric_coordinates(covariates, columns, distance)
        if pairs is not None:
            pairs_arr, odd = _check_pairs(pairs, None if Y is None else Y.shape[0])
            n = int(pairs_arr.size + (odd is not None))
            source = "given"
        else:
            pairs_arr, odd = _optimal_pairs(Y, X)
            source = "optimal"
        if Y is not None:
            dist = np.sqrt(((Y[pairs_arr[:, 0]] - Y[pairs_arr[:, 1]]) ** 2).sum(1))
        else:
            dist = np.full(pairs_arr.shape[0], np.nan)
            distance = None
        for arr in (pairs_arr, dist):
            arr.flags.writeable = False
        for name, val in (("_n", n), ("_pairs", pairs_arr), ("_odd", odd), ("_dist", dist),
                          ("_distance", distance), ("_source", source)):
            object.__setattr__(self, name, val)
        self._freeze()

    # ------------------------------------------------------------------ attributes
    @property
    def n_units(self) -> int:
        return self._n

    @property
    def n_pairs(self) -> int:
        return int(self._pairs.shape[0])

    @property
    def pairs(self) -> np.ndarray:
        return _readonly_view(self._pairs)

    @property
    def odd_unit(self) -> int | None:
        return self._odd

    @property
    def pair_distances(self) -> np.ndarray:
        return _readonly_view(self._dist)

    @property
    def total_distance(self) -> float:
        return float(self._dist.sum())

    @property
    def distance(self) -> str | None:
        return self._distance

    def partner(self) -> np.ndarray:
        """Position of every unit's partner (-1 for the odd unit), shape ``(n_units,)``."""
        out = np.full(self._n, -1, dtype=np.int64)
        out[self._pairs[:, 0]] = self._pairs[:, 1]
        out[self._pairs[:, 1]] = self._pairs[:, 0]
        return out

    def summary(self) -> dict:
        """The pairing as a dict: sizes, odd unit and within-pair distances."""
        d = self._dist
        return {
            "design": "MatchedPairs",
            "pairs": self._source,
            "distance": self._distance,
            "n_units": self._n,
            "n_pairs": self.n_pairs,
            "odd_unit": self._odd,
            "total_distance": self.total_distance,
            "mean_pair_distance": float(d.mean()),
            "max_pair_distance": float(d.max()),
        }

    # ------------------------------------------------------------------ the distribution
    def _fill(self, bits: np.ndarray) -> np.ndarray:
        """Assignments from one bit per pair (then one for the odd unit): bit set = first unit treated."""
        p = self._pairs
        z = np.empty((bits.shape[0], self._n), dtype=bool)
        first = bits[:, : p.shape[0]]
        z[:, p[:, 0]] = first
        z[:, p[:, 1]] = ~first
        if self._odd is not None:
            z[:, self._odd] = bits[:, p.shape[0]]
        return z

    @property
    def _n_bits(self) -> int:
        return self.n_pairs + (self._odd is not None)

    def _sample_many(self, n_draws, rng):
        nbits = self._n_bits
        raw = rng.integers(0, 256, size=(n_draws, (nbits + 7) // 8), dtype=np.uint8)
        bits = np.unpackbits(raw, axis=1, count=nbits, bitorder="little").view(np.bool_)
        return self._fill(bits)

    def _probabilities(self):
        return np.full(self._n, 0.5)

    def _joint_probabilities(self):
        j = np.full((self._n, self._n), 0.25)
        np.fill_diagonal(j, 0.5)
        j[self._pairs[:, 0], self._pairs[:, 1]] = 0.0
        j[self._pairs[:, 1], self._pairs[:, 0]] = 0.0
        return j

    def _enumerate(self):
        nbits = self._n_bits
        if 2**nbits > _MAX_ENUMERATE:
            raise DesignError(f"MatchedPairs: cannot enumerate 2^{nbits} assignments; enumeration is for tiny "
                              "designs (at most 20 pairs, counting the odd unit as one).")
        codes = np.arange(2**nbits, dtype=np.int64)
        bits = ((codes[:, None] >> np.arange(nbits)) & 1).astype(bool)
        return self._fill(bits), np.full(2**nbits, 0.5**nbits)

    def _repr_params(self):
        return {"n_units": self._n, "n_pairs": self.n_pairs, "odd_unit": self._odd, "distance": self._distance,
                "total_distance": round(self.total_distance, 6)}


def _readonly_view(arr: np.ndarray) -> np.ndarray:
    v = arr.view()
    v.flags.writeable = False
    return v


# ---------------------------------------------------------------------- inputs
def _metric_coordinates(covariates, columns, distance) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)``: the covariate matrix and coordinates in which the distance is Euclidean."""
    what = "MatchedPairs: covariates"
    X, names = covariate_matrix(covariates, columns, drop_first=distance == "mahalanobis", what=what)
    bad = ~np.isfinite(X).all(axis=0)
    if bad.any():
        raise InputError(f"{what}: column(s) {[nm for nm, b in zip(names, bad) if b]} contain infinite values; "
                         "replace or drop them.")
    sd = X.std(axis=0, ddof=1)
    const = [nm for nm, c in zip(names, sd == 0) if c]
    if distance == "standardized":
        if const:
            raise InputError(f"{what}: column(s) {const} are constant, so they have no standard deviation to "
                             "scale by; drop them (they cannot separate units) or use distance='mahalanobis'.")
        return X, (X - X.mean(axis=0)) / sd
    if len(const) == X.shape[1]:
        raise InputError(f"{what}: every covariate column is constant ({const}); there is nothing to match on.")
    # Mahalanobis through the correlation matrix R of the non-constant columns, whitened on its
    # range: for differences of units (which lie in the range of the covariance S) this equals
    # sqrt(u' S^- u) for any generalized inverse of S, and the rank decision is scale-free.
    var = sd > 0
    Xs = (X[:, var] - X[:, var].mean(axis=0)) / sd[var]
    lam, vec = np.linalg.eigh(np.atleast_2d(Xs.T @ Xs / (X.shape[0] - 1)))
    keep = lam > _EIG_RTOL * lam.max()
    if const or not keep.all():
        why = (f"constant column(s) {const}" if const else "collinear columns or fewer units than columns")
        warn(f"MatchedPairs: the covariance matrix of the {X.shape[1]} covariate columns is singular "
             f"(rank {int(keep.sum())}; {why}); the Mahalanobis distance uses its pseudo-inverse, "
             "which ignores directions without variation.", NetexpWarning)
    return X, (Xs @ vec[:, keep]) / np.sqrt(lam[keep])


def _check_pairs(pairs: Any, n_units: int | None) -> tuple[np.ndarray, int | None]:
    """Validated explicit pairs as an int64 array (rows as given) and the unpaired unit, if any."""
    arr = np.asarray(pairs)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise InputError(f"MatchedPairs: pairs must be an array of shape (n_pairs, 2) with at least one pair; "
                         f"got shape {arr.shape}.")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise InputError(f"MatchedPairs: pairs must hold integer unit positions; got dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    n = max(int(arr.max()) + 1, 2) if n_units is None else n_units
    out_of_range = (arr < 0) | (arr >= n)
    if out_of_range.any():
        rows = "one per covariate row" if n_units is not None else "n_units is the largest position + 1"
        raise InputError(f"MatchedPairs: pairs must hold unit positions in [0, {n - 1}] ({rows}); "
                         f"got {arr[out_of_range][:5].tolist()}.")
    counts = np.bincount(arr.ravel(), minlength=n)
    if (counts > 1).any():
        rep = np.flatnonzero(counts > 1)
        raise DesignError(f"MatchedPairs: each unit may be in at most one pair; unit(s) {rep[:10].tolist()} "
                          f"appear {counts[rep[:10]].tolist()} times. Give each unit a single partner.")
    missing = np.flatnonzero(counts == 0)
    if len(missing) > n % 2:
        raise DesignError(f"MatchedPairs: pairs must cover every one of the {n} units (one unit may stay unpaired "
                          f"when the number is odd); {len(missing)} units are in no pair, e.g. "
                          f"{missing[:10].tolist()}. Pair them, or leave them out of the covariates.")
    return arr, (int(missing[0]) if len(missing) else None)


# ---------------------------------------------------------------------- optimal pairs
def _optimal_pairs(Y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Minimum-total-distance pairing (Euclidean in ``Y``), one unit left out when n is odd.

    Units with identical rows of ``X`` are paired among themselves first; the rest go to the
    certified sparse blossom solver.
    """
    n = Y.shape[0]
    _, group = np.unique(X, axis=0, return_inverse=True)
    group = group.ravel()
    order = np.lexsort((np.arange(n), group))
    g = group[order]
    start = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    size = np.diff(np.r_[start, n])
    rank = np.arange(n) - np.repeat(start, size)
    inside = rank < np.repeat(size - size % 2, size)
    pairs = [order[inside].reshape(-1, 2)]
    rest = np.sort(order[~inside])
    odd = None
    if len(rest) >= 2:
        p, o = _solve_matching(np.ascontiguousarray(Y[rest], dtype=float))
        pairs.append(rest[p])
        odd = None if o is None else int(rest[o])
    elif len(rest) == 1:
        odd = int(rest[0])
    pairs = np.concatenate(pairs).astype(np.int64)
    pairs.sort(axis=1)
    return pairs[np.argsort(pairs[:, 0], kind="stable")], odd


def _solve_matching(Y: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Optimal pairs of the rows of ``Y``: blossom on candidate edges, certified on all pairs."""
    n = Y.shape[0]
    odd = n % 2 == 1
    nv = n + odd
    complete = n <= _DENSE_BELOW
    if complete:
        cand = np.stack(np.triu_indices(n, 1), axis=1)
    else:
        from scipy.spatial import cKDTree

        k = _K_NEIGHBOURS
        _, idx = cKDTree(Y).query(Y, k + 1)
        path = np.lexsort(Y.T[::-1])  # a Hamiltonian path, so that a perfect matching exists
        cand = np.concatenate([np.stack([np.repeat(np.arange(n), k), idx[:, 1:].ravel()], axis=1),
                               np.stack([path[:-1], path[1:]], axis=1)])
    for round_ in range(1, _MAX_ROUNDS + 2):
        lo = np.minimum(cand[:, 0], cand[:, 1]).astype(np.int64)
        hi = np.maximum(cand[:, 0], cand[:, 1]).astype(np.int64)
        code = np.unique(lo[lo != hi] * n + hi[lo != hi])
        eu, ev = code // n, code % n
        ew = -_edge_lengths(Y, eu, ev)
        if odd:  # the dummy vertex n, at distance 0 from every unit
            eu = np.concatenate([eu, np.arange(n)])
            ev = np.concatenate([ev, np.full(n, n)])
            ew = np.concatenate([ew, np.zeros(n)])
        partner, dual, bparent, bbase = _max_weight_matching(nv, n, eu, ev, ew)
        if (partner < 0).any():  # cannot happen: the candidate graph has a perfect matching
            raise RuntimeError("MatchedPairs: internal error, the candidate graph has no perfect matching.")
        if complete or code.size == n * (n - 1) // 2:
            break
        viol = _dual_violations(Y, -0.5 * dual[:n], bparent, bbase, dual, nv, _PER_UNIT, _DUAL_RTOL)
        viol = viol[~np.isin(viol[:, 0] * n + viol[:, 1], code)]
        if viol.shape[0] == 0:
            break  # certified optimal on the complete graph
        if round_ >= _MAX_ROUNDS:
            complete = True
            cand = np.stack(np.triu_indices(n, 1), axis=1)
        else:
            cand = np.concatenate([np.stack([code // n, code % n], axis=1), viol])
    i = np.arange(n)
    p = partner[:n]
    first = (i < p) & (p < n)
    pairs = np.stack([i[first], p[first]], axis=1)
    return pairs, (int(np.flatnonzero(p == n)[0]) if odd else None)


# ---------------------------------------------------------------------- compiled kernels
@njit(cache=True)
def _sqdist(Y, i, j):
    s = 0.0
    for c in range(Y.shape[1]):
        d = Y[i, c] - Y[j, c]
        s += d * d
    return s


@njit(cache=True)
def _edge_lengths(Y, eu, ev):
    out = np.empty(eu.shape[0])
    for k in range(eu.shape[0]):
        out[k] = np.sqrt(_sqdist(Y, eu[k], ev[k]))
    return out


@njit(cache=True)
def _dual_violations(Y, y, bparent, bbase, dual, nv, per_unit, rtol):
    """Pairs of units with negative reduced cost ``d_ij - y_i - y_j + sum_{B containing i, j} z_B``.

    ``y`` are the (undoubled, min-cost) vertex duals of the units, ``dual[b]`` the blossom duals
    of the live blossoms ``b >= nv`` (``bbase[b] >= 0``) of the forest ``bparent``. The units are
    visited in depth-first order of the forest, so that for unit ``i`` the later units whose
    lowest common blossom is ``B`` form one contiguous range: every pair is checked once, in
    O(1) besides the distance. Returns up to ``per_unit`` most violated pairs per unit.
    """
    n = Y.shape[0]
    nb = bparent.shape[0]
    root = nb
    cnt = np.zeros(nb + 2, np.int64)
    for x in range(nb):
        if x < nv or bbase[x] >= 0:
            p = root if bparent[x] == -1 else bparent[x]
            cnt[p + 1] += 1
    for x in range(nb + 1):
        cnt[x + 1] += cnt[x]
    fill = cnt[:-1].copy()
    kids = np.empty(cnt[nb + 1], np.int64)
    for x in range(nb):
        if x < nv or bbase[x] >= 0:
            p = root if bparent[x] == -1 else bparent[x]
            kids[fill[p]] = x
            fill[p] += 1
    pos = np.empty(nv, np.int64)
    order = np.empty(nv, np.int64)
    hi = np.zeros(nb + 1, np.int64)
    cumz = np.zeros(nb + 1)
    nxt = cnt[:-1].copy()
    stack = np.empty(nb + 1, np.int64)
    top = 0
    stack[0] = root
    c = 0
    while top >= 0:
        x = stack[top]
        if nxt[x] < cnt[x + 1]:
            ch = kids[nxt[x]]
            nxt[x] += 1
            if ch < nv:
                pos[ch] = c
                order[c] = ch
                c += 1
            else:
                cumz[ch] = cumz[x] + dual[ch]
                top += 1
                stack[top] = ch
        else:
            hi[x] = c
            top -= 1
    best_j = np.full((n, per_unit), -1, np.int64)
    best_rc = np.zeros((n, per_unit))
    for i in range(n):
        yi = y[i]
        lo_q = pos[i] + 1
        x = bparent[i]
        while True:
            b = root if x == -1 else x
            zb = cumz[b]
            for q in range(lo_q, hi[b]):
                j = order[q]
                if j >= n:
                    continue  # the dummy vertex: all its edges are candidates
                thr = yi + y[j] - zb
                thr -= rtol * (abs(yi) + abs(y[j]) + zb)
                if thr <= 0.0:
                    continue
                d2 = _sqdist(Y, i, j)
                if d2 >= thr * thr:
                    continue
                rc = np.sqrt(d2) - thr
                for side in range(2):
                    u = i if side == 0 else j
                    w = j if side == 0 else i
                    slot = -1
                    worst = 0
                    for s in range(per_unit):
                        if best_j[u, s] == -1:
                            slot = s
                            break
                        if best_rc[u, s] > best_rc[u, worst]:
                            worst = s
                    if slot == -1 and rc < best_rc[u, worst]:
                        slot = worst
                    if slot != -1:
                        best_j[u, slot] = w
                        best_rc[u, slot] = rc
            lo_q = hi[b]
            if b == root:
                break
            x = bparent[b]
    m = 0
    for i in range(n):
        for s in range(per_unit):
            if best_j[i, s] != -1:
                m += 1
    out = np.empty((m, 2), np.int64)
    m = 0
    for i in range(n):
        for s in range(per_unit):
            if best_j[i, s] != -1:
                out[m, 0] = min(i, best_j[i, s])
                out[m, 1] = max(i, best_j[i, s])
                m += 1
    return out


# Weighted blossom: Edmonds' primal-dual algorithm for a maximum-weight matching among the
# maximum-cardinality matchings, organised as in Galil (1986) / Gabow (1974) with a least-slack
# edge per free vertex and per S-blossom (O(n^3)), with arrays so that numba compiles it (the
# layout follows J. van Rantwijk's well-known Python implementation, also networkx's).
# Vertices are 0..nv-1, non-trivial blossoms nv..2nv-1. Edge k joins eu[k] and ev[k]; its
# endpoints are 2k (at eu[k]) and 2k+1 (at ev[k]); for a vertex, a "remote endpoint" p names the
# edge p >> 1 and the neighbour endpoint[p]. Vertex duals are stored doubled (dual[v] = 2u_v),
# blossom duals plain (dual[b] = z_b): the doubled slack of edge k is
# dual[eu] + dual[ev] - 2 w_k, plus 2 z_b for every blossom containing both ends.
# Per-node integer state is one (rows, 2nv + 8) array V, row names below; the sub-blossom lists
# (children and their connecting endpoints) and the least-slack edge lists of S-blossoms live
# in flat pools (start and length per blossom), compacted in place when full.
(_MATE, _LABEL, _LABELEND, _INBLOSSOM, _BPARENT, _BBASE, _BESTEDGE, _CSTART, _CLEN, _BSTART, _BLEN,
 _HASBEST, _UNUSED, _QUEUE, _INQ, _LEAVES, _STACK, _TMPA, _TMPB, _BESTTO, _TOUCHED, _WORK, _WORKV,
 _VLIST, _INV, _ELIST, _INE, _CTR, _NROWS) = range(29)
# counters in row _CTR: free blossom numbers on the _UNUSED stack, high-water blossom number + 1,
# lengths of _VLIST (vertices labelled this stage), _ELIST (free vertices with a least-slack
# edge), _QUEUE, the tops of the child and least-slack-edge pools, and the number of vertices
_C_UNUSED, _C_HW, _C_NVL, _C_NEL, _C_NQ, _C_CTOP, _C_BTOP, _C_NV = range(8)
# int64 values (not literals) for constant arguments, so that numba compiles one version of each helper
_S, _T, _NONE, _ZERO, _ONE = (np.int64(x) for x in (1, 2, -1, 0, 1))


@njit(cache=True)
def _slack(k, eu, ev, ew, dual):
    return dual[eu[k]] + dual[ev[k]] - 2.0 * ew[k]


@njit(cache=True)
def _leaves(V, cpool, b):
    """Write the vertices of (sub-)blossom ``b`` into row _LEAVES; return their number."""
    nv = V[_CTR, _C_NV]
    out, stack, cstart, clen = V[_LEAVES], V[_STACK], V[_CSTART], V[_CLEN]
    if b < nv:
        out[0] = b
        return 1
    cnt = 0
    stack[0] = b
    top = 1
    while top > 0:
        top -= 1
        x = stack[top]
        for i in range(cstart[x], cstart[x] + clen[x]):
            t = cpool[i]
            if t < nv:
                out[cnt] = t
                cnt += 1
            else:
                stack[top] = t
                top += 1
    return cnt


@njit(cache=True)
def _compact(pool_a, pool_b, start, length, alive):
    """Pack the segments of the live owners at the front of their pool(s); return the new top."""
    tmp_a = pool_a.copy()
    tmp_b = pool_b.copy()
    top = 0
    for b in range(alive.shape[0]):
        if alive[b]:
            s = start[b]
            for i in range(length[b]):
                pool_a[top + i] = tmp_a[s + i]
            for i in range(min(length[b], pool_b.shape[0])):
                pool_b[top + i] = tmp_b[s + i]
            start[b] = top
            top += length[b]
    return top


@njit(cache=True)
def _push(V, v):
    """Put S-vertex v on the scan stack (once: a vertex already waiting is scanned with current state)."""
    ctr, inq = V[_CTR], V[_INQ]
    if inq[v] == 0:
        inq[v] = 1
        V[_QUEUE, ctr[_C_NQ]] = v
        ctr[_C_NQ] += 1


@njit(cache=True)
def _assign_label(V, cpool, endpoint, w, t, p):
    """Label the top-level blossom of vertex w with t (1 = S, 2 = T), reached through remote
    endpoint p; the mate of a T-blossom's base becomes S. S-vertices go on the scan stack."""
    mate, label, labelend, inblossom, bbase, bestedge = (V[_MATE], V[_LABEL], V[_LABELEND], V[_INBLOSSOM],
                                                         V[_BBASE], V[_BESTEDGE])
    ctr, leafbuf, vlist, inv = V[_CTR], V[_LEAVES], V[_VLIST], V[_INV]
    while True:
        b = inblossom[w]
        label[w] = t
        label[b] = t
        labelend[w] = p
        labelend[b] = p
        bestedge[w] = -1
        bestedge[b] = -1
        cnt = _leaves(V, cpool, b)
        for i in range(cnt):
            x = leafbuf[i]
            if inv[x] == 0:
                inv[x] = 1
                vlist[ctr[_C_NVL]] = x
                ctr[_C_NVL] += 1
            if t == 1:
                _push(V, x)
        if t == 1:
            return
        pm = mate[bbase[b]]
        w = endpoint[pm]
        t = 1
        p = pm ^ 1


@njit(cache=True)
def _scan_blossom(V, endpoint, v, w):
    """Trace back from S-vertices v and w: base vertex of a new blossom, or -1 (augmenting path)."""
    label, labelend, inblossom, bbase, path = V[_LABEL], V[_LABELEND], V[_INBLOSSOM], V[_BBASE], V[_TMPA]
    npath = 0
    base = -1
    while v != -1 or w != -1:
        b = inblossom[v]
        if label[b] & 4:
            base = bbase[b]
            break
        path[npath] = b
        npath += 1
        label[b] = 5
        if labelend[b] == -1:
            v = -1
        else:
            v = endpoint[labelend[b]]
            b = inblossom[v]
            v = endpoint[labelend[b]]
        if w != -1:
            v, w = w, v
    for i in range(npath):
        label[path[i]] = 1
    return base


@njit(cache=True)
def _consider_best(V, dual, eu, ev, ew, b, k, nt):
    """Keep edge k if it is the least-slack edge seen from new blossom b to its other S-blossom."""
    label, inblossom, bestto, touched = V[_LABEL], V[_INBLOSSOM], V[_BESTTO], V[_TOUCHED]
    i = eu[k]
    j = ev[k]
    if inblossom[j] == b:
        i, j = j, i
    bj = inblossom[j]
    if bj != b and label[bj] == 1:
        cur = bestto[bj]
        if cur == -1:
            touched[nt] = bj
            nt += 1
            bestto[bj] = k
        elif _slack(k, eu, ev, ew, dual) < _slack(cur, eu, ev, ew, dual):
            bestto[bj] = k
    return nt


@njit(cache=True)
def _add_blossom(V, dual, eu, ev, ew, endpoint, ptr, adj, cpool, epool, bpool, base, k):
    """New S-blossom with the given base vertex, closed by edge k between two S-vertices."""
    nv = V[_CTR, _C_NV]
    label, labelend, inblossom, bparent, bbase, bestedge = (V[_LABEL], V[_LABELEND], V[_INBLOSSOM], V[_BPARENT],
                                                            V[_BBASE], V[_BESTEDGE])
    cstart, clen, bstart, blen, hasbest = V[_CSTART], V[_CLEN], V[_BSTART], V[_BLEN], V[_HASBEST]
    ctr, leafbuf, tmpa, tmpb, bestto, touched = V[_CTR], V[_LEAVES], V[_TMPA], V[_TMPB], V[_BESTTO], V[_TOUCHED]
    v = eu[k]
    w = ev[k]
    bb = inblossom[base]
    bv = inblossom[v]
    bw = inblossom[w]
    ctr[_C_UNUSED] -= 1
    b = V[_UNUSED, ctr[_C_UNUSED]]
    if b >= ctr[_C_HW]:
        ctr[_C_HW] = b + 1
    n1 = 0
    while bv != bb:  # trace from v back to the base
        bparent[bv] = b
        tmpa[n1] = bv
        tmpb[n1] = labelend[bv]
        n1 += 1
        bv = inblossom[endpoint[labelend[bv]]]
    n2 = 0
    while bw != bb:  # and from w
        bparent[bw] = b
        tmpa[n1 + n2] = bw
        tmpb[n1 + n2] = labelend[bw] ^ 1
        n2 += 1
        bw = inblossom[endpoint[labelend[bw]]]
    size = 1 + n1 + n2
    if ctr[_C_CTOP] + size > cpool.shape[0]:
        alive = bbase >= 0
        for x in range(nv):
            alive[x] = False
        ctr[_C_CTOP] = _compact(cpool, epool, cstart, clen, alive)
    cs = ctr[_C_CTOP]
    ctr[_C_CTOP] += size
    cpool[cs] = bb  # children: the base, the v side reversed, then the w side
    for i in range(n1):
        cpool[cs + 1 + i] = tmpa[n1 - 1 - i]
        epool[cs + i] = tmpb[n1 - 1 - i]
    epool[cs + n1] = 2 * k
    for i in range(n2):
        cpool[cs + 1 + n1 + i] = tmpa[n1 + i]
        epool[cs + n1 + 1 + i] = tmpb[n1 + i]
    cstart[b] = cs
    clen[b] = size
    bbase[b] = base
    bparent[b] = -1
    bparent[bb] = b
    label[b] = 1
    labelend[b] = labelend[bb]
    dual[b] = 0.0
    cnt = _leaves(V, cpool, b)
    for i in range(cnt):
        x = leafbuf[i]
        if label[inblossom[x]] == 2:
            _push(V, x)  # a T-vertex turned S
        inblossom[x] = b
    nt = _ZERO  # least-slack edge from b to every other top-level S-blossom
    for idx in range(size):
        sb = cpool[cs + idx]
        if hasbest[sb]:
            for i in range(bstart[sb], bstart[sb] + blen[sb]):
                nt = _consider_best(V, dual, eu, ev, ew, b, bpool[i], nt)
        else:
            cnt = _leaves(V, cpool, sb)
            for i in range(cnt):
                x = leafbuf[i]
                for a in range(ptr[x], ptr[x + 1]):
                    nt = _consider_best(V, dual, eu, ev, ew, b, adj[a] >> 1, nt)
        hasbest[sb] = 0
        bestedge[sb] = -1
    if ctr[_C_BTOP] + nt > bpool.shape[0]:
        ctr[_C_BTOP] = _compact(bpool, np.empty(0, np.int64), bstart, blen, hasbest != 0)
    bs = ctr[_C_BTOP]
    ctr[_C_BTOP] += nt
    best = -1
    bslack = 0.0
    for i in range(nt):
        kk = bestto[touched[i]]
        bestto[touched[i]] = -1
        bpool[bs + i] = kk
        s = _slack(kk, eu, ev, ew, dual)
        if best == -1 or s < bslack:
            best = kk
            bslack = s
    bstart[b] = bs
    blen[b] = nt
    hasbest[b] = 1
    bestedge[b] = best


@njit(cache=True)
def _free_blossom(V, b):
    V[_LABEL, b] = -1
    V[_LABELEND, b] = -1
    V[_CLEN, b] = 0
    V[_BBASE, b] = -1
    V[_HASBEST, b] = 0
    V[_BESTEDGE, b] = -1
    ctr = V[_CTR]
    V[_UNUSED, ctr[_C_UNUSED]] = b
    ctr[_C_UNUSED] += 1


@njit(cache=True)
def _child_index(V, cpool, b, x):
    cs = V[_CSTART, b]
    for i in range(V[_CLEN, b]):
        if cpool[cs + i] == x:
            return i
    return -1


@njit(cache=True)
def _expand_blossom(V, dual, endpoint, allow, cpool, epool, b, endstage):
    """Dissolve top-level blossom b. At the end of a stage its sub-blossoms with zero dual are
    dissolved too; during a stage (a T-blossom whose dual reached zero) its children are relabelled."""
    nv = V[_CTR, _C_NV]
    mate, label, labelend, inblossom, bparent, bbase, bestedge = (V[_MATE], V[_LABEL], V[_LABELEND],
                                                                  V[_INBLOSSOM], V[_BPARENT], V[_BBASE],
                                                                  V[_BESTEDGE])
    cstart, clen, leafbuf, work = V[_CSTART], V[_CLEN], V[_LEAVES], V[_WORK]
    if endstage != 0:
        work[0] = b
        top = 1
        while top > 0:
            top -= 1
            x = work[top]
            for i in range(cstart[x], cstart[x] + clen[x]):
                s = cpool[i]
                bparent[s] = -1
                if s < nv:
                    inblossom[s] = s
                elif dual[s] == 0.0:
                    work[top] = s
                    top += 1
                else:
                    cnt = _leaves(V, cpool, s)
                    for q in range(cnt):
                        inblossom[leafbuf[q]] = s
            _free_blossom(V, x)
        return
    cs = cstart[b]
    size = clen[b]
    for i in range(size):
        s = cpool[cs + i]
        bparent[s] = -1
        if s < nv:
            inblossom[s] = s
        else:
            cnt = _leaves(V, cpool, s)
            for q in range(cnt):
                inblossom[leafbuf[q]] = s
    if label[b] == 2:
        # relabel from the child through which b got its label round to the base
        entrychild = inblossom[endpoint[labelend[b] ^ 1]]
        j = _child_index(V, cpool, b, entrychild)
        if j & 1:
            j -= size
            jstep = 1
            endptrick = 0
        else:
            jstep = -1
            endptrick = 1
        p = labelend[b]
        while j != 0:
            label[endpoint[p ^ 1]] = 0
            label[endpoint[epool[cs + (j - endptrick) % size] ^ endptrick ^ 1]] = 0
            _assign_label(V, cpool, endpoint, endpoint[p ^ 1], _T, p)
            allow[epool[cs + (j - endptrick) % size] >> 1] = True
            j += jstep
            p = epool[cs + (j - endptrick) % size] ^ endptrick
            allow[p >> 1] = True
            j += jstep
        bv = cpool[cs + j % size]
        label[endpoint[p ^ 1]] = 2
        label[bv] = 2
        labelend[endpoint[p ^ 1]] = p
        labelend[bv] = p
        bestedge[bv] = -1
        j += jstep
        while cpool[cs + j % size] != entrychild:
            bv = cpool[cs + j % size]
            if label[bv] == 1:
                j += jstep
                continue
            cnt = _leaves(V, cpool, bv)
            found = -1
            for q in range(cnt):
                if label[leafbuf[q]] != 0:
                    found = leafbuf[q]
                    break
            if found != -1:
                label[found] = 0
                label[endpoint[mate[bbase[bv]]]] = 0
                _assign_label(V, cpool, endpoint, found, _T, labelend[found])
            j += jstep
    _free_blossom(V, b)


@njit(cache=True)
def _augment_blossom(V, endpoint, cpool, epool, b0, v0):
    """Swap matched and unmatched edges on the even path from vertex v0 to the base of blossom b0,
    through its sub-blossoms (a work list: the sub-blossoms are disjoint, so order is free)."""
    nv = V[_CTR, _C_NV]
    mate, bparent, bbase, cstart, clen = V[_MATE], V[_BPARENT], V[_BBASE], V[_CSTART], V[_CLEN]
    tmpa, work, workv = V[_TMPA], V[_WORK], V[_WORKV]
    work[0] = b0
    workv[0] = v0
    top = 1
    while top > 0:
        top -= 1
        b = work[top]
        v = workv[top]
        t = v
        while bparent[t] != b:
            t = bparent[t]
        if t >= nv:
            work[top] = t
            workv[top] = v
            top += 1
        cs = cstart[b]
        size = clen[b]
        i = _child_index(V, cpool, b, t)
        j = i
        if i & 1:
            j -= size
            jstep = 1
            endptrick = 0
        else:
            jstep = -1
            endptrick = 1
        while j != 0:
            j += jstep
            t = cpool[cs + j % size]
            p = epool[cs + (j - endptrick) % size] ^ endptrick
            if t >= nv:
                work[top] = t
                workv[top] = endpoint[p]
                top += 1
            j += jstep
            t = cpool[cs + j % size]
            if t >= nv:
                work[top] = t
                workv[top] = endpoint[p ^ 1]
                top += 1
            mate[endpoint[p]] = p ^ 1
            mate[endpoint[p ^ 1]] = p
        if i > 0:  # rotate so that the child holding the new base comes first
            for q in range(size):
                tmpa[q] = cpool[cs + (q + i) % size]
            for q in range(size):
                cpool[cs + q] = tmpa[q]
            for q in range(size):
                tmpa[q] = epool[cs + (q + i) % size]
            for q in range(size):
                epool[cs + q] = tmpa[q]
        bbase[b] = v


@njit(cache=True)
def _augment_matching(V, eu, ev, endpoint, cpool, epool, k):
    """Augment along the path through edge k, which joins S-vertices of two different trees."""
    nv = V[_CTR, _C_NV]
    mate, labelend, inblossom = V[_MATE], V[_LABELEND], V[_INBLOSSOM]
    for side in range(2):
        if side == 0:
            s = eu[k]
            p = 2 * k + 1
        else:
            s = ev[k]
            p = 2 * k
        while True:
            bs = inblossom[s]
            if bs >= nv:
                _augment_blossom(V, endpoint, cpool, epool, bs, s)
            mate[s] = p
            if labelend[bs] == -1:
                break
            t = endpoint[labelend[bs]]
            bt = inblossom[t]
            s = endpoint[labelend[bt]]
            j = endpoint[labelend[bt] ^ 1]
            if bt >= nv:
                _augment_blossom(V, endpoint, cpool, epool, bt, j)
            mate[j] = labelend[bt]
            p = labelend[bt] ^ 1


@njit(cache=True)
def _jump_start(V, dual, eu, ev, ew, endpoint, ptr, adj, n_real):
    """Feasible duals (dual[v] = largest incident weight), every vertex then lowered until one of
    its edges is tight, and a greedy matching on tight edges."""
    nv = V[_CTR, _C_NV]
    m = eu.shape[0]
    mate = V[_MATE]
    for v in range(nv):
        dual[v] = -np.inf
    for k in range(m):
        if eu[k] < n_real and ev[k] < n_real:
            dual[eu[k]] = max(dual[eu[k]], ew[k])
            dual[ev[k]] = max(dual[ev[k]], ew[k])
    for v in range(nv):
        if dual[v] == -np.inf:
            best = -np.inf
            for a in range(ptr[v], ptr[v + 1]):
                u = endpoint[adj[a]]
                if dual[u] > -np.inf:
                    best = max(best, 2.0 * ew[adj[a] >> 1] - dual[u])
            dual[v] = best
    for v in range(nv):
        if dual[v] == -np.inf:
            dual[v] = 0.0
    for k in range(m):  # repair (only ever rounding): raising a vertex dual keeps its other edges feasible
        s = _slack(k, eu, ev, ew, dual)
        if s < 0.0:
            dual[eu[k]] -= s
    for v in range(nv):
        smin = np.inf
        for a in range(ptr[v], ptr[v + 1]):
            smin = min(smin, _slack(adj[a] >> 1, eu, ev, ew, dual))
        if 0.0 < smin < np.inf:
            dual[v] -= smin
    for v in range(nv):
        if mate[v] != -1:
            continue
        for a in range(ptr[v], ptr[v + 1]):
            p = adj[a]
            u = endpoint[p]
            if mate[u] == -1 and _slack(p >> 1, eu, ev, ew, dual) <= 0.0:
                mate[v] = p
                mate[u] = p ^ 1
                break



@njit(cache=True)
def _grow(V, dual, eu, ev, ew, endpoint, ptr, adj, allow, cpool, epool, bpool):
    """Scan the waiting S-vertices, growing the forest along tight edges (making blossoms) and
    recording least-slack edges; True once an augmenting path was found and used."""
    label, labelend, inblossom, bestedge = V[_LABEL], V[_LABELEND], V[_INBLOSSOM], V[_BESTEDGE]
    ctr, queue, inq, elist, ine = V[_CTR], V[_QUEUE], V[_INQ], V[_ELIST], V[_INE]
    while ctr[_C_NQ] > 0:
        ctr[_C_NQ] -= 1
        v = queue[ctr[_C_NQ]]
        inq[v] = 0
        for a in range(ptr[v], ptr[v + 1]):
            p = adj[a]
            k = p >> 1
            w = endpoint[p]
            if inblossom[v] == inblossom[w]:
                continue
            kslack = 0.0
            if not allow[k]:
                kslack = _slack(k, eu, ev, ew, dual)
                if kslack <= 0.0:
                    allow[k] = True
            if allow[k]:
                if label[inblossom[w]] == 0:
                    _assign_label(V, cpool, endpoint, w, _T, p ^ 1)
                elif label[inblossom[w]] == 1:
                    base = _scan_blossom(V, endpoint, v, w)
                    if base >= 0:
                        _add_blossom(V, dual, eu, ev, ew, endpoint, ptr, adj, cpool, epool, bpool, base, k)
                    else:
                        _augment_matching(V, eu, ev, endpoint, cpool, epool, k)
                        return True
                elif label[w] == 0:
                    label[w] = 2
                    labelend[w] = p ^ 1
            elif label[inblossom[w]] == 1:
                b = inblossom[v]
                if bestedge[b] == -1 or kslack < _slack(bestedge[b], eu, ev, ew, dual):
                    bestedge[b] = k
            elif label[w] == 0:
                if bestedge[w] == -1 or kslack < _slack(bestedge[w], eu, ev, ew, dual):
                    bestedge[w] = k
                    if ine[w] == 0:
                        ine[w] = 1
                        elist[ctr[_C_NEL]] = w
                        ctr[_C_NEL] += 1
    return False


@njit(cache=True)
def _dual_step(V, dual, eu, ev, ew, endpoint, allow, cpool, epool):
    """No augmenting path on tight edges: change the duals by the largest step that keeps them
    feasible, and act on the edge or blossom that limited it. False if there is no such step."""
    nv = V[_CTR, _C_NV]
    label, inblossom, bparent, bbase, bestedge = V[_LABEL], V[_INBLOSSOM], V[_BPARENT], V[_BBASE], V[_BESTEDGE]
    ctr, vlist, elist = V[_CTR], V[_VLIST], V[_ELIST]
    hw = ctr[_C_HW]
    nvl = ctr[_C_NVL]
    deltatype = -1
    delta = 0.0
    deltaedge = -1
    deltablossom = _NONE
    for i in range(ctr[_C_NEL]):  # (2) S-vertex to free vertex
        v = elist[i]
        if label[inblossom[v]] == 0 and bestedge[v] != -1:
            d = _slack(bestedge[v], eu, ev, ew, dual)
            if deltatype == -1 or d < delta:
                delta = d
                deltatype = 2
                deltaedge = bestedge[v]
    for i in range(nvl + hw - nv):  # (3) between two S-blossoms (trivial ones are in vlist)
        b = vlist[i] if i < nvl else nv + i - nvl
        if bparent[b] == -1 and label[b] == 1 and bestedge[b] != -1:
            d = 0.5 * _slack(bestedge[b], eu, ev, ew, dual)
            if deltatype == -1 or d < delta:
                delta = d
                deltatype = 3
                deltaedge = bestedge[b]
    for b in range(nv, hw):  # (4) dual of a T-blossom
        if bbase[b] >= 0 and bparent[b] == -1 and label[b] == 2:
            if deltatype == -1 or dual[b] < delta:
                delta = dual[b]
                deltatype = 4
                deltablossom = b
    if deltatype == -1:
        return False
    delta = max(delta, 0.0)  # (only rounding can make it negative)
    for i in range(nvl):
        v = vlist[i]
        lb = label[inblossom[v]]
        if lb == 1:
            dual[v] -= delta
        elif lb == 2:
            dual[v] += delta
    for b in range(nv, hw):
        if bbase[b] >= 0 and bparent[b] == -1:
            if label[b] == 1:
                dual[b] += delta
            elif label[b] == 2:
                dual[b] -= delta
    if deltatype == 2:
        allow[deltaedge] = True
        i = eu[deltaedge]
        if label[inblossom[i]] == 0:
            i = ev[deltaedge]
        _push(V, i)
    elif deltatype == 3:
        allow[deltaedge] = True
        _push(V, eu[deltaedge])
    else:
        _expand_blossom(V, dual, endpoint, allow, cpool, epool, deltablossom, _ZERO)
    return True


@njit(cache=True)
def _max_weight_matching(nv, n_real, eu, ev, ew):
    """Maximum-weight matching among the maximum-cardinality matchings of graph (eu, ev, ew).

    Vertices ``>= n_real`` (the dummy of an odd problem) are left out of the first pass of the
    jump start. Returns ``(partner, dual, bparent, bbase)``: every vertex's partner (or -1), the
    final duals (doubled vertex duals, then blossom duals) and the final blossom forest.
    """
    m = eu.shape[0]
    nb = 2 * nv
    endpoint = np.empty(2 * m, np.int64)
    ptr = np.zeros(nv + 1, np.int64)
    for k in range(m):
        endpoint[2 * k] = eu[k]
        endpoint[2 * k + 1] = ev[k]
        ptr[eu[k] + 1] += 1
        ptr[ev[k] + 1] += 1
    for v in range(nv):
        ptr[v + 1] += ptr[v]
    fill = ptr[:-1].copy()
    adj = np.empty(2 * m, np.int64)
    for k in range(m):
        adj[fill[eu[k]]] = 2 * k + 1
        fill[eu[k]] += 1
        adj[fill[ev[k]]] = 2 * k
        fill[ev[k]] += 1
    V = np.zeros((_NROWS, nb + 8), np.int64)
    for x in range(nb + 8):
        V[_MATE, x] = -1
        V[_LABELEND, x] = -1
        V[_INBLOSSOM, x] = x
        V[_BPARENT, x] = -1
        V[_BBASE, x] = x if x < nv else -1
        V[_BESTEDGE, x] = -1
        V[_BESTTO, x] = -1
    for i in range(nb - nv):
        V[_UNUSED, i] = nb - 1 - i
    ctr = V[_CTR]
    ctr[_C_UNUSED] = nb - nv
    ctr[_C_NV] = nv
    ctr[_C_HW] = nv
    mate, label, inblossom, bparent, bbase, bestedge = (V[_MATE], V[_LABEL], V[_INBLOSSOM], V[_BPARENT],
                                                        V[_BBASE], V[_BESTEDGE])
    queue, inq, vlist, inv, elist, ine, hasbest = (V[_QUEUE], V[_INQ], V[_VLIST], V[_INV], V[_ELIST], V[_INE],
                                                   V[_HASBEST])
    dual = np.zeros(nb)
    allow = np.zeros(m, np.bool_)
    cpool = np.empty(4 * nv + 16, np.int64)
    epool = np.empty(4 * nv + 16, np.int64)
    bpool = np.empty(4 * m + 2 * nb + 16, np.int64)

    _jump_start(V, dual, eu, ev, ew, endpoint, ptr, adj, n_real)

    for _stage in range(nv + 1):
        # a stage grows alternating trees from every single vertex until one augmenting path is found
        for x in range(nb):
            label[x] = 0
            bestedge[x] = -1
            hasbest[x] = 0
        for k in range(m):
            allow[k] = False
        ctr[_C_BTOP] = 0
        for i in range(ctr[_C_NQ]):
            inq[queue[i]] = 0
        for i in range(ctr[_C_NVL]):
            inv[vlist[i]] = 0
        for i in range(ctr[_C_NEL]):
            ine[elist[i]] = 0
        ctr[_C_NQ] = 0
        ctr[_C_NVL] = 0
        ctr[_C_NEL] = 0
        for v in range(nv):
            if mate[v] == -1 and label[inblossom[v]] == 0:
                _assign_label(V, cpool, endpoint, v, _S, _NONE)
        while True:
            augmented = _grow(V, dual, eu, ev, ew, endpoint, ptr, adj, allow, cpool, epool, bpool)
            if augmented:
                break
            if not _dual_step(V, dual, eu, ev, ew, endpoint, allow, cpool, epool):
                break  # no augmenting path at all: the matching has maximum cardinality
        if not augmented:
            break
        for b in range(nv, ctr[_C_HW]):  # end of stage: dissolve S-blossoms whose dual is zero
            if bparent[b] == -1 and bbase[b] >= 0 and label[b] == 1 and dual[b] == 0.0:
                _expand_blossom(V, dual, endpoint, allow, cpool, epool, b, _ONE)

    partner = np.full(nv, -1, np.int64)
    for v in range(nv):
        if mate[v] >= 0:
            partner[v] = endpoint[mate[v]]
    return partner, dual, bparent[:nb].copy(), bbase[:nb].copy()
