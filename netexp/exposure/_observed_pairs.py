"""Aronow-Samii pair sums under independent clusters with a threshold mapping, from the observed units.

The route this replaces (``thr_pair_sums``) visits every ordered dependent pair (i, j) of units and scans
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
form (see ``_prob_kernels``, threshold mappings) follow by arithmetic, and the joint is evaluated by the
same sum, in the same order, as :func:`_prob_kernels._thr_pair_joint` (numbers equal to rounding of the
pair sums' order).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._prob_kernels import _combine, _fixed, _nparts, _part, _thr_level

__all__ = ["cluster_to_units", "observed_pair_sums", "observed_thr_pair_terms"]

ENABLED = True  # the route used by ExposureProbabilities._pair_terms (False: the previous thr_pair_sums)


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


@njit(cache=True)
def _joint_from_parts(i, j, same, oi_wi, oj_wi, oi_wj, oj_wj, nS, nA, nB, p, pw0, pw1, lev, L, vi, vj, J):
    """``J[k, l] = P(level_i = k, level_j = l)`` from the parts of the pair's clusters.

    Conditional on the draws z_i, z_j of the two own clusters (one draw when ``same``), the other
    clusters weighted by i or j split into S (both), A (i only) and B (j only), of sizes nS, nA, nB;
    each part's summary (all 0 / all 1 / mixed) has probability q^m, p^m, 1 - q^m - p^m, and
    ``J[k, l] = sum_{z_i, z_j, s_S} P(z, s_S) * sum_{s_A} P(s_A) [lev_i(z_i, s_S + s_A + own) = k]
    * sum_{s_B} P(s_B) [lev_j(z_j, s_S + s_B + own) = l]``. The same operations in the same order as
    ``_thr_pair_joint`` (which finds nS and nB by scanning j's row).
    """
    for k in range(L):
        for l in range(L):
            J[k, l] = 0.0
    q = 1.0 - p
    for zi in range(2):
        pzi = p if zi == 1 else q
        for zj in range(2):
            if same and zj != zi:
                continue
            pf = pzi if same else pzi * (p if zj == 1 else q)
            if pf == 0.0:
                continue
            fi = _fixed(oi_wi, zi, oj_wi, zj)
            fj = _fixed(oj_wj, zj, oi_wj, zi)
            for ks in range(_nparts(nS)):
                sS, pS = _part(nS, ks, pw0, pw1)
                w = pf * pS
                if w == 0.0:
                    continue
                ci = _combine(fi, sS)
                cj = _combine(fj, sS)
                for k in range(L):
                    vi[k] = 0.0
                    vj[k] = 0.0
                for ka in range(_nparts(nA)):
                    sA, pA = _part(nA, ka, pw0, pw1)
                    if pA != 0.0:
                        vi[_thr_level(lev, i, zi, _combine(ci, sA))] += pA
                for kb in range(_nparts(nB)):
                    sB, pB = _part(nB, kb, pw0, pw1)
                    if pB != 0.0:
                        vj[_thr_level(lev, j, zj, _combine(cj, sB))] += pB
                for k in range(L):
                    a = w * vi[k]
                    if a == 0.0:
                        continue
                    for l in range(L):
                        J[k, l] += a * vj[l]


@njit(parallel=True, cache=True)
def observed_pair_sums(row_ptr, row_cluster, row_weight, own_cluster, unit_ptr, unit_of, unit_weight, own_in,
                       n_weighted, p, pw0, pw1, lev, L, codes, mask, active, marg, U, first_units, n_chunks,
                       partner_stamp, overlap, own_i_in_j, partners, weighted_mark, S, zc):
    """Aronow-Samii pair sums with the first unit restricted to ``first_units`` (the ``active`` units).

    For every i in ``first_units`` (each in ``mask``) and every j != i in ``mask`` sharing a cluster with i:

    * ``S[m, a_i, a_j] += (J - pi_i(a_i) pi_j(a_j)) / J * U[i, m] U[j, m]`` with ``J = pi_ij(a_i, a_j) > 0``,
      when j is ``active`` too (the term is 0 otherwise);
    * ``zc[i, l] += 1`` when ``pi_j(l) > 0`` and ``pi_ij(a_i, l) = 0`` (Young's-inequality partners).

    The dependent j are found by walking the units touching each cluster of i's row; ``overlap[j]`` counts
    the clusters weighted by both (``|W_i & W_j|``) and ``own_i_in_j[j]`` whether i's own cluster is
    weighted by j, so ``nS = |W_i & W_j| - [o_i in both] - [o_j in both, o_j != o_i]``,
    ``nB = |W_j| - [o_j in W_j] - [o_i in W_j, o_i != o_j] - nS``, ``nA = |W_i| - [o_i in W_i] - [o_j in W_i] - nS``.
    Work arrays (one row per chunk, stamps initialised to -1 once) are passed in so that calls over
    blocks of ``first_units`` (a progress bar) reuse them.
    """
    n = row_ptr.shape[0] - 1
    M = S.shape[0]
    nf = first_units.shape[0]
    Sc = np.zeros((n_chunks, M, L, L))
    for ch in prange(n_chunks):
        lo = ch * nf // n_chunks
        hi = (ch + 1) * nf // n_chunks
        stamp = partner_stamp[ch]
        cnt = overlap[ch]
        oin = own_i_in_j[ch]
        lst = partners[ch]
        wmark = weighted_mark[ch]
        vi = np.empty(L)
        vj = np.empty(L)
        J = np.empty((L, L))
        Sl = np.zeros((M, L, L))
        for f in range(lo, hi):
            i = first_units[f]
            oi = own_cluster[i]
            for e in range(row_ptr[i], row_ptr[i + 1]):
                if row_weight[e] > 0:
                    wmark[row_cluster[e]] = i
            nl = 0
            for e in range(row_ptr[i], row_ptr[i + 1]):
                r = row_cluster[e]
                both = row_weight[e] > 0
                is_oi = r == oi
                for t in range(unit_ptr[r], unit_ptr[r + 1]):
                    j = unit_of[t]
                    if j == i:
                        continue
                    if stamp[j] != i:
                        stamp[j] = i
                        cnt[j] = 0
                        oin[j] = False
                        lst[nl] = j
                        nl += 1
                    if unit_weight[t] > 0:
                        if both:
                            cnt[j] += 1
                        if is_oi:
                            oin[j] = True
            a = codes[i]
            oi_wi = own_in[i]
            for q in range(nl):
                j = lst[q]
                if not mask[j]:
                    continue
                oj = own_cluster[j]
                same = oj == oi
                oj_wj = own_in[j]
                oj_wi = (not same) and wmark[oj] == i
                oi_wj = (not same) and oin[j]
                nS = cnt[j]
                if oi_wi and (oj_wj if same else oin[j]):
                    nS -= 1
                if oj_wi and oj_wj:
                    nS -= 1
                nA = n_weighted[i] - (1 if oi_wi else 0) - (1 if oj_wi else 0) - nS
                nB = n_weighted[j] - (1 if oj_wj else 0) - (1 if oi_wj else 0) - nS
                _joint_from_parts(i, j, same, oi_wi, oj_wi, oi_wj, oj_wj, nS, nA, nB, p, pw0, pw1, lev, L, vi, vj, J)
                if active[j]:
                    b = codes[j]
                    v = J[a, b]
                    if v > 0.0:
                        w = (v - marg[i, a] * marg[j, b]) / v
                        for m in range(M):
                            Sl[m, a, b] += w * U[i, m] * U[j, m]
                for l in range(L):
                    if marg[j, l] > 0.0 and J[a, l] == 0.0:
                        zc[i, l] += 1
        Sc[ch] = Sl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(L):
                for l in range(L):
                    S[m, k, l] += Sc[ch, m, k, l]


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


def observed_thr_pair_terms(st, L, codes, mask, marg, U, S, zc, progress=False):
    """Fill ``S`` (m, L, L) and the rows of ``zc`` of the units with a non-zero ``U`` row (threshold route).

    ``st`` is the pair structure of the closed-form threshold route (``ptr, col, wt, own, ownin, nW, p,
    pw0, pw1, lev``). Rows of ``zc`` whose ``U`` row is 0 are left as they are (their Young's term has the
    factor ``y_i^2 / pi_i = 0``); the caller adds the independent pairs' zeros. ``progress``: run over
    100 blocks of first units behind a progress bar.
    """
    import numba

    from .._parallel import threads_for

    n = st["ptr"].shape[0] - 1
    if "unit_ptr" not in st:  # built once per probabilities object
        nR = int(st["tptr"].shape[0] - 1)
        st["unit_ptr"], st["unit_of"], st["unit_weight"] = cluster_to_units(st["ptr"], st["col"], st["wt"], nR)
    nR = st["unit_ptr"].shape[0] - 1
    active = np.ascontiguousarray(mask & (U != 0).any(axis=1))
    first = np.flatnonzero(active).astype(np.int64)
    if first.size == 0:
        return
    visits = float(observed_pair_visits(st["ptr"], st["col"], st["unit_ptr"], first))
    with threads_for(visits * 4.0):
        C = int(max(1, min(2 * numba.get_num_threads(), first.size // 64 + 1)))
        stamp = np.full((C, n), -1, dtype=np.int64)
        overlap = np.zeros((C, n), dtype=np.int32)
        own_i_in_j = np.zeros((C, n), dtype=np.bool_)
        partners = np.zeros((C, n), dtype=np.int64)
        wmark = np.full((C, nR), -1, dtype=np.int64)
        bounds = np.linspace(0, first.size, 101 if progress else 2).astype(np.int64)
        steps = range(bounds.shape[0] - 1)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc="exact pair joints (observed units)", unit="%", disable=None)
        Uc = np.ascontiguousarray(U, dtype=float)
        codes = np.ascontiguousarray(codes, dtype=np.int64)
        for s in steps:
            block = first[bounds[s]:bounds[s + 1]]
            if block.size == 0:
                continue
            observed_pair_sums(st["ptr"], st["col"], st["wt"], st["own"], st["unit_ptr"], st["unit_of"],
                               st["unit_weight"], st["ownin"], st["nW"], float(st["p"][0]), st["pw0"], st["pw1"],
                               st["lev"], L, codes, mask, active, marg, Uc, block, C, stamp, overlap, own_i_in_j,
                               partners, wmark, S, zc)
