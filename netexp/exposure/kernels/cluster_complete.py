r"""Complete randomization of clusters: marginals, types and near-pair joints over clusters.

:math:`C_i = \sum_r w_{ir} Z_r` over the clusters r touching unit i's neighbourhood, with the treated
clusters a uniform K-subset. Given t treated among the :math:`m_i` touching clusters, a programme over
the clusters (:func:`_side_programme`) gives the type :math:`Q_i[t, \cdot]`; the far-pair formula and
the near-pair loop are shared with unit-level Complete in :mod:`.complete`. With a threshold mapping
the faster profile route of ``exposure/_cluster_profiles.py`` is used instead.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .common import log_binom, log_binom_lf, split_pair_parts


@njit(cache=True)
def cluster_complete_marginals(row_ptr, row_unit, row_weight, own_unit, n_rand, n_nbrs, n_treated, n_treated_weight,
                               level_offset, level_table, n_levels, out):
    """Complete randomization over randomization units: DP over (treated among touched, z, c)."""
    n = row_ptr.shape[0] - 1
    for i in range(n):
        di = n_nbrs[i]
        m = row_ptr[i + 1] - row_ptr[i]
        f = np.zeros((m + 1, 2, di + 1))
        f[0, 0, 0] = 1.0
        t_top = 0
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_unit[e]
            w = row_weight[e]
            g = f.copy()
            isown = r == own_unit[i]
            for t in range(t_top + 1):
                for z in range(2):
                    for c in range(di + 1 - w):
                        v = f[t, z, c]
                        if v == 0.0:
                            continue
                        z2 = 1 if isown else z
                        g[t + 1, z2, c + w] += v
            f = g
            t_top += 1
        base = level_offset[di]
        for q in range(n_treated.shape[0]):
            K = n_treated[q]
            if n_treated_weight[q] == 0.0:
                continue
            lden = log_binom(n_rand, K)
            for t in range(m + 1):
                lw = log_binom(n_rand - m, K - t) - lden
                if lw == -np.inf:
                    continue
                wgt = n_treated_weight[q] * math.exp(lw)
                for z in range(2):
                    for c in range(di + 1):
                        v = f[t, z, c]
                        if v != 0.0:
                            out[i, level_table[base + z * (di + 1) + c]] += wgt * v


@njit(cache=True)
def _side_programme(row_ptr, row_unit, row, excl, w_of, ownr, m, dmax):
    """f[t, z, x] = P(own treated = z, weighted count = x | t of the row's units (not ``excl``) treated)."""
    f = np.zeros((m + 1, 2, dmax + 1))
    g = np.zeros((m + 1, 2, dmax + 1))
    f[0, 0, 0] = 1.0
    mm = 0
    top = 0
    for e in range(row_ptr[row], row_ptr[row + 1]):
        r = row_unit[e]
        if excl[r]:
            continue
        w = w_of[r]
        isown = r == ownr
        mm += 1
        for t in range(mm + 1):
            for z in range(2):
                for x in range(top + w + 1):
                    g[t, z, x] = 0.0
        for t in range(mm):
            for z in range(2):
                z2 = 1 if isown else z
                for x in range(top + 1):
                    v = f[t, z, x]
                    if v == 0.0:
                        continue
                    g[t, z, x] += v * (mm - t) / mm
                    g[t + 1, z2, x + w] += v * (t + 1) / mm
        f, g = g, f
        top += w
    return f


@njit(cache=True)
def cluster_type_levels(row_ptr, row_unit, row_weight, own_unit, n_nbrs, representatives, max_touching, level_offset,
                        level_table, n_levels):
    """``type_levels[type, t, l] = P(level l | t of the row's clusters treated)`` for the
    representative unit of each type (cluster designs), by :func:`_side_programme`."""
    T = representatives.shape[0]
    Qt = np.zeros((T, max_touching + 1, n_levels))
    nR = 0
    for e in range(row_unit.shape[0]):
        if row_unit[e] + 1 > nR:
            nR = row_unit[e] + 1
    excl = np.zeros(nR, dtype=np.bool_)
    w_of = np.zeros(nR, dtype=np.int64)
    for q in range(T):
        i = representatives[q]
        m = row_ptr[i + 1] - row_ptr[i]
        for e in range(row_ptr[i], row_ptr[i + 1]):
            w_of[row_unit[e]] = row_weight[e]
        f = _side_programme(row_ptr, row_unit, i, excl, w_of, own_unit[i], m, n_nbrs[i])
        base = level_offset[n_nbrs[i]]
        for t in range(m + 1):
            for z in range(2):
                for x in range(n_nbrs[i] + 1):
                    v = f[t, z, x]
                    if v != 0.0:
                        Qt[q, t, level_table[base + z * (n_nbrs[i] + 1) + x]] += v
    return Qt


@njit(cache=True)
def _cluster_complete_pair_joint(i, j, row_ptr, row_unit, own_unit, ini, wi_of, inj, wj_of, n_nbrs, n_rand,
                                 n_treated, n_treated_weight, log_fact, level_offset, level_table, n_levels, J):
    """Complete over randomization units (clusters): J[k, l] = P(level_i = k, level_j = l).

    Units touching only i (A), only j (B) or both (S): uniform subsets within each part given its
    treated count, the counts (T_A, T_B, T_S) multivariate hypergeometric.
    """
    oi = own_unit[i]
    oj = own_unit[j]
    di = n_nbrs[i]
    dj = n_nbrs[j]
    mA, mB, mS, dA, dB, xs, ys = split_pair_parts(row_ptr, row_unit, i, j, ini, inj, wi_of, wj_of)
    fA = _side_programme(row_ptr, row_unit, i, inj, wi_of, oi, mA, dA)
    fB = _side_programme(row_ptr, row_unit, j, ini, wj_of, oj, mB, dB)
    # shared part: state (t, zi, zj, x, y), normalized as in _dp_side
    gS = np.zeros((mS + 1, 2, 2, xs + 1, ys + 1))
    hS = np.zeros((mS + 1, 2, 2, xs + 1, ys + 1))
    gS[0, 0, 0, 0, 0] = 1.0
    mm = 0
    tx = 0
    ty = 0
    for e in range(row_ptr[i], row_ptr[i + 1]):
        r = row_unit[e]
        if not inj[r]:
            continue
        wi = wi_of[r]
        wj = wj_of[r]
        mm += 1
        hS[:] = 0.0
        for t in range(mm):
            for a in range(2):
                a2 = 1 if r == oi else a
                for b in range(2):
                    b2 = 1 if r == oj else b
                    for x in range(tx + 1):
                        for y in range(ty + 1):
                            v = gS[t, a, b, x, y]
                            if v == 0.0:
                                continue
                            hS[t, a, b, x, y] += v * (mm - t) / mm
                            hS[t + 1, a2, b2, x + wi, y + wj] += v * (t + 1) / mm
        gS, hS = hS, gS
        tx += wi
        ty += wj
    # RA[tA, zs, x, k]: level of i given the A part and the S part's (zs, x)
    RA = np.zeros((mA + 1, 2, xs + 1, n_levels))
    for t in range(mA + 1):
        for za in range(2):
            for xa in range(dA + 1):
                v = fA[t, za, xa]
                if v == 0.0:
                    continue
                for zs in range(2):
                    z = 1 if (za == 1 or zs == 1) else 0
                    for x in range(xs + 1):
                        RA[t, zs, x, level_table[level_offset[di] + z * (di + 1) + x + xa]] += v
    RB = np.zeros((mB + 1, 2, ys + 1, n_levels))
    for t in range(mB + 1):
        for zb in range(2):
            for yb in range(dB + 1):
                v = fB[t, zb, yb]
                if v == 0.0:
                    continue
                for zs in range(2):
                    z = 1 if (zb == 1 or zs == 1) else 0
                    for y in range(ys + 1):
                        RB[t, zs, y, level_table[level_offset[dj] + z * (dj + 1) + y + yb]] += v
    for k in range(n_levels):
        for l in range(n_levels):
            J[k, l] = 0.0
    M = mA + mB + mS
    mAS = mA + mS
    W = np.zeros((mAS + 1, 2, ys + 1, n_levels))
    for q in range(n_treated.shape[0]):
        wq = n_treated_weight[q]
        if wq == 0.0:
            continue
        K = n_treated[q]
        lden = log_binom_lf(log_fact, n_rand, K)
        W[:] = 0.0
        for v in range(mAS + 1):
            lv = log_binom_lf(log_fact, mAS, v)
            for t in range(mB + 1):
                h = lv + log_binom_lf(log_fact, mB, t) + log_binom_lf(log_fact, n_rand - M, K - v - t) - lden
                if h == -np.inf:
                    continue
                h = wq * math.exp(h)
                for zs in range(2):
                    for y in range(ys + 1):
                        for l in range(n_levels):
                            W[v, zs, y, l] += h * RB[t, zs, y, l]
        for tS in range(mS + 1):
            for a in range(2):
                for b in range(2):
                    for x in range(xs + 1):
                        for y in range(ys + 1):
                            g = gS[tS, a, b, x, y]
                            if g == 0.0:
                                continue
                            for tA in range(mA + 1):
                                hh = log_binom_lf(log_fact, mA, tA) + log_binom_lf(log_fact, mS,
                                                                                   tS) - log_binom_lf(log_fact, mAS,
                                                                                                      tA + tS)
                                hh = g * math.exp(hh)
                                for k in range(n_levels):
                                    ra = RA[tA, a, x, k]
                                    if ra == 0.0:
                                        continue
                                    for l in range(n_levels):
                                        J[k, l] += hh * ra * W[tA + tS, b, y, l]


@njit(cache=True)
def row_profile_hash(row_ptr, row_unit, row_weight, own_unit):
    """64-bit hash of each row's (number of units, own unit's weight, sorted other weights)."""
    n = row_ptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    buf = np.empty(max(1, row_unit.shape[0]), dtype=np.int64)
    for i in range(n):
        k = 0
        ow = -1
        for e in range(row_ptr[i], row_ptr[i + 1]):
            if row_unit[e] == own_unit[i]:
                ow = row_weight[e]
            else:
                buf[k] = row_weight[e]
                k += 1
        s = np.sort(buf[:k])
        h = np.uint64(1469598103934665603)
        for v in (k, ow):
            h = (h ^ np.uint64(v + 7)) * np.uint64(1099511628211)
        for q in range(k):
            h = (h ^ np.uint64(s[q] + 7)) * np.uint64(1099511628211)
            h ^= h >> np.uint64(29)
        out[i] = np.int64(h)
    return out
