"""Aronow-Samii pair sums under independent clusters with a threshold mapping, from the observed units.

The route this replaces (``kernels.threshold.threshold_pair_sums``) visits every ordered dependent pair (i, j) of units and scans
the cluster row of j to split the clusters into the parts the closed-form joint needs. On heavy-tailed
graphs the second units include hubs touching hundreds of clusters, and every unit is a first unit.
Two facts remove most of that work:

* Only units with a non-zero term enter the sums. The Aronow-Samii pair term of (i, j) is
  ``(pi_ij(a_i, a_j) - pi_i pi_j) / pi_ij * U_i U_j`` and the Young's-inequality count of unit i is
  multiplied by ``y_i^2 / pi_i``: a unit with ``U_i = 0`` (for the estimators, a unit observed at a level
  no contrast uses) contributes to neither as first unit. Under full-neighbourhood exposure and cluster
  Bernoulli(p), a unit is at "treated" or "control" with probability ``p^m + (1 - p)^m`` for its m
  clusters, so the hubs are almost never such units.
* The overlap of two cluster rows can be counted during the enumeration itself: walking the units
  touching each cluster of i's row and adding one to a counter of j for every cluster both weight
  gives ``|W_i & W_j|`` for every dependent j at once, so no row of j is scanned.

With ``|W_i & W_j|``, the flags of the two own clusters and the row sizes, the parts S, A, B of the closed
form (see ``kernels/threshold.py``) follow by arithmetic, and the joint is evaluated by the
same sum, in the same order, as :func:`kernels.threshold._threshold_pair_joint` (numbers equal to rounding of the
pair sums' order).
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit, prange

from .kernels.threshold import threshold_joint_from_parts

__all__ = ["cluster_to_units", "observed_pair_sums", "observed_thr_pair_terms"]

_CACHE_SLOTS = 1 << 14  # joints cached per chunk (direct-mapped)
ENABLED = True  # the route used by ExposureProbabilities._pair_terms (False: the threshold room's threshold_pair_sums)


def cluster_to_units(row_ptr, row_cluster, row_weight, n_clusters):
    """Transpose of the unit -> cluster incidence, keeping each entry's weight.

    Returns ``(unit_ptr, unit_of, unit_weight)``: the units touching cluster r are
    ``unit_of[unit_ptr[r]:unit_ptr[r + 1]]`` (increasing), ``unit_weight`` their neighbour counts in r
    (0 for a unit's own cluster holding none of its neighbours).
    """
    n = row_ptr.shape[0] - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(row_ptr))
    order = np.argsort(row_cluster, kind="stable")
    unit_ptr = np.zeros(n_clusters + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_cluster, minlength=n_clusters), out=unit_ptr[1:])
    return unit_ptr, rows[order], np.ascontiguousarray(row_weight[order], dtype=np.int64)


_KEY_COUNT_BITS = 12  # nS, nA, nB below 4096
_KEY_ROW_BITS = 10  # level-table row ids below 1024


@njit(cache=True)
def _shape_key(same, oi_wi, oj_wi, oi_wj, oj_wj, nS, nA, nB, row_i, row_j):
    """Pack what a pair's joint depends on into a non-negative int64 (-1 when a field overflows)."""
    cmax = 1 << _KEY_COUNT_BITS
    rmax = 1 << _KEY_ROW_BITS
    if nS >= cmax or nA >= cmax or nB >= cmax or row_i >= rmax or row_j >= rmax:
        return -1
    k = np.int64(same) | (np.int64(oi_wi) << 1) | (np.int64(oj_wi) << 2) | (np.int64(oi_wj) << 3) \
        | (np.int64(oj_wj) << 4)
    k |= np.int64(nS) << 5
    k |= np.int64(nA) << (5 + _KEY_COUNT_BITS)
    k |= np.int64(nB) << (5 + 2 * _KEY_COUNT_BITS)
    k |= np.int64(row_i) << (5 + 3 * _KEY_COUNT_BITS)
    k |= np.int64(row_j) << (5 + 3 * _KEY_COUNT_BITS + _KEY_ROW_BITS)
    return k


@njit(cache=True)
def _slot(key, n_slots):
    """Slot of a key in a direct-mapped cache of ``n_slots`` (a power of two) entries (Fibonacci hashing)."""
    h = np.uint64(key) * np.uint64(11400714819323198485)
    return np.int64(h >> np.uint64(40)) & (n_slots - 1)


_COUNT_BITS = 23  # partner state: stamp i << 24 | [o_i in W_j] << 23 | |W_i & W_j|


@njit(cache=True, inline="always")
def _walk_partners(i, oi, row_ptr, row_cluster, row_weight, unit_ptr, unit_of, entry_rec0, entry_rec2, state, lst,
                   wmark):
    """List the units j != i sharing a cluster with i (``lst[q] = (j, rec0_j, rec2_j)``; returns how many),
    with ``state[j] = i << 24 | [o_i in W_j] << 23 | |W_i & W_j|``, and mark ``wmark[r] = i`` for r in W_i.

    ``entry_rec0/2``: per entry of the cluster -> units lists, the unit's packed data (own cluster | |W_j| << 32
    | [weight > 0] << 62, and the level-row / flag word), read in sequence instead of per unit at random."""
    for e in range(row_ptr[i], row_ptr[i + 1]):
        if row_weight[e] > 0:
            wmark[row_cluster[e]] = i
    nl = 0
    stamp = np.int64(i) << 24
    for e in range(row_ptr[i], row_ptr[i + 1]):
        r = row_cluster[e]
        both = row_weight[e] > 0
        is_oi = r == oi
        for t in range(unit_ptr[r], unit_ptr[r + 1]):
            j = unit_of[t]
            if j == i:
                continue
            if (state[j] >> 24) != i:
                state[j] = stamp
                lst[nl, 0] = j
                lst[nl, 1] = entry_rec0[t]
                lst[nl, 2] = entry_rec2[t]
                nl += 1
            if (entry_rec0[t] >> 62) & 1 == 1:
                if both:
                    state[j] += 1
                if is_oi:
                    state[j] |= np.int64(1) << _COUNT_BITS
    return nl


@njit(cache=True, inline="always")
def _pair_joint_slot(i, j, oi, nWi, oi_wi, row_i, recj0, recj2, sw, wmark, p, pw0, pw1, lev, L, vi, vj, J, ckeys,
                     cJ):
    """Slot of ``cJ`` holding the joint of (i, j) (computed on a cache miss; slot ``len(ckeys)`` when not kept).

    ``nS = |W_i & W_j| - [o_i in both] - [o_j in both, o_j != o_i]``,
    ``nA = |W_i| - [o_i in W_i] - [o_j in W_i] - nS``, ``nB = |W_j| - [o_j in W_j] - [o_i in W_j, o_i != o_j] - nS``.
    """
    oj = recj0 & 0xFFFFFFFF
    same = oj == oi
    oj_wj = ((recj2 >> 20) & 1) == 1
    oj_wi = (not same) and wmark[oj] == i
    oin = ((sw >> _COUNT_BITS) & 1) == 1
    oi_wj = (not same) and oin
    nS = sw & ((np.int64(1) << _COUNT_BITS) - 1)
    if oi_wi and (oj_wj if same else oin):
        nS -= 1
    if oj_wi and oj_wj:
        nS -= 1
    nA = nWi - (1 if oi_wi else 0) - (1 if oj_wi else 0) - nS
    nB = ((recj0 >> 32) & 0x3FFFFFFF) - (1 if oj_wj else 0) - (1 if oi_wj else 0) - nS
    key = _shape_key(same, oi_wi, oj_wi, oi_wj, oj_wj, nS, nA, nB, row_i, recj2 & 0xFFFFF)
    n_slots = ckeys.shape[0]
    slot = n_slots  # the last entry: a joint computed but not kept (a field overflowed)
    if key >= 0:
        slot = _slot(key, n_slots)
    if key < 0 or ckeys[slot] != key:
        threshold_joint_from_parts(i, j, same, oi_wi, oj_wi, oi_wj, oj_wj, nS, nA, nB, p, pw0, pw1, lev, L, vi, vj, J)
        for k in range(L):
            for l in range(L):
                cJ[slot, k, l] = J[k, l]
        if key >= 0:
            ckeys[slot] = key
    return slot


@njit(parallel=True, cache=True)
def observed_pair_sums(row_ptr, row_cluster, row_weight, unit_ptr, unit_of, entry_rec0, entry_rec2, unit_rec, unit_obs,
                       p, pw0, pw1, lev, L, first_units, n_chunks, partner_state, partners, weighted_mark, cache_keys,
                       cache_joint, need_zc, S, zc):
    """Aronow-Samii pair sums with the first unit restricted to ``first_units`` (the active units).

    For every i in ``first_units`` and every j != i in the mask sharing a cluster with i:

    * ``S[m, a_i, a_j] += (J - pi_i(a_i) pi_j(a_j)) / J * U[i, m] U[j, m]`` with ``J = pi_ij(a_i, a_j) > 0``,
      when j is active too (the term is 0 otherwise);
    * ``zc[i, l] += 1`` when ``pi_j(l) > 0`` and ``pi_ij(a_i, l) = 0`` (Young's-inequality partners), when
      ``need_zc``; without it, S alone, and the cluster -> units lists may hold the active units only.

    Per unit (``unit_rec``; for partners copied per entry of the cluster -> units lists in ``entry_rec0``
    = own cluster | |W_j| << 32 | [weight > 0] << 62 and ``entry_rec2`` = column 2): own cluster, ``|W_j|``,
    and packed in column 2
    the level-table row id (bits 0-19), ``[o_j in W_j]`` (20), in mask (21), active (22), observed
    level code (24-31) and the levels with ``pi_j(l) > 0`` (bit 32 + l); ``unit_obs[j] = (pi_j(a_j),
    U[j, :])``. The dependent j are found by walking the units touching each cluster of i's row;
    ``partner_state[j] = i << 24 | [o_i in W_j] << 23 | |W_i & W_j|``, so
    ``nS = |W_i & W_j| - [o_i in both] - [o_j in both, o_j != o_i]``,
    ``nB = |W_j| - [o_j in W_j] - [o_i in W_j, o_i != o_j] - nS``, ``nA = |W_i| - [o_i in W_i] - [o_j in W_i] - nS``.

    The joint depends on the pair only through the flags, (nS, nA, nB) and the two units' rows of the
    level table, so joints are kept in a direct-mapped cache keyed by these (``cache_keys`` -1 = empty):
    the pairs of a heavy-tailed graph repeat a few thousand shapes. Work arrays (one row per chunk,
    stamps -1 once) are passed in so that calls over blocks of ``first_units`` (a progress bar) reuse them.
    """
    M = S.shape[0]
    nf = first_units.shape[0]
    Sc = np.zeros((n_chunks, M, L, L))
    for ch in prange(n_chunks):
        lo = ch * nf // n_chunks
        hi = (ch + 1) * nf // n_chunks
        state = partner_state[ch]
        lst = partners[ch]
        wmark = weighted_mark[ch]
        ckeys = cache_keys[ch]
        cJ = cache_joint[ch]
        vi = np.empty(L)
        vj = np.empty(L)
        J = np.empty((L, L))
        Sl = np.zeros((M, L, L))
        for f in range(lo, hi):
            i = first_units[f]
            oi = unit_rec[i, 0]
            nWi = unit_rec[i, 1]
            reci = unit_rec[i, 2]
            row_i = reci & 0xFFFFF
            oi_wi = ((reci >> 20) & 1) == 1
            a = (reci >> 24) & 0xFF
            pia = unit_obs[i, 0]
            nl = _walk_partners(i, oi, row_ptr, row_cluster, row_weight, unit_ptr, unit_of, entry_rec0, entry_rec2,
                                state, lst, wmark)
            for q in range(nl):
                j = lst[q, 0]
                recj = lst[q, 2]
                if ((recj >> 21) & 1) == 0:  # not in mask
                    continue
                slot = _pair_joint_slot(i, j, oi, nWi, oi_wi, row_i, lst[q, 1], recj, state[j], wmark, p, pw0, pw1, lev,
                                        L, vi, vj, J, ckeys, cJ)
                if ((recj >> 22) & 1) == 1:  # active
                    b = (recj >> 24) & 0xFF
                    v = cJ[slot, a, b]
                    if v > 0.0:
                        w = (v - pia * unit_obs[j, 0]) / v
                        for m in range(M):
                            Sl[m, a, b] += w * unit_obs[i, 1 + m] * unit_obs[j, 1 + m]
                if need_zc:
                    for l in range(L):
                        if ((recj >> (32 + l)) & 1) == 1 and cJ[slot, a, l] == 0.0:
                            zc[i, l] += 1
        Sc[ch] = Sl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(L):
                for l in range(L):
                    S[m, k, l] += Sc[ch, m, k, l]


@njit(parallel=True, cache=True)
def sampled_pair_counts(row_ptr, row_cluster, row_weight, unit_ptr, unit_of, entry_rec0, entry_rec2, unit_rec, p, pw0,
                        pw1, lev, L, sample, n_chunks, partner_state, partners, weighted_mark, cache_keys, cache_joint,
                        dep, zero):
    """Per sampled unit i: ``dep[s]`` units j != i sharing a cluster with i, and ``zero[s]`` of them with a
    zero joint ``pi_ij(k, l) = 0`` at levels both can take (``pi_i(k) > 0``, ``pi_j(l) > 0``: the row and
    column sums of the pair's joint table are the two marginals) -- the pairs Young's bound covers."""
    ns = sample.shape[0]
    for ch in prange(n_chunks):
        lo = ch * ns // n_chunks
        hi = (ch + 1) * ns // n_chunks
        state = partner_state[ch]
        lst = partners[ch]
        wmark = weighted_mark[ch]
        ckeys = cache_keys[ch]
        cJ = cache_joint[ch]
        vi = np.empty(L)
        vj = np.empty(L)
        J = np.empty((L, L))
        rows = np.empty(L)
        cols = np.empty(L)
        for f in range(lo, hi):
            i = sample[f]
            oi = unit_rec[i, 0]
            reci = unit_rec[i, 2]
            nl = _walk_partners(i, oi, row_ptr, row_cluster, row_weight, unit_ptr, unit_of, entry_rec0, entry_rec2,
                                state, lst, wmark)
            dep[f] = nl
            nz = 0
            for q in range(nl):
                j = lst[q, 0]
                slot = _pair_joint_slot(i, j, oi, unit_rec[i, 1], ((reci >> 20) & 1) == 1, reci & 0xFFFFF, lst[q, 1],
                                        lst[q, 2], state[j], wmark, p, pw0, pw1, lev, L, vi, vj, J, ckeys, cJ)
                for k in range(L):
                    rows[k] = 0.0
                    cols[k] = 0.0
                for k in range(L):
                    for l in range(L):
                        rows[k] += cJ[slot, k, l]
                        cols[l] += cJ[slot, k, l]
                found = False
                for k in range(L):
                    for l in range(L):
                        if rows[k] > 0.0 and cols[l] > 0.0 and cJ[slot, k, l] == 0.0:
                            found = True
                if found:
                    nz += 1
            zero[f] = nz


@njit(cache=True)
def observed_pair_visits(row_ptr, row_cluster, unit_ptr, first_units):
    """Unit entries walked by :func:`observed_pair_sums` for these first units: sum over i of the number
    of units touching each cluster of i's row (an upper bound of 1 + its dependent partners)."""
    tot = 0
    for f in range(first_units.shape[0]):
        i = first_units[f]
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_cluster[e]
            tot += unit_ptr[r + 1] - unit_ptr[r]
    return tot


def _cluster_order(st):
    """The threshold route's structure with units renumbered by own cluster (built once, kept in ``st``).

    Partners found through a cluster are then mostly its members, contiguous in the new numbering, so the
    per-partner reads hit cache instead of memory (the input numbering of a social graph is random).
    """
    if "observed" in st:
        return st["observed"]
    ptr, col, wt, own = st["ptr"], st["col"], st["wt"], st["own"]
    n = ptr.shape[0] - 1
    nR = int(st["tptr"].shape[0] - 1)
    perm = np.argsort(own, kind="stable").astype(np.int64)  # new index q is old unit perm[q]
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n, dtype=np.int64)
    lens = np.diff(ptr)[perm]
    nptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=nptr[1:])
    take = np.repeat(ptr[:-1][perm] - nptr[:-1], lens) + np.arange(nptr[-1], dtype=np.int64)
    ncol = np.ascontiguousarray(col[take], dtype=np.int64)
    nwt = np.ascontiguousarray(wt[take], dtype=np.int64)
    unit_ptr, unit_of, unit_weight = cluster_to_units(nptr, ncol, nwt, nR)
    lev = st["lev"]
    lev_row = np.unique(lev.reshape(n, -1), axis=0, return_inverse=True)[1].astype(np.int64).ravel()
    if lev_row.max(initial=0) >= 1 << 20:
        lev_row = None  # not expected (rows depend on the degree only): the cache key would overflow
    rec = np.zeros((n, 3), dtype=np.int64)
    rec[:, 0] = own[perm]
    rec[:, 1] = st["nW"][perm]
    ok = lev_row is not None and nR < 1 << 32 and int(lens.max(initial=0)) < 1 << 22
    if ok:
        rec[:, 2] = lev_row[perm] | (st["ownin"][perm].astype(np.int64) << 20)
    entry_rec0 = rec[unit_of, 0] | (rec[unit_of, 1] << 32) | ((unit_weight > 0).astype(np.int64) << 62)
    out = {"perm": perm, "inv": inv, "ptr": nptr, "col": ncol, "wt": nwt, "unit_ptr": unit_ptr, "unit_of": unit_of,
           "entry_rec0": entry_rec0, "rec": rec, "lev": np.ascontiguousarray(lev[perm]), "nR": nR, "ok": ok}
    st["observed"] = out
    return out


def observed_thr_pair_terms(st, L, codes, mask, marg, U, S, zc, progress=False):
    """Fill ``S`` (m, L, L) and the rows of ``zc`` of the units with a non-zero ``U`` row (threshold route).

    ``st`` is the pair structure of the closed-form threshold route (``ptr, col, wt, own, ownin, nW, p,
    pw0, pw1, lev``). Rows of ``zc`` whose ``U`` row is 0 are left as they are (their Young's term has the
    factor ``y_i^2 / pi_i = 0``); the caller adds the independent pairs' zeros. ``progress``: run over
    100 blocks of first units behind a progress bar. Returns False (nothing done) when the structure
    does not fit the kernel's packed fields (the caller then runs the previous kernel).
    """
    import numba

    from .._parallel import threads_for

    if not ENABLED or L > 24:
        return False
    o = _cluster_order(st)
    if not o["ok"]:
        return False
    n = o["ptr"].shape[0] - 1
    perm = o["perm"]
    codes = np.asarray(codes, dtype=np.int64)[perm]
    mask = np.asarray(mask, dtype=bool)[perm]
    U = np.asarray(U, dtype=float)[perm]
    marg = np.asarray(marg)[perm]
    active = mask & (U != 0).any(axis=1)
    first = np.flatnonzero(active).astype(np.int64)
    if first.size == 0:
        return True
    rec = o["rec"].copy()
    pos = ((marg > 0) << np.arange(L, dtype=np.int64)[None, :]).sum(1).astype(np.int64)
    rec[:, 2] |= (mask.astype(np.int64) << 21) | (active.astype(np.int64) << 22) | (codes << 24) | (pos << 32)
    obs = np.empty((n, 1 + U.shape[1]))
    obs[:, 0] = marg[np.arange(n), codes]
    obs[:, 1:] = U
    # zc depends on the levels, the mask, the active units and the marginals' zeros only (not on U's values;
    # the joints are fixed with the structure): kept for the next call with the same four (the Hajek variance
    # after the HT one); S then needs the active partners only
    key = hashlib.blake2b(b"".join(np.ascontiguousarray(x).tobytes() for x in (codes, mask, active, pos))).hexdigest()
    cached = o.get("zc_cache")
    need_zc = cached is None or cached[0] != key
    if need_zc:
        walk = (o["unit_ptr"], o["unit_of"], o["entry_rec0"])
    else:
        keep = active[o["unit_of"]]
        per_cluster = np.bincount(np.repeat(np.arange(o["nR"]), np.diff(o["unit_ptr"]))[keep], minlength=o["nR"])
        walk = (np.concatenate([[0], np.cumsum(per_cluster)]).astype(np.int64), o["unit_of"][keep],
                o["entry_rec0"][keep])
    walk_rec2 = rec[walk[1], 2]
    visits = float(observed_pair_visits(o["ptr"], o["col"], walk[0], first))
    zc_new = np.zeros((n, L), dtype=np.int64)
    with threads_for(visits * 4.0):
        C = int(max(1, min(2 * numba.get_num_threads(), first.size // 64 + 1)))
        state = np.full((C, n), -1, dtype=np.int64)
        partners = np.zeros((C, n, 3), dtype=np.int64)
        wmark = np.full((C, o["nR"]), -1, dtype=np.int64)
        cache_keys = np.full((C, _CACHE_SLOTS), -1, dtype=np.int64)
        cache_joint = np.zeros((C, _CACHE_SLOTS + 1, L, L))
        bounds = np.linspace(0, first.size, 101 if progress else 2).astype(np.int64)
        steps = range(bounds.shape[0] - 1)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc="exact pair joints (observed units)", unit="%", disable=None)
        for s in steps:
            block = first[bounds[s]:bounds[s + 1]]
            if block.size == 0:
                continue
            observed_pair_sums(o["ptr"], o["col"], o["wt"], walk[0], walk[1], walk[2], walk_rec2, rec, obs,
                               float(st["p"][0]), st["pw0"], st["pw1"], o["lev"], L, block, C, state, partners, wmark,
                               cache_keys, cache_joint, need_zc, S, zc_new)
    if need_zc:
        o["zc_cache"] = (key, zc_new)
    else:
        zc_new = cached[1]
    zc[perm] += zc_new
    return True
