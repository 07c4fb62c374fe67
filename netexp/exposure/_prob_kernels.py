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
def _pair_joint(i, j, ptr, col, wt, own, p, d, loff, ltab, L, ini, wi_of, inj, wj_of, PA, PB):
    """J[k, l] = P(level_i = k, level_j = l) under independent randomization units."""
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
    sp = np.empty(nsp, dtype=np.int64)
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
    S = np.zeros((2, 2, xs + 1, ys + 1))
    S[0, 0, 0, 0] = 1.0
    for q in range(nsp):
        r = sp[q]
        wi = wi_of[r] if ini[r] else 0
        wj = wj_of[r] if inj[r] else 0
        pr = p[r]
        T = S * (1.0 - pr)
        for a in range(2):
            for b in range(2):
                a2 = 1 if r == oi else a
                b2 = 1 if r == oj else b
                for x in range(xs + 1 - wi):
                    for y in range(ys + 1 - wj):
                        v = S[a, b, x, y]
                        if v != 0.0:
                            T[a2, b2, x + wi, y + wj] += pr * v
        S = T
    QA = np.zeros((2, xs + 1, L))
    for z in range(2):
        base = loff[di] + z * (di + 1)
        for x in range(xs + 1):
            for a in range(atop + 1):
                if x + a <= di:
                    QA[z, x, ltab[base + x + a]] += PA[a]
    QB = np.zeros((2, ys + 1, L))
    for z in range(2):
        base = loff[dj] + z * (dj + 1)
        for y in range(ys + 1):
            for b in range(btop + 1):
                if y + b <= dj:
                    QB[z, y, ltab[base + y + b]] += PB[b]
    J = np.zeros((L, L))
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
    return J


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
                J = _pair_joint(i, j, ptr, col, wt, own, p, d, loff, ltab, L, ini, wi_of, inj, wj_of, PA, PB)
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
                    J = _pair_joint(i, j, ptr, col, wt, own, p, d, loff, ltab, L, ini, wi_of, inj, wj_of, PA, PB)
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
                J = _pair_joint(i, j, ptr, col, wt, own, p, d, loff, ltab, L, ini, wi_of, inj, wj_of, PA, PB)
                _mark(ptr, col, wt, j, inj, wj_of, False)
                for k in range(L):
                    for l in range(L):
                        cij = J[k, l] - marg[i, k] * marg[j, l]
                        S[k, l] += cij * U[i, k] * U[j, l]
                        S[l, k] += cij * U[j, l] * U[i, k]
        _mark(ptr, col, wt, i, ini, wi_of, False)
