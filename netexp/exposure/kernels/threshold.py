r"""Threshold mappings over independent randomization units with one probability p: closed-form joints.

The mapping's level depends on the neighbourhood count only through :math:`[c = 0]` and
:math:`[c = d]` (Aronow-Samii, full neighbourhood, own treatment), so the level of unit i is a function
of its own unit's draw and of whether the units :math:`W_i` (positive weight in its row) are all
untreated, all treated, or mixed. For a pair (i, j), condition on the draws of the two own units
:math:`F = \{o_i, o_j\}`; the other units split into :math:`A = W_i \setminus W_j`,
:math:`B = W_j \setminus W_i` and :math:`S = W_i \cap W_j` (F removed), independent parts whose
summaries (empty, all 0, all 1, mixed) have probabilities 1; :math:`q^m`, :math:`p^m`,
:math:`1 - q^m - p^m` (m >= 2 only). The joint is a sum over F's draws and the three summaries: O(1)
per pair after counting the parts. Marginals come from :func:`.bernoulli.independent_marginals`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .modes import AS_PAIR_SUMS


_E, _Z, _O, _M = 0, 1, 2, 3  # part summaries: empty, all untreated, all treated, mixed


@njit(cache=True)
def combine_summaries(a, b):
    """Summary of the union of two disjoint parts (empty, all 0, all 1, mixed)."""
    if a == _E:
        return b
    if b == _E:
        return a
    if a == b and a != _M:
        return a
    return _M


@njit(cache=True)
def _part_summary_prob(m, k, pow_untreated, pow_treated):
    """(summary, probability) of the k-th possible summary of a part of m units."""
    if m == 0:
        return _E, 1.0
    if k == 0:
        return _Z, pow_untreated[m]
    if k == 1:
        return _O, pow_treated[m]
    if m < 2:
        return _M, 0.0
    return _M, max(0.0, 1.0 - pow_untreated[m] - pow_treated[m])


@njit(cache=True)
def _n_summaries(m):
    """Number of possible summaries of a part of m units: 1 when empty, 2 for one unit
    (all 0, all 1), 3 from two units on (also mixed)."""
    return 1 if m == 0 else (2 if m == 1 else 3)


@njit(cache=True)
def own_units_summary(in_a, za, in_b, zb):
    """Summary of the own units (of the pair) that are in a unit's W, given their draws."""
    s = _E
    if in_a:
        s = combine_summaries(s, _O if za == 1 else _Z)
    if in_b:
        s = combine_summaries(s, _O if zb == 1 else _Z)
    return s


@njit(cache=True)
def threshold_level(threshold_levels, i, z, s):
    """Level of unit i with own draw z and neighbourhood summary s
    (``threshold_levels[i, z, s]`` for s = 0: c = 0, 1: c = d, 2: 0 < c < d)."""
    if s == _O:
        return threshold_levels[i, z, 1]
    if s == _M:
        return threshold_levels[i, z, 2]
    return threshold_levels[i, z, 0]


@njit(cache=True)
def _threshold_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, own_in_touching, n_touching, rstamp, rw,
                          treat_prob, pow_untreated, pow_treated, threshold_levels, n_levels, vi, vj, J):
    """J[k, l] = P(level_i = k, level_j = l); i's row marked (``rstamp[r] == i``, weight ``rw[r]``)."""
    oi = own_unit[i]
    oj = own_unit[j]
    same = oi == oj
    oi_wi = own_in_touching[i]
    oj_wi = (not same) and rstamp[oj] == i and rw[oj] > 0
    oi_wj = False
    oj_wj = own_in_touching[j]
    nS = 0
    nB = 0
    for e in range(row_ptr[j], row_ptr[j + 1]):
        r = row_unit[e]
        if row_weight[e] == 0:
            continue
        if r == oj:
            continue
        if r == oi:
            oi_wj = True
            continue
        if rstamp[r] == i and rw[r] > 0:
            nS += 1
        else:
            nB += 1
    nA = n_touching[i] - (1 if oi_wi else 0) - (1 if oj_wi else 0) - nS
    threshold_joint_from_parts(i, j, same, oi_wi, oj_wi, oi_wj, oj_wj, nS, nA, nB, treat_prob, pow_untreated,
                               pow_treated, threshold_levels, n_levels, vi, vj, J)


@njit(cache=True)
def threshold_joint_from_parts(i, j, same, oi_wi, oj_wi, oi_wj, oj_wj, nS, nA, nB, treat_prob, pow_untreated,
                               pow_treated, threshold_levels, n_levels, vi, vj, J):
    """``J[k, l] = P(level_i = k, level_j = l)`` from the sizes of the pair's parts.

    Conditional on the draws z_i, z_j of the two own units (one draw when ``same``; ``oX_wY``: own unit of X
    has positive weight in Y's row), the other units weighted by i or j split into S (both), A (i only) and
    B (j only) of sizes nS, nA, nB; each part's summary (all 0 / all 1 / mixed) has probability q^m, p^m,
    1 - q^m - p^m, and ``J[k, l] = sum_{z_i, z_j, s_S} P(z, s_S) * sum_{s_A} P(s_A) [lev_i(z_i, s_S + s_A +
    own) = k] * sum_{s_B} P(s_B) [lev_j(z_j, s_S + s_B + own) = l]``. Shared by the pair kernels here and the
    observed-units route (``exposure/_observed_pairs.py``), which count the parts differently.
    """
    for k in range(n_levels):
        for l in range(n_levels):
            J[k, l] = 0.0
    q = 1.0 - treat_prob
    for zi in range(2):
        pzi = treat_prob if zi == 1 else q
        for zj in range(2):
            if same and zj != zi:
                continue
            pf = pzi if same else pzi * (treat_prob if zj == 1 else q)
            if pf == 0.0:
                continue
            fi = own_units_summary(oi_wi, zi, oj_wi, zj)
            fj = own_units_summary(oj_wj, zj, oi_wj, zi)
            for ks in range(_n_summaries(nS)):
                sS, pS = _part_summary_prob(nS, ks, pow_untreated, pow_treated)
                w = pf * pS
                if w == 0.0:
                    continue
                ci = combine_summaries(fi, sS)
                cj = combine_summaries(fj, sS)
                for k in range(n_levels):
                    vi[k] = 0.0
                    vj[k] = 0.0
                for ka in range(_n_summaries(nA)):
                    sA, pA = _part_summary_prob(nA, ka, pow_untreated, pow_treated)
                    if pA != 0.0:
                        vi[threshold_level(threshold_levels, i, zi, combine_summaries(ci, sA))] += pA
                for kb in range(_n_summaries(nB)):
                    sB, pB = _part_summary_prob(nB, kb, pow_untreated, pow_treated)
                    if pB != 0.0:
                        vj[threshold_level(threshold_levels, j, zj, combine_summaries(cj, sB))] += pB
                for k in range(n_levels):
                    a = w * vi[k]
                    if a == 0.0:
                        continue
                    for l in range(n_levels):
                        J[k, l] += a * vj[l]


@njit(parallel=True, cache=True)
def threshold_pair_sums(row_ptr, row_unit, row_weight, own_unit, unit_row_ptr, unit_rows, own_in_touching,
                        n_touching, treat_prob, pow_untreated, pow_treated, threshold_levels, n_levels, level_codes,
                        in_sum, marginal, weights, mode, n_chunks, sums, zero_count):
    """Aronow-Samii (``AS_PAIR_SUMS``) or covariance (``COV_PAIR_SUMS``) sums over
    ordered dependent pairs, in parallel.

    Same contract as :func:`unit_bernoulli_pair_sums`, for independent randomization units (clusters)
    with one probability and a threshold mapping (joints by :func:`_threshold_pair_joint`).
    """
    n = row_ptr.shape[0] - 1
    nR = unit_row_ptr.shape[0] - 1
    M = sums.shape[0]
    Sc = np.zeros((n_chunks, M, n_levels, n_levels))
    for ch in prange(n_chunks):
        lo = ch * n // n_chunks
        hi = (ch + 1) * n // n_chunks
        rstamp = np.full(nR, -1, dtype=np.int64)
        rw = np.zeros(nR, dtype=np.int64)
        stamp = np.full(n, -1, dtype=np.int64)
        vi = np.empty(n_levels)
        vj = np.empty(n_levels)
        J = np.empty((n_levels, n_levels))
        Sl = np.zeros((M, n_levels, n_levels))
        for i in range(lo, hi):
            if not in_sum[i]:
                continue
            for e in range(row_ptr[i], row_ptr[i + 1]):
                rstamp[row_unit[e]] = i
                rw[row_unit[e]] = row_weight[e]
            a = level_codes[i]
            for e in range(row_ptr[i], row_ptr[i + 1]):
                r = row_unit[e]
                for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                    j = unit_rows[t]
                    if j == i or stamp[j] == i:
                        continue
                    stamp[j] = i
                    if not in_sum[j]:
                        continue
                    _threshold_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, own_in_touching, n_touching,
                                          rstamp, rw, treat_prob, pow_untreated, pow_treated, threshold_levels,
                                          n_levels, vi, vj, J)
                    if mode == AS_PAIR_SUMS:
                        b = level_codes[j]
                        v = J[a, b]
                        if v > 0.0:
                            w = (v - marginal[i, a] * marginal[j, b]) / v
                            for m in range(M):
                                Sl[m, a, b] += w * weights[i, m] * weights[j, m]
                        for l in range(n_levels):
                            if marginal[j, l] > 0.0 and J[a, l] == 0.0:
                                zero_count[i, l] += 1
                    else:
                        for k in range(n_levels):
                            uk = weights[i, k]
                            if uk == 0.0:
                                continue
                            for l in range(n_levels):
                                Sl[0, k, l] += (J[k, l] - marginal[i, k] * marginal[j, l]) * uk * weights[j, l]
        Sc[ch] = Sl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(n_levels):
                for l in range(n_levels):
                    sums[m, k, l] += Sc[ch, m, k, l]


@njit(cache=True)
def threshold_joint_entries(row_ptr, row_unit, row_weight, own_unit, unit_row_ptr, unit_rows, own_in_touching,
                            n_touching, treat_prob, pow_untreated, pow_treated, threshold_levels, n_levels, level_a,
                            level_b, count_only, rows, cols, vals):
    """As :func:`independent_joint_entries` for threshold mappings (closed-form joints)."""
    n = row_ptr.shape[0] - 1
    nR = unit_row_ptr.shape[0] - 1
    rstamp = np.full(nR, -1, dtype=np.int64)
    rw = np.zeros(nR, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)
    vi = np.empty(n_levels)
    vj = np.empty(n_levels)
    J = np.empty((n_levels, n_levels))
    q = 0
    for i in range(n):
        for e in range(row_ptr[i], row_ptr[i + 1]):
            rstamp[row_unit[e]] = i
            rw[row_unit[e]] = row_weight[e]
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_unit[e]
            for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                j = unit_rows[t]
                if j == i or stamp[j] == i:
                    continue
                stamp[j] = i
                if not count_only:
                    _threshold_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, own_in_touching, n_touching,
                                          rstamp, rw, treat_prob, pow_untreated, pow_treated, threshold_levels,
                                          n_levels, vi, vj, J)
                    rows[q] = i
                    cols[q] = j
                    vals[q] = J[level_a, level_b]
                q += 1
    return q
