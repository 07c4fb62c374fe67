r"""Randomized saturation: each cluster draws a saturation level (stage 1), then units within it (stage 2).

Levels of the m clusters touching a unit (or a pair) are coded by their *count vector* n (how many of
them got each saturation level), in radix R = m + 1 over the first Ls - 1 levels (the last count is m
minus the others). Given the clusters' levels the clusters are independent (stage 2), so a dynamic
programme over the clusters, each mixed over its level, carries the state (count vector, own
treatment, treated neighbours). Stage 1 "bernoulli" (independent levels): the share of each level
multiplies in directly and the count state is trivial (R = 1). Stage 1 "complete" (exchangeable
levels): every specific level vector with counts n over m given clusters has probability
:math:`G(m, n) = \sum_N P(N) \prod_l N_l! / (N_l - n_l)! \cdot (K - m)! / K!`, applied at the end;
far pairs are then dependent and handled by type tables as for Complete designs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .common import log_binom, split_pair_parts
from .modes import AS_PAIR_SUMS, JOINT_AT_LEVELS


@njit(cache=True)
def _cluster_given_level(m, own_in, n_c, lo, fr, s, within_bernoulli, out):
    """out[z, k]: P(own unit treated = z, k of the m other units treated | the cluster's level).

    ``own_in``: the unit itself belongs to this cluster (else z = 0 with its whole mass). Within
    ``within_bernoulli``: independent Bernoulli(s); else a uniform subset of size lo (prob 1 - fr) or lo + 1 (fr)
    among the n_c units (multivariate hypergeometric over {i}, the m units and the rest).
    """
    for z in range(2):
        for k in range(m + 1):
            out[z, k] = 0.0
    if within_bernoulli:
        for k in range(m + 1):
            if s <= 0.0:
                b = 1.0 if k == 0 else 0.0
            elif s >= 1.0:
                b = 1.0 if k == m else 0.0
            else:
                b = math.exp(log_binom(m, k) + k * math.log(s) + (m - k) * math.log(1.0 - s))
            if own_in:
                out[1, k] += s * b
                out[0, k] += (1.0 - s) * b
            else:
                out[0, k] += b
        return
    for q in range(2):
        T = lo + q
        wq = fr if q == 1 else 1.0 - fr
        if wq == 0.0:
            continue
        lden = log_binom(n_c, T)
        rest = n_c - m - (1 if own_in else 0)
        for z in range(2 if own_in else 1):
            for k in range(m + 1):
                lv = log_binom(m, k) + log_binom(rest, T - z - k) - lden
                if lv > -np.inf:
                    out[z, k] += wq * math.exp(lv)


@njit(cache=True)
def _count_radix(Ls, levels_independent, m):
    """``(R, cs)``: radix and number of count-vector codes for ``m`` clusters (1, 1 when independent)."""
    if levels_independent:
        return 1, 1
    R = m + 1
    cs = 1
    for _ in range(Ls - 1):
        cs *= R
    return R, cs


@njit(cache=True)
def _count_step(l, Ls, R, levels_independent):
    """Radix weight of saturation level l in the count-vector code (0 for the last level, whose count is
    implied, and when levels are independent)."""
    if levels_independent or l == Ls - 1:
        return 0
    s = 1
    for _ in range(l):
        s *= R
    return s


@njit(cache=True)
def _level_vector_prob(nvec, m, count_support, count_weight, log_fact, n_clusters):
    """G(m, n): probability that m given clusters receive one given level vector with counts ``nvec``."""
    tot = 0.0
    base = log_fact[n_clusters - m] - log_fact[n_clusters]
    for s in range(count_support.shape[0]):
        lv = base
        ok = True
        for l in range(count_support.shape[1]):
            if nvec[l] > count_support[s, l] or nvec[l] < 0:
                ok = False
                break
            lv += log_fact[count_support[s, l]] - log_fact[count_support[s, l] - nvec[l]]
        if ok:
            tot += count_weight[s] * math.exp(lv)
    return tot


@njit(cache=True)
def _level_vector_probs(m, R, cs, Ls, levels_independent, count_support, count_weight, log_fact, n_clusters):
    """G for every count code of m clusters in radix R (1 for independent levels)."""
    G = np.ones(cs)
    if levels_independent:
        return G
    nvec = np.zeros(Ls, dtype=np.int64)
    for c in range(cs):
        x = c
        rest = m
        for l in range(Ls - 1):
            nvec[l] = x % R
            x //= R
            rest -= nvec[l]
        nvec[Ls - 1] = rest
        G[c] = _level_vector_prob(nvec, m, count_support, count_weight, log_fact, n_clusters) if rest >= 0 else 0.0
    return G


@njit(cache=True)
def _saturation_side_programme(row_ptr, row_unit, row_weight, row, excl, w_of, ownr, cluster_size, within_low,
                               within_frac, saturation, level_share, within_bernoulli, levels_independent, R, cs,
                               dmax):
    """f[code, z, x]: the row's clusters (those not in ``excl``) with level counts ``code``, own treatment z
    and x treated neighbours, summed over the specific level vectors (times their shares if independent).

    An empty ``excl`` takes every cluster of the row with its weight from ``row_weight``; else weights ``w_of``.
    """
    whole = excl.shape[0] == 0
    Ls = saturation.shape[0]
    f = np.zeros((cs, 2, dmax + 1))
    g = np.zeros((cs, 2, dmax + 1))
    hl = np.zeros((2, dmax + 1))
    f[0, 0, 0] = 1.0
    top = 0
    for e in range(row_ptr[row], row_ptr[row + 1]):
        r = row_unit[e]
        if whole:
            w = row_weight[e]
        else:
            if excl[r]:
                continue
            w = w_of[r]
        isown = r == ownr
        for c in range(cs):
            for z in range(2):
                for x in range(top + w + 1):
                    g[c, z, x] = 0.0
        for l in range(Ls):
            st = _count_step(l, Ls, R, levels_independent)
            wl = level_share[l] if levels_independent else 1.0
            _cluster_given_level(w, isown, cluster_size[r], within_low[l, r], within_frac[l, r], saturation[l],
                                 within_bernoulli, hl)
            for c in range(cs - st):
                for z in range(2):
                    for x in range(top + 1):
                        v = f[c, z, x]
                        if v == 0.0:
                            continue
                        v *= wl
                        for z2 in range(2 if isown else 1):
                            zz = z2 if isown else z
                            for k in range(w + 1):
                                h = hl[z2, k]
                                if h != 0.0:
                                    g[c + st, zz, x + k] += v * h
        f, g = g, f
        top += w
    return f


@njit(cache=True)
def _shared_cluster_given_level(i_in, j_in, e1, e2, a, b, c, n_c, lo, fr, s, within_bernoulli, out):
    """out[zi, zj, x, y] for one cluster touching both units, given its level.

    Parts: i and j (when in the cluster), ``a`` neighbours of i only, ``b`` of j only, ``c`` of both,
    and the rest; x (y) counts the treated neighbours of i (j) in the cluster, j (i) included when
    ``e1`` (``e2``). Independent Bernoulli(s) within, or a uniform subset of lo or lo + 1 units.
    """
    out[:] = 0.0
    zi_n = 2 if i_in else 1
    zj_n = 2 if j_in else 1
    rest = n_c - (1 if i_in else 0) - (1 if j_in else 0) - a - b - c
    for q in range(1 if within_bernoulli else 2):
        T = lo + q
        wq = 1.0 if within_bernoulli else (fr if q == 1 else 1.0 - fr)
        if wq == 0.0:
            continue
        lden = 0.0 if within_bernoulli else log_binom(n_c, T)
        for zi in range(zi_n):
            for zj in range(zj_n):
                for aa in range(a + 1):
                    la = log_binom(a, aa)
                    for bb in range(b + 1):
                        lb = la + log_binom(b, bb)
                        for cc in range(c + 1):
                            k = zi + zj + aa + bb + cc
                            if within_bernoulli:
                                tot = (1 if i_in else 0) + (1 if j_in else 0) + a + b + c
                                v = (s ** k) * ((1.0 - s) ** (tot - k))
                                if v == 0.0:
                                    continue
                                v *= math.exp(lb + log_binom(c, cc))
                            else:
                                lv = lb + log_binom(c, cc) + log_binom(rest, T - k) - lden
                                if lv == -np.inf:
                                    continue
                                v = wq * math.exp(lv)
                            x = aa + cc + (zj if e1 else 0)
                            y = bb + cc + (zi if e2 else 0)
                            out[zi, zj, x, y] += v


@njit(cache=True)
def _saturation_pair_joint(i, j, row_ptr, row_unit, own_unit, khop_ptr, khop_idx, cluster_of, umark, cc, ini, wi_of,
                           inj, wj_of, cluster_size, within_low, within_frac, saturation, level_share,
                           within_bernoulli, levels_independent, count_support, count_weight, log_fact, n_clusters,
                           n_nbrs, level_offset, level_table, n_levels, J):
    """J[k, l] = P(level_i = k, level_j = l) under randomized saturation (a pair sharing a cluster).

    The caller marks i's clusters (``ini``, ``wi_of``), j's clusters (``inj``, ``wj_of``) and i's k-hop
    neighbours (``umark[u] == i``); ``cc`` is zero on entry and left zero. The clusters touching only i
    (A), only j (B) and both (S) are three independent parts given their levels: side programmes over
    A and B, a joint programme over S with the unit-level overlap of the neighbourhoods inside each
    shared cluster, then a sum over the three count vectors weighted by G of their sum.
    """
    Ls = saturation.shape[0]
    oi = own_unit[i]
    oj = own_unit[j]
    e1 = umark[j] == i
    e2 = False
    for t in range(khop_ptr[j], khop_ptr[j + 1]):
        u = khop_idx[t]
        if u == i:
            e2 = True
        elif umark[u] == i:
            cc[cluster_of[u]] += 1
    mA, mB, mS, dA, dB, xs, ys = split_pair_parts(row_ptr, row_unit, i, j, ini, inj, wi_of, wj_of)
    m = mA + mB + mS
    R, cs = _count_radix(Ls, levels_independent, m)
    fA = _saturation_side_programme(row_ptr, row_unit, wi_of, i, inj, wi_of, oi, cluster_size, within_low,
                                    within_frac, saturation, level_share, within_bernoulli, levels_independent, R,
                                    cs, dA)
    fB = _saturation_side_programme(row_ptr, row_unit, wj_of, j, ini, wj_of, oj, cluster_size, within_low,
                                    within_frac, saturation, level_share, within_bernoulli, levels_independent, R,
                                    cs, dB)
    # shared clusters: state (code, zi, zj, x, y)
    gS = np.zeros((cs, 2, 2, xs + 1, ys + 1))
    hS = np.zeros((cs, 2, 2, xs + 1, ys + 1))
    gS[0, 0, 0, 0, 0] = 1.0
    tx = 0
    ty = 0
    for e in range(row_ptr[i], row_ptr[i + 1]):
        r = row_unit[e]
        if not inj[r]:
            continue
        wi = wi_of[r]
        wj = wj_of[r]
        i_in = r == oi
        j_in = r == oj
        c = cc[r]
        a = wi - c - (1 if (e1 and j_in) else 0)
        b = wj - c - (1 if (e2 and i_in) else 0)
        ho = np.zeros((2, 2, wi + 1, wj + 1))
        hS[:] = 0.0
        for l in range(Ls):
            st = _count_step(l, Ls, R, levels_independent)
            wl = level_share[l] if levels_independent else 1.0
            _shared_cluster_given_level(i_in, j_in, e1, e2, a, b, c, cluster_size[r], within_low[l, r],
                                        within_frac[l, r], saturation[l], within_bernoulli, ho)
            for cd in range(cs - st):
                for za in range(2):
                    for zb in range(2):
                        for x in range(tx + 1):
                            for y in range(ty + 1):
                                v = gS[cd, za, zb, x, y]
                                if v == 0.0:
                                    continue
                                v *= wl
                                for z1 in range(2 if i_in else 1):
                                    a2 = z1 if i_in else za
                                    for z2 in range(2 if j_in else 1):
                                        b2 = z2 if j_in else zb
                                        for xx in range(wi + 1):
                                            for yy in range(wj + 1):
                                                h = ho[z1, z2, xx, yy]
                                                if h != 0.0:
                                                    hS[cd + st, a2, b2, x + xx, y + yy] += v * h
        gS, hS = hS, gS
        tx += wi
        ty += wj
    for t in range(khop_ptr[j], khop_ptr[j + 1]):
        cc[cluster_of[khop_idx[t]]] = 0
    di = n_nbrs[i]
    dj = n_nbrs[j]
    RA = np.zeros((cs, 2, xs + 1, n_levels))
    for cd in range(cs):
        for za in range(2):
            for xa in range(dA + 1):
                v = fA[cd, za, xa]
                if v == 0.0:
                    continue
                for zs in range(2):
                    z = 1 if (za == 1 or zs == 1) else 0
                    for x in range(xs + 1):
                        RA[cd, zs, x, level_table[level_offset[di] + z * (di + 1) + x + xa]] += v
    RB = np.zeros((cs, 2, ys + 1, n_levels))
    for cd in range(cs):
        for zb in range(2):
            for yb in range(dB + 1):
                v = fB[cd, zb, yb]
                if v == 0.0:
                    continue
                for zs in range(2):
                    z = 1 if (zb == 1 or zs == 1) else 0
                    for y in range(ys + 1):
                        RB[cd, zs, y, level_table[level_offset[dj] + z * (dj + 1) + y + yb]] += v
    G = _level_vector_probs(m, R, cs, Ls, levels_independent, count_support, count_weight, log_fact, n_clusters)
    # H[c, b, y, l] = sum_cB G(c + cB) RB[cB, b, y, l]
    H = np.zeros((cs, 2, ys + 1, n_levels))
    for cB in range(cs):
        for zb in range(2):
            for y in range(ys + 1):
                for ll in range(n_levels):
                    v = RB[cB, zb, y, ll]
                    if v == 0.0:
                        continue
                    for c0 in range(cs - cB):
                        gg = G[c0 + cB]
                        if gg != 0.0:
                            H[c0, zb, y, ll] += gg * v
    for k in range(n_levels):
        for ll in range(n_levels):
            J[k, ll] = 0.0
    for cS in range(cs):
        for za in range(2):
            for zb in range(2):
                for x in range(xs + 1):
                    for y in range(ys + 1):
                        g = gS[cS, za, zb, x, y]
                        if g == 0.0:
                            continue
                        for cA in range(cs - cS):
                            for k in range(n_levels):
                                ra = RA[cA, za, x, k]
                                if ra == 0.0:
                                    continue
                                ra *= g
                                for ll in range(n_levels):
                                    J[k, ll] += ra * H[cA + cS, zb, y, ll]


@njit(parallel=True, cache=True)
def saturation_marginals(row_ptr, row_unit, row_weight, own_unit, cluster_size, within_low, within_frac, saturation,
                         level_share, within_bernoulli, levels_independent, count_support, count_weight, log_fact,
                         n_clusters, n_nbrs, level_offset, level_table, n_levels, out):
    """Exact marginals P(level) per unit under randomized saturation (stage 1 independent or complete)."""
    n = row_ptr.shape[0] - 1
    Ls = saturation.shape[0]
    for i in prange(n):
        m = row_ptr[i + 1] - row_ptr[i]
        R, cs = _count_radix(Ls, levels_independent, m)
        f = _saturation_side_programme(row_ptr, row_unit, row_weight, i, np.zeros(0, dtype=np.bool_), row_weight,
                                       own_unit[i], cluster_size, within_low, within_frac, saturation, level_share,
                                       within_bernoulli, levels_independent, R, cs, n_nbrs[i])
        G = _level_vector_probs(m, R, cs, Ls, levels_independent, count_support, count_weight, log_fact, n_clusters)
        di = n_nbrs[i]
        base = level_offset[di]
        for c in range(cs):
            if G[c] == 0.0:
                continue
            for z in range(2):
                for x in range(di + 1):
                    v = f[c, z, x]
                    if v != 0.0:
                        out[i, level_table[base + z * (di + 1) + x]] += G[c] * v


@njit(cache=True)
def _mark_row_weights(row_ptr, row_unit, row_weight, i, flag, w_of, on):
    """Set ``flag[r] = on`` and ``w_of[r] = row_weight`` for the clusters r of row i (scatter a row)."""
    for e in range(row_ptr[i], row_ptr[i + 1]):
        flag[row_unit[e]] = on
        w_of[row_unit[e]] = row_weight[e] if on else 0


@njit(parallel=True, cache=True)
def saturation_near_pair_sums(row_ptr, row_unit, row_weight, own_unit, unit_row_ptr, unit_rows, khop_ptr, khop_idx,
                              cluster_of, cluster_size, within_low, within_frac, saturation, level_share,
                              within_bernoulli, levels_independent, count_support, count_weight, log_fact,
                              n_clusters, n_nbrs, level_offset, level_table, n_levels, unit_type, type_joint,
                              type_marginal, marginal, level_codes, in_sum, weights, mode, n_chunks, sums,
                              zero_count, dense_joint, level_a, level_b):
    """Pair sums under randomized saturation, streamed in parallel over ordered near pairs (i, j), i != j.

    Near pairs touch a common cluster; their joint is :func:`_saturation_pair_joint`. Independent levels
    (``levels_independent``): far pairs are independent and contribute nothing; dependent levels: the
    caller summed every pair by the type formula ``type_joint`` and each near pair adds (exact term) -
    (type term), as in :func:`complete_near_pair_sums`. ``AS_PAIR_SUMS`` (``weights`` (n, M), both units
    in ``in_sum``): ``sums[m, a_i, a_j]`` and the zero-joint counts ``zero_count[i, l]`` (independent
    levels: partners with ``marginal[j, l] > 0`` and a zero joint); ``COV_PAIR_SUMS`` (``weights``
    (n, n_levels)): ``sums[0, k, l]``; ``JOINT_AT_LEVELS``: ``dense_joint[i, j] = P(level_i = level_a,
    level_j = level_b)``.
    """
    n = row_ptr.shape[0] - 1
    nR = cluster_size.shape[0]
    M = sums.shape[0]
    Sc = np.zeros((n_chunks, M, n_levels, n_levels))
    for ch in prange(n_chunks):
        lo = ch * n // n_chunks
        hi = (ch + 1) * n // n_chunks
        ini = np.zeros(nR, dtype=np.bool_)
        inj = np.zeros(nR, dtype=np.bool_)
        wi_of = np.zeros(nR, dtype=np.int64)
        wj_of = np.zeros(nR, dtype=np.int64)
        cc = np.zeros(nR, dtype=np.int64)
        umark = np.full(n, -1, dtype=np.int64)
        stamp = np.full(n, -1, dtype=np.int64)
        J = np.zeros((n_levels, n_levels))
        Sl = np.zeros((M, n_levels, n_levels))
        for i in range(lo, hi):
            if mode != JOINT_AT_LEVELS and not in_sum[i]:
                continue
            _mark_row_weights(row_ptr, row_unit, row_weight, i, ini, wi_of, True)
            for t in range(khop_ptr[i], khop_ptr[i + 1]):
                umark[khop_idx[t]] = i
            a = level_codes[i]
            for e in range(row_ptr[i], row_ptr[i + 1]):
                r = row_unit[e]
                for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                    j = unit_rows[t]
                    if j == i or stamp[j] == i:
                        continue
                    stamp[j] = i
                    if mode != JOINT_AT_LEVELS and not in_sum[j]:
                        continue
                    _mark_row_weights(row_ptr, row_unit, row_weight, j, inj, wj_of, True)
                    _saturation_pair_joint(i, j, row_ptr, row_unit, own_unit, khop_ptr, khop_idx, cluster_of, umark,
                                           cc, ini, wi_of, inj, wj_of, cluster_size, within_low, within_frac,
                                           saturation, level_share, within_bernoulli, levels_independent,
                                           count_support, count_weight, log_fact, n_clusters, n_nbrs, level_offset,
                                           level_table, n_levels, J)
                    _mark_row_weights(row_ptr, row_unit, row_weight, j, inj, wj_of, False)
                    if mode == JOINT_AT_LEVELS:
                        dense_joint[i, j] = J[level_a, level_b]
                        continue
                    ti = unit_type[i]
                    tj = unit_type[j]
                    if mode == AS_PAIR_SUMS:
                        b = level_codes[j]
                        v = J[a, b]
                        w = 0.0
                        if v > 0.0:
                            w += (v - marginal[i, a] * marginal[j, b]) / v
                        if not levels_independent:
                            fv = type_joint[ti, tj, a, b]
                            if fv > 0.0:
                                w -= (fv - type_marginal[ti, a] * type_marginal[tj, b]) / fv
                        if w != 0.0:
                            for m in range(M):
                                Sl[m, a, b] += w * weights[i, m] * weights[j, m]
                        for l in range(n_levels):
                            if levels_independent:
                                if marginal[j, l] > 0.0 and J[a, l] == 0.0:
                                    zero_count[i, l] += 1
                            else:
                                zero_count[i, l] += ((1 if J[a, l] == 0.0 else 0)
                                                     - (1 if type_joint[ti, tj, a, l] == 0.0 else 0))
                    else:
                        for k in range(n_levels):
                            uk = weights[i, k]
                            if uk == 0.0:
                                continue
                            for l in range(n_levels):
                                cv = J[k, l] - marginal[i, k] * marginal[j, l]
                                if not levels_independent:
                                    cv -= type_joint[ti, tj, k, l] - type_marginal[ti, k] * type_marginal[tj, l]
                                Sl[0, k, l] += cv * uk * weights[j, l]
            _mark_row_weights(row_ptr, row_unit, row_weight, i, ini, wi_of, False)
        Sc[ch] = Sl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(n_levels):
                for l in range(n_levels):
                    sums[m, k, l] += Sc[ch, m, k, l]


@njit(cache=True)
def saturation_joint_entries(row_ptr, row_unit, row_weight, own_unit, unit_row_ptr, unit_rows, khop_ptr, khop_idx,
                             cluster_of, cluster_size, within_low, within_frac, saturation, level_share,
                             within_bernoulli, levels_independent, count_support, count_weight, log_fact, n_clusters,
                             n_nbrs, level_offset, level_table, n_levels, level_a, level_b, count_only, rows, cols,
                             vals):
    """Every near ordered pair (i != j) and ``P(level_i = level_a, level_j = level_b)``; the first call counts."""
    n = row_ptr.shape[0] - 1
    nR = cluster_size.shape[0]
    ini = np.zeros(nR, dtype=np.bool_)
    inj = np.zeros(nR, dtype=np.bool_)
    wi_of = np.zeros(nR, dtype=np.int64)
    wj_of = np.zeros(nR, dtype=np.int64)
    cc = np.zeros(nR, dtype=np.int64)
    umark = np.full(n, -1, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)
    J = np.zeros((n_levels, n_levels))
    q = 0
    for i in range(n):
        _mark_row_weights(row_ptr, row_unit, row_weight, i, ini, wi_of, True)
        for t in range(khop_ptr[i], khop_ptr[i + 1]):
            umark[khop_idx[t]] = i
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_unit[e]
            for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                j = unit_rows[t]
                if j == i or stamp[j] == i:
                    continue
                stamp[j] = i
                if not count_only:
                    _mark_row_weights(row_ptr, row_unit, row_weight, j, inj, wj_of, True)
                    _saturation_pair_joint(i, j, row_ptr, row_unit, own_unit, khop_ptr, khop_idx, cluster_of, umark,
                                           cc, ini, wi_of, inj, wj_of, cluster_size, within_low, within_frac,
                                           saturation, level_share, within_bernoulli, levels_independent,
                                           count_support, count_weight, log_fact, n_clusters, n_nbrs, level_offset,
                                           level_table, n_levels, J)
                    _mark_row_weights(row_ptr, row_unit, row_weight, j, inj, wj_of, False)
                    rows[q] = i
                    cols[q] = j
                    vals[q] = J[level_a, level_b]
                q += 1
        _mark_row_weights(row_ptr, row_unit, row_weight, i, ini, wi_of, False)
    return q


@njit(cache=True)
def saturation_profile_hash(row_ptr, row_unit, row_weight, own_unit, cluster_size):
    """64-bit hash of each row's cluster profile: (own cluster's size and weight, sorted (size, weight) of
    the others). Under randomized saturation it determines the unit's level given the count vector."""
    n = row_ptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    buf = np.empty(max(1, row_unit.shape[0]), dtype=np.int64)
    for i in range(n):
        k = 0
        ow = -1
        osz = -1
        for e in range(row_ptr[i], row_ptr[i + 1]):
            if row_unit[e] == own_unit[i]:
                ow = row_weight[e]
                osz = cluster_size[row_unit[e]]
            else:
                buf[k] = cluster_size[row_unit[e]] * 1000003 + row_weight[e]
                k += 1
        s = np.sort(buf[:k])
        h = np.uint64(1469598103934665603)
        for v in (k, ow, osz):
            h = (h ^ np.uint64(v + 7)) * np.uint64(1099511628211)
        for q in range(k):
            h = (h ^ np.uint64(s[q] + 7)) * np.uint64(1099511628211)
            h ^= h >> np.uint64(29)
        out[i] = np.int64(h)
    return out


@njit(parallel=True, cache=True)
def saturation_type_levels(row_ptr, row_unit, row_weight, own_unit, cluster_size, within_low, within_frac,
                           saturation, within_bernoulli, n_nbrs, representatives, max_count_codes, level_offset,
                           level_table, n_levels):
    """``type_levels[type, code, l]``: P(level l | the type's clusters got one given level vector
    with counts ``code``) for dependent (stage 1 complete) levels, in radix m_t + 1 (see
    :func:`_saturation_side_programme`)."""
    T = representatives.shape[0]
    Ls = saturation.shape[0]
    Qt = np.zeros((T, max_count_codes, n_levels))
    shares = np.ones(Ls)
    for q in prange(T):
        i = representatives[q]
        m = row_ptr[i + 1] - row_ptr[i]
        R, cs = _count_radix(Ls, False, m)
        f = _saturation_side_programme(row_ptr, row_unit, row_weight, i, np.zeros(0, dtype=np.bool_), row_weight,
                                       own_unit[i], cluster_size, within_low, within_frac, saturation, shares,
                                       within_bernoulli, False, R, cs, n_nbrs[i])
        di = n_nbrs[i]
        base = level_offset[di]
        for c in range(cs):
            for z in range(2):
                for x in range(di + 1):
                    v = f[c, z, x]
                    if v != 0.0:
                        Qt[q, c, level_table[base + z * (di + 1) + x]] += v
    return Qt


@njit(parallel=True, cache=True)
def saturation_type_pair_tables(type_levels, type_size, count_support, count_weight, log_fact, n_clusters,
                                type_joint, type_marginal):
    """Far-pair joints ``type_joint[a, b, k, l]`` between types and type marginals
    ``type_marginal[a, k]`` (stage 1 complete).

    ``type_joint[a, b] = sum_{n, n'} G(m_a + m_b, n + n') type_levels[a, n] type_levels[b, n']^T`` over the
    count vectors of the two (disjoint) cluster sets; ``type_marginal[a] = sum_n G(m_a, n) type_levels[a, n]``.
    """
    T = type_levels.shape[0]
    L = type_levels.shape[2]
    Ls = count_support.shape[1]
    for a in prange(T):
        ma = type_size[a]
        Ra, csa = _count_radix(Ls, False, ma)
        nv = np.zeros(Ls, dtype=np.int64)
        va = np.zeros(Ls, dtype=np.int64)
        G = _level_vector_probs(ma, Ra, csa, Ls, False, count_support, count_weight, log_fact, n_clusters)
        for k in range(L):
            type_marginal[a, k] = 0.0
        for c in range(csa):
            if G[c] != 0.0:
                for k in range(L):
                    type_marginal[a, k] += G[c] * type_levels[a, c, k]
        v = np.zeros(L)
        for b in range(T):
            mb = type_size[b]
            Rb, csb = _count_radix(Ls, False, mb)
            for k in range(L):
                for l in range(L):
                    type_joint[a, b, k, l] = 0.0
            for ca in range(csa):
                x = ca
                rest = ma
                for l in range(Ls - 1):
                    va[l] = x % Ra
                    x //= Ra
                    rest -= va[l]
                if rest < 0:
                    continue
                va[Ls - 1] = rest
                nz = False
                for k in range(L):
                    if type_levels[a, ca, k] != 0.0:
                        nz = True
                if not nz:
                    continue
                for l in range(L):
                    v[l] = 0.0
                for cb in range(csb):
                    x = cb
                    rest = mb
                    for l in range(Ls - 1):
                        nv[l] = x % Rb + va[l]
                        rest -= x % Rb
                        x //= Rb
                    if rest < 0:
                        continue
                    nv[Ls - 1] = rest + va[Ls - 1]
                    g = _level_vector_prob(nv, ma + mb, count_support, count_weight, log_fact, n_clusters)
                    if g == 0.0:
                        continue
                    for l in range(L):
                        v[l] += g * type_levels[b, cb, l]
                for k in range(L):
                    qa = type_levels[a, ca, k]
                    if qa == 0.0:
                        continue
                    for l in range(L):
                        type_joint[a, b, k, l] += qa * v[l]
