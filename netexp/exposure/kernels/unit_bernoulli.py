r"""Unit-level Bernoulli(p) with one p for every unit: closed-form pair joints.

The joint levels of a pair (i, j) depend only on :math:`e_1 = [j \in N_i]`, :math:`e_2 = [i \in N_j]`,
the overlap :math:`c = |N_i \cap N_j|` and :math:`\alpha = |N_i \setminus N_j \setminus \{j\}|`,
:math:`\beta = |N_j \setminus N_i \setminus \{i\}|`: :math:`C_i = A + S + e_1 Z_j`,
:math:`C_j = B + S + e_2 Z_i` with :math:`A \sim Bin(\alpha, p)`, :math:`B \sim Bin(\beta, p)`,
:math:`S \sim Bin(c, p)` and :math:`Z_i, Z_j \sim Bern(p)`, all independent. The joint is a convolution
of three binomials (tabulated pmfs and tails, summed over runs of equal level): no programme and no
allocation per pair. Marginals come from :func:`.bernoulli.independent_marginals`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .common import log_binom
from .modes import AS_PAIR_SUMS


@njit(cache=True)
def _binom_pmf(m, treat_prob, out):
    """Binomial(m, p) probabilities into ``out[0..m]`` (recurrence; log form when (1-p)^m underflows)."""
    for x in range(m + 1):
        out[x] = 0.0
    if treat_prob <= 0.0:
        out[0] = 1.0
        return
    if treat_prob >= 1.0:
        out[m] = 1.0
        return
    q = 1.0 - treat_prob
    l0 = m * math.log(q)
    if l0 > -690.0:
        v = math.exp(l0)
        out[0] = v
        r = treat_prob / q
        for x in range(m):
            v = v * (m - x) / (x + 1.0) * r
            out[x + 1] = v
    else:
        lp = math.log(treat_prob)
        lq = math.log(q)
        for x in range(m + 1):
            out[x] = math.exp(log_binom(m, x) + x * lp + (m - x) * lq)


BINOM_TABLE_MAX = 2048  # binomial pmfs tabulated for sizes up to this (about 17 MB)


@njit(cache=True)
def binom_table(max_size, treat_prob):
    """Binomial(m, p) pmfs for m = 0..mmax, flattened: entry x of size m at ``m (m + 1) / 2 + x``."""
    out = np.empty((max_size + 1) * (max_size + 2) // 2)
    buf = np.empty(max_size + 1)
    for m in range(max_size + 1):
        _binom_pmf(m, treat_prob, buf)
        o = m * (m + 1) // 2
        for x in range(m + 1):
            out[o + x] = buf[x]
    return out


@njit(cache=True)
def tail_tables(pmf_table, max_size):
    """Lower and upper cumulative sums of :func:`binom_table` (same layout): P(X <= x), P(X >= x)."""
    cdf = np.empty_like(pmf_table)
    sf = np.empty_like(pmf_table)
    for m in range(max_size + 1):
        o = m * (m + 1) // 2
        acc = 0.0
        for x in range(m + 1):
            acc += pmf_table[o + x]
            cdf[o + x] = acc
        acc = 0.0
        for x in range(m, -1, -1):
            acc += pmf_table[o + x]
            sf[o + x] = acc
    return cdf, sf


@njit(cache=True)
def _range_prob(m, x0, x1, cdf_table, sf_table):
    """P(x0 <= X <= x1) for X ~ Bin(m, p) from the tail tables, each side taken where it is accurate."""
    o = m * (m + 1) // 2
    if x0 == 0:
        return cdf_table[o + x1]
    if x1 == m:
        return sf_table[o + x0]
    if cdf_table[o + x0 - 1] < 0.5:
        return cdf_table[o + x1] - cdf_table[o + x0 - 1]
    return sf_table[o + x0] - sf_table[o + x1 + 1]


@njit(cache=True)
def _pair_row_by_runs(a, di, dj, e1, e2, c, treat_prob, pmf_table, cdf_table, sf_table, run_end, level_offset,
                      level_table, n_levels, row):
    """As :func:`_pair_row`, summing binomial ranges over runs of equal level (O(runs) per term)."""
    alpha = di - c - e1
    beta = dj - c - e2
    oc = c * (c + 1) // 2
    for l in range(n_levels):
        row[l] = 0.0
    bi = level_offset[di]
    bj = level_offset[dj]
    for zi in range(2):
        pzi = treat_prob if zi == 1 else 1.0 - treat_prob
        if pzi == 0.0:
            continue
        for s in range(c + 1):
            ws = pzi * pmf_table[oc + s]
            if ws == 0.0:
                continue
            qa = 0.0
            for zj in range(2):
                pzj = treat_prob if zj == 1 else 1.0 - treat_prob
                if pzj == 0.0:
                    continue
                if zj == 0 or e1 == 1:
                    qa = 0.0
                    start = bi + zi * (di + 1) + s + e1 * zj
                    pos = start
                    while pos <= start + alpha:
                        end = min(run_end[pos], start + alpha)
                        if level_table[pos] == a:
                            qa += _range_prob(alpha, pos - start, end - start, cdf_table, sf_table)
                        pos = end + 1
                if qa == 0.0:
                    continue
                w = ws * pzj * qa
                start = bj + zj * (dj + 1) + s + e2 * zi
                pos = start
                while pos <= start + beta:
                    end = min(run_end[pos], start + beta)
                    row[level_table[pos]] += w * _range_prob(beta, pos - start, end - start, cdf_table, sf_table)
                    pos = end + 1


@njit(cache=True)
def _pmf(m, treat_prob, pmf_table, buf):
    """Binomial(m, p) pmf: a view into the table when tabulated, else computed into ``buf``."""
    if (m + 1) * (m + 2) // 2 <= pmf_table.shape[0]:
        o = m * (m + 1) // 2
        return pmf_table[o:o + m + 1]
    _binom_pmf(m, treat_prob, buf)
    return buf


@njit(cache=True)
def _pair_row(a, di, dj, e1, e2, c, treat_prob, pmf_table, level_offset, level_table, n_levels, bufA, bufB, bufC, QB,
              row):
    """row[l] = P(level_i = a, level_j = l) for a pair described by (d_i, d_j, e1, e2, c)."""
    alpha = di - c - e1
    beta = dj - c - e2
    bA = _pmf(alpha, treat_prob, pmf_table, bufA)
    bB = _pmf(beta, treat_prob, pmf_table, bufB)
    bC = _pmf(c, treat_prob, pmf_table, bufC)
    for l in range(n_levels):
        row[l] = 0.0
    bi = level_offset[di]
    bj = level_offset[dj]
    for zi in range(2):
        pzi = treat_prob if zi == 1 else 1.0 - treat_prob
        if pzi == 0.0:
            continue
        for s in range(c + 1):
            ws = pzi * bC[s]
            if ws == 0.0:
                continue
            qa = 0.0
            for zj in range(2):
                pzj = treat_prob if zj == 1 else 1.0 - treat_prob
                if pzj == 0.0:
                    continue
                if zj == 0 or e1 == 1:  # the i side depends on z_j only through e1
                    qa = 0.0
                    base = bi + zi * (di + 1) + s + e1 * zj
                    for x in range(alpha + 1):
                        if level_table[base + x] == a:
                            qa += bA[x]
                if qa == 0.0:
                    continue
                for l in range(n_levels):
                    QB[l] = 0.0
                base = bj + zj * (dj + 1) + s + e2 * zi
                for y in range(beta + 1):
                    QB[level_table[base + y]] += bB[y]
                w = ws * pzj * qa
                for l in range(n_levels):
                    row[l] += w * QB[l]


@njit(cache=True)
def _unit_bernoulli_pair_joint(di, dj, e1, e2, c, treat_prob, pmf_table, level_offset, level_table, n_levels, bufA,
                               bufB, bufC, QA, QB, J):
    """J[k, l] = P(level_i = k, level_j = l) for a pair described by (d_i, d_j, e1, e2, c)."""
    alpha = di - c - e1
    beta = dj - c - e2
    bA = _pmf(alpha, treat_prob, pmf_table, bufA)
    bB = _pmf(beta, treat_prob, pmf_table, bufB)
    bC = _pmf(c, treat_prob, pmf_table, bufC)
    for k in range(n_levels):
        for l in range(n_levels):
            J[k, l] = 0.0
    bi = level_offset[di]
    bj = level_offset[dj]
    for zi in range(2):
        pzi = treat_prob if zi == 1 else 1.0 - treat_prob
        if pzi == 0.0:
            continue
        for zj in range(2):
            pzj = treat_prob if zj == 1 else 1.0 - treat_prob
            if pzj == 0.0:
                continue
            for s in range(c + 1):
                w = pzi * pzj * bC[s]
                if w == 0.0:
                    continue
                for k in range(n_levels):
                    QA[k] = 0.0
                    QB[k] = 0.0
                base = bi + zi * (di + 1) + s + e1 * zj
                for x in range(alpha + 1):
                    QA[level_table[base + x]] += bA[x]
                base = bj + zj * (dj + 1) + s + e2 * zi
                for y in range(beta + 1):
                    QB[level_table[base + y]] += bB[y]
                for k in range(n_levels):
                    qa = w * QA[k]
                    if qa == 0.0:
                        continue
                    for l in range(n_levels):
                        J[k, l] += qa * QB[l]


@njit(parallel=True, cache=True)
def unit_bernoulli_pair_sums(khop_ptr, khop_idx, unit_row_ptr, unit_rows, n_nbrs, treat_prob, pmf_table, cdf_table,
                             sf_table, run_end, level_offset, level_table, n_levels, level_codes, in_sum, marginal,
                             weights, mode, n_chunks, sums, zero_count):
    """Stream over ordered dependent pairs (i, j), i != j, both in ``in_sum``, in parallel over i.

    ``(khop_ptr, khop_idx)``: k-hop in-neighbourhoods (row i = N_i, i excluded); ``(unit_row_ptr,
    unit_rows)`` its transpose. ``AS_PAIR_SUMS`` (``weights`` (n, M)): ``sums[m, a_i, a_j] += (J - pi_i
    pi_j) / J weights[i, m] weights[j, m]`` at the observed levels, J the closed-form joint of
    :func:`_unit_bernoulli_pair_joint`, and ``zero_count[i, l]`` counts partners j with ``pi_j(l) > 0``
    and ``P(level_i = a_i, level_j = l) = 0``. ``COV_PAIR_SUMS`` (``weights`` (n, n_levels)):
    ``sums[0, k, l] += (J_kl - pi_i(k) pi_j(l)) weights[i, k] weights[j, l]`` for every (k, l).
    Returns the number of ordered pairs.
    """
    n = n_nbrs.shape[0]
    M = sums.shape[0]
    maxd = 0
    for i in range(n):
        if n_nbrs[i] > maxd:
            maxd = n_nbrs[i]
    Sc = np.zeros((n_chunks, M, n_levels, n_levels))
    npairs = np.zeros(n_chunks, dtype=np.int64)
    runs = (maxd + 1) * (maxd + 2) // 2 <= pmf_table.shape[0]  # every size tabulated: sums over runs of levels
    for ch in prange(n_chunks):
        lo = ch * n // n_chunks
        hi = (ch + 1) * n // n_chunks
        cnt = np.zeros(n, dtype=np.int32)
        flag = np.zeros(n, dtype=np.uint8)
        touched = np.empty(n, dtype=np.int64)
        bA = np.empty(maxd + 1)
        bB = np.empty(maxd + 1)
        bC = np.empty(maxd + 1)
        QA = np.empty(n_levels)
        QB = np.empty(n_levels)
        J = np.empty((n_levels, n_levels))
        row = np.empty(n_levels)
        Sl = np.zeros((M, n_levels, n_levels))  # thread-local sums (no false sharing)
        npl = 0
        for i in range(lo, hi):
            if not in_sum[i]:
                continue
            nt = 0
            for e in range(khop_ptr[i], khop_ptr[i + 1]):
                r = khop_idx[e]
                if flag[r] == 0:
                    touched[nt] = r
                    nt += 1
                flag[r] |= 1
                for t in range(unit_row_ptr[r], unit_row_ptr[r + 1]):
                    j = unit_rows[t]
                    if j == i:
                        continue
                    if flag[j] == 0:
                        touched[nt] = j
                        nt += 1
                    flag[j] |= 4
                    cnt[j] += 1
            for t in range(unit_row_ptr[i], unit_row_ptr[i + 1]):
                j = unit_rows[t]
                if flag[j] == 0:
                    touched[nt] = j
                    nt += 1
                flag[j] |= 2
            a = level_codes[i]
            for q in range(nt):
                j = touched[q]
                f = flag[j]
                c = cnt[j]
                flag[j] = 0
                cnt[j] = 0
                if not in_sum[j]:
                    continue
                e1 = 1 if (f & 1) else 0
                e2 = 1 if (f & 2) else 0
                npl += 1
                if mode == AS_PAIR_SUMS:
                    if runs:
                        _pair_row_by_runs(a, n_nbrs[i], n_nbrs[j], e1, e2, c, treat_prob, pmf_table, cdf_table,
                                          sf_table, run_end, level_offset, level_table, n_levels, row)
                    else:
                        _pair_row(a, n_nbrs[i], n_nbrs[j], e1, e2, c, treat_prob, pmf_table, level_offset,
                                  level_table, n_levels, bA, bB, bC, QB, row)
                    b = level_codes[j]
                    v = row[b]
                    if v > 0.0:
                        w = (v - marginal[i, a] * marginal[j, b]) / v
                        for m in range(M):
                            Sl[m, a, b] += w * weights[i, m] * weights[j, m]
                    for l in range(n_levels):
                        if marginal[j, l] > 0.0 and row[l] == 0.0:
                            zero_count[i, l] += 1
                else:
                    _unit_bernoulli_pair_joint(n_nbrs[i], n_nbrs[j], e1, e2, c, treat_prob, pmf_table, level_offset,
                                               level_table, n_levels, bA, bB, bC, QA, QB, J)
                    for k in range(n_levels):
                        uk = weights[i, k]
                        if uk == 0.0:
                            continue
                        for l in range(n_levels):
                            Sl[0, k, l] += (J[k, l] - marginal[i, k] * marginal[j, l]) * uk * weights[j, l]
        Sc[ch] = Sl
        npairs[ch] = npl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(n_levels):
                for l in range(n_levels):
                    sums[m, k, l] += Sc[ch, m, k, l]
    return npairs.sum()
