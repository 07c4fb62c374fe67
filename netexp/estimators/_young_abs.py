"""The |M| Young bound: a sharper conservative replacement of the Aronow-Samii correction.

Built once per (probabilities, contrast, units) from the design alone and cached; each call then
evaluates the bound's quadratic forms over the observed units. See :func:`netexp.horvitz_thompson`, Notes.

Positions are (unit, level) for the N units of the estimand at levels a (first block, 0..N-1) and b
(second block, N..2N-1). M (2N x 2N) marks the pairs of distinct positions with zero joint probability.
Positions with equal rows of M have one *type*; only the t x t type matrix is decomposed. Three routes
build the types and evaluate the forms without a dense 2N x 2N table where the joints allow it:

``"profile"``  complete randomization of clusters with a threshold mapping (the exposure layer's profile
               route): units of one profile are always at one level and a pair's joint depends only on the
               two profiles, so M, the types and every quadratic form aggregate over (profile, level) cells:
               O(n + cells^2) time and memory.
``"sparse"``   designs whose pairs not stored by ``joint`` are independent (Bernoulli over units or clusters,
               saturation with independent levels): M is sparse (stored zero joints plus each unit's two
               positions); types come from hashed rows of M (checked exactly), and the forms are a sum over
               types (independent pairs: :math:`\\pi_{pq} = \\pi_p \\pi_q`) corrected at the stored pairs:
               O(n + stored pairs + t^2).
``"dense"``    Monte Carlo joints and Complete designs off the profile route: the dense 2N x 2N construction,
               limited to :data:`ABS_YOUNG_MAX_UNITS` units (all units, since those joints are dense).

The bound's matrix between types comes from |K| by connected components of the type graph (an SVD of the
cross block when a component's zero-joint pairs are all across the two levels): exact, and the cost is set
by the largest component. More than :data:`ABS_YOUNG_MAX_TYPES` types: not built (Aronow-Samii instead).
"""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["abs_young_structure", "abs_young_variance", "effective_groups", "group_shares", "abs_young_unavailable",
           "ABS_YOUNG_MAX_UNITS", "ABS_YOUNG_MAX_TYPES"]

#: Largest number of units for the dense |M| construction (Monte Carlo joints, Complete designs off the
#: profile route; memory ~ 40 n^2 bytes).
ABS_YOUNG_MAX_UNITS = 4000
#: Largest number of position types t for the profile and sparse routes (the t x t bound matrix; its
#: eigendecomposition by connected components costs at most t^3).
ABS_YOUNG_MAX_TYPES = 5000

#: Most neighbourhood profiles in the estimand on the profile route (cell tables of (2G)^2 floats: 540 MB).
_MAX_PROFILES = 4096

_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def abs_young_route(probabilities) -> str:
    """``"profile"``, ``"sparse"`` or ``"dense"``: how the |M| structure is built for these probabilities."""
    st = probabilities._pairs
    if probabilities._codes is not None or st is None:  # Monte Carlo joints: dense
        return "dense"
    if "complete" in st:
        return "profile" if "profile" in st else "dense"
    return "sparse"


def abs_young_unavailable(probabilities, pairs, mask: np.ndarray) -> str | None:
    """Why the |M| bound is not computed for these contrasts and units (None: it is; structures cached)."""
    if not probabilities.joint_available:
        return "no joint probabilities"
    if abs_young_route(probabilities) == "dense":
        n_est = max(int(mask.sum()), probabilities.n_units)
        if n_est > ABS_YOUNG_MAX_UNITS:
            return (f"with dense joints (Monte Carlo, or a Complete design off the profile route) it builds "
                    f"(2N x 2N) tables and is limited to N <= {ABS_YOUNG_MAX_UNITS} units, counting all units; "
                    f"got N = {n_est}")
        return None
    for a, b in pairs:
        st = abs_young_structure(probabilities, a, b, mask)
        if "unavailable" in st:
            return st["unavailable"]
    return None


def abs_young_structure(probabilities, a: int, b: int, mask: np.ndarray) -> dict:
    """Design-only pieces of the |M| bound for the contrast (a, b) over the units in ``mask`` (cached).

    A dict with the route's data, ``At`` (the bound's matrix between types, scaled to the positions: the
    entry between positions of types s, t), ``dmove`` (diagonal added per type when the entries at
    zero-joint pairs are moved), ``cross_only`` (every zero-joint pair across the levels), ``n_types``;
    or ``{"unavailable": reason}`` when there are more than :data:`ABS_YOUNG_MAX_TYPES` types.
    """
    key = (a, b, hash(mask.tobytes()), int(mask.sum()))
    per = _CACHE.setdefault(probabilities, {})
    if key in per:
        return per[key]
    route = abs_young_route(probabilities)
    if route == "profile":
        out = _profile_structure(probabilities, a, b, mask)
    elif route == "sparse":
        out = _sparse_structure(probabilities, a, b, mask)
    else:
        out = _dense_structure(probabilities, a, b, mask)
    out["route"] = route
    if len(per) >= 4:
        per.pop(next(iter(per)))
    per[key] = out
    return out


def abs_young_variance(st: dict, P: np.ndarray, a: int, b: int, codes: np.ndarray, yv: np.ndarray,
                       ratio: float = 1.0) -> float:
    """Variance estimate of the HT contrast total sum_i [I_i(a) - I_i(b)] yv_i / pi_i(.) with the |M| bound.

    ``yv``: outcomes (HT) or residuals (Hajek linearization), length n_units; ``codes``: observed levels.
    ``ratio`` (fixed in advance, > 0): when every zero-joint pair is across the levels, the level-a block
    of the bound is weighted by ``ratio`` and the level-b block by ``1 / ratio`` (valid for any value).
    """
    route = st["route"]
    if route == "profile":
        return _profile_variance(st, P, a, b, codes, yv, ratio)
    if route == "sparse":
        return _sparse_variance(st, P, a, b, codes, yv, ratio)
    return _dense_variance(st, P, a, b, codes, yv, ratio)


def effective_groups(st: dict, P: np.ndarray, a: int, b: int, codes: np.ndarray) -> tuple[float, float]:
    r"""Effective number of independent groups among the units observed at level a and at level b.

    Kish's count with correlations, :math:`(\sum_p w_p)^2 / \sum_{p, q} w_p w_q \rho^+_{pq}` over the
    observed positions of one level, :math:`w_p = 1/\pi_p` and :math:`\rho^+_{pq}` the positive part of
    the design correlation of the indicators :math:`I_p, I_q`,
    :math:`(\pi_{pq} - \pi_p\pi_q) / \sqrt{\pi_p(1-\pi_p)\pi_q(1-\pi_q)}` (1 on the diagonal;
    negative correlations, e.g. between clusters under complete randomization, are ignored). Under a
    cluster design with every unit's level set by its own cluster it is the Kish effective number of
    observed clusters; neighbourhoods spanning clusters correlate units of different clusters and make
    it smaller. It measures how many independent pieces the level's part of the variance is estimated from.
    """
    route = st["route"]
    if route == "profile":
        return _profile_groups(st, P, a, b, codes)
    if route == "sparse":
        return _sparse_groups(st, P, a, b, codes)
    return _dense_groups(st, P, a, b, codes)


def group_shares(st: dict, P: np.ndarray, a: int, b: int, codes: np.ndarray) -> np.ndarray:
    r"""Each observed unit's leverage in its level's weighted mean: the weight share of its group.

    :math:`h_p = \sum_q w_q \rho^+_{pq} / \sum_q w_q` over the observed positions q of p's level, with
    :math:`w` and :math:`\rho^+` as in :func:`effective_groups` (:math:`\rho^+_{pp} = 1`). Under a cluster
    design with every unit's level set by its own cluster, :math:`\rho^+_{pq}` is 1 within the cluster and 0
    across, so :math:`h_p = W_c / W`, the cluster's share of the level's weight: the leverage of cluster c in
    the WLS intercept (CR2's :math:`h_c`). Kish's count is :math:`G = 1 / \sum_p (w_p / W) h_p`.
    Returns a vector over all units (0 where not observed at a or b).
    """
    route = st["route"]
    if route == "profile":
        return _profile_shares(st, P, a, b, codes)
    if route == "sparse":
        return _sparse_shares(st, P, a, b, codes)
    return _dense_shares(st, P, a, b, codes)


# ----------------------------------------------------------------------------- the bound between types
def _type_bound(Mt: np.ndarray, cnt: np.ndarray, lev_t: np.ndarray) -> dict:
    """``At``, ``dmove`` and ``cross_only`` from the t x t zero-joint indicator between types.

    M = Q K Q' with Q = P D^{-1/2} (P: position-to-type incidence, D: type counts) and K = D^{1/2} Mt D^{1/2};
    |M| = Q |K| Q', so the entry of |M| between positions of types s and t is |K|_st / sqrt(c_s c_t). |K| is
    block diagonal over the connected components of the type graph; a component whose zero-joint pairs are
    all across the levels is [[0, B], [B', 0]] with |.| = diag(U S U', V S V') from the SVD B = U S V'.
    """
    t = cnt.size
    sq = np.sqrt(cnt.astype(float))
    absK = np.zeros((t, t))
    n_comp, comp = connected_components(sp.csr_array(Mt), directed=False)
    order = np.argsort(comp, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(comp, minlength=n_comp))])
    for c in np.flatnonzero(np.diff(bounds) > 1):
        ids = order[bounds[c]:bounds[c + 1]]
        K = sq[ids, None] * Mt[np.ix_(ids, ids)] * sq[None, ids]
        lv = lev_t[ids]
        if not (Mt[np.ix_(ids, ids)] & (lv[:, None] == lv[None, :])).any():
            ia, ib = ids[lv == 0], ids[lv == 1]
            U, s, Vt = np.linalg.svd(K[np.ix_(lv == 0, lv == 1)], full_matrices=False)
            absK[np.ix_(ia, ia)] = (U * s) @ U.T
            absK[np.ix_(ib, ib)] = (Vt.T * s) @ Vt
        else:
            lam, V = np.linalg.eigh(K)
            absK[np.ix_(ids, ids)] = (V * np.abs(lam)) @ V.T
    At = absK / (sq[:, None] * sq[None, :])
    # move every entry at a zero-joint pair onto the two diagonals (keeps the matrix above |M|)
    dmove = (Mt * np.abs(At) * cnt[None, :]).sum(1)
    cross_only = not bool((Mt & (lev_t[:, None] == lev_t[None, :])).any())
    return {"At": At, "dmove": dmove, "cross_only": cross_only, "n_types": int(t), "lev_t": lev_t}


def _too_many(t: int) -> dict:
    return {"unavailable": f"the zero-joint structure has {t} position types, more than ABS_YOUNG_MAX_TYPES = "
                           f"{ABS_YOUNG_MAX_TYPES} (the bound decomposes a t x t matrix)"}


def _ratio_factor(lev_s: np.ndarray, lev_t: np.ndarray, ratio: float, cross_only: bool):
    """Weights of the bound's entries between positions of levels lev_s, lev_t (0: a, 1: b) for ``ratio``."""
    if ratio == 1.0 or not cross_only:
        return 1.0
    return np.where((lev_s == 0) & (lev_t == 0), ratio, np.where((lev_s == 1) & (lev_t == 1), 1.0 / ratio, 1.0))


def _rho(J, pi_p, pi_q):
    """Positive part of the design correlation of two indicators (as :func:`_dense_groups`)."""
    sd_p = np.sqrt(np.clip(pi_p * (1 - pi_p), 0.0, None))
    sd_q = np.sqrt(np.clip(pi_q * (1 - pi_q), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (J - pi_p * pi_q) / (sd_p * sd_q)
    return np.clip(np.nan_to_num(rho, nan=1.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


# ----------------------------------------------------------------------------- profile route
def _profile_structure(probabilities, a: int, b: int, mask: np.ndarray) -> dict:
    """Cells (profile, level) of the units in ``mask``; joints between cells from the profile kernel."""
    from ..exposure.kernels.dispatch import JOINT_AT_LEVELS, profile_sums

    pst = probabilities._pairs
    prof_all = pst["profile"]
    n_prof = pst["reps"].shape[0]
    L = probabilities.marginal.shape[1]
    idx = np.flatnonzero(mask)
    used, prof = np.unique(prof_all[idx], return_inverse=True)  # profiles of the estimand, renumbered
    G = used.size
    if G > _MAX_PROFILES:  # the cell tables are (2G)^2
        return {"unavailable": f"the estimand's units have {G} neighbourhood profiles, more than {_MAX_PROFILES} "
                               "(the profile route's cell tables grow with their square)"}
    zs = (np.zeros((1, n_prof, L)), np.zeros(n_prof, np.int64))

    def table(k, l):
        return profile_sums(pst, JOINT_AT_LEVELS, probabilities.marginal, *zs, k, l)[3][np.ix_(used, used)]

    Daa, Dab, Dbb = table(a, a), table(a, b), table(b, b)
    # joints between distinct units of cells c, d (cells 0..G-1: level a, G..2G-1: level b); the units of one
    # profile share their level, so Jc[(g, a), (g, b)] = 0 (also each unit's own two positions)
    Jc = np.block([[Daa, Dab], [Dab.T, Dbb]])
    cnt_c = np.tile(np.bincount(prof, minlength=G), 2)
    Mc = Jc <= 0
    np.fill_diagonal(Mc, False)  # distinct units of one cell: joint pi > 0
    packed = np.packbits(Mc, axis=1)
    _, typ_c, tcnt_cells = np.unique(packed, axis=0, return_inverse=True, return_counts=True)
    typ_c = typ_c.ravel()
    t = tcnt_cells.size
    if t > ABS_YOUNG_MAX_TYPES:
        return _too_many(t)
    first = np.zeros(t, dtype=np.int64)
    first[typ_c[::-1]] = np.arange(typ_c.size)[::-1]
    Mt = Mc[np.ix_(first, first)]
    cnt = np.bincount(typ_c, weights=cnt_c, minlength=t)
    lev_c = (np.arange(2 * G) >= G).astype(np.int64)
    out = _type_bound(Mt, cnt, lev_c[first])
    out.update(idx=idx, cell=prof, G=G, Jc=Jc, typ_c=typ_c, lev_c=lev_c,
               pi_c=np.concatenate([probabilities.marginal[pst["reps"][used], a],
                                    probabilities.marginal[pst["reps"][used], b]]))
    return out


def _observed_cells(st, P, a, b, codes, yv=None):
    """Observed positions on the profile route: their cells, levels, probabilities and signed outcomes."""
    idx, G = st["idx"], st["G"]
    ca = codes[idx]
    o = np.flatnonzero((ca == a) | (ca == b))
    isb = ca[o] == b
    cell = st["cell"][o] + G * isb
    units = idx[o]
    pi = np.where(isb, P[units, b], P[units, a])
    x = None if yv is None else np.where(isb, -1.0, 1.0) * yv[units]
    return cell, pi, x


def _cell_quad(wc, SA, SB, cells):
    """sum_{c, d in cells} SA_c SB_d wc(c, d), in row blocks (bounded memory)."""
    tot = 0.0
    step = max(1, 4_000_000 // max(cells.size, 1))
    for s in range(0, cells.size, step):
        r = cells[s:s + step]
        tot += float(SA[r] @ wc(r, cells) @ SB[cells])
    return tot


def _profile_variance(st, P, a, b, codes, yv, ratio):
    cell, pi, x = _observed_cells(st, P, a, b, codes, yv)
    u = x / pi
    C = 2 * st["G"]
    SU = np.bincount(cell, weights=u, minlength=C)
    SX = np.bincount(cell, weights=x, minlength=C)
    obs = np.flatnonzero(np.bincount(cell, minlength=C) > 0)
    Jc, At, typ, lev = st["Jc"], st["At"], st["typ_c"], st["lev_c"]
    cross = st["cross_only"]

    def w_unb(r, c):  # the unbiased pair part, u_p u_q - x_p x_q / J (J > 0) for the sums SU, SX below
        return Jc[np.ix_(r, c)] > 0

    def w_inv(r, c):
        J = Jc[np.ix_(r, c)]
        with np.errstate(divide="ignore"):
            return np.where(J > 0, 1.0 / J, 0.0)

    def w_bound(r, c):
        J = Jc[np.ix_(r, c)]
        F = _ratio_factor(lev[r][:, None], lev[c][None, :], ratio, cross)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(J > 0, F * At[np.ix_(typ[r], typ[c])] / J, 0.0)

    # every pair of observed positions p != q: the cell sums count p == q once, removed with the self terms
    jself = Jc[cell, cell]
    pos_self = jself > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_self = np.where(pos_self, 1.0 / jself, 0.0)
    W = (_cell_quad(w_unb, SU, SU, obs) - _cell_quad(w_inv, SX, SX, obs)
         - float(np.sum(pos_self * u * u - inv_self * x * x)) + float(np.sum((1 - pi) * u * u)))
    F_self = _ratio_factor(lev[cell], lev[cell], ratio, cross)
    a_self = np.diag(At)[typ[cell]]
    Bq = (_cell_quad(w_bound, SX, SX, obs) - float(np.sum(F_self * a_self * inv_self * x * x))
          + float(np.sum(F_self * (a_self + st["dmove"][typ[cell]]) * x * x / pi)))
    return float(W + Bq)


def _profile_groups(st, P, a, b, codes):
    cell, pi, _ = _observed_cells(st, P, a, b, codes)
    G = st["G"]
    Jc, pi_c = st["Jc"], st["pi_c"]
    out = []
    for off in (0, G):
        sel = (cell >= off) & (cell < off + G)
        if not sel.any():
            out.append(float("nan"))
            continue
        w = 1.0 / pi[sel]
        c = cell[sel]
        SW = np.bincount(c, weights=w, minlength=2 * G)
        obs = np.unique(c)

        def rho(r, q):
            return _rho(Jc[np.ix_(r, q)], pi_c[r][:, None], pi_c[q][None, :])

        self_rho = _rho(Jc[c, c], pi_c[c], pi_c[c])
        den = _cell_quad(rho, SW, SW, obs) - float(np.sum(w * w * self_rho)) + float(np.sum(w * w))
        out.append(float(w.sum() ** 2 / den))
    return out[0], out[1]


def _profile_shares(st, P, a, b, codes):
    idx, G = st["idx"], st["G"]
    ca = codes[idx]
    o = np.flatnonzero((ca == a) | (ca == b))
    cell, pi, _ = _observed_cells(st, P, a, b, codes)
    Jc, pi_c = st["Jc"], st["pi_c"]
    w = 1.0 / pi
    SW = np.bincount(cell, weights=w, minlength=2 * G)
    obs = np.unique(cell)
    R = np.zeros(2 * G)
    for off in (0, G):  # rho+ within a level only
        oc = obs[(obs >= off) & (obs < off + G)]
        if oc.size:
            R[oc] = _rho(Jc[np.ix_(oc, oc)], pi_c[oc][:, None], pi_c[oc][None, :]) @ SW[oc]
    self_rho = _rho(Jc[cell, cell], pi_c[cell], pi_c[cell])
    r = R[cell] - self_rho * w + w  # a position's own rho is 1, the cell's pair rho is for distinct units
    Wl = np.bincount((cell >= G).astype(np.int64), weights=w, minlength=2)
    out = np.zeros(codes.size)
    out[idx[o]] = r / Wl[(cell >= G).astype(np.int64)]
    return out


# ----------------------------------------------------------------------------- sparse route
def _sparse_structure(probabilities, a: int, b: int, mask: np.ndarray) -> dict:
    """M from the stored joints (pairs not stored are independent, joint pi_p pi_q > 0), types by hashed rows.

    Keeps each unordered pair of positions once (p < q; the forms double them): ``er, ec, ev`` the stored
    positive joints, ``zr, zc`` the zero-joint pairs (M's upper triangle, a unit's own two positions included).
    """
    n = probabilities.n_units
    idx = np.flatnonzero(mask)
    N = idx.size
    pos = np.full(n, -1, dtype=np.int64)
    pos[idx] = np.arange(N)
    zr, zc, er, ec, ev = [], [], [], [], []
    from ..exposure.kernels.dispatch import joint_entries

    L = probabilities.marginal.shape[1]
    for k, l, ro, co in ((a, a, 0, 0), (a, b, 0, N), (b, b, N, N)):
        # the entries of probabilities.joint(k, l) off the diagonal, without building its sparse matrix
        rr, cc, vv = joint_entries(probabilities._pairs, L, k, l)
        r, c = pos[rr], pos[cc]
        keep = (r >= 0) & (c >= 0) & (rr != cc)
        del rr, cc
        r, c, v = r[keep] + ro, c[keep] + co, np.asarray(vv[keep], dtype=float)
        del vv, keep
        if k == l:  # both orders are stored: keep one
            up = r < c
            r, c, v = r[up], c[up], v[up]
        z = v <= 0
        zr.append(r[z])
        zc.append(c[z])
        er.append(r[~z])
        ec.append(c[~z])
        ev.append(v[~z])
        del r, c, v, z
    own = np.arange(N)
    zr.append(own)  # a unit's two positions: never observed together
    zc.append(own + N)
    zr, zc = np.concatenate(zr), np.concatenate(zc)
    U = sp.csr_array((np.ones(zr.size, dtype=np.int8), (zr, zc)), shape=(2 * N, 2 * N))
    U.sum_duplicates()
    del zr, zc
    M = (U + U.T).tocsr()
    M.sort_indices()
    typ, first, cnt = _row_types(M)
    t = cnt.size
    if t > ABS_YOUNG_MAX_TYPES:
        return _too_many(t)
    rows = np.repeat(np.arange(2 * N), np.diff(M.indptr))
    Mt = np.zeros((t, t), dtype=bool)
    Mt[typ[rows], typ[M.indices]] = True  # rows of one type are equal, so M is constant on type blocks
    del M, rows
    out = _type_bound(Mt, cnt, (first >= N).astype(np.int64))
    itype = np.int32 if 2 * N < 2**31 else np.int64
    U = U.tocoo()
    out.update(idx=idx, N=N, typ=typ, zr=U.row.astype(itype), zc=U.col.astype(itype),
               er=np.concatenate(er).astype(itype), ec=np.concatenate(ec).astype(itype), ev=np.concatenate(ev),
               _seen=[None, None])
    return out


def _projections(n: int) -> np.ndarray:
    """Two fixed random vectors keying the rows of M (:func:`_row_types`)."""
    return np.random.default_rng(20261207).random((n, 2))


def _row_types(M: sp.csr_array):
    """Group the rows of a sparse 0/1 matrix (sorted indices) into classes of equal rows.

    Returns (type of each row, first row of each type, rows per type). Rows are keyed by two random
    projections and their length (equal rows give bit-identical sums), then every row is compared with its
    type's first row; a collision, should one occur, is resolved by exact keys.
    """
    n = M.shape[0]
    lens = np.diff(M.indptr)
    H = M.astype(float) @ _projections(M.shape[1])
    key = np.column_stack([H, lens])
    _, first, typ, cnt = np.unique(key, axis=0, return_index=True, return_inverse=True, return_counts=True)
    typ = typ.ravel()
    rep = first[typ]
    e = np.arange(M.indices.size)
    row = np.repeat(np.arange(n), lens)
    if not np.array_equal(M.indices, M.indices[M.indptr[rep[row]] + (e - M.indptr[row])]):
        keys = [M.indices[M.indptr[i]:M.indptr[i + 1]].tobytes() for i in range(n)]  # not seen in practice
        lookup: dict = {}
        typ = np.array([lookup.setdefault(k, len(lookup)) for k in keys], dtype=np.int64)
        cnt = np.bincount(typ)
        first = np.zeros(cnt.size, dtype=np.int64)
        first[typ[::-1]] = np.arange(n)[::-1]
    return typ.astype(np.int64), first.astype(np.int64), cnt


def _sparse_observed(st, P, a, b, codes):
    """Observed flag and probability per position, the stored / zero-joint pairs observed together, and their
    design-only weights in the variance.

    Cached for the last ``codes`` (the variance, its two level parts and the group counts of one estimate
    share them)."""
    key = np.array(codes, dtype=np.int64, copy=True)
    seen = st["_seen"]
    if seen[0] is not None and np.array_equal(seen[0], key):
        return seen[1]
    idx, N, typ, At = st["idx"], st["N"], st["typ"], st["At"]
    ca = codes[idx]
    obs = np.concatenate([ca == a, ca == b])
    pi = np.concatenate([P[idx, a], P[idx, b]])
    er, ec, ev, zr, zc = st["er"], st["ec"], st["ev"], st["zr"], st["zc"]
    s = obs[er]
    s &= obs[ec]
    z = obs[zr]
    z &= obs[zc]
    er, ec, ev = er[s].astype(np.int64), ec[s].astype(np.int64), ev[s]
    zr, zc = zr[z].astype(np.int64), zc[z].astype(np.int64)
    # a stored pair (J > 0) adds u_p u_q [(J - pi_p pi_q) / J + A (pi_p pi_q / J - 1)] twice (p < q kept once):
    # the unbiased part, and the bound's A x_p x_q / J less the A u_p u_q the type sum counted
    q = pi[er] * pi[ec] / ev
    c_w = 2 * (1 - q)
    c_b = 2 * At[typ[er], typ[ec]] * (q - 1)
    out = {"obs": obs, "pi": pi, "er": er, "ec": ec, "ev": ev, "zr": zr, "zc": zc, "c_w": c_w, "c_b": c_b,
           "c_wb": c_w + c_b, "lev_e": (er >= N, ec >= N), "lev_z": (zr >= N, zc >= N),
           "a_z": 2 * At[typ[zr], typ[zc]]}
    st["_seen"] = [key, out]
    return out


def _pair_factor(levs, ratio):
    """:func:`_ratio_factor` for pairs given as (is level b, is level b) flags."""
    lp, lq = levs
    return np.where(~lp & ~lq, ratio, np.where(lp & lq, 1.0 / ratio, 1.0))


def _sparse_variance(st, P, a, b, codes, yv, ratio):
    idx, N, typ, At = st["idx"], st["N"], st["typ"], st["At"]
    o = _sparse_observed(st, P, a, b, codes)
    obs, pi, er, ec, zr, zc = o["obs"], o["pi"], o["er"], o["ec"], o["zr"], o["zc"]
    x = np.concatenate([yv[idx], -yv[idx]]) * obs  # the y-scale signed outcomes, 0 where not observed
    u = x / pi
    lev = (np.arange(2 * N) >= N).astype(np.int64)
    scaled = ratio != 1.0 and st["cross_only"]
    # unbiased part: independent pairs give 0; the diagonal here, the stored pairs below
    W = float(np.sum((1 - pi) * u * u))
    # the bound: every pair p != q as if independent (x_p x_q A / (pi_p pi_q) = A u_p u_q), summed by type ...
    t = At.shape[0]
    if scaled:
        Sa = np.bincount(typ, weights=u * (lev == 0), minlength=t)
        Sb = np.bincount(typ, weights=u * (lev == 1), minlength=t)
        Bq = ratio * float(Sa @ At @ Sa) + float(Sb @ At @ Sb) / ratio + 2 * float(Sa @ At @ Sb)
    else:
        SU = np.bincount(typ, weights=u, minlength=t)
        Bq = float(SU @ At @ SU)
    F_self = _ratio_factor(lev, lev, ratio, st["cross_only"])
    a_self = np.diag(At)[typ]
    Bq -= float(np.sum(F_self * a_self * u * u))
    # ... corrected at the stored pairs with J > 0 (weight A / J) and at the zero-joint pairs (weight 0)
    prod = u[er] * u[ec]
    if scaled:
        pairs = float(prod @ (o["c_w"] + _pair_factor(o["lev_e"], ratio) * o["c_b"]))
        Bq -= float(np.sum(_pair_factor(o["lev_z"], ratio) * o["a_z"] * u[zr] * u[zc]))
    else:
        pairs = float(prod @ o["c_wb"])
        Bq -= float(np.sum(o["a_z"] * u[zr] * u[zc]))
    Bq += float(np.sum(F_self * (a_self + st["dmove"][typ]) * x * x / pi))
    return float(W + pairs + Bq)


def _sparse_groups(st, P, a, b, codes):
    N = st["N"]
    o = _sparse_observed(st, P, a, b, codes)
    obs, pi, er, ec, zr, zc = o["obs"], o["pi"], o["er"], o["ec"], o["zr"], o["zc"]
    if "rho_e" not in o:  # the pairs' correlations, once per assignment
        o["rho_e"] = _rho(o["ev"], pi[er], pi[ec])
        o["rho_z"] = _rho(0.0, pi[zr], pi[zc])  # zero joints: negative, clipped to 0 (kept for exactness)
    out = []
    for k, lo in ((False, 0), (True, N)):
        if not obs[lo:lo + N].any():
            out.append(float("nan"))
            continue
        w = np.zeros(2 * N)
        w[lo:lo + N] = np.where(obs[lo:lo + N], 1.0 / pi[lo:lo + N], 0.0)
        den = float(np.sum(w * w))  # the diagonal; independent pairs have correlation 0
        for (lp, lq), r, c, rho in ((o["lev_e"], er, ec, o["rho_e"]), (o["lev_z"], zr, zc, o["rho_z"])):
            sel = (lp == k) & (lq == k)  # both positions at this level
            den += 2 * float(np.sum(w[r[sel]] * w[c[sel]] * rho[sel]))
        out.append(float(w.sum() ** 2 / den))
    return out[0], out[1]


def _sparse_shares(st, P, a, b, codes):
    idx, N = st["idx"], st["N"]
    o = _sparse_observed(st, P, a, b, codes)
    obs, pi, er, ec, zr, zc = o["obs"], o["pi"], o["er"], o["ec"], o["zr"], o["zc"]
    if "rho_e" not in o:
        o["rho_e"] = _rho(o["ev"], pi[er], pi[ec])
        o["rho_z"] = _rho(0.0, pi[zr], pi[zc])
    w = np.where(obs, 1.0 / np.where(obs, pi, 1.0), 0.0)
    r = w.copy()  # the diagonal; independent pairs have correlation 0
    for (lp, lq), rr, cc, rho in ((o["lev_e"], er, ec, o["rho_e"]), (o["lev_z"], zr, zc, o["rho_z"])):
        sel = lp == lq  # pairs within one level (each kept once: both directions added)
        r += np.bincount(rr[sel], weights=rho[sel] * w[cc[sel]], minlength=2 * N)
        r += np.bincount(cc[sel], weights=rho[sel] * w[rr[sel]], minlength=2 * N)
    Wa, Wb = w[:N].sum(), w[N:].sum()
    h = np.where(obs[:N], r[:N] / (Wa if Wa > 0 else 1.0), 0.0) + np.where(obs[N:], r[N:] / (Wb if Wb > 0 else 1.0), 0.0)
    out = np.zeros(codes.size)
    out[idx] = h
    return out


# ----------------------------------------------------------------------------- dense route (and test reference)
def _dense_joint(probabilities, a: int, b: int, idx: np.ndarray) -> np.ndarray:
    """pi_ij(a, b) for i, j in ``idx`` as a dense array, diagonal set to the truth (pi_i(a) if a == b, else 0)."""
    P = probabilities.marginal
    J = probabilities.joint(a, b)
    if sp.issparse(J):
        pos = np.full(probabilities.n_units, -1, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
        D = np.outer(P[idx, a], P[idx, b])  # pairs not stored are independent
        C = J.tocoo()
        r, c = pos[C.row], pos[C.col]
        keep = (r >= 0) & (c >= 0)
        D[r[keep], c[keep]] = C.data[keep]
    else:
        D = np.array(J[np.ix_(idx, idx)], dtype=float)
    D[np.arange(idx.size), np.arange(idx.size)] = P[idx, a] if a == b else 0.0
    return D


def _dense_structure(probabilities, a: int, b: int, mask: np.ndarray) -> dict:
    """The dense construction over positions: 2N x 2N joints ``J``, the type of each position, ``At``
    (the bound's matrix between types, scaled to positions), ``dmove`` (diagonal added per type when entries
    at zero-joint pairs are moved). Route for dense joints and the reference of the other routes' tests."""
    idx = np.flatnonzero(mask)
    N = idx.size
    Jaa = _dense_joint(probabilities, a, a, idx)
    Jbb = _dense_joint(probabilities, b, b, idx)
    Jab = _dense_joint(probabilities, a, b, idx)
    J = np.block([[Jaa, Jab], [Jab.T, Jbb]])
    del Jaa, Jbb, Jab
    M = J <= 0
    np.fill_diagonal(M, False)  # a position is never a zero-joint partner of itself
    # positions whose rows of M are equal have the same type: M = Q K Q' with Q orthonormal columns
    packed = np.packbits(M, axis=1)
    _, typ, cnt = np.unique(packed, axis=0, return_inverse=True, return_counts=True)
    typ = typ.ravel()
    first = np.zeros(cnt.size, dtype=np.int64)
    first[typ[::-1]] = np.arange(typ.size)[::-1]
    Mt = M[np.ix_(first, first)].astype(float)  # type-by-type zero-joint indicator
    del M, packed
    sq = np.sqrt(cnt.astype(float))
    K = sq[:, None] * Mt * sq[None, :]
    lam, V = np.linalg.eigh(K)
    absK = (V * np.abs(lam)) @ V.T
    # |M| = Q |K| Q' with Q = P D^{-1/2}: entry between positions of types s, t is |K|_st / sqrt(c_s c_t)
    At = absK / (sq[:, None] * sq[None, :])
    # move every entry at a zero-joint pair onto the two diagonals (keeps the matrix above |M|)
    dmove = (Mt * np.abs(At) * cnt[None, :]).sum(1)
    # are all zero-joint pairs across the two levels? (then |M| is block diagonal: nothing is moved)
    lev_t = (first >= N).astype(int)
    cross_only = not bool((Mt * (lev_t[:, None] == lev_t[None, :])).any())
    return {"route": "dense", "idx": idx, "J": J, "typ": typ, "At": At, "Mt": Mt, "dmove": dmove,
            "n_types": int(cnt.size), "cross_only": cross_only}


def _dense_variance(st: dict, P: np.ndarray, a: int, b: int, codes: np.ndarray, yv: np.ndarray,
                    ratio: float = 1.0) -> float:
    """:func:`abs_young_variance` from the dense construction (quadratic forms over the observed positions)."""
    idx = st["idx"]
    N = idx.size
    ca = codes[idx]
    obs_a = np.flatnonzero(ca == a)
    obs_b = np.flatnonzero(ca == b)
    pos = np.concatenate([obs_a, N + obs_b])  # observed positions
    units = idx[np.concatenate([obs_a, obs_b])]
    s = np.concatenate([np.ones(obs_a.size), -np.ones(obs_b.size)])
    lev = np.concatenate([np.full(obs_a.size, a), np.full(obs_b.size, b)])
    pi = P[units, lev]
    x = s * yv[units]  # the y-scale signed outcomes
    u = x / pi
    J = st["J"][np.ix_(pos, pos)]
    Pp = np.outer(pi, pi)
    pos_j = J > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where(pos_j, (J - Pp) / J, 0.0)  # diagonal: (pi - pi^2) / pi = 1 - pi
        t = st["typ"][pos]
        A = st["At"][np.ix_(t, t)]
        B = np.where(pos_j, A / J, 0.0)  # zero-joint entries were moved to the diagonal
    np.fill_diagonal(B, (np.diag(st["At"])[t] + st["dmove"][t]) / pi)
    if ratio != 1.0 and st["cross_only"]:
        na = obs_a.size
        B[:na, :na] *= ratio
        B[na:, na:] /= ratio
    return float(u @ W @ u + x @ B @ x)


def _dense_groups(st: dict, P: np.ndarray, a: int, b: int, codes: np.ndarray) -> tuple[float, float]:
    """:func:`effective_groups` from the dense construction."""
    idx = st["idx"]
    N = idx.size
    ca = codes[idx]
    out = []
    for lev, off in ((a, 0), (b, N)):
        o = np.flatnonzero(ca == lev)
        if o.size == 0:
            out.append(float("nan"))
            continue
        pi = P[idx[o], lev]
        w = 1.0 / pi
        sd = np.sqrt(np.clip(pi * (1 - pi), 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = (st["J"][np.ix_(off + o, off + o)] - np.outer(pi, pi)) / np.outer(sd, sd)
        rho = np.clip(np.nan_to_num(rho, nan=1.0, posinf=1.0, neginf=0.0), 0.0, 1.0)  # pi = 1: fully dependent
        np.fill_diagonal(rho, 1.0)
        out.append(float(w.sum() ** 2 / (w @ rho @ w)))
    return out[0], out[1]


def _dense_shares(st: dict, P: np.ndarray, a: int, b: int, codes: np.ndarray) -> np.ndarray:
    """:func:`group_shares` from the dense construction."""
    idx = st["idx"]
    N = idx.size
    ca = codes[idx]
    out = np.zeros(codes.size)
    for lev, off in ((a, 0), (b, N)):
        o = np.flatnonzero(ca == lev)
        if o.size == 0:
            continue
        pi = P[idx[o], lev]
        w = 1.0 / pi
        sd = np.sqrt(np.clip(pi * (1 - pi), 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = (st["J"][np.ix_(off + o, off + o)] - np.outer(pi, pi)) / np.outer(sd, sd)
        rho = np.clip(np.nan_to_num(rho, nan=1.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
        np.fill_diagonal(rho, 1.0)
        out[idx[o]] = rho @ w / w.sum()
    return out
