r"""Randomized saturation with independent levels (stage 1 "bernoulli") and a threshold mapping: closed form.

The mapping depends on the count only through :math:`[c = 0]` and :math:`[c = d]`. Clusters are then
fully independent, each mixed over its level, and the probability that m0 given units of cluster r are
all untreated and m1 others all treated is :math:`G_r(m_0, m_1) = \sum_l \pi_l g_l(m_0, m_1)`, with
:math:`g = (1 - s)^{m_0} s^{m_1}` (Bernoulli within) or, for a uniform T-subset of the :math:`n_r`
units, :math:`T^{\underline{m_1}} (n_r - T)^{\underline{m_0}} / n_r^{\underline{m_0 + m_1}}` mixed over
T in {lo, lo + 1} (complete within), tabulated by :func:`all_or_none_tables`. A pair's joint needs, for
each own draw :math:`(z_i, z_j)` and each constraint :math:`F_i, F_j` in {none, all 0, all 1}, the
product over the touched clusters of G at the counts the constraints put in that cluster; "mixed"
(0 < c < d) follows by inclusion-exclusion.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .modes import AS_PAIR_SUMS


_OMEGA, _ALL0, _ALL1 = 0, 1, 2
IE_TOL = 1e-10  # inclusion-exclusion results below this fraction of their largest term are structural zeros


@njit(parallel=True, cache=True)
def all_or_none_tables(cluster_size, within_low, within_frac, saturation, level_share, within_bernoulli, log_fact,
                       all_or_none_max, all_or_none_offset, all_or_none):
    r"""Fill ``all_or_none[all_or_none_offset[r] + m0 (M + 1) + m1] = G_r(m0, m1)``, with
    ``M = all_or_none_max[r]``, for m0, m1 in 0..M (0 when m0 + m1 > n_r).

    :math:`G_r(m_0, m_1) = \sum_l \pi_l g_l(m_0, m_1)`: the probability that m0 given units of cluster r
    are all untreated and m1 others all treated, mixed over the cluster's saturation level."""
    nR = cluster_size.shape[0]
    Ls = saturation.shape[0]
    for r in prange(nR):
        n = cluster_size[r]
        M = all_or_none_max[r]
        for m0 in range(M + 1):
            for m1 in range(M + 1):
                v = 0.0
                if m0 + m1 <= n:
                    for l in range(Ls):
                        s = saturation[l]
                        if within_bernoulli:
                            v += level_share[l] * ((1.0 - s) ** m0) * (s ** m1)
                            continue
                        for q in range(2):
                            T = within_low[l, r] + q
                            wq = within_frac[l, r] if q == 1 else 1.0 - within_frac[l, r]
                            if wq == 0.0 or m1 > T or m0 > n - T:
                                continue
                            v += level_share[l] * wq * math.exp(log_fact[T] - log_fact[T - m1] + log_fact[n - T]
                                                                - log_fact[n - T - m0] - log_fact[n]
                                                                + log_fact[n - m0 - m1])
                all_or_none[all_or_none_offset[r] + m0 * (M + 1) + m1] = v


@njit(cache=True)
def _g_value(all_or_none, all_or_none_offset, all_or_none_max, r, m0, m1):
    """G_r(m0, m1): probability that m0 given units of cluster r are all untreated and m1 others all
    treated (from the table of :func:`all_or_none_tables`)."""
    return all_or_none[all_or_none_offset[r] + m0 * (all_or_none_max[r] + 1) + m1]


@njit(cache=True)
def _ie_mixed(t, t0, t1):
    """t - t0 - t1 with structural zeros (below ``IE_TOL * t``) set to 0."""
    v = t - t0 - t1
    return v if v > IE_TOL * t else 0.0


@njit(cache=True)
def _saturation_threshold_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, khop_ptr, khop_idx, cluster_of,
                                     umark, istamp, iw, jstamp, jw, cc, all_or_none, all_or_none_offset,
                                     all_or_none_max, n_nbrs, threshold_levels, n_levels, Tt, E, J):
    """J[k, l] = P(level_i = k, level_j = l) for a near pair, threshold mapping, independent cluster levels.

    The caller marks i's clusters (``istamp[r] == i``, weight ``iw[r]``) and i's k-hop neighbours
    (``umark[u] == i``); ``cc`` is zero on entry and left zero. ``Tt[zi, zj, Fi, Fj]``: probability of the
    own draws and the constraints (none, all 0, all 1 on N_i / N_j), a product over touched clusters.
    """
    oi = own_unit[i]
    oj = own_unit[j]
    for e in range(row_ptr[j], row_ptr[j + 1]):
        jstamp[row_unit[e]] = j
        jw[row_unit[e]] = row_weight[e]
    e1 = umark[j] == i
    e2 = False
    for t in range(khop_ptr[j], khop_ptr[j + 1]):
        u = khop_idx[t]
        if u == i:
            e2 = True
        elif umark[u] == i:
            cc[cluster_of[u]] += 1
    for zi in range(2):
        for zj in range(2):
            for fi in range(3):
                for fj in range(3):
                    Tt[zi, zj, fi, fj] = 1.0
    # clusters touching i (only, or both)
    for e in range(row_ptr[i], row_ptr[i + 1]):
        r = row_unit[e]
        wi = iw[r]
        if jstamp[r] != j:  # i only
            if r == oi:
                for zi in range(2):
                    for fi in range(3):
                        m0 = 1 - zi
                        m1 = zi
                        if fi == _ALL0:
                            m0 += wi
                        elif fi == _ALL1:
                            m1 += wi
                        g = _g_value(all_or_none, all_or_none_offset, all_or_none_max, r, m0, m1)
                        for zj in range(2):
                            for fj in range(3):
                                Tt[zi, zj, fi, fj] *= g
            elif wi > 0:
                g0 = _g_value(all_or_none, all_or_none_offset, all_or_none_max, r, wi, 0)
                g1 = _g_value(all_or_none, all_or_none_offset, all_or_none_max, r, 0, wi)
                for zi in range(2):
                    for zj in range(2):
                        for fj in range(3):
                            Tt[zi, zj, _ALL0, fj] *= g0
                            Tt[zi, zj, _ALL1, fj] *= g1
            continue
        wj = jw[r]
        i_in = r == oi
        j_in = r == oj
        c = cc[r]
        a = wi - c - (1 if (e1 and j_in) else 0)
        b = wj - c - (1 if (e2 and i_in) else 0)
        for zi in range(2):
            for zj in range(2):
                for fi in range(3):
                    for fj in range(3):
                        m0 = 0
                        m1 = 0
                        bad = False
                        if i_in:
                            if zi == 1:
                                m1 += 1
                            else:
                                m0 += 1
                            if e2 and fj != _OMEGA and zi != fj - 1:
                                bad = True
                        if j_in:
                            if zj == 1:
                                m1 += 1
                            else:
                                m0 += 1
                            if e1 and fi != _OMEGA and zj != fi - 1:
                                bad = True
                        if fi == _ALL0:
                            m0 += a
                        elif fi == _ALL1:
                            m1 += a
                        if fj == _ALL0:
                            m0 += b
                        elif fj == _ALL1:
                            m1 += b
                        if c > 0:
                            if fi != _OMEGA and fj != _OMEGA and fi != fj:
                                bad = True
                            f = fi if fi != _OMEGA else fj
                            if f == _ALL0:
                                m0 += c
                            elif f == _ALL1:
                                m1 += c
                        Tt[zi, zj, fi, fj] *= 0.0 if bad else _g_value(all_or_none, all_or_none_offset,
                                                                       all_or_none_max, r, m0, m1)
    # clusters touching j only
    for e in range(row_ptr[j], row_ptr[j + 1]):
        r = row_unit[e]
        if istamp[r] == i:
            continue
        wj = row_weight[e]
        if r == oj:
            for zj in range(2):
                for fj in range(3):
                    m0 = 1 - zj
                    m1 = zj
                    if fj == _ALL0:
                        m0 += wj
                    elif fj == _ALL1:
                        m1 += wj
                    g = _g_value(all_or_none, all_or_none_offset, all_or_none_max, r, m0, m1)
                    for zi in range(2):
                        for fi in range(3):
                            Tt[zi, zj, fi, fj] *= g
        elif wj > 0:
            g0 = _g_value(all_or_none, all_or_none_offset, all_or_none_max, r, wj, 0)
            g1 = _g_value(all_or_none, all_or_none_offset, all_or_none_max, r, 0, wj)
            for zi in range(2):
                for zj in range(2):
                    for fi in range(3):
                        Tt[zi, zj, fi, _ALL0] *= g0
                        Tt[zi, zj, fi, _ALL1] *= g1
    for t in range(khop_ptr[j], khop_ptr[j + 1]):
        cc[cluster_of[khop_idx[t]]] = 0
    # summaries (s = 0: all untreated, 1: all treated, 2: mixed) by inclusion-exclusion, then levels
    di = n_nbrs[i]
    dj = n_nbrs[j]
    for k in range(n_levels):
        for l in range(n_levels):
            J[k, l] = 0.0
    for zi in range(2):
        for zj in range(2):
            T = Tt[zi, zj]
            if T[0, 0] == 0.0:
                continue
            for si in range(3):
                for sj in range(3):
                    E[si, sj] = 0.0
            if di == 0 and dj == 0:
                E[0, 0] = T[0, 0]
            elif di == 0:
                E[0, 0] = T[0, 1]
                E[0, 1] = T[0, 2]
                if dj >= 2:
                    E[0, 2] = _ie_mixed(T[0, 0], T[0, 1], T[0, 2])
            elif dj == 0:
                E[0, 0] = T[1, 0]
                E[1, 0] = T[2, 0]
                if di >= 2:
                    E[2, 0] = _ie_mixed(T[0, 0], T[1, 0], T[2, 0])
            else:
                for si in range(2):
                    for sj in range(2):
                        E[si, sj] = T[si + 1, sj + 1]
                if di >= 2:
                    for sj in range(2):
                        E[2, sj] = _ie_mixed(T[0, sj + 1], T[1, sj + 1], T[2, sj + 1])
                if dj >= 2:
                    for si in range(2):
                        E[si, 2] = _ie_mixed(T[si + 1, 0], T[si + 1, 1], T[si + 1, 2])
                if di >= 2 and dj >= 2:
                    v = (T[0, 0] - T[0, 1] - T[0, 2] - T[1, 0] - T[2, 0] + T[1, 1] + T[1, 2] + T[2, 1] + T[2, 2])
                    E[2, 2] = v if v > IE_TOL * T[0, 0] else 0.0
            for si in range(3):
                for sj in range(3):
                    v = E[si, sj]
                    if v != 0.0:
                        J[threshold_levels[i, zi, si], threshold_levels[j, zj, sj]] += v


@njit(cache=True)
def _slot_units(tid, n_slots, n_chunks, n):
    """Units of slot ``tid``: chunks tid, tid + n_slots, ... of ``n_chunks`` equal ranges over 0..n-1."""
    cnt = 0
    for ch in range(tid, n_chunks, n_slots):
        cnt += (ch + 1) * n // n_chunks - ch * n // n_chunks
    out = np.empty(cnt, dtype=np.int64)
    q = 0
    for ch in range(tid, n_chunks, n_slots):
        for i in range(ch * n // n_chunks, (ch + 1) * n // n_chunks):
            out[q] = i
            q += 1
    return out


@njit(parallel=True, cache=True)
def saturation_threshold_pair_sums(row_ptr, row_unit, row_weight, own_unit, unit_row_ptr, unit_rows, khop_ptr,
                                   khop_idx, cluster_of, all_or_none, all_or_none_offset, all_or_none_max, n_nbrs,
                                   threshold_levels, n_levels, marginal, level_codes, in_sum, weights, mode,
                                   n_chunks, n_slots, sums, zero_count):
    """Aronow-Samii (``AS_PAIR_SUMS``) or covariance
    (``COV_PAIR_SUMS``) sums over near pairs, each unordered pair computed once.

    Same contract as :func:`saturation_near_pair_sums` with independent levels. Pairs (i, j), i < j, are
    visited from i and add the terms of (i, j) and (j, i) (``J_ji = J_ij^T``). The parallel loop runs
    over ``n_slots`` slots (the thread count), slot t taking chunks t, t + n_slots, ...; the zero-joint
    counts of both units go to the slot's own array (no two threads write the same memory), summed at
    the end.
    """
    n = row_ptr.shape[0] - 1
    nR = all_or_none_offset.shape[0] - 1
    M = sums.shape[0]
    zct = np.zeros((n_slots if mode == AS_PAIR_SUMS else 1, n if mode == AS_PAIR_SUMS else 1, n_levels),
                   dtype=np.int32)
    Sc = np.zeros((n_slots, M, n_levels, n_levels))
    for tid in prange(n_slots):
        Sl = np.zeros((M, n_levels, n_levels))
        istamp = np.full(nR, -1, dtype=np.int64)
        jstamp = np.full(nR, -1, dtype=np.int64)
        iw = np.zeros(nR, dtype=np.int64)
        jw = np.zeros(nR, dtype=np.int64)
        cc = np.zeros(nR, dtype=np.int64)
        umark = np.full(n, -1, dtype=np.int64)
        stamp = np.full(n, -1, dtype=np.int64)
        Tt = np.empty((2, 2, 3, 3))
        E = np.empty((3, 3))
        J = np.zeros((n_levels, n_levels))
        for i in _slot_units(tid, n_slots, n_chunks, n):
            if not in_sum[i]:
                continue
            for e in range(row_ptr[i], row_ptr[i + 1]):
                istamp[row_unit[e]] = i
                iw[row_unit[e]] = row_weight[e]
            for t in range(khop_ptr[i], khop_ptr[i + 1]):
                umark[khop_idx[t]] = i
            a = level_codes[i]
            for e in range(row_ptr[i], row_ptr[i + 1]):
                r = row_unit[e]
                for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                    j = unit_rows[t]
                    if j <= i or stamp[j] == i:
                        continue
                    stamp[j] = i
                    if not in_sum[j]:
                        continue
                    _saturation_threshold_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, khop_ptr,
                                                     khop_idx, cluster_of, umark, istamp, iw, jstamp, jw, cc,
                                                     all_or_none, all_or_none_offset, all_or_none_max, n_nbrs,
                                                     threshold_levels, n_levels, Tt, E, J)
                    if mode == AS_PAIR_SUMS:
                        b = level_codes[j]
                        v = J[a, b]
                        if v > 0.0:
                            w = (v - marginal[i, a] * marginal[j, b]) / v
                            for m in range(M):
                                x = w * weights[i, m] * weights[j, m]
                                Sl[m, a, b] += x
                                Sl[m, b, a] += x
                        for l in range(n_levels):
                            if marginal[j, l] > 0.0 and J[a, l] == 0.0:
                                zct[tid, i, l] += 1
                            if marginal[i, l] > 0.0 and J[l, b] == 0.0:
                                zct[tid, j, l] += 1
                    else:
                        for k in range(n_levels):
                            ui = weights[i, k]
                            uj = weights[j, k]
                            for l in range(n_levels):
                                if ui != 0.0:
                                    Sl[0, k, l] += (J[k, l] - marginal[i, k] * marginal[j, l]) * ui * weights[j, l]
                                if uj != 0.0:
                                    Sl[0, k, l] += (J[l, k] - marginal[j, k] * marginal[i, l]) * uj * weights[i, l]
        Sc[tid] = Sl
    for ch in range(n_slots):
        for m in range(M):
            for k in range(n_levels):
                for l in range(n_levels):
                    sums[m, k, l] += Sc[ch, m, k, l]
    if mode == AS_PAIR_SUMS:
        for t in range(zct.shape[0]):
            for i in range(n):
                for l in range(n_levels):
                    zero_count[i, l] += zct[t, i, l]


@njit(cache=True)
def saturation_threshold_joint_entries(row_ptr, row_unit, row_weight, own_unit, unit_row_ptr, unit_rows, khop_ptr,
                                       khop_idx, cluster_of, all_or_none, all_or_none_offset, all_or_none_max,
                                       n_nbrs, threshold_levels, n_levels, level_a, level_b, count_only, rows, cols,
                                       vals):
    """Every near ordered pair (i != j) and ``P(level_i = level_a, level_j = level_b)`` (each unordered pair computed
    once); the first call counts."""
    n = row_ptr.shape[0] - 1
    nR = all_or_none_offset.shape[0] - 1
    istamp = np.full(nR, -1, dtype=np.int64)
    jstamp = np.full(nR, -1, dtype=np.int64)
    iw = np.zeros(nR, dtype=np.int64)
    jw = np.zeros(nR, dtype=np.int64)
    cc = np.zeros(nR, dtype=np.int64)
    umark = np.full(n, -1, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)
    Tt = np.empty((2, 2, 3, 3))
    E = np.empty((3, 3))
    J = np.zeros((n_levels, n_levels))
    q = 0
    for i in range(n):
        for e in range(row_ptr[i], row_ptr[i + 1]):
            istamp[row_unit[e]] = i
            iw[row_unit[e]] = row_weight[e]
        for t in range(khop_ptr[i], khop_ptr[i + 1]):
            umark[khop_idx[t]] = i
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_unit[e]
            for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                j = unit_rows[t]
                if j <= i or stamp[j] == i:
                    continue
                stamp[j] = i
                if not count_only:
                    _saturation_threshold_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, khop_ptr,
                                                     khop_idx, cluster_of, umark, istamp, iw, jstamp, jw, cc,
                                                     all_or_none, all_or_none_offset, all_or_none_max, n_nbrs,
                                                     threshold_levels, n_levels, Tt, E, J)
                    rows[q] = i
                    cols[q] = j
                    vals[q] = J[level_a, level_b]
                    rows[q + 1] = j
                    cols[q + 1] = i
                    vals[q + 1] = J[level_b, level_a]
                q += 2
    return q
