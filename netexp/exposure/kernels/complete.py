r"""Complete randomization (K of ``n_rand`` randomization units treated): units, and the type machinery
shared with Complete over clusters (:mod:`.cluster_complete`).

K is mixed over ``n_treated`` with weights ``n_treated_weight`` (the odd-unit rule). Every pair is
dependent. With :math:`m_i` the randomization units touching unit i's closed neighbourhood and
:math:`T_i` the treated among them, the treated set given :math:`T_i = t` is a uniform t-subset, so
the level of i depends on the draw only through :math:`Q_i[t, l] = P(\text{level } l \mid T_i = t)`,
the *type* of unit i (``type_levels``). Two units whose neighbourhoods share no randomization unit
("far" pairs) have the joint

.. math:: \sum_{t, u} Q_i[t, k] Q_j[u, l] \binom{m_i}{t} \binom{m_j}{u}
          \binom{n_R - m_i - m_j}{K - t - u} / \binom{n_R}{K},

a function of the two types only (:func:`type_pair_tables`); near pairs (sharing a unit) are corrected
one by one (:func:`complete_near_pair_sums`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .cluster_complete import _cluster_complete_pair_joint
from .common import log_binom, log_binom_lf
from .modes import AS_PAIR_SUMS, JOINT_AT_LEVELS


@njit(cache=True)
def unit_complete_marginals(n_nbrs, n_units, n_treated, n_treated_weight, level_offset, level_table, n_levels, out):
    """Unit-level complete randomization: P(z, c) = C(d, c) C(n-1-d, K-z-c) / C(n, K), mixed over K."""
    n = n_nbrs.shape[0]
    for i in range(n):
        di = n_nbrs[i]
        base = level_offset[di]
        for q in range(n_treated.shape[0]):
            K = n_treated[q]
            wq = n_treated_weight[q]
            if wq == 0.0:
                continue
            lden = log_binom(n_units, K)
            for z in range(2):
                for c in range(di + 1):
                    lv = log_binom(di, c) + log_binom(n_units - 1 - di, K - z - c) - lden
                    if lv > -np.inf:
                        out[i, level_table[base + z * (di + 1) + c]] += wq * math.exp(lv)


@njit(cache=True)
def unit_type_levels(nbr_sizes, max_touching, level_offset, level_table, n_levels):
    """``type_levels[type, t, l] = P(level l | t of the m = d + 1 units of the closed
    neighbourhood treated)`` for unit-level Complete designs: the own unit is treated with probability t / m."""
    T = nbr_sizes.shape[0]
    Qt = np.zeros((T, max_touching + 1, n_levels))
    for q in range(T):
        di = nbr_sizes[q]
        m = di + 1
        base = level_offset[di]
        for t in range(m + 1):
            if t <= di:
                Qt[q, t, level_table[base + t]] += (m - t) / m
            if t >= 1:
                Qt[q, t, level_table[base + (di + 1) + t - 1]] += t / m
    return Qt


@njit(parallel=True, cache=True)
def type_pair_tables(type_levels, type_size, n_rand, n_treated, n_treated_weight, log_fact, type_joint,
                     type_marginal):
    """Far-pair joints ``type_joint[a, b, k, l]`` between types and type marginals ``type_marginal[a, k]``."""
    T = type_levels.shape[0]
    L = type_levels.shape[2]
    for a in prange(T):
        ma = type_size[a]
        for k in range(L):
            type_marginal[a, k] = 0.0
        for q in range(n_treated.shape[0]):
            if n_treated_weight[q] == 0.0:
                continue
            K = n_treated[q]
            lden = log_binom_lf(log_fact, n_rand, K)
            for t in range(ma + 1):
                h = log_binom_lf(log_fact, ma, t) + log_binom_lf(log_fact, n_rand - ma, K - t) - lden
                if h > -np.inf:
                    h = n_treated_weight[q] * math.exp(h)
                    for k in range(L):
                        type_marginal[a, k] += h * type_levels[a, t, k]
        G = np.zeros((ma + 1, L))
        for b in range(T):
            mb = type_size[b]
            for k in range(L):
                for l in range(L):
                    type_joint[a, b, k, l] = 0.0
            for q in range(n_treated.shape[0]):
                if n_treated_weight[q] == 0.0:
                    continue
                K = n_treated[q]
                lden = log_binom_lf(log_fact, n_rand, K)
                for t in range(ma + 1):
                    for l in range(L):
                        G[t, l] = 0.0
                    lt = log_binom_lf(log_fact, ma, t)
                    for u in range(mb + 1):
                        h = lt + log_binom_lf(log_fact, mb, u) + log_binom_lf(log_fact, n_rand - ma - mb,
                                                                              K - t - u) - lden
                        if h == -np.inf:
                            continue
                        h = n_treated_weight[q] * math.exp(h)
                        for l in range(L):
                            G[t, l] += h * type_levels[b, u, l]
                for t in range(ma + 1):
                    for k in range(L):
                        v = type_levels[a, t, k]
                        if v == 0.0:
                            continue
                        for l in range(L):
                            type_joint[a, b, k, l] += v * G[t, l]


@njit(cache=True)
def _hyp_range(cdf_table, sf_table, row, width, b0, b1):
    """P(b0 <= B <= b1) from the cumulative tables (row ``row``, support 0..width-1)."""
    o = row * width
    if b0 == 0:
        return cdf_table[o + b1]
    if b1 == width - 1:
        return sf_table[o + b0]
    if cdf_table[o + b0 - 1] < 0.5:
        return cdf_table[o + b1] - cdf_table[o + b0 - 1]
    return sf_table[o + b0] - sf_table[o + b1 + 1]


@njit(cache=True)
def _unit_complete_pair_joint(di, dj, e1, e2, c, n_units, n_treated, n_treated_weight, log_fact, level_offset,
                              level_table, run_end, n_levels, J):
    """Unit-level Complete: J[k, l] = P(level_i = k, level_j = l) for a pair (d_i, d_j, e1, e2, c).

    Multivariate hypergeometric over {i}, {j}, A = N_i - N_j - {j} (alpha), B = N_j - N_i - {i}
    (beta), S = N_i & N_j (c) and the rest; for each (z_i, z_j, s, a) the count b in B given the
    r = K - z_i - z_j - s - a treated left for B and the rest is hypergeometric, summed over runs of
    equal level of j with tabulated tails.
    """
    alpha = di - c - e1
    beta = dj - c - e2
    R = n_units - 2 - alpha - beta - c
    for k in range(n_levels):
        for l in range(n_levels):
            J[k, l] = 0.0
    width = beta + 1
    for q in range(n_treated.shape[0]):
        wq = n_treated_weight[q]
        if wq == 0.0:
            continue
        K = n_treated[q]
        lden = log_binom_lf(log_fact, n_units, K)
        rlo = max(0, K - 2 - c - alpha)
        rhi = min(K, beta + R)
        if rhi < rlo:
            continue
        nr = rhi - rlo + 1
        cdf = np.empty(nr * width)
        sf = np.empty(nr * width)
        for rr in range(nr):
            r = rlo + rr
            lr = log_binom_lf(log_fact, beta + R, r)
            o = rr * width
            acc = 0.0
            for b in range(width):
                lv = log_binom_lf(log_fact, beta, b) + log_binom_lf(log_fact, R, r - b) - lr
                v = math.exp(lv) if lv > -np.inf else 0.0
                sf[o + b] = v  # pmf for now
                acc += v
                cdf[o + b] = acc
            acc = 0.0
            for b in range(width - 1, -1, -1):
                acc += sf[o + b]
                sf[o + b] = acc
        for zi in range(2):
            for zj in range(2):
                for s in range(c + 1):
                    ls = log_binom_lf(log_fact, c, s)
                    for a in range(alpha + 1):
                        r = K - zi - zj - s - a
                        if r < 0:
                            break
                        if r > rhi:
                            continue
                        lw = ls + log_binom_lf(log_fact, alpha, a) + log_binom_lf(log_fact, beta + R, r) - lden
                        if lw == -np.inf:
                            continue
                        w = wq * math.exp(lw)
                        ki = level_table[level_offset[di] + zi * (di + 1) + a + s + e1 * zj]
                        start = level_offset[dj] + zj * (dj + 1) + s + e2 * zi
                        pos = start
                        while pos <= start + beta:
                            end = min(run_end[pos], start + beta)
                            J[ki, level_table[pos]] += w * _hyp_range(cdf, sf, r - rlo, width, pos - start,
                                                                      end - start)
                            pos = end + 1


@njit(parallel=True, cache=True)
def complete_near_pair_sums(row_ptr, row_unit, row_weight, own_unit, unit_row_ptr, unit_rows, n_rand, n_treated,
                            n_treated_weight, log_fact, n_nbrs, level_offset, level_table, run_end, n_levels,
                            unit_type, type_joint, type_marginal, marginal, level_codes, in_sum, weights, mode,
                            unit_level, n_chunks, sums, zero_count, dense_joint, level_a, level_b, row_lo, row_hi):
    """Near-pair corrections under Complete designs, streamed over ordered pairs (i, j), i != j.

    Near pairs share a randomization unit. The caller applied the far-pair (type) formula ``type_joint``
    to every pair, so each near pair adds (exact term) - (type term), its exact joint by
    :func:`_unit_complete_pair_joint` (``unit_level``) or :func:`._cluster_complete_pair_joint`.
    ``AS_PAIR_SUMS`` (``weights`` (n, M), both units in ``in_sum``): ``sums[m, a_i, a_j]`` and the
    zero-joint counts ``zero_count[i, l]``; ``COV_PAIR_SUMS`` (``weights`` (n, n_levels)):
    ``sums[0, k, l]``; ``JOINT_AT_LEVELS``: ``dense_joint[i, j] = P(level_i = level_a, level_j = level_b)``.
    Rows ``row_lo:row_hi`` only (the caller splits long jobs into blocks).
    """
    n = row_ptr.shape[0] - 1
    M = sums.shape[0]
    Sc = np.zeros((n_chunks, M, n_levels, n_levels))
    for ch in prange(n_chunks):  # rows row_lo..row_hi - 1 (the caller may split the work for a progress bar)
        lo = row_lo + ch * (row_hi - row_lo) // n_chunks
        hi = row_lo + (ch + 1) * (row_hi - row_lo) // n_chunks
        ini = np.zeros(n_rand, dtype=np.bool_)
        inj = np.zeros(n_rand, dtype=np.bool_)
        wi_of = np.zeros(n_rand, dtype=np.int64)
        wj_of = np.zeros(n_rand, dtype=np.int64)
        stamp = np.full(n, -1, dtype=np.int64)
        J = np.zeros((n_levels, n_levels))
        Sl = np.zeros((M, n_levels, n_levels))
        for i in range(lo, hi):
            if mode != JOINT_AT_LEVELS and not in_sum[i]:
                continue
            for e in range(row_ptr[i], row_ptr[i + 1]):
                ini[row_unit[e]] = True
                wi_of[row_unit[e]] = row_weight[e]
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
                    if unit_level:
                        e1 = 1 if ini[j] else 0
                        e2 = 0
                        c = 0
                        for f in range(row_ptr[j], row_ptr[j + 1]):
                            rr = row_unit[f]
                            if rr == i:
                                e2 = 1
                            elif rr != j and ini[rr]:
                                c += 1
                        _unit_complete_pair_joint(n_nbrs[i], n_nbrs[j], e1, e2, c, n_rand, n_treated,
                                                  n_treated_weight, log_fact, level_offset, level_table, run_end,
                                                  n_levels, J)
                    else:
                        for f in range(row_ptr[j], row_ptr[j + 1]):
                            inj[row_unit[f]] = True
                            wj_of[row_unit[f]] = row_weight[f]
                        _cluster_complete_pair_joint(i, j, row_ptr, row_unit, own_unit, ini, wi_of, inj, wj_of,
                                                     n_nbrs, n_rand, n_treated, n_treated_weight, log_fact,
                                                     level_offset, level_table, n_levels, J)
                        for f in range(row_ptr[j], row_ptr[j + 1]):
                            inj[row_unit[f]] = False
                            wj_of[row_unit[f]] = 0
                    ti = unit_type[i]
                    tj = unit_type[j]
                    if mode == JOINT_AT_LEVELS:
                        dense_joint[i, j] = J[level_a, level_b]
                    elif mode == AS_PAIR_SUMS:
                        b = level_codes[j]
                        v = J[a, b]
                        fv = type_joint[ti, tj, a, b]
                        w = 0.0
                        if v > 0.0:
                            w += (v - marginal[i, a] * marginal[j, b]) / v
                        if fv > 0.0:
                            w -= (fv - type_marginal[ti, a] * type_marginal[tj, b]) / fv
                        if w != 0.0:
                            for m in range(M):
                                Sl[m, a, b] += w * weights[i, m] * weights[j, m]
                        for l in range(n_levels):
                            zero_count[i, l] += ((1 if J[a, l] == 0.0 else 0)
                                                 - (1 if type_joint[ti, tj, a, l] == 0.0 else 0))
                    else:
                        for k in range(n_levels):
                            uk = weights[i, k]
                            if uk == 0.0:
                                continue
                            for l in range(n_levels):
                                cv = ((J[k, l] - marginal[i, k] * marginal[j, l])
                                      - (type_joint[ti, tj, k, l] - type_marginal[ti, k] * type_marginal[tj, l]))
                                Sl[0, k, l] += cv * uk * weights[j, l]
            for e in range(row_ptr[i], row_ptr[i + 1]):
                ini[row_unit[e]] = False
                wi_of[row_unit[e]] = 0
        Sc[ch] = Sl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(n_levels):
                for l in range(n_levels):
                    sums[m, k, l] += Sc[ch, m, k, l]
