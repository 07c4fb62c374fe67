"""Compiled kernels for exact exposure probabilities of count-based mappings.

Vocabulary. A *randomization unit* ``r`` is what the design draws: a unit for unit-level
designs, a cluster for cluster designs. Row ``i`` of the incidence ``(ptr, col, wt)`` lists the
randomization units touching unit i's closed k-hop neighbourhood: ``wt`` = number of i's k-hop
in-neighbours (excluding i) that follow ``r``; ``own[i]`` (always in the row, possibly with weight
0) sets i's own treatment. A count-based level is ``ltab[loff[d] + z * (d + 1) + c]`` for own
treatment z, c treated among the d k-hop neighbours.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True)
def bern_marginals(ptr, col, wt, own, p, d, loff, ltab, L, out):
    """Exact P(level) per unit under independent randomization units (probabilities ``p``)."""
    n = ptr.shape[0] - 1
    maxd = 0
    for i in range(n):
        if d[i] > maxd:
            maxd = d[i]
    f = np.zeros((2, maxd + 1))
    for i in range(n):
        di = d[i]
        for z in range(2):
            for c in range(di + 1):
                f[z, c] = 0.0
        f[0, 0] = 1.0
        top = 0
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            w = wt[e]
            pr = p[r]
            if r == own[i]:
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
        base = loff[di]
        for z in range(2):
            for c in range(di + 1):
                v = f[z, c]
                if v != 0.0:
                    out[i, ltab[base + z * (di + 1) + c]] += v


@njit(cache=True)
def _lbinom(a, b):
    if b < 0 or b > a or a < 0:
        return -np.inf
    return math.lgamma(a + 1.0) - math.lgamma(b + 1.0) - math.lgamma(a - b + 1.0)


@njit(cache=True)
def complete_unit_marginals(d, nu, ks, kw, loff, ltab, L, out):
    """Unit-level complete randomization: P(z, c) = C(d, c) C(n-1-d, K-z-c) / C(n, K), mixed over K."""
    n = d.shape[0]
    for i in range(n):
        di = d[i]
        base = loff[di]
        for q in range(ks.shape[0]):
            K = ks[q]
            wq = kw[q]
            if wq == 0.0:
                continue
            lden = _lbinom(nu, K)
            for z in range(2):
                for c in range(di + 1):
                    lv = _lbinom(di, c) + _lbinom(nu - 1 - di, K - z - c) - lden
                    if lv > -np.inf:
                        out[i, ltab[base + z * (di + 1) + c]] += wq * math.exp(lv)


@njit(cache=True)
def complete_cluster_marginals(ptr, col, wt, own, nR, d, ks, kw, loff, ltab, L, out):
    """Complete randomization over randomization units: DP over (treated among touched, z, c)."""
    n = ptr.shape[0] - 1
    for i in range(n):
        di = d[i]
        m = ptr[i + 1] - ptr[i]
        f = np.zeros((m + 1, 2, di + 1))
        f[0, 0, 0] = 1.0
        t_top = 0
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            w = wt[e]
            g = f.copy()
            isown = r == own[i]
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
        base = loff[di]
        for q in range(ks.shape[0]):
            K = ks[q]
            if kw[q] == 0.0:
                continue
            lden = _lbinom(nR, K)
            for t in range(m + 1):
                lw = _lbinom(nR - m, K - t) - lden
                if lw == -np.inf:
                    continue
                wgt = kw[q] * math.exp(lw)
                for z in range(2):
                    for c in range(di + 1):
                        v = f[t, z, c]
                        if v != 0.0:
                            out[i, ltab[base + z * (di + 1) + c]] += wgt * v


@njit(cache=True)
def _work_buffers(nR, L):
    """Work buffers of :func:`_pair_joint`: special units, two DP states, QA, QB, the joint."""
    return (np.empty(max(nR, 1), dtype=np.int64), np.empty(64), np.empty(64), np.empty(64), np.empty(64),
            np.zeros((L, L)))


@njit(cache=True)
def _grow(wk, n_state, n_q):
    """``wk`` with DP buffers of at least ``n_state`` and Q buffers of at least ``n_q`` entries."""
    if wk[1].shape[0] >= n_state and wk[3].shape[0] >= n_q:
        return wk
    ns = max(n_state, wk[1].shape[0])
    nq = max(n_q, wk[3].shape[0])
    return (wk[0], np.empty(2 * ns), np.empty(2 * ns), np.empty(2 * nq), np.empty(2 * nq), wk[5])


@njit(cache=True)
def _pair_joint(i, j, ptr, col, wt, own, p, d, loff, ltab, L, ini, wi_of, inj, wj_of, PA, PB, wk):
    """J[k, l] = P(level_i = k, level_j = l) under independent randomization units.

    ``wk`` holds reusable work buffers (:func:`_work_buffers`, grown by :func:`_grow`); returns ``wk``
    (possibly with grown buffers) and the joint ``wk[5]``.
    """
    di = d[i]
    dj = d[j]
    oi = own[i]
    oj = own[j]
    # special units: shared by both rows, or someone's own unit
    nsp = 0
    for e in range(ptr[i], ptr[i + 1]):
        r = col[e]
        if inj[r] or r == oi:
            nsp += 1
    for e in range(ptr[j], ptr[j + 1]):
        r = col[e]
        if (not ini[r]) and r == oj:
            nsp += 1
    sp = wk[0]
    k = 0
    xs = 0
    ys = 0
    for e in range(ptr[i], ptr[i + 1]):
        r = col[e]
        if inj[r] or r == oi:
            sp[k] = r
            k += 1
            xs += wi_of[r]
            if inj[r]:
                ys += wj_of[r]
    for e in range(ptr[j], ptr[j + 1]):
        r = col[e]
        if (not ini[r]) and r == oj:
            sp[k] = r
            k += 1
            ys += wj_of[r]
    # PA over i-only units
    for c in range(di + 1):
        PA[c] = 0.0
    PA[0] = 1.0
    top = 0
    for e in range(ptr[i], ptr[i + 1]):
        r = col[e]
        if inj[r] or r == oi:
            continue
        w = wi_of[r]
        if w == 0:
            continue
        pr = p[r]
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
    for e in range(ptr[j], ptr[j + 1]):
        r = col[e]
        if ini[r] or r == oj:
            continue
        w = wj_of[r]
        if w == 0:
            continue
        pr = p[r]
        for c in range(top, -1, -1):
            v = PB[c]
            PB[c + w] += pr * v
            PB[c] = (1.0 - pr) * v
        top += w
    btop = top
    # S over special units: state (zi, zj, x, y)
    wk = _grow(wk, 4 * (xs + 1) * (ys + 1), 2 * (max(xs, ys) + 1) * L)
    S = wk[1][:4 * (xs + 1) * (ys + 1)].reshape((2, 2, xs + 1, ys + 1))
    T = wk[2][:4 * (xs + 1) * (ys + 1)].reshape((2, 2, xs + 1, ys + 1))
    S[:] = 0.0
    S[0, 0, 0, 0] = 1.0
    for q in range(nsp):
        r = sp[q]
        wi = wi_of[r] if ini[r] else 0
        wj = wj_of[r] if inj[r] else 0
        pr = p[r]
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
    QA = wk[3][:2 * (xs + 1) * L].reshape((2, xs + 1, L))
    QA[:] = 0.0
    for z in range(2):
        base = loff[di] + z * (di + 1)
        for x in range(xs + 1):
            for a in range(atop + 1):
                if x + a <= di:
                    QA[z, x, ltab[base + x + a]] += PA[a]
    QB = wk[4][:2 * (ys + 1) * L].reshape((2, ys + 1, L))
    QB[:] = 0.0
    for z in range(2):
        base = loff[dj] + z * (dj + 1)
        for y in range(ys + 1):
            for b in range(btop + 1):
                if y + b <= dj:
                    QB[z, y, ltab[base + y + b]] += PB[b]
    J = wk[5]
    J[:] = 0.0
    for a in range(2):
        for b in range(2):
            for x in range(xs + 1):
                for y in range(ys + 1):
                    v = S[a, b, x, y]
                    if v == 0.0:
                        continue
                    for kk in range(L):
                        qa = QA[a, x, kk]
                        if qa == 0.0:
                            continue
                        for ll in range(L):
                            J[kk, ll] += v * qa * QB[b, y, ll]
    return wk


@njit(cache=True)
def _mark(ptr, col, wt, i, flag, w_of, on):
    for e in range(ptr[i], ptr[i + 1]):
        flag[col[e]] = on
        w_of[col[e]] = wt[e]


@njit(cache=True)
def pair_stats(ptr, col, wt, tptr, tidx, own, p, d, loff, ltab, L, codes, mask, marg, U, S, zc):
    """Stream over dependent pairs (i < j, both in ``mask``): accumulate the Aronow-Samii sums.

    ``S[m, a, b] += (J_ab - pi_a(i) pi_b(j)) / J_ab * U[i, m] U[j, m]`` for observed levels a, b
    (both orders); ``zc[i, l]`` counts partners j with ``pi_l(j) > 0`` and ``P(level_i = a_i,
    level_j = l) = 0``.
    """
    n = ptr.shape[0] - 1
    nR = p.shape[0]
    M = U.shape[1]
    ini = np.zeros(nR, dtype=np.bool_)
    inj = np.zeros(nR, dtype=np.bool_)
    wi_of = np.zeros(nR, dtype=np.int64)
    wj_of = np.zeros(nR, dtype=np.int64)
    maxd = 0
    for i in range(n):
        if d[i] > maxd:
            maxd = d[i]
    PA = np.zeros(maxd + 1)
    PB = np.zeros(maxd + 1)
    wk = _work_buffers(nR, L)
    stamp = np.full(n, -1, dtype=np.int64)
    n_pairs = 0
    for i in range(n):
        if not mask[i]:
            continue
        _mark(ptr, col, wt, i, ini, wi_of, True)
        a = codes[i]
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            for t in range(tptr[r], tptr[r + 1]):
                j = tidx[t]
                if j <= i or (not mask[j]) or stamp[j] == i:
                    continue
                stamp[j] = i
                n_pairs += 1
                _mark(ptr, col, wt, j, inj, wj_of, True)
                wk = _pair_joint(i, j, ptr, col, wt, own, p, d, loff, ltab, L, ini, wi_of, inj, wj_of, PA, PB, wk)
                J = wk[5]
                _mark(ptr, col, wt, j, inj, wj_of, False)
                b = codes[j]
                v = J[a, b]
                if v > 0.0:
                    f = (v - marg[i, a] * marg[j, b]) / v
                    for m in range(M):
                        tt = f * U[i, m] * U[j, m]
                        S[m, a, b] += tt
                        S[m, b, a] += tt
                for l in range(L):
                    if marg[j, l] > 0.0 and J[a, l] == 0.0:
                        zc[i, l] += 1
                    if marg[i, l] > 0.0 and J[l, b] == 0.0:
                        zc[j, l] += 1
        _mark(ptr, col, wt, i, ini, wi_of, False)
    return n_pairs


@njit(cache=True)
def pair_joint_entries(ptr, col, wt, tptr, tidx, own, p, d, loff, ltab, L, ka, kb, count_only, rows, cols, vals):
    """All dependent ordered pairs (i != j) and ``P(level_i = ka, level_j = kb)``; first call counts."""
    n = ptr.shape[0] - 1
    nR = p.shape[0]
    ini = np.zeros(nR, dtype=np.bool_)
    inj = np.zeros(nR, dtype=np.bool_)
    wi_of = np.zeros(nR, dtype=np.int64)
    wj_of = np.zeros(nR, dtype=np.int64)
    maxd = 0
    for i in range(n):
        if d[i] > maxd:
            maxd = d[i]
    PA = np.zeros(maxd + 1)
    PB = np.zeros(maxd + 1)
    wk = _work_buffers(nR, L)
    stamp = np.full(n, -1, dtype=np.int64)
    q = 0
    for i in range(n):
        _mark(ptr, col, wt, i, ini, wi_of, True)
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            for t in range(tptr[r], tptr[r + 1]):
                j = tidx[t]
                if j == i or stamp[j] == i:
                    continue
                stamp[j] = i
                if not count_only:
                    _mark(ptr, col, wt, j, inj, wj_of, True)
                    wk = _pair_joint(i, j, ptr, col, wt, own, p, d, loff, ltab, L, ini, wi_of, inj, wj_of, PA, PB, wk)
                    J = wk[5]
                    _mark(ptr, col, wt, j, inj, wj_of, False)
                    rows[q] = i
                    cols[q] = j
                    vals[q] = J[ka, kb]
                q += 1
        _mark(ptr, col, wt, i, ini, wi_of, False)
    return q


# ----------------------------------------------------------------------------- fast pair sums
# Unit-level Bernoulli(p) with one p for every unit: the joint levels of a pair (i, j) depend only
# on e1 = [j in N_i], e2 = [i in N_j], the overlap c = |N_i & N_j| and alpha = |N_i \ N_j \ {j}|,
# beta = |N_j \ N_i \ {i}|:  C_i = A + S + e1 Z_j, C_j = B + S + e2 Z_i with A ~ Bin(alpha, p),
# B ~ Bin(beta, p), S ~ Bin(c, p), Z_i, Z_j ~ Bern(p), all independent. The joint is then a
# convolution of three binomials (no per-pair dynamic programme, no allocation per pair).
@njit(cache=True)
def _binom_pmf(m, p, out):
    """Binomial(m, p) probabilities into ``out[0..m]`` (recurrence; log form when (1-p)^m underflows)."""
    for x in range(m + 1):
        out[x] = 0.0
    if p <= 0.0:
        out[0] = 1.0
        return
    if p >= 1.0:
        out[m] = 1.0
        return
    q = 1.0 - p
    l0 = m * math.log(q)
    if l0 > -690.0:
        v = math.exp(l0)
        out[0] = v
        r = p / q
        for x in range(m):
            v = v * (m - x) / (x + 1.0) * r
            out[x + 1] = v
    else:
        lp = math.log(p)
        lq = math.log(q)
        for x in range(m + 1):
            out[x] = math.exp(_lbinom(m, x) + x * lp + (m - x) * lq)


_TABLE_MAX = 2048  # binomial pmfs tabulated for sizes up to this (about 17 MB)


@njit(cache=True)
def binom_table(mmax, p):
    """Binomial(m, p) pmfs for m = 0..mmax, flattened: entry x of size m at ``m (m + 1) / 2 + x``."""
    out = np.empty((mmax + 1) * (mmax + 2) // 2)
    buf = np.empty(mmax + 1)
    for m in range(mmax + 1):
        _binom_pmf(m, p, buf)
        o = m * (m + 1) // 2
        for x in range(m + 1):
            out[o + x] = buf[x]
    return out


@njit(cache=True)
def tail_tables(tab, mmax):
    """Lower and upper cumulative sums of :func:`binom_table` (same layout): P(X <= x), P(X >= x)."""
    cdf = np.empty_like(tab)
    sf = np.empty_like(tab)
    for m in range(mmax + 1):
        o = m * (m + 1) // 2
        acc = 0.0
        for x in range(m + 1):
            acc += tab[o + x]
            cdf[o + x] = acc
        acc = 0.0
        for x in range(m, -1, -1):
            acc += tab[o + x]
            sf[o + x] = acc
    return cdf, sf


@njit(cache=True)
def _range_prob(m, x0, x1, cdf, sf):
    """P(x0 <= X <= x1) for X ~ Bin(m, p) from the tail tables, each side taken where it is accurate."""
    o = m * (m + 1) // 2
    if x0 == 0:
        return cdf[o + x1]
    if x1 == m:
        return sf[o + x0]
    if cdf[o + x0 - 1] < 0.5:
        return cdf[o + x1] - cdf[o + x0 - 1]
    return sf[o + x0] - sf[o + x1 + 1]


@njit(cache=True)
def _bern_pair_row_runs(a, di, dj, e1, e2, c, p, tab, cdf, sf, rend, loff, ltab, L, row):
    """As :func:`_bern_pair_row`, summing binomial ranges over runs of equal level (O(runs) per term)."""
    alpha = di - c - e1
    beta = dj - c - e2
    oc = c * (c + 1) // 2
    for l in range(L):
        row[l] = 0.0
    bi = loff[di]
    bj = loff[dj]
    for zi in range(2):
        pzi = p if zi == 1 else 1.0 - p
        if pzi == 0.0:
            continue
        for s in range(c + 1):
            ws = pzi * tab[oc + s]
            if ws == 0.0:
                continue
            qa = 0.0
            for zj in range(2):
                pzj = p if zj == 1 else 1.0 - p
                if pzj == 0.0:
                    continue
                if zj == 0 or e1 == 1:
                    qa = 0.0
                    start = bi + zi * (di + 1) + s + e1 * zj
                    pos = start
                    while pos <= start + alpha:
                        end = min(rend[pos], start + alpha)
                        if ltab[pos] == a:
                            qa += _range_prob(alpha, pos - start, end - start, cdf, sf)
                        pos = end + 1
                if qa == 0.0:
                    continue
                w = ws * pzj * qa
                start = bj + zj * (dj + 1) + s + e2 * zi
                pos = start
                while pos <= start + beta:
                    end = min(rend[pos], start + beta)
                    row[ltab[pos]] += w * _range_prob(beta, pos - start, end - start, cdf, sf)
                    pos = end + 1


@njit(cache=True)
def _pmf(m, p, tab, buf):
    """Binomial(m, p) pmf: a view into the table when tabulated, else computed into ``buf``."""
    if (m + 1) * (m + 2) // 2 <= tab.shape[0]:
        o = m * (m + 1) // 2
        return tab[o:o + m + 1]
    _binom_pmf(m, p, buf)
    return buf


@njit(cache=True)
def _bern_pair_row(a, di, dj, e1, e2, c, p, tab, loff, ltab, L, bufA, bufB, bufC, QB, row):
    """row[l] = P(level_i = a, level_j = l) for a pair described by (d_i, d_j, e1, e2, c)."""
    alpha = di - c - e1
    beta = dj - c - e2
    bA = _pmf(alpha, p, tab, bufA)
    bB = _pmf(beta, p, tab, bufB)
    bC = _pmf(c, p, tab, bufC)
    for l in range(L):
        row[l] = 0.0
    bi = loff[di]
    bj = loff[dj]
    for zi in range(2):
        pzi = p if zi == 1 else 1.0 - p
        if pzi == 0.0:
            continue
        for s in range(c + 1):
            ws = pzi * bC[s]
            if ws == 0.0:
                continue
            qa = 0.0
            for zj in range(2):
                pzj = p if zj == 1 else 1.0 - p
                if pzj == 0.0:
                    continue
                if zj == 0 or e1 == 1:  # the i side depends on z_j only through e1
                    qa = 0.0
                    base = bi + zi * (di + 1) + s + e1 * zj
                    for x in range(alpha + 1):
                        if ltab[base + x] == a:
                            qa += bA[x]
                if qa == 0.0:
                    continue
                for l in range(L):
                    QB[l] = 0.0
                base = bj + zj * (dj + 1) + s + e2 * zi
                for y in range(beta + 1):
                    QB[ltab[base + y]] += bB[y]
                w = ws * pzj * qa
                for l in range(L):
                    row[l] += w * QB[l]


@njit(cache=True)
def _bern_pair_joint(di, dj, e1, e2, c, p, tab, loff, ltab, L, bufA, bufB, bufC, QA, QB, J):
    """J[k, l] = P(level_i = k, level_j = l) for a pair described by (d_i, d_j, e1, e2, c)."""
    alpha = di - c - e1
    beta = dj - c - e2
    bA = _pmf(alpha, p, tab, bufA)
    bB = _pmf(beta, p, tab, bufB)
    bC = _pmf(c, p, tab, bufC)
    for k in range(L):
        for l in range(L):
            J[k, l] = 0.0
    bi = loff[di]
    bj = loff[dj]
    for zi in range(2):
        pzi = p if zi == 1 else 1.0 - p
        if pzi == 0.0:
            continue
        for zj in range(2):
            pzj = p if zj == 1 else 1.0 - p
            if pzj == 0.0:
                continue
            for s in range(c + 1):
                w = pzi * pzj * bC[s]
                if w == 0.0:
                    continue
                for k in range(L):
                    QA[k] = 0.0
                    QB[k] = 0.0
                base = bi + zi * (di + 1) + s + e1 * zj
                for x in range(alpha + 1):
                    QA[ltab[base + x]] += bA[x]
                base = bj + zj * (dj + 1) + s + e2 * zi
                for y in range(beta + 1):
                    QB[ltab[base + y]] += bB[y]
                for k in range(L):
                    qa = w * QA[k]
                    if qa == 0.0:
                        continue
                    for l in range(L):
                        J[k, l] += qa * QB[l]


@njit(parallel=True, cache=True)
def bern_pair_sums(kptr, kidx, tptr, tidx, d, p, tab, cdf, sf, rend, loff, ltab, L, codes, mask, marg, U, mode,
                   n_chunks, S, zc):
    """Stream over ordered dependent pairs (i, j), i != j, both in ``mask``, in parallel over i.

    ``K = (kptr, kidx)``: k-hop in-neighbourhoods (row i = N_i, i excluded); ``(tptr, tidx)`` its
    transpose. mode 0 (Aronow-Samii sums, ``U`` (n, M)): ``S[m, a_i, a_j] += (J - pi_i pi_j) / J
    U[i, m] U[j, m]`` at the observed levels and ``zc[i, l]`` counts partners j with
    ``pi_j(l) > 0`` and ``P(level_i = a_i, level_j = l) = 0``. mode 1 (covariance sums, ``U``
    (n, L)): ``S[0, k, l] += (J_kl - pi_i(k) pi_j(l)) U[i, k] U[j, l]`` for every (k, l).
    Returns the number of ordered pairs.
    """
    n = d.shape[0]
    M = S.shape[0]
    maxd = 0
    for i in range(n):
        if d[i] > maxd:
            maxd = d[i]
    Sc = np.zeros((n_chunks, M, L, L))
    npairs = np.zeros(n_chunks, dtype=np.int64)
    runs = (maxd + 1) * (maxd + 2) // 2 <= tab.shape[0]  # every size tabulated: sums over runs of levels
    for ch in prange(n_chunks):
        lo = ch * n // n_chunks
        hi = (ch + 1) * n // n_chunks
        cnt = np.zeros(n, dtype=np.int32)
        flag = np.zeros(n, dtype=np.uint8)
        touched = np.empty(n, dtype=np.int64)
        bA = np.empty(maxd + 1)
        bB = np.empty(maxd + 1)
        bC = np.empty(maxd + 1)
        QA = np.empty(L)
        QB = np.empty(L)
        J = np.empty((L, L))
        row = np.empty(L)
        Sl = np.zeros((M, L, L))  # thread-local sums (no false sharing)
        npl = 0
        for i in range(lo, hi):
            if not mask[i]:
                continue
            nt = 0
            for e in range(kptr[i], kptr[i + 1]):
                r = kidx[e]
                if flag[r] == 0:
                    touched[nt] = r
                    nt += 1
                flag[r] |= 1
                for t in range(tptr[r], tptr[r + 1]):
                    j = tidx[t]
                    if j == i:
                        continue
                    if flag[j] == 0:
                        touched[nt] = j
                        nt += 1
                    flag[j] |= 4
                    cnt[j] += 1
            for t in range(tptr[i], tptr[i + 1]):
                j = tidx[t]
                if flag[j] == 0:
                    touched[nt] = j
                    nt += 1
                flag[j] |= 2
            a = codes[i]
            for q in range(nt):
                j = touched[q]
                f = flag[j]
                c = cnt[j]
                flag[j] = 0
                cnt[j] = 0
                if not mask[j]:
                    continue
                e1 = 1 if (f & 1) else 0
                e2 = 1 if (f & 2) else 0
                npl += 1
                if mode == 0:
                    if runs:
                        _bern_pair_row_runs(a, d[i], d[j], e1, e2, c, p, tab, cdf, sf, rend, loff, ltab, L, row)
                    else:
                        _bern_pair_row(a, d[i], d[j], e1, e2, c, p, tab, loff, ltab, L, bA, bB, bC, QB, row)
                    b = codes[j]
                    v = row[b]
                    if v > 0.0:
                        w = (v - marg[i, a] * marg[j, b]) / v
                        for m in range(M):
                            Sl[m, a, b] += w * U[i, m] * U[j, m]
                    for l in range(L):
                        if marg[j, l] > 0.0 and row[l] == 0.0:
                            zc[i, l] += 1
                else:
                    _bern_pair_joint(d[i], d[j], e1, e2, c, p, tab, loff, ltab, L, bA, bB, bC, QA, QB, J)
                    for k in range(L):
                        uk = U[i, k]
                        if uk == 0.0:
                            continue
                        for l in range(L):
                            Sl[0, k, l] += (J[k, l] - marg[i, k] * marg[j, l]) * uk * U[j, l]
        Sc[ch] = Sl
        npairs[ch] = npl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(L):
                for l in range(L):
                    S[m, k, l] += Sc[ch, m, k, l]
    return npairs.sum()


@njit(cache=True)
def pair_cov_sums(ptr, col, wt, tptr, tidx, own, p, d, loff, ltab, L, mask, marg, U, S):
    """Covariance sums over dependent pairs for independent randomization units (any probabilities).

    ``S[k, l] += (J_kl - pi_i(k) pi_j(l)) U[i, k] U[j, l]`` over ordered pairs i != j in ``mask``
    (each unordered pair computed once, added in both orders).
    """
    n = ptr.shape[0] - 1
    nR = p.shape[0]
    ini = np.zeros(nR, dtype=np.bool_)
    inj = np.zeros(nR, dtype=np.bool_)
    wi_of = np.zeros(nR, dtype=np.int64)
    wj_of = np.zeros(nR, dtype=np.int64)
    maxd = 0
    for i in range(n):
        if d[i] > maxd:
            maxd = d[i]
    PA = np.zeros(maxd + 1)
    PB = np.zeros(maxd + 1)
    wk = _work_buffers(nR, L)
    stamp = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if not mask[i]:
            continue
        _mark(ptr, col, wt, i, ini, wi_of, True)
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            for t in range(tptr[r], tptr[r + 1]):
                j = tidx[t]
                if j <= i or (not mask[j]) or stamp[j] == i:
                    continue
                stamp[j] = i
                _mark(ptr, col, wt, j, inj, wj_of, True)
                wk = _pair_joint(i, j, ptr, col, wt, own, p, d, loff, ltab, L, ini, wi_of, inj, wj_of, PA, PB, wk)
                J = wk[5]
                _mark(ptr, col, wt, j, inj, wj_of, False)
                for k in range(L):
                    for l in range(L):
                        cij = J[k, l] - marg[i, k] * marg[j, l]
                        S[k, l] += cij * U[i, k] * U[j, l]
                        S[l, k] += cij * U[j, l] * U[i, k]
        _mark(ptr, col, wt, i, ini, wi_of, False)


# ----------------------------------------------------------------------------- complete designs
# Complete randomization (K of nR randomization units treated, K mixed over ``ks`` with weights
# ``kw``) makes every pair dependent. Write m_i for the number of randomization units touching unit
# i's closed neighbourhood and T_i for how many of them are treated. Given T_i = t the treated set
# among them is a uniform t-subset, so the level of i depends on the draw only through
# Qt_i[t, l] = P(level l | T_i = t): the *type* of unit i. Two units whose neighbourhoods share no
# randomization unit ("far" pairs) have the joint
#   sum_{t, u} Qt_i[t, k] Qt_j[u, l] C(m_i, t) C(m_j, u) C(nR - m_i - m_j, K - t - u) / C(nR, K),
# a function of the two types only. Near pairs (sharing a unit) are computed one by one.
@njit(cache=True)
def log_factorials(nmax):
    out = np.zeros(nmax + 2)
    for k in range(1, nmax + 2):
        out[k] = out[k - 1] + math.log(k)
    return out


@njit(cache=True)
def _lb(lf, a, b):
    if b < 0 or a < 0 or b > a:
        return -np.inf
    return lf[a] - lf[b] - lf[a - b]


@njit(cache=True)
def _dp_side(ptr, col, row, excl, w_of, ownr, m, dmax):
    """f[t, z, x] = P(own treated = z, weighted count = x | t of the row's units (not ``excl``) treated)."""
    f = np.zeros((m + 1, 2, dmax + 1))
    g = np.zeros((m + 1, 2, dmax + 1))
    f[0, 0, 0] = 1.0
    mm = 0
    top = 0
    for e in range(ptr[row], ptr[row + 1]):
        r = col[e]
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
def cluster_types_qt(ptr, col, wt, own, d, reps, mmax, loff, ltab, L):
    """Qt[type, t, l] for representative units ``reps`` (cluster designs), by :func:`_dp_side`."""
    T = reps.shape[0]
    Qt = np.zeros((T, mmax + 1, L))
    nR = 0
    for e in range(col.shape[0]):
        if col[e] + 1 > nR:
            nR = col[e] + 1
    excl = np.zeros(nR, dtype=np.bool_)
    w_of = np.zeros(nR, dtype=np.int64)
    for q in range(T):
        i = reps[q]
        m = ptr[i + 1] - ptr[i]
        for e in range(ptr[i], ptr[i + 1]):
            w_of[col[e]] = wt[e]
        f = _dp_side(ptr, col, i, excl, w_of, own[i], m, d[i])
        base = loff[d[i]]
        for t in range(m + 1):
            for z in range(2):
                for x in range(d[i] + 1):
                    v = f[t, z, x]
                    if v != 0.0:
                        Qt[q, t, ltab[base + z * (d[i] + 1) + x]] += v
    return Qt


@njit(cache=True)
def unit_types_qt(dvals, mmax, loff, ltab, L):
    """Qt for unit-level complete designs: m = d + 1, own unit treated with probability t / m."""
    T = dvals.shape[0]
    Qt = np.zeros((T, mmax + 1, L))
    for q in range(T):
        di = dvals[q]
        m = di + 1
        base = loff[di]
        for t in range(m + 1):
            if t <= di:
                Qt[q, t, ltab[base + t]] += (m - t) / m
            if t >= 1:
                Qt[q, t, ltab[base + (di + 1) + t - 1]] += t / m
    return Qt


@njit(parallel=True, cache=True)
def complete_type_tables(Qt, mt, nR, ks, kw, lf, Jt, pit):
    """Far-pair joints ``Jt[a, b, k, l]`` between types and type marginals ``pit[a, k]``."""
    T = Qt.shape[0]
    L = Qt.shape[2]
    for a in prange(T):
        ma = mt[a]
        for k in range(L):
            pit[a, k] = 0.0
        for q in range(ks.shape[0]):
            if kw[q] == 0.0:
                continue
            K = ks[q]
            lden = _lb(lf, nR, K)
            for t in range(ma + 1):
                h = _lb(lf, ma, t) + _lb(lf, nR - ma, K - t) - lden
                if h > -np.inf:
                    h = kw[q] * math.exp(h)
                    for k in range(L):
                        pit[a, k] += h * Qt[a, t, k]
        G = np.zeros((ma + 1, L))
        for b in range(T):
            mb = mt[b]
            for k in range(L):
                for l in range(L):
                    Jt[a, b, k, l] = 0.0
            for q in range(ks.shape[0]):
                if kw[q] == 0.0:
                    continue
                K = ks[q]
                lden = _lb(lf, nR, K)
                for t in range(ma + 1):
                    for l in range(L):
                        G[t, l] = 0.0
                    lt = _lb(lf, ma, t)
                    for u in range(mb + 1):
                        h = lt + _lb(lf, mb, u) + _lb(lf, nR - ma - mb, K - t - u) - lden
                        if h == -np.inf:
                            continue
                        h = kw[q] * math.exp(h)
                        for l in range(L):
                            G[t, l] += h * Qt[b, u, l]
                for t in range(ma + 1):
                    for k in range(L):
                        v = Qt[a, t, k]
                        if v == 0.0:
                            continue
                        for l in range(L):
                            Jt[a, b, k, l] += v * G[t, l]


@njit(cache=True)
def _hyp_range(cdf, sf, row, width, b0, b1):
    """P(b0 <= B <= b1) from the cumulative tables (row ``row``, support 0..width-1)."""
    o = row * width
    if b0 == 0:
        return cdf[o + b1]
    if b1 == width - 1:
        return sf[o + b0]
    if cdf[o + b0 - 1] < 0.5:
        return cdf[o + b1] - cdf[o + b0 - 1]
    return sf[o + b0] - sf[o + b1 + 1]


@njit(cache=True)
def _cu_pair_joint(di, dj, e1, e2, c, nu, ks, kw, lf, loff, ltab, rend, L, J):
    """Unit-level Complete: J[k, l] = P(level_i = k, level_j = l) for a pair (d_i, d_j, e1, e2, c).

    Multivariate hypergeometric over {i}, {j}, A = N_i - N_j - {j} (alpha), B = N_j - N_i - {i}
    (beta), S = N_i & N_j (c) and the rest; for each (z_i, z_j, s, a) the count b in B given the
    r = K - z_i - z_j - s - a treated left for B and the rest is hypergeometric, summed over runs of
    equal level of j with tabulated tails.
    """
    alpha = di - c - e1
    beta = dj - c - e2
    R = nu - 2 - alpha - beta - c
    for k in range(L):
        for l in range(L):
            J[k, l] = 0.0
    width = beta + 1
    for q in range(ks.shape[0]):
        wq = kw[q]
        if wq == 0.0:
            continue
        K = ks[q]
        lden = _lb(lf, nu, K)
        rlo = max(0, K - 2 - c - alpha)
        rhi = min(K, beta + R)
        if rhi < rlo:
            continue
        nr = rhi - rlo + 1
        cdf = np.empty(nr * width)
        sf = np.empty(nr * width)
        for rr in range(nr):
            r = rlo + rr
            lr = _lb(lf, beta + R, r)
            o = rr * width
            acc = 0.0
            for b in range(width):
                lv = _lb(lf, beta, b) + _lb(lf, R, r - b) - lr
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
                    ls = _lb(lf, c, s)
                    for a in range(alpha + 1):
                        r = K - zi - zj - s - a
                        if r < 0:
                            break
                        if r > rhi:
                            continue
                        lw = ls + _lb(lf, alpha, a) + _lb(lf, beta + R, r) - lden
                        if lw == -np.inf:
                            continue
                        w = wq * math.exp(lw)
                        ki = ltab[loff[di] + zi * (di + 1) + a + s + e1 * zj]
                        start = loff[dj] + zj * (dj + 1) + s + e2 * zi
                        pos = start
                        while pos <= start + beta:
                            end = min(rend[pos], start + beta)
                            J[ki, ltab[pos]] += w * _hyp_range(cdf, sf, r - rlo, width, pos - start, end - start)
                            pos = end + 1



@njit(cache=True, inline="always")
def _split_parts(ptr, col, i, j, ini, inj, wi_of, wj_of):
    """Split the clusters touched by i and j into i-only (A), j-only (B) and shared (S) parts.

    Returns the number of clusters in each part and the summed neighbour weights: ``(mA, mB, mS,
    dA, dB, xs, ys)`` with ``dA``/``dB`` i's/j's weights on their own parts and ``xs``/``ys`` i's
    and j's weights on the shared clusters.
    """
    mA = 0
    mB = 0
    mS = 0
    dA = 0
    dB = 0
    xs = 0
    ys = 0
    for e in range(ptr[i], ptr[i + 1]):
        r = col[e]
        if inj[r]:
            mS += 1
            xs += wi_of[r]
            ys += wj_of[r]
        else:
            mA += 1
            dA += wi_of[r]
    for e in range(ptr[j], ptr[j + 1]):
        r = col[e]
        if not ini[r]:
            mB += 1
            dB += wj_of[r]
    return mA, mB, mS, dA, dB, xs, ys

@njit(cache=True)
def _cc_pair_joint(i, j, ptr, col, own, ini, wi_of, inj, wj_of, d, nR, ks, kw, lf, loff, ltab, L, J):
    """Complete over randomization units (clusters): J[k, l] = P(level_i = k, level_j = l).

    Units touching only i (A), only j (B) or both (S): uniform subsets within each part given its
    treated count, the counts (T_A, T_B, T_S) multivariate hypergeometric.
    """
    oi = own[i]
    oj = own[j]
    di = d[i]
    dj = d[j]
    mA, mB, mS, dA, dB, xs, ys = _split_parts(ptr, col, i, j, ini, inj, wi_of, wj_of)
    fA = _dp_side(ptr, col, i, inj, wi_of, oi, mA, dA)
    fB = _dp_side(ptr, col, j, ini, wj_of, oj, mB, dB)
    # shared part: state (t, zi, zj, x, y), normalized as in _dp_side
    gS = np.zeros((mS + 1, 2, 2, xs + 1, ys + 1))
    hS = np.zeros((mS + 1, 2, 2, xs + 1, ys + 1))
    gS[0, 0, 0, 0, 0] = 1.0
    mm = 0
    tx = 0
    ty = 0
    for e in range(ptr[i], ptr[i + 1]):
        r = col[e]
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
    RA = np.zeros((mA + 1, 2, xs + 1, L))
    for t in range(mA + 1):
        for za in range(2):
            for xa in range(dA + 1):
                v = fA[t, za, xa]
                if v == 0.0:
                    continue
                for zs in range(2):
                    z = 1 if (za == 1 or zs == 1) else 0
                    for x in range(xs + 1):
                        RA[t, zs, x, ltab[loff[di] + z * (di + 1) + x + xa]] += v
    RB = np.zeros((mB + 1, 2, ys + 1, L))
    for t in range(mB + 1):
        for zb in range(2):
            for yb in range(dB + 1):
                v = fB[t, zb, yb]
                if v == 0.0:
                    continue
                for zs in range(2):
                    z = 1 if (zb == 1 or zs == 1) else 0
                    for y in range(ys + 1):
                        RB[t, zs, y, ltab[loff[dj] + z * (dj + 1) + y + yb]] += v
    for k in range(L):
        for l in range(L):
            J[k, l] = 0.0
    M = mA + mB + mS
    mAS = mA + mS
    W = np.zeros((mAS + 1, 2, ys + 1, L))
    for q in range(ks.shape[0]):
        wq = kw[q]
        if wq == 0.0:
            continue
        K = ks[q]
        lden = _lb(lf, nR, K)
        W[:] = 0.0
        for v in range(mAS + 1):
            lv = _lb(lf, mAS, v)
            for t in range(mB + 1):
                h = lv + _lb(lf, mB, t) + _lb(lf, nR - M, K - v - t) - lden
                if h == -np.inf:
                    continue
                h = wq * math.exp(h)
                for zs in range(2):
                    for y in range(ys + 1):
                        for l in range(L):
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
                                hh = _lb(lf, mA, tA) + _lb(lf, mS, tS) - _lb(lf, mAS, tA + tS)
                                hh = g * math.exp(hh)
                                for k in range(L):
                                    ra = RA[tA, a, x, k]
                                    if ra == 0.0:
                                        continue
                                    for l in range(L):
                                        J[k, l] += hh * ra * W[tA + tS, b, y, l]


@njit(parallel=True, cache=True)
def complete_pair_sums(ptr, col, wt, own, tptr, tidx, nR, ks, kw, lf, d, loff, ltab, rend, L, typ, Jt, pit, P,
                       codes, mask, U, mode, unit, n_chunks, S, zc, D, ka, kb, row_lo, row_hi):
    """Near-pair corrections under Complete designs, streamed over ordered pairs (i, j), i != j.

    Near pairs share a randomization unit; the far-pair (type) formula ``Jt`` was used for every
    pair by the caller, so each near pair adds (exact term) - (type term). mode 0 (Aronow-Samii,
    ``U`` (n, M), both units in ``mask``): ``S[m, a_i, a_j]`` and the zero-joint counts ``zc[i, l]``;
    mode 1 (covariance sums, ``U`` (n, L)): ``S[0, k, l]``; mode 2: ``D[i, j] = P(level_i = ka,
    level_j = kb)`` for every near pair. ``unit``: unit-level design (closed-form joints).
    """
    n = ptr.shape[0] - 1
    M = S.shape[0]
    Sc = np.zeros((n_chunks, M, L, L))
    for ch in prange(n_chunks):  # rows row_lo..row_hi - 1 (the caller may split the work for a progress bar)
        lo = row_lo + ch * (row_hi - row_lo) // n_chunks
        hi = row_lo + (ch + 1) * (row_hi - row_lo) // n_chunks
        ini = np.zeros(nR, dtype=np.bool_)
        inj = np.zeros(nR, dtype=np.bool_)
        wi_of = np.zeros(nR, dtype=np.int64)
        wj_of = np.zeros(nR, dtype=np.int64)
        stamp = np.full(n, -1, dtype=np.int64)
        J = np.zeros((L, L))
        Sl = np.zeros((M, L, L))
        for i in range(lo, hi):
            if mode != 2 and not mask[i]:
                continue
            for e in range(ptr[i], ptr[i + 1]):
                ini[col[e]] = True
                wi_of[col[e]] = wt[e]
            a = codes[i]
            for e in range(ptr[i], ptr[i + 1]):
                r = col[e]
                for t in range(tptr[r], tptr[r + 1]):
                    j = tidx[t]
                    if j == i or stamp[j] == i:
                        continue
                    stamp[j] = i
                    if mode != 2 and not mask[j]:
                        continue
                    if unit:
                        e1 = 1 if ini[j] else 0
                        e2 = 0
                        c = 0
                        for f in range(ptr[j], ptr[j + 1]):
                            rr = col[f]
                            if rr == i:
                                e2 = 1
                            elif rr != j and ini[rr]:
                                c += 1
                        _cu_pair_joint(d[i], d[j], e1, e2, c, nR, ks, kw, lf, loff, ltab, rend, L, J)
                    else:
                        for f in range(ptr[j], ptr[j + 1]):
                            inj[col[f]] = True
                            wj_of[col[f]] = wt[f]
                        _cc_pair_joint(i, j, ptr, col, own, ini, wi_of, inj, wj_of, d, nR, ks, kw, lf, loff, ltab,
                                       L, J)
                        for f in range(ptr[j], ptr[j + 1]):
                            inj[col[f]] = False
                            wj_of[col[f]] = 0
                    ti = typ[i]
                    tj = typ[j]
                    if mode == 2:
                        D[i, j] = J[ka, kb]
                    elif mode == 0:
                        b = codes[j]
                        v = J[a, b]
                        fv = Jt[ti, tj, a, b]
                        w = 0.0
                        if v > 0.0:
                            w += (v - P[i, a] * P[j, b]) / v
                        if fv > 0.0:
                            w -= (fv - pit[ti, a] * pit[tj, b]) / fv
                        if w != 0.0:
                            for m in range(M):
                                Sl[m, a, b] += w * U[i, m] * U[j, m]
                        for l in range(L):
                            zc[i, l] += (1 if J[a, l] == 0.0 else 0) - (1 if Jt[ti, tj, a, l] == 0.0 else 0)
                    else:
                        for k in range(L):
                            uk = U[i, k]
                            if uk == 0.0:
                                continue
                            for l in range(L):
                                cv = (J[k, l] - P[i, k] * P[j, l]) - (Jt[ti, tj, k, l] - pit[ti, k] * pit[tj, l])
                                Sl[0, k, l] += cv * uk * U[j, l]
            for e in range(ptr[i], ptr[i + 1]):
                ini[col[e]] = False
                wi_of[col[e]] = 0
        Sc[ch] = Sl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(L):
                for l in range(L):
                    S[m, k, l] += Sc[ch, m, k, l]


@njit(cache=True)
def row_profile_hash(ptr, col, wt, own):
    """64-bit hash of each row's (number of units, own unit's weight, sorted other weights)."""
    n = ptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    buf = np.empty(max(1, col.shape[0]), dtype=np.int64)
    for i in range(n):
        k = 0
        ow = -1
        for e in range(ptr[i], ptr[i + 1]):
            if col[e] == own[i]:
                ow = wt[e]
            else:
                buf[k] = wt[e]
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


# ----------------------------------------------------------------------------- threshold mappings
# Independent randomization units with one probability p, and a mapping whose level depends on the
# neighbourhood count only through [c == 0] and [c == d] (Aronow-Samii, full neighbourhood, own
# treatment): the level of unit i is a function of its own unit's draw and of whether the units W_i
# (those with positive weight in its row) are all untreated, all treated, or mixed. For a pair
# (i, j), condition on the draws of the two own units F = {o_i, o_j}; the other units split into
# A = W_i \ W_j, B = W_j \ W_i and S = W_i & W_j (F removed), independent parts whose summaries
# (empty, all 0, all 1, mixed) have probabilities 1; q^m, p^m, 1 - q^m - p^m (m >= 2 only). The
# joint is a sum over F's draws and the three summaries: O(1) per pair after counting |S|, |B|.
_E, _Z, _O, _M = 0, 1, 2, 3


@njit(cache=True)
def _combine(a, b):
    """Summary of the union of two disjoint parts (empty, all 0, all 1, mixed)."""
    if a == _E:
        return b
    if b == _E:
        return a
    if a == b and a != _M:
        return a
    return _M


@njit(cache=True)
def _part(m, k, pw0, pw1):
    """(summary, probability) of the k-th possible summary of a part of m units."""
    if m == 0:
        return _E, 1.0
    if k == 0:
        return _Z, pw0[m]
    if k == 1:
        return _O, pw1[m]
    if m < 2:
        return _M, 0.0
    return _M, max(0.0, 1.0 - pw0[m] - pw1[m])


@njit(cache=True)
def _nparts(m):
    return 1 if m == 0 else (2 if m == 1 else 3)


@njit(cache=True)
def _fixed(in_a, za, in_b, zb):
    """Summary of the own units (of the pair) that are in a unit's W, given their draws."""
    s = _E
    if in_a:
        s = _combine(s, _O if za == 1 else _Z)
    if in_b:
        s = _combine(s, _O if zb == 1 else _Z)
    return s


@njit(cache=True)
def _thr_level(lev, i, z, s):
    """Level of unit i with own draw z and neighbourhood summary s (lev[i, z, 0|1|2]: c = 0, d, mid)."""
    if s == _O:
        return lev[i, z, 1]
    if s == _M:
        return lev[i, z, 2]
    return lev[i, z, 0]


@njit(cache=True)
def _thr_pair_joint(i, j, ptr, col, wt, own, ownin, nW, rstamp, rw, p, pw0, pw1, lev, L, vi, vj, J):
    """J[k, l] = P(level_i = k, level_j = l); i's row marked (``rstamp[r] == i``, weight ``rw[r]``)."""
    oi = own[i]
    oj = own[j]
    same = oi == oj
    oi_wi = ownin[i]
    oj_wi = (not same) and rstamp[oj] == i and rw[oj] > 0
    oi_wj = False
    oj_wj = ownin[j]
    nS = 0
    nB = 0
    for e in range(ptr[j], ptr[j + 1]):
        r = col[e]
        if wt[e] == 0:
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
    nA = nW[i] - (1 if oi_wi else 0) - (1 if oj_wi else 0) - nS
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
def thr_pair_sums(ptr, col, wt, own, tptr, tidx, ownin, nW, p, pw0, pw1, lev, L, codes, mask, marg, U, mode,
                  n_chunks, S, zc):
    """Aronow-Samii (mode 0) or covariance (mode 1) sums over ordered dependent pairs, in parallel.

    Same contract as :func:`bern_pair_sums`, for independent randomization units (clusters) with one
    probability and a threshold mapping (joints by :func:`_thr_pair_joint`).
    """
    n = ptr.shape[0] - 1
    nR = tptr.shape[0] - 1
    M = S.shape[0]
    Sc = np.zeros((n_chunks, M, L, L))
    for ch in prange(n_chunks):
        lo = ch * n // n_chunks
        hi = (ch + 1) * n // n_chunks
        rstamp = np.full(nR, -1, dtype=np.int64)
        rw = np.zeros(nR, dtype=np.int64)
        stamp = np.full(n, -1, dtype=np.int64)
        vi = np.empty(L)
        vj = np.empty(L)
        J = np.empty((L, L))
        Sl = np.zeros((M, L, L))
        for i in range(lo, hi):
            if not mask[i]:
                continue
            for e in range(ptr[i], ptr[i + 1]):
                rstamp[col[e]] = i
                rw[col[e]] = wt[e]
            a = codes[i]
            for e in range(ptr[i], ptr[i + 1]):
                r = col[e]
                for t in range(tptr[r], tptr[r + 1]):
                    j = tidx[t]
                    if j == i or stamp[j] == i:
                        continue
                    stamp[j] = i
                    if not mask[j]:
                        continue
                    _thr_pair_joint(i, j, ptr, col, wt, own, ownin, nW, rstamp, rw, p, pw0, pw1, lev, L, vi, vj, J)
                    if mode == 0:
                        b = codes[j]
                        v = J[a, b]
                        if v > 0.0:
                            w = (v - marg[i, a] * marg[j, b]) / v
                            for m in range(M):
                                Sl[m, a, b] += w * U[i, m] * U[j, m]
                        for l in range(L):
                            if marg[j, l] > 0.0 and J[a, l] == 0.0:
                                zc[i, l] += 1
                    else:
                        for k in range(L):
                            uk = U[i, k]
                            if uk == 0.0:
                                continue
                            for l in range(L):
                                Sl[0, k, l] += (J[k, l] - marg[i, k] * marg[j, l]) * uk * U[j, l]
        Sc[ch] = Sl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(L):
                for l in range(L):
                    S[m, k, l] += Sc[ch, m, k, l]


@njit(cache=True)
def thr_joint_entries(ptr, col, wt, own, tptr, tidx, ownin, nW, p, pw0, pw1, lev, L, ka, kb, count_only, rows,
                      cols, vals):
    """As :func:`pair_joint_entries` for threshold mappings (closed-form joints)."""
    n = ptr.shape[0] - 1
    nR = tptr.shape[0] - 1
    rstamp = np.full(nR, -1, dtype=np.int64)
    rw = np.zeros(nR, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)
    vi = np.empty(L)
    vj = np.empty(L)
    J = np.empty((L, L))
    q = 0
    for i in range(n):
        for e in range(ptr[i], ptr[i + 1]):
            rstamp[col[e]] = i
            rw[col[e]] = wt[e]
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            for t in range(tptr[r], tptr[r + 1]):
                j = tidx[t]
                if j == i or stamp[j] == i:
                    continue
                stamp[j] = i
                if not count_only:
                    _thr_pair_joint(i, j, ptr, col, wt, own, ownin, nW, rstamp, rw, p, pw0, pw1, lev, L, vi, vj, J)
                    rows[q] = i
                    cols[q] = j
                    vals[q] = J[ka, kb]
                q += 1
    return q


# ----------------------------------------------------------------------------- randomized saturation
@njit(cache=True)
def _sat_cluster(m, own_in, n_c, lo, fr, s, bern, out):
    """out[z, k]: P(own unit treated = z, k of the m other units treated | the cluster's level).

    ``own_in``: the unit itself belongs to this cluster (else z = 0 with its whole mass). Within
    ``bern``: independent Bernoulli(s); else a uniform subset of size lo (prob 1 - fr) or lo + 1 (fr)
    among the n_c units (multivariate hypergeometric over {i}, the m units and the rest).
    """
    for z in range(2):
        for k in range(m + 1):
            out[z, k] = 0.0
    if bern:
        for k in range(m + 1):
            if s <= 0.0:
                b = 1.0 if k == 0 else 0.0
            elif s >= 1.0:
                b = 1.0 if k == m else 0.0
            else:
                b = math.exp(_lbinom(m, k) + k * math.log(s) + (m - k) * math.log(1.0 - s))
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
        lden = _lbinom(n_c, T)
        rest = n_c - m - (1 if own_in else 0)
        for z in range(2 if own_in else 1):
            for k in range(m + 1):
                lv = _lbinom(m, k) + _lbinom(rest, T - z - k) - lden
                if lv > -np.inf:
                    out[z, k] += wq * math.exp(lv)


# ----------------------------------------------------------------------------- randomized saturation: pairs
# Levels of the m clusters touching a unit (or a pair) are coded by their *count vector* n (how many
# of them got each saturation level), in radix R = m + 1 over the first Ls - 1 levels (the last count
# is m minus the others). Conditional on the clusters' levels, the clusters are independent
# (stage 2), so a dynamic programme over the clusters, each mixed over its level, carries the state
# (count vector, own treatment, treated neighbours). Stage 1 "bernoulli" (independent levels): the
# share of each level multiplies in directly and the count state is trivial (R = 1). Stage 1
# "complete" (exchangeable levels): every specific level vector with counts n over m given clusters
# has probability G(m, n) = sum_N P(N) prod_l N_l! / (N_l - n_l)! * (K - m)! / K!, applied at the end.
@njit(cache=True)
def _sat_radix(Ls, indep, m):
    """``(R, cs)``: radix and number of count-vector codes for ``m`` clusters (1, 1 when independent)."""
    if indep:
        return 1, 1
    R = m + 1
    cs = 1
    for _ in range(Ls - 1):
        cs *= R
    return R, cs


@njit(cache=True)
def _sat_step(l, Ls, R, indep):
    if indep or l == Ls - 1:
        return 0
    s = 1
    for _ in range(l):
        s *= R
    return s


@njit(cache=True)
def _sat_g(nvec, m, Nsup, Nw, lf, Kc):
    """G(m, n): probability that m given clusters receive one given level vector with counts ``nvec``."""
    tot = 0.0
    base = lf[Kc - m] - lf[Kc]
    for s in range(Nsup.shape[0]):
        lv = base
        ok = True
        for l in range(Nsup.shape[1]):
            if nvec[l] > Nsup[s, l] or nvec[l] < 0:
                ok = False
                break
            lv += lf[Nsup[s, l]] - lf[Nsup[s, l] - nvec[l]]
        if ok:
            tot += Nw[s] * math.exp(lv)
    return tot


@njit(cache=True)
def _sat_g_codes(m, R, cs, Ls, indep, Nsup, Nw, lf, Kc):
    """G for every count code of m clusters in radix R (1 for independent levels)."""
    G = np.ones(cs)
    if indep:
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
        G[c] = _sat_g(nvec, m, Nsup, Nw, lf, Kc) if rest >= 0 else 0.0
    return G


@njit(cache=True)
def _sat_side(ptr, col, wt, row, excl, w_of, ownr, sizes, lo2, fr2, sat, shares, bern, indep, R, cs, dmax):
    """f[code, z, x]: the row's clusters (those not in ``excl``) with level counts ``code``, own treatment z
    and x treated neighbours, summed over the specific level vectors (times their shares if independent).

    An empty ``excl`` takes every cluster of the row with its weight from ``wt``; else weights ``w_of``.
    """
    whole = excl.shape[0] == 0
    Ls = sat.shape[0]
    f = np.zeros((cs, 2, dmax + 1))
    g = np.zeros((cs, 2, dmax + 1))
    hl = np.zeros((2, dmax + 1))
    f[0, 0, 0] = 1.0
    top = 0
    for e in range(ptr[row], ptr[row + 1]):
        r = col[e]
        if whole:
            w = wt[e]
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
            st = _sat_step(l, Ls, R, indep)
            wl = shares[l] if indep else 1.0
            _sat_cluster(w, isown, sizes[r], lo2[l, r], fr2[l, r], sat[l], bern, hl)
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
def _sat_shared_cluster(i_in, j_in, e1, e2, a, b, c, n_c, lo, fr, s, bern, out):
    """out[zi, zj, x, y] for one cluster touching both units, given its level.

    Parts: i and j (when in the cluster), ``a`` neighbours of i only, ``b`` of j only, ``c`` of both,
    and the rest; x (y) counts the treated neighbours of i (j) in the cluster, j (i) included when
    ``e1`` (``e2``). Independent Bernoulli(s) within, or a uniform subset of lo or lo + 1 units.
    """
    out[:] = 0.0
    zi_n = 2 if i_in else 1
    zj_n = 2 if j_in else 1
    rest = n_c - (1 if i_in else 0) - (1 if j_in else 0) - a - b - c
    for q in range(1 if bern else 2):
        T = lo + q
        wq = 1.0 if bern else (fr if q == 1 else 1.0 - fr)
        if wq == 0.0:
            continue
        lden = 0.0 if bern else _lbinom(n_c, T)
        for zi in range(zi_n):
            for zj in range(zj_n):
                for aa in range(a + 1):
                    la = _lbinom(a, aa)
                    for bb in range(b + 1):
                        lb = la + _lbinom(b, bb)
                        for cc in range(c + 1):
                            k = zi + zj + aa + bb + cc
                            if bern:
                                tot = (1 if i_in else 0) + (1 if j_in else 0) + a + b + c
                                v = (s ** k) * ((1.0 - s) ** (tot - k))
                                if v == 0.0:
                                    continue
                                v *= math.exp(lb + _lbinom(c, cc))
                            else:
                                lv = lb + _lbinom(c, cc) + _lbinom(rest, T - k) - lden
                                if lv == -np.inf:
                                    continue
                                v = wq * math.exp(lv)
                            x = aa + cc + (zj if e1 else 0)
                            y = bb + cc + (zi if e2 else 0)
                            out[zi, zj, x, y] += v


@njit(cache=True)
def _sat_pair_joint(i, j, ptr, col, own, kptr, kidx, lab, umark, cc, ini, wi_of, inj, wj_of, sizes, lo2, fr2, sat,
                    shares, bern, indep, Nsup, Nw, lf, Kc, d, loff, ltab, L, J):
    """J[k, l] = P(level_i = k, level_j = l) under randomized saturation (a pair sharing a cluster).

    The caller marks i's clusters (``ini``, ``wi_of``), j's clusters (``inj``, ``wj_of``) and i's k-hop
    neighbours (``umark[u] == i``); ``cc`` is zero on entry and left zero. The clusters touching only i
    (A), only j (B) and both (S) are three independent parts given their levels: side programmes over
    A and B, a joint programme over S with the unit-level overlap of the neighbourhoods inside each
    shared cluster, then a sum over the three count vectors weighted by G of their sum.
    """
    Ls = sat.shape[0]
    oi = own[i]
    oj = own[j]
    e1 = umark[j] == i
    e2 = False
    for t in range(kptr[j], kptr[j + 1]):
        u = kidx[t]
        if u == i:
            e2 = True
        elif umark[u] == i:
            cc[lab[u]] += 1
    mA, mB, mS, dA, dB, xs, ys = _split_parts(ptr, col, i, j, ini, inj, wi_of, wj_of)
    m = mA + mB + mS
    R, cs = _sat_radix(Ls, indep, m)
    fA = _sat_side(ptr, col, wi_of, i, inj, wi_of, oi, sizes, lo2, fr2, sat, shares, bern, indep, R, cs, dA)
    fB = _sat_side(ptr, col, wj_of, j, ini, wj_of, oj, sizes, lo2, fr2, sat, shares, bern, indep, R, cs, dB)
    # shared clusters: state (code, zi, zj, x, y)
    gS = np.zeros((cs, 2, 2, xs + 1, ys + 1))
    hS = np.zeros((cs, 2, 2, xs + 1, ys + 1))
    gS[0, 0, 0, 0, 0] = 1.0
    tx = 0
    ty = 0
    for e in range(ptr[i], ptr[i + 1]):
        r = col[e]
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
            st = _sat_step(l, Ls, R, indep)
            wl = shares[l] if indep else 1.0
            _sat_shared_cluster(i_in, j_in, e1, e2, a, b, c, sizes[r], lo2[l, r], fr2[l, r], sat[l], bern, ho)
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
    for t in range(kptr[j], kptr[j + 1]):
        cc[lab[kidx[t]]] = 0
    di = d[i]
    dj = d[j]
    RA = np.zeros((cs, 2, xs + 1, L))
    for cd in range(cs):
        for za in range(2):
            for xa in range(dA + 1):
                v = fA[cd, za, xa]
                if v == 0.0:
                    continue
                for zs in range(2):
                    z = 1 if (za == 1 or zs == 1) else 0
                    for x in range(xs + 1):
                        RA[cd, zs, x, ltab[loff[di] + z * (di + 1) + x + xa]] += v
    RB = np.zeros((cs, 2, ys + 1, L))
    for cd in range(cs):
        for zb in range(2):
            for yb in range(dB + 1):
                v = fB[cd, zb, yb]
                if v == 0.0:
                    continue
                for zs in range(2):
                    z = 1 if (zb == 1 or zs == 1) else 0
                    for y in range(ys + 1):
                        RB[cd, zs, y, ltab[loff[dj] + z * (dj + 1) + y + yb]] += v
    G = _sat_g_codes(m, R, cs, Ls, indep, Nsup, Nw, lf, Kc)
    # H[c, b, y, l] = sum_cB G(c + cB) RB[cB, b, y, l]
    H = np.zeros((cs, 2, ys + 1, L))
    for cB in range(cs):
        for zb in range(2):
            for y in range(ys + 1):
                for ll in range(L):
                    v = RB[cB, zb, y, ll]
                    if v == 0.0:
                        continue
                    for c0 in range(cs - cB):
                        gg = G[c0 + cB]
                        if gg != 0.0:
                            H[c0, zb, y, ll] += gg * v
    for k in range(L):
        for ll in range(L):
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
                            for k in range(L):
                                ra = RA[cA, za, x, k]
                                if ra == 0.0:
                                    continue
                                ra *= g
                                for ll in range(L):
                                    J[k, ll] += ra * H[cA + cS, zb, y, ll]


@njit(parallel=True, cache=True)
def sat_unit_tables(ptr, col, wt, own, sizes, lo2, fr2, sat, shares, bern, indep, Nsup, Nw, lf, Kc, d, loff, ltab,
                    L, out):
    """Exact marginals P(level) per unit under randomized saturation (stage 1 independent or complete)."""
    n = ptr.shape[0] - 1
    Ls = sat.shape[0]
    for i in prange(n):
        m = ptr[i + 1] - ptr[i]
        R, cs = _sat_radix(Ls, indep, m)
        f = _sat_side(ptr, col, wt, i, np.zeros(0, dtype=np.bool_), wt, own[i], sizes, lo2, fr2, sat, shares, bern,
                      indep, R, cs, d[i])
        G = _sat_g_codes(m, R, cs, Ls, indep, Nsup, Nw, lf, Kc)
        di = d[i]
        base = loff[di]
        for c in range(cs):
            if G[c] == 0.0:
                continue
            for z in range(2):
                for x in range(di + 1):
                    v = f[c, z, x]
                    if v != 0.0:
                        out[i, ltab[base + z * (di + 1) + x]] += G[c] * v



@njit(cache=True)
def _sat_mark_row(ptr, col, wt, i, flag, w_of, on):
    for e in range(ptr[i], ptr[i + 1]):
        flag[col[e]] = on
        w_of[col[e]] = wt[e] if on else 0


@njit(parallel=True, cache=True)
def sat_pair_sums(ptr, col, wt, own, tptr, tidx, kptr, kidx, lab, sizes, lo2, fr2, sat, shares, bern, indep, Nsup,
                  Nw, lf, Kc, d, loff, ltab, L, typ, Jt, pit, P, codes, mask, U, mode, n_chunks, S, zc, D, ka, kb):
    """Pair sums under randomized saturation, streamed in parallel over ordered near pairs (i, j), i != j.

    Near pairs touch a common cluster. Independent levels (``indep``): far pairs are independent and
    contribute nothing; dependent levels: the caller summed every pair by the type formula ``Jt`` and
    each near pair adds (exact term) - (type term), as in :func:`complete_pair_sums`. mode 0
    (Aronow-Samii, ``U`` (n, M), both units in ``mask``): ``S[m, a_i, a_j]`` and the zero-joint counts
    ``zc[i, l]`` (independent levels: partners with ``P[j, l] > 0`` and a zero joint); mode 1
    (covariance sums, ``U`` (n, L)): ``S[0, k, l]``; mode 2: ``D[i, j] = P(level_i = ka, level_j = kb)``.
    """
    n = ptr.shape[0] - 1
    nR = sizes.shape[0]
    M = S.shape[0]
    Sc = np.zeros((n_chunks, M, L, L))
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
        J = np.zeros((L, L))
        Sl = np.zeros((M, L, L))
        for i in range(lo, hi):
            if mode != 2 and not mask[i]:
                continue
            _sat_mark_row(ptr, col, wt, i, ini, wi_of, True)
            for t in range(kptr[i], kptr[i + 1]):
                umark[kidx[t]] = i
            a = codes[i]
            for e in range(ptr[i], ptr[i + 1]):
                r = col[e]
                for t in range(tptr[r], tptr[r + 1]):
                    j = tidx[t]
                    if j == i or stamp[j] == i:
                        continue
                    stamp[j] = i
                    if mode != 2 and not mask[j]:
                        continue
                    _sat_mark_row(ptr, col, wt, j, inj, wj_of, True)
                    _sat_pair_joint(i, j, ptr, col, own, kptr, kidx, lab, umark, cc, ini, wi_of, inj, wj_of, sizes,
                                    lo2, fr2, sat, shares, bern, indep, Nsup, Nw, lf, Kc, d, loff, ltab, L, J)
                    _sat_mark_row(ptr, col, wt, j, inj, wj_of, False)
                    if mode == 2:
                        D[i, j] = J[ka, kb]
                        continue
                    ti = typ[i]
                    tj = typ[j]
                    if mode == 0:
                        b = codes[j]
                        v = J[a, b]
                        w = 0.0
                        if v > 0.0:
                            w += (v - P[i, a] * P[j, b]) / v
                        if not indep:
                            fv = Jt[ti, tj, a, b]
                            if fv > 0.0:
                                w -= (fv - pit[ti, a] * pit[tj, b]) / fv
                        if w != 0.0:
                            for m in range(M):
                                Sl[m, a, b] += w * U[i, m] * U[j, m]
                        for l in range(L):
                            if indep:
                                if P[j, l] > 0.0 and J[a, l] == 0.0:
                                    zc[i, l] += 1
                            else:
                                zc[i, l] += (1 if J[a, l] == 0.0 else 0) - (1 if Jt[ti, tj, a, l] == 0.0 else 0)
                    else:
                        for k in range(L):
                            uk = U[i, k]
                            if uk == 0.0:
                                continue
                            for l in range(L):
                                cv = J[k, l] - P[i, k] * P[j, l]
                                if not indep:
                                    cv -= Jt[ti, tj, k, l] - pit[ti, k] * pit[tj, l]
                                Sl[0, k, l] += cv * uk * U[j, l]
            _sat_mark_row(ptr, col, wt, i, ini, wi_of, False)
        Sc[ch] = Sl
    for ch in range(n_chunks):
        for m in range(M):
            for k in range(L):
                for l in range(L):
                    S[m, k, l] += Sc[ch, m, k, l]


@njit(cache=True)
def sat_joint_entries(ptr, col, wt, own, tptr, tidx, kptr, kidx, lab, sizes, lo2, fr2, sat, shares, bern, indep, Nsup,
                      Nw, lf, Kc, d, loff, ltab, L, ka, kb, count_only, rows, cols, vals):
    """Every near ordered pair (i != j) and ``P(level_i = ka, level_j = kb)``; the first call counts."""
    n = ptr.shape[0] - 1
    nR = sizes.shape[0]
    ini = np.zeros(nR, dtype=np.bool_)
    inj = np.zeros(nR, dtype=np.bool_)
    wi_of = np.zeros(nR, dtype=np.int64)
    wj_of = np.zeros(nR, dtype=np.int64)
    cc = np.zeros(nR, dtype=np.int64)
    umark = np.full(n, -1, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)
    J = np.zeros((L, L))
    q = 0
    for i in range(n):
        _sat_mark_row(ptr, col, wt, i, ini, wi_of, True)
        for t in range(kptr[i], kptr[i + 1]):
            umark[kidx[t]] = i
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            for t in range(tptr[r], tptr[r + 1]):
                j = tidx[t]
                if j == i or stamp[j] == i:
                    continue
                stamp[j] = i
                if not count_only:
                    _sat_mark_row(ptr, col, wt, j, inj, wj_of, True)
                    _sat_pair_joint(i, j, ptr, col, own, kptr, kidx, lab, umark, cc, ini, wi_of, inj, wj_of, sizes,
                                    lo2, fr2, sat, shares, bern, indep, Nsup, Nw, lf, Kc, d, loff, ltab, L, J)
                    _sat_mark_row(ptr, col, wt, j, inj, wj_of, False)
                    rows[q] = i
                    cols[q] = j
                    vals[q] = J[ka, kb]
                q += 1
        _sat_mark_row(ptr, col, wt, i, ini, wi_of, False)
    return q


@njit(cache=True)
def sat_profile_hash(ptr, col, wt, own, sizes):
    """64-bit hash of each row's cluster profile: (own cluster's size and weight, sorted (size, weight) of
    the others). Under randomized saturation it determines the unit's level given the count vector."""
    n = ptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    buf = np.empty(max(1, col.shape[0]), dtype=np.int64)
    for i in range(n):
        k = 0
        ow = -1
        osz = -1
        for e in range(ptr[i], ptr[i + 1]):
            if col[e] == own[i]:
                ow = wt[e]
                osz = sizes[col[e]]
            else:
                buf[k] = sizes[col[e]] * 1000003 + wt[e]
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
def sat_types_qt(ptr, col, wt, own, sizes, lo2, fr2, sat, bern, d, reps, csmax, loff, ltab, L):
    """Qt[type, code, l]: P(level l | the type's clusters got one given level vector with counts ``code``)
    for dependent (stage 1 complete) levels, in radix m_t + 1 (see :func:`_sat_side`)."""
    T = reps.shape[0]
    Ls = sat.shape[0]
    Qt = np.zeros((T, csmax, L))
    shares = np.ones(Ls)
    for q in prange(T):
        i = reps[q]
        m = ptr[i + 1] - ptr[i]
        R, cs = _sat_radix(Ls, False, m)
        f = _sat_side(ptr, col, wt, i, np.zeros(0, dtype=np.bool_), wt, own[i], sizes, lo2, fr2, sat, shares, bern,
                      False, R, cs, d[i])
        di = d[i]
        base = loff[di]
        for c in range(cs):
            for z in range(2):
                for x in range(di + 1):
                    v = f[c, z, x]
                    if v != 0.0:
                        Qt[q, c, ltab[base + z * (di + 1) + x]] += v
    return Qt


@njit(parallel=True, cache=True)
def sat_type_tables(Qt, mt, Nsup, Nw, lf, Kc, Jt, pit):
    """Far-pair joints ``Jt[a, b, k, l]`` between types and type marginals ``pit[a, k]`` (stage 1 complete).

    ``Jt[a, b] = sum_{n, n'} G(m_a + m_b, n + n') Qt[a, n] Qt[b, n']^T`` over the count vectors of the
    two (disjoint) cluster sets; ``pit[a] = sum_n G(m_a, n) Qt[a, n]``.
    """
    T = Qt.shape[0]
    L = Qt.shape[2]
    Ls = Nsup.shape[1]
    for a in prange(T):
        ma = mt[a]
        Ra, csa = _sat_radix(Ls, False, ma)
        nv = np.zeros(Ls, dtype=np.int64)
        va = np.zeros(Ls, dtype=np.int64)
        G = _sat_g_codes(ma, Ra, csa, Ls, False, Nsup, Nw, lf, Kc)
        for k in range(L):
            pit[a, k] = 0.0
        for c in range(csa):
            if G[c] != 0.0:
                for k in range(L):
                    pit[a, k] += G[c] * Qt[a, c, k]
        v = np.zeros(L)
        for b in range(T):
            mb = mt[b]
            Rb, csb = _sat_radix(Ls, False, mb)
            for k in range(L):
                for l in range(L):
                    Jt[a, b, k, l] = 0.0
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
                    if Qt[a, ca, k] != 0.0:
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
                    g = _sat_g(nv, ma + mb, Nsup, Nw, lf, Kc)
                    if g == 0.0:
                        continue
                    for l in range(L):
                        v[l] += g * Qt[b, cb, l]
                for k in range(L):
                    qa = Qt[a, ca, k]
                    if qa == 0.0:
                        continue
                    for l in range(L):
                        Jt[a, b, k, l] += qa * v[l]


# ----------------------------------------------------------------------------- randomized saturation: threshold
# Independent cluster levels (stage 1 "bernoulli") and a mapping that depends on the count only through
# [c = 0] and [c = d]. Clusters are then fully independent, each mixed over its level, and the
# probability that m0 given units of cluster r are all untreated and m1 others all treated is
# G_r(m0, m1) = sum_l pi_l g_l(m0, m1), with g = (1 - s)^m0 s^m1 (Bernoulli within) or, for a uniform
# T-subset of the n_r units, T^(m1) (n_r - T)^(m0) / n_r^(m0 + m1) (falling factorials) mixed over
# T in {lo, lo + 1} (complete within). A pair's joint needs, for each own draw (z_i, z_j) and each
# constraint F_i, F_j in {none, N_i all 0, N_i all 1}, the product over touched clusters of G at the
# counts the constraints put in that cluster; "mixed" (0 < c < d) follows by inclusion-exclusion.
_OMEGA, _ALL0, _ALL1 = 0, 1, 2
_IE_TOL = 1e-10  # inclusion-exclusion results below this fraction of their largest term are structural zeros


@njit(parallel=True, cache=True)
def sat_thr_cluster_tables(sizes, lo2, fr2, sat, shares, bern, lf, gM, goff, G):
    """Fill ``G[goff[r] + m0 (gM[r] + 1) + m1] = G_r(m0, m1)`` for m0, m1 in 0..gM[r] (0 when m0 + m1 > n_r)."""
    nR = sizes.shape[0]
    Ls = sat.shape[0]
    for r in prange(nR):
        n = sizes[r]
        M = gM[r]
        for m0 in range(M + 1):
            for m1 in range(M + 1):
                v = 0.0
                if m0 + m1 <= n:
                    for l in range(Ls):
                        s = sat[l]
                        if bern:
                            v += shares[l] * ((1.0 - s) ** m0) * (s ** m1)
                            continue
                        for q in range(2):
                            T = lo2[l, r] + q
                            wq = fr2[l, r] if q == 1 else 1.0 - fr2[l, r]
                            if wq == 0.0 or m1 > T or m0 > n - T:
                                continue
                            v += shares[l] * wq * math.exp(lf[T] - lf[T - m1] + lf[n - T] - lf[n - T - m0] - lf[n]
                                                           + lf[n - m0 - m1])
                G[goff[r] + m0 * (M + 1) + m1] = v


@njit(cache=True)
def _gval(G, goff, gM, r, m0, m1):
    return G[goff[r] + m0 * (gM[r] + 1) + m1]


@njit(cache=True)
def _ie_mixed(t, t0, t1):
    """t - t0 - t1 with structural zeros (below ``_IE_TOL * t``) set to 0."""
    v = t - t0 - t1
    return v if v > _IE_TOL * t else 0.0


@njit(cache=True)
def _sthr_pair_joint(i, j, ptr, col, wt, own, kptr, kidx, lab, umark, istamp, iw, jstamp, jw, cc, G, goff, gM, d,
                     lev, L, Tt, E, J):
    """J[k, l] = P(level_i = k, level_j = l) for a near pair, threshold mapping, independent cluster levels.

    The caller marks i's clusters (``istamp[r] == i``, weight ``iw[r]``) and i's k-hop neighbours
    (``umark[u] == i``); ``cc`` is zero on entry and left zero. ``Tt[zi, zj, Fi, Fj]``: probability of the
    own draws and the constraints (none, all 0, all 1 on N_i / N_j), a product over touched clusters.
    """
    oi = own[i]
    oj = own[j]
    for e in range(ptr[j], ptr[j + 1]):
        jstamp[col[e]] = j
        jw[col[e]] = wt[e]
    e1 = umark[j] == i
    e2 = False
    for t in range(kptr[j], kptr[j + 1]):
        u = kidx[t]
        if u == i:
            e2 = True
        elif umark[u] == i:
            cc[lab[u]] += 1
    for zi in range(2):
        for zj in range(2):
            for fi in range(3):
                for fj in range(3):
                    Tt[zi, zj, fi, fj] = 1.0
    # clusters touching i (only, or both)
    for e in range(ptr[i], ptr[i + 1]):
        r = col[e]
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
                        g = _gval(G, goff, gM, r, m0, m1)
                        for zj in range(2):
                            for fj in range(3):
                                Tt[zi, zj, fi, fj] *= g
            elif wi > 0:
                g0 = _gval(G, goff, gM, r, wi, 0)
                g1 = _gval(G, goff, gM, r, 0, wi)
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
                        Tt[zi, zj, fi, fj] *= 0.0 if bad else _gval(G, goff, gM, r, m0, m1)
    # clusters touching j only
    for e in range(ptr[j], ptr[j + 1]):
        r = col[e]
        if istamp[r] == i:
            continue
        wj = wt[e]
        if r == oj:
            for zj in range(2):
                for fj in range(3):
                    m0 = 1 - zj
                    m1 = zj
                    if fj == _ALL0:
                        m0 += wj
                    elif fj == _ALL1:
                        m1 += wj
                    g = _gval(G, goff, gM, r, m0, m1)
                    for zi in range(2):
                        for fi in range(3):
                            Tt[zi, zj, fi, fj] *= g
        elif wj > 0:
            g0 = _gval(G, goff, gM, r, wj, 0)
            g1 = _gval(G, goff, gM, r, 0, wj)
            for zi in range(2):
                for zj in range(2):
                    for fi in range(3):
                        Tt[zi, zj, fi, _ALL0] *= g0
                        Tt[zi, zj, fi, _ALL1] *= g1
    for t in range(kptr[j], kptr[j + 1]):
        cc[lab[kidx[t]]] = 0
    # summaries (s = 0: all untreated, 1: all treated, 2: mixed) by inclusion-exclusion, then levels
    di = d[i]
    dj = d[j]
    for k in range(L):
        for l in range(L):
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
                    E[2, 2] = v if v > _IE_TOL * T[0, 0] else 0.0
            for si in range(3):
                for sj in range(3):
                    v = E[si, sj]
                    if v != 0.0:
                        J[lev[i, zi, si], lev[j, zj, sj]] += v


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
def sat_thr_pair_sums(ptr, col, wt, own, tptr, tidx, kptr, kidx, lab, G, goff, gM, d, lev, L, P, codes, mask, U,
                      mode, n_chunks, n_slots, S, zc):
    """Aronow-Samii (mode 0) or covariance (mode 1) sums over near pairs, each unordered pair computed once.

    Same contract as :func:`sat_pair_sums` with independent levels. Pairs (i, j), i < j, are visited from
    i and add the terms of (i, j) and (j, i) (``J_ji = J_ij^T``). The parallel loop runs over ``n_slots``
    slots (the thread count), slot t taking chunks t, t + n_slots, ...; the zero-joint counts of both
    units go to the slot's own array (no two threads write the same memory), summed at the end.
    """
    n = ptr.shape[0] - 1
    nR = goff.shape[0] - 1
    M = S.shape[0]
    zct = np.zeros((n_slots if mode == 0 else 1, n if mode == 0 else 1, L), dtype=np.int32)
    Sc = np.zeros((n_slots, M, L, L))
    for tid in prange(n_slots):
        Sl = np.zeros((M, L, L))
        istamp = np.full(nR, -1, dtype=np.int64)
        jstamp = np.full(nR, -1, dtype=np.int64)
        iw = np.zeros(nR, dtype=np.int64)
        jw = np.zeros(nR, dtype=np.int64)
        cc = np.zeros(nR, dtype=np.int64)
        umark = np.full(n, -1, dtype=np.int64)
        stamp = np.full(n, -1, dtype=np.int64)
        Tt = np.empty((2, 2, 3, 3))
        E = np.empty((3, 3))
        J = np.zeros((L, L))
        for i in _slot_units(tid, n_slots, n_chunks, n):
            if not mask[i]:
                continue
            for e in range(ptr[i], ptr[i + 1]):
                istamp[col[e]] = i
                iw[col[e]] = wt[e]
            for t in range(kptr[i], kptr[i + 1]):
                umark[kidx[t]] = i
            a = codes[i]
            for e in range(ptr[i], ptr[i + 1]):
                r = col[e]
                for t in range(tptr[r], tptr[r + 1]):
                    j = tidx[t]
                    if j <= i or stamp[j] == i:
                        continue
                    stamp[j] = i
                    if not mask[j]:
                        continue
                    _sthr_pair_joint(i, j, ptr, col, wt, own, kptr, kidx, lab, umark, istamp, iw, jstamp, jw, cc,
                                     G, goff, gM, d, lev, L, Tt, E, J)
                    if mode == 0:
                        b = codes[j]
                        v = J[a, b]
                        if v > 0.0:
                            w = (v - P[i, a] * P[j, b]) / v
                            for m in range(M):
                                x = w * U[i, m] * U[j, m]
                                Sl[m, a, b] += x
                                Sl[m, b, a] += x
                        for l in range(L):
                            if P[j, l] > 0.0 and J[a, l] == 0.0:
                                zct[tid, i, l] += 1
                            if P[i, l] > 0.0 and J[l, b] == 0.0:
                                zct[tid, j, l] += 1
                    else:
                        for k in range(L):
                            ui = U[i, k]
                            uj = U[j, k]
                            for l in range(L):
                                if ui != 0.0:
                                    Sl[0, k, l] += (J[k, l] - P[i, k] * P[j, l]) * ui * U[j, l]
                                if uj != 0.0:
                                    Sl[0, k, l] += (J[l, k] - P[j, k] * P[i, l]) * uj * U[i, l]
        Sc[tid] = Sl
    for ch in range(n_slots):
        for m in range(M):
            for k in range(L):
                for l in range(L):
                    S[m, k, l] += Sc[ch, m, k, l]
    if mode == 0:
        for t in range(zct.shape[0]):
            for i in range(n):
                for l in range(L):
                    zc[i, l] += zct[t, i, l]


@njit(cache=True)
def sat_thr_joint_entries(ptr, col, wt, own, tptr, tidx, kptr, kidx, lab, G, goff, gM, d, lev, L, ka, kb,
                          count_only, rows, cols, vals):
    """Every near ordered pair (i != j) and ``P(level_i = ka, level_j = kb)`` (each unordered pair computed
    once); the first call counts."""
    n = ptr.shape[0] - 1
    nR = goff.shape[0] - 1
    istamp = np.full(nR, -1, dtype=np.int64)
    jstamp = np.full(nR, -1, dtype=np.int64)
    iw = np.zeros(nR, dtype=np.int64)
    jw = np.zeros(nR, dtype=np.int64)
    cc = np.zeros(nR, dtype=np.int64)
    umark = np.full(n, -1, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)
    Tt = np.empty((2, 2, 3, 3))
    E = np.empty((3, 3))
    J = np.zeros((L, L))
    q = 0
    for i in range(n):
        for e in range(ptr[i], ptr[i + 1]):
            istamp[col[e]] = i
            iw[col[e]] = wt[e]
        for t in range(kptr[i], kptr[i + 1]):
            umark[kidx[t]] = i
        for e in range(ptr[i], ptr[i + 1]):
            r = col[e]
            for t in range(tptr[r], tptr[r + 1]):
                j = tidx[t]
                if j <= i or stamp[j] == i:
                    continue
                stamp[j] = i
                if not count_only:
                    _sthr_pair_joint(i, j, ptr, col, wt, own, kptr, kidx, lab, umark, istamp, iw, jstamp, jw, cc,
                                     G, goff, gM, d, lev, L, Tt, E, J)
                    rows[q] = i
                    cols[q] = j
                    vals[q] = J[ka, kb]
                    rows[q + 1] = j
                    cols[q + 1] = i
                    vals[q + 1] = J[kb, ka]
                q += 2
    return q
