r"""Bernoulli over units or clusters: independent randomization units, any treatment probabilities.

Unit i's own treatment is the draw of ``own_unit[i]`` and its treated count is
:math:`C_i = \sum_r w_{ir} Z_r` over the units r of its row (``row_weight``), the :math:`Z_r`
independent Bernoulli(``treat_prob[r]``). Marginals are a dynamic programme over the row. Pairs whose
rows share no randomization unit are independent; the joint of the others is a programme over the
units touching only i, only j, and the shared (or own) units. Unit-level Bernoulli with one p has a
faster closed form for the pair sums in :mod:`.unit_bernoulli`; threshold mappings over clusters with
one p in :mod:`.threshold`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def independent_marginals(row_ptr, row_unit, row_weight, own_unit, treat_prob, n_nbrs, level_offset, level_table,
                          n_levels, out):
    """Exact P(level) per unit under independent randomization units (probabilities ``treat_prob``)."""
    n = row_ptr.shape[0] - 1
    maxd = 0
    for i in range(n):
        if n_nbrs[i] > maxd:
            maxd = n_nbrs[i]
    f = np.zeros((2, maxd + 1))
    for i in range(n):
        di = n_nbrs[i]
        for z in range(2):
            for c in range(di + 1):
                f[z, c] = 0.0
        f[0, 0] = 1.0
        top = 0
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_unit[e]
            w = row_weight[e]
            pr = treat_prob[r]
            if r == own_unit[i]:
                # f[1, :] is still all zero: only the own unit sets z = 1
                for c in range(top, -1, -1):
                    v0 = f[0, c]
                    f[1, c + w] = pr * v0
                    f[0, c] = (1.0 - pr) * v0
            else:
                if w == 0:
                    continue
                for z in range(2):
                    for c in range(top, -1, -1):
                        v = f[z, c]
                        f[z, c + w] += pr * v
                        f[z, c] = (1.0 - pr) * v
            top += w
        base = level_offset[di]
        for z in range(2):
            for c in range(di + 1):
                v = f[z, c]
                if v != 0.0:
                    out[i, level_table[base + z * (di + 1) + c]] += v


@njit(cache=True)
def _work_buffers(n_rand, n_levels):
    """Work buffers of :func:`_independent_pair_joint`: special units, two DP states, QA, QB, the joint."""
    return (np.empty(max(n_rand, 1), dtype=np.int64), np.empty(64), np.empty(64), np.empty(64), np.empty(64),
            np.zeros((n_levels, n_levels)))


@njit(cache=True)
def _grow(wk, n_state, n_q):
    """``wk`` with DP buffers of at least ``n_state`` and Q buffers of at least ``n_q`` entries."""
    if wk[1].shape[0] >= n_state and wk[3].shape[0] >= n_q:
        return wk
    ns = max(n_state, wk[1].shape[0])
    nq = max(n_q, wk[3].shape[0])
    return (wk[0], np.empty(2 * ns), np.empty(2 * ns), np.empty(2 * nq), np.empty(2 * nq), wk[5])


@njit(cache=True)
def _independent_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, treat_prob, n_nbrs, level_offset,
                            level_table, n_levels, ini, wi_of, inj, wj_of, PA, PB, wk):
    """J[k, l] = P(level_i = k, level_j = l) under independent randomization units.

    ``wk`` holds reusable work buffers (:func:`_work_buffers`, grown by :func:`_grow`); returns ``wk``
    (possibly with grown buffers) and the joint ``wk[5]``.
    """
    di = n_nbrs[i]
    dj = n_nbrs[j]
    oi = own_unit[i]
    oj = own_unit[j]
    # special units: shared by both rows, or someone's own unit
    nsp = 0
    for e in range(row_ptr[i], row_ptr[i + 1]):
        r = row_unit[e]
        if inj[r] or r == oi:
            nsp += 1
    for e in range(row_ptr[j], row_ptr[j + 1]):
        r = row_unit[e]
        if (not ini[r]) and r == oj:
            nsp += 1
    sp = wk[0]
    k = 0
    xs = 0
    ys = 0
    for e in range(row_ptr[i], row_ptr[i + 1]):
        r = row_unit[e]
        if inj[r] or r == oi:
            sp[k] = r
            k += 1
            xs += wi_of[r]
            if inj[r]:
                ys += wj_of[r]
    for e in range(row_ptr[j], row_ptr[j + 1]):
        r = row_unit[e]
        if (not ini[r]) and r == oj:
            sp[k] = r
            k += 1
            ys += wj_of[r]
    # PA over i-only units
    for c in range(di + 1):
        PA[c] = 0.0
    PA[0] = 1.0
    top = 0
    for e in range(row_ptr[i], row_ptr[i + 1]):
        r = row_unit[e]
        if inj[r] or r == oi:
            continue
        w = wi_of[r]
        if w == 0:
            continue
        pr = treat_prob[r]
        for c in range(top, -1, -1):
            v = PA[c]
            PA[c + w] += pr * v
            PA[c] = (1.0 - pr) * v
        top += w
    atop = top
    for c in range(dj + 1):
        PB[c] = 0.0
    PB[0] = 1.0
    top = 0
    for e in range(row_ptr[j], row_ptr[j + 1]):
        r = row_unit[e]
        if ini[r] or r == oj:
            continue
        w = wj_of[r]
        if w == 0:
            continue
        pr = treat_prob[r]
        for c in range(top, -1, -1):
            v = PB[c]
            PB[c + w] += pr * v
            PB[c] = (1.0 - pr) * v
        top += w
    btop = top
    # S over special units: state (zi, zj, x, y)
    wk = _grow(wk, 4 * (xs + 1) * (ys + 1), 2 * (max(xs, ys) + 1) * n_levels)
    S = wk[1][:4 * (xs + 1) * (ys + 1)].reshape((2, 2, xs + 1, ys + 1))
    T = wk[2][:4 * (xs + 1) * (ys + 1)].reshape((2, 2, xs + 1, ys + 1))
    S[:] = 0.0
    S[0, 0, 0, 0] = 1.0
    for q in range(nsp):
        r = sp[q]
        wi = wi_of[r] if ini[r] else 0
        wj = wj_of[r] if inj[r] else 0
        pr = treat_prob[r]
        for a in range(2):
            for b in range(2):
                for x in range(xs + 1):
                    for y in range(ys + 1):
                        T[a, b, x, y] = S[a, b, x, y] * (1.0 - pr)
        for a in range(2):
            for b in range(2):
                a2 = 1 if r == oi else a
                b2 = 1 if r == oj else b
                for x in range(xs + 1 - wi):
                    for y in range(ys + 1 - wj):
                        v = S[a, b, x, y]
                        if v != 0.0:
                            T[a2, b2, x + wi, y + wj] += pr * v
        S, T = T, S
    QA = wk[3][:2 * (xs + 1) * n_levels].reshape((2, xs + 1, n_levels))
    QA[:] = 0.0
    for z in range(2):
        base = level_offset[di] + z * (di + 1)
        for x in range(xs + 1):
            for a in range(atop + 1):
                if x + a <= di:
                    QA[z, x, level_table[base + x + a]] += PA[a]
    QB = wk[4][:2 * (ys + 1) * n_levels].reshape((2, ys + 1, n_levels))
    QB[:] = 0.0
    for z in range(2):
        base = level_offset[dj] + z * (dj + 1)
        for y in range(ys + 1):
            for b in range(btop + 1):
                if y + b <= dj:
                    QB[z, y, level_table[base + y + b]] += PB[b]
    J = wk[5]
    J[:] = 0.0
    for a in range(2):
        for b in range(2):
            for x in range(xs + 1):
                for y in range(ys + 1):
                    v = S[a, b, x, y]
                    if v == 0.0:
                        continue
                    for kk in range(n_levels):
                        qa = QA[a, x, kk]
                        if qa == 0.0:
                            continue
                        for ll in range(n_levels):
                            J[kk, ll] += v * qa * QB[b, y, ll]
    return wk


@njit(cache=True)
def _mark_row(row_ptr, row_unit, row_weight, i, flag, w_of, on):
    """Set ``flag[r] = on`` and ``w_of[r] = row_weight`` for the units r of row i (scatter a row)."""
    for e in range(row_ptr[i], row_ptr[i + 1]):
        flag[row_unit[e]] = on
        w_of[row_unit[e]] = row_weight[e]


@njit(cache=True)
def independent_as_pair_sums(row_ptr, row_unit, row_weight, unit_row_ptr, unit_rows, own_unit, treat_prob, n_nbrs,
                             level_offset, level_table, n_levels, level_codes, in_sum, marginal, weights, sums,
                             zero_count):
    """Stream over dependent pairs (i < j, both in ``in_sum``): accumulate the Aronow-Samii sums.

    ``sums[m, a, b] += (J_ab - pi_i(a) pi_j(b)) / J_ab * weights[i, m] weights[j, m]`` for observed
    levels a, b (both orders), J the joint of :func:`_independent_pair_joint`; ``zero_count[i, l]``
    counts partners j with ``pi_j(l) > 0`` and ``P(level_i = a_i, level_j = l) = 0``.
    """
    n = row_ptr.shape[0] - 1
    nR = treat_prob.shape[0]
    M = weights.shape[1]
    ini = np.zeros(nR, dtype=np.bool_)
    inj = np.zeros(nR, dtype=np.bool_)
    wi_of = np.zeros(nR, dtype=np.int64)
    wj_of = np.zeros(nR, dtype=np.int64)
    maxd = 0
    for i in range(n):
        if n_nbrs[i] > maxd:
            maxd = n_nbrs[i]
    PA = np.zeros(maxd + 1)
    PB = np.zeros(maxd + 1)
    wk = _work_buffers(nR, n_levels)
    stamp = np.full(n, -1, dtype=np.int64)
    n_pairs = 0
    for i in range(n):
        if not in_sum[i]:
            continue
        _mark_row(row_ptr, row_unit, row_weight, i, ini, wi_of, True)
        a = level_codes[i]
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_unit[e]
            for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                j = unit_rows[t]
                if j <= i or (not in_sum[j]) or stamp[j] == i:
                    continue
                stamp[j] = i
                n_pairs += 1
                _mark_row(row_ptr, row_unit, row_weight, j, inj, wj_of, True)
                wk = _independent_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, treat_prob, n_nbrs,
                                             level_offset, level_table, n_levels, ini, wi_of, inj, wj_of, PA, PB, wk)
                J = wk[5]
                _mark_row(row_ptr, row_unit, row_weight, j, inj, wj_of, False)
                b = level_codes[j]
                v = J[a, b]
                if v > 0.0:
                    f = (v - marginal[i, a] * marginal[j, b]) / v
                    for m in range(M):
                        tt = f * weights[i, m] * weights[j, m]
                        sums[m, a, b] += tt
                        sums[m, b, a] += tt
                for l in range(n_levels):
                    if marginal[j, l] > 0.0 and J[a, l] == 0.0:
                        zero_count[i, l] += 1
                    if marginal[i, l] > 0.0 and J[l, b] == 0.0:
                        zero_count[j, l] += 1
        _mark_row(row_ptr, row_unit, row_weight, i, ini, wi_of, False)
    return n_pairs


@njit(cache=True)
def independent_joint_entries(row_ptr, row_unit, row_weight, unit_row_ptr, unit_rows, own_unit, treat_prob, n_nbrs,
                              level_offset, level_table, n_levels, level_a, level_b, count_only, rows, cols, vals):
    """All dependent ordered pairs (i != j) and ``P(level_i = level_a, level_j = level_b)``; first call counts."""
    n = row_ptr.shape[0] - 1
    nR = treat_prob.shape[0]
    ini = np.zeros(nR, dtype=np.bool_)
    inj = np.zeros(nR, dtype=np.bool_)
    wi_of = np.zeros(nR, dtype=np.int64)
    wj_of = np.zeros(nR, dtype=np.int64)
    maxd = 0
    for i in range(n):
        if n_nbrs[i] > maxd:
            maxd = n_nbrs[i]
    PA = np.zeros(maxd + 1)
    PB = np.zeros(maxd + 1)
    wk = _work_buffers(nR, n_levels)
    stamp = np.full(n, -1, dtype=np.int64)
    q = 0
    for i in range(n):
        _mark_row(row_ptr, row_unit, row_weight, i, ini, wi_of, True)
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_unit[e]
            for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                j = unit_rows[t]
                if j == i or stamp[j] == i:
                    continue
                stamp[j] = i
                if not count_only:
                    _mark_row(row_ptr, row_unit, row_weight, j, inj, wj_of, True)
                    wk = _independent_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, treat_prob, n_nbrs,
                                                 level_offset, level_table, n_levels, ini, wi_of, inj, wj_of, PA, PB,
                                                 wk)
                    J = wk[5]
                    _mark_row(row_ptr, row_unit, row_weight, j, inj, wj_of, False)
                    rows[q] = i
                    cols[q] = j
                    vals[q] = J[level_a, level_b]
                q += 1
        _mark_row(row_ptr, row_unit, row_weight, i, ini, wi_of, False)
    return q


@njit(cache=True)
def independent_cov_pair_sums(row_ptr, row_unit, row_weight, unit_row_ptr, unit_rows, own_unit, treat_prob, n_nbrs,
                              level_offset, level_table, n_levels, in_sum, marginal, weights, sums):
    """Covariance sums over dependent pairs for independent randomization units (any probabilities).

    ``sums[k, l] += (J_kl - pi_i(k) pi_j(l)) weights[i, k] weights[j, l]`` over ordered pairs i != j in
    ``in_sum`` (each unordered pair computed once, added in both orders).
    """
    n = row_ptr.shape[0] - 1
    nR = treat_prob.shape[0]
    ini = np.zeros(nR, dtype=np.bool_)
    inj = np.zeros(nR, dtype=np.bool_)
    wi_of = np.zeros(nR, dtype=np.int64)
    wj_of = np.zeros(nR, dtype=np.int64)
    maxd = 0
    for i in range(n):
        if n_nbrs[i] > maxd:
            maxd = n_nbrs[i]
    PA = np.zeros(maxd + 1)
    PB = np.zeros(maxd + 1)
    wk = _work_buffers(nR, n_levels)
    stamp = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if not in_sum[i]:
            continue
        _mark_row(row_ptr, row_unit, row_weight, i, ini, wi_of, True)
        for e in range(row_ptr[i], row_ptr[i + 1]):
            r = row_unit[e]
            for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                j = unit_rows[t]
                if j <= i or (not in_sum[j]) or stamp[j] == i:
                    continue
                stamp[j] = i
                _mark_row(row_ptr, row_unit, row_weight, j, inj, wj_of, True)
                wk = _independent_pair_joint(i, j, row_ptr, row_unit, row_weight, own_unit, treat_prob, n_nbrs,
                                             level_offset, level_table, n_levels, ini, wi_of, inj, wj_of, PA, PB, wk)
                J = wk[5]
                _mark_row(row_ptr, row_unit, row_weight, j, inj, wj_of, False)
                for k in range(n_levels):
                    for l in range(n_levels):
                        cij = J[k, l] - marginal[i, k] * marginal[j, l]
                        sums[k, l] += cij * weights[i, k] * weights[j, l]
                        sums[l, k] += cij * weights[j, l] * weights[i, k]
        _mark_row(row_ptr, row_unit, row_weight, i, ini, wi_of, False)
