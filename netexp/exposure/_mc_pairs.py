"""Monte Carlo joints without dense ``(n, n)`` matrices: variance sums from the stored exposure codes.

With R draws, ``E[r, i]`` the level of unit i in draw r and ``I_l[r, i] = [E[r, i] = l]``, the Monte Carlo
joint of a pair is :math:`\\hat\\pi_{ij}(a, b) = C_{ij}(a, b) / \\delta_{ab}` with the count
:math:`C_{ij}(a, b) = \\sum_r I_a[r, i] I_b[r, j]` and the denominator ``R`` (``R + 1`` for equal levels
under the R package ``interference``'s convention).

* The covariance sums of the constant-effects variance are a quadratic form in the per-draw indicator
  vectors: :math:`\\sum_{i \\ne j} C_{ij}(k, l) V_{ik} V_{jl} = \\sum_r s_{rk} s_{rl} - [k = l]
  \\sum_i C_{ii}(k, k) V_{ik}^2` with :math:`s_{rk} = \\sum_i I_k[r, i] V_{ik}`: one pass over the codes
  (memory: the ``(R, L)`` sums).
* The Aronow-Samii sums divide by each pair's own joint, so they stay a sum over pairs, but only over
  the pairs that carry a term: both units *active* (in ``units`` with a non-zero weight, i.e. observed at
  a level of the contrasts), each unordered pair's count taken once. The Young's term needs, for each
  active unit i at a_i and each level l, how many units j of ``units`` have C_ij(a_i, l) = 0: a test
  that stops at the first common draw. The rows of the units (one per level, 64 draws per word) are
  packed once; a block of active units of one level is held word-major and every partner's rows stream
  past it, each count or test running over the whole block at once (AND + popcount vectorised); a
  partner's row with few draws is tested through the block's bitsets of those draws instead. The
  Young's counts depend on the levels, the mask and the active units only: the Hajek call after the HT
  one reuses them and counts the active pairs only. Cost: (active units) x (units) x L tests plus
  (active units)^2 / 2 counts of ``ceil(R / 64)`` words; memory: the packed rows (``n x L x R / 8``
  bytes), no pair is stored.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._bits import popcount64


#: Rows (a unit at a level) with at most this many draws also keep the list of those draws: a test
#: against such a row reads as many bits of the other row as there are draws, instead of its words.
SPARSE = 48

#: Active units (first units of the pairs) per parallel task; their rows (one level each, ``W`` words)
#: stay in cache while every partner's rows stream past once per task.
BLOCK = 256


@njit(parallel=True, cache=True)
def pack_partner_rows(codes_R, units, L):
    """Level rows of the units ``units`` (the partners), packed 64 draws per word.

    ``rows[q, l, w]`` bit ``r % 64`` (``w = r // 64``) is set when ``codes_R[r, units[q]] == l`` (all
    levels of one unit contiguous: a partner is read in one stream); ``cnt[q, l]`` is the number of
    draws of the row.
    """
    R = codes_R.shape[0]
    n_u = units.shape[0]
    W = (R + 63) // 64
    rows = np.zeros((n_u, L, W), dtype=np.uint64)
    cnt = np.zeros((n_u, L), dtype=np.int64)
    chunk = 2048
    for c in prange((n_u + chunk - 1) // chunk):
        q0 = c * chunk
        q1 = min(n_u, q0 + chunk)
        for r in range(R):
            w = r // 64
            bit = np.uint64(1) << np.uint64(r % 64)
            for q in range(q0, q1):
                l = codes_R[r, units[q]]
                rows[q, l, w] |= bit
                cnt[q, l] += 1
    return rows, cnt


def list_sparse_draws(rows, cnt, sparse):
    """The draws of the rows of at most ``sparse`` draws: row ``(q, l)``'s are
    ``draws[ptr[q * L + l]:ptr[q * L + l + 1]]`` (an empty range for longer rows)."""
    size = np.where(cnt <= sparse, cnt, 0).ravel()
    ptr = np.zeros(size.shape[0] + 1, dtype=np.int64)
    np.cumsum(size, out=ptr[1:])
    draws = np.empty(ptr[-1], dtype=np.int32)
    _fill_draws(rows, ptr, draws)
    return ptr, draws


@njit(parallel=True, cache=True)
def _fill_draws(rows, ptr, draws):
    n_u, L, W = rows.shape
    for q in prange(n_u):
        for l in range(L):
            t = ptr[q * L + l]
            if ptr[q * L + l + 1] == t:
                continue
            for w in range(W):
                x = rows[q, l, w]
                while x:
                    low = x & (~x + np.uint64(1))
                    draws[t] = 64 * w + popcount64(low - np.uint64(1))
                    t += 1
                    x ^= low


@njit(cache=True)
def _dense_misses(fr, nb, rows, q, l, acc):
    """How many block rows share no draw with row ``(q, l)``; ``acc[k]`` is 0 for those.

    Block row k is ``fr[:, k]`` (word w of the k-th first unit's row in ``fr[w, k]``). Word by word,
    stopping once every block row has met the row (checked after 1, 2, 4, 8... words that have draws)."""
    done = 0
    miss = nb
    for w in range(fr.shape[0]):
        x = rows[q, l, w]
        if x == 0:
            continue
        if done == 0:
            for k in range(nb):
                acc[k] = fr[w, k] & x
        else:
            for k in range(nb):
                acc[k] |= fr[w, k] & x
        done += 1
        if (done & (done - 1)) == 0:
            miss = 0
            for k in range(nb):
                miss += acc[k] == 0
            if miss == 0:
                return 0
    if (done & (done - 1)) != 0:
        miss = 0
        for k in range(nb):
            miss += acc[k] == 0
    elif done == 0:
        for k in range(nb):
            acc[k] = 0
    return miss


@njit(cache=True)
def _add_missed(hit, nb, zl_row):
    """``zl_row[k] += 1`` for every k < nb whose bit is clear in the bitset ``hit``."""
    for h in range(hit.shape[0]):
        m = ~hit[h]
        top = nb - 64 * h
        if top < 64:
            m &= (np.uint64(1) << np.uint64(top)) - np.uint64(1)
        while m:
            low = m & (~m + np.uint64(1))
            zl_row[64 * h + popcount64(low - np.uint64(1))] += 1
            m ^= low


@njit(parallel=True, cache=True)
def mc_pair_sums(rows, cnt, ptr, draws, sparse, lev, act, act_blk, blk_lo, blk_hi, partners, marg, U, jtab, ijtab,
                 diag_plus, need_l, S_blocks, zc):
    """Aronow-Samii sums over ordered pairs of distinct partners, from their packed level rows.

    Indices are partner positions (rows of ``rows``); ``lev[q]`` is the observed level of partner q.
    ``act`` lists the active partners (non-zero ``U`` row) in blocks ``act[blk_lo[b]:blk_hi[b]]`` of one
    level each; ``act_blk[q]`` is the block of partner q (-1 if inactive). For active i and active j != i
    with the count C = C_ij(a_i, a_j) > 0, the joint J = ``jtab[e, C]`` (C / den; e = 0 when the levels
    are equal, else 1) and ``ijtab[e, C]`` = 1 / J, adds (J - pi_i(a_i) pi_j(a_j)) / J U_i U_j to
    ``S_blocks[block of i, m, a_i, a_j]`` (pairs whose second unit is inactive have U_j = 0 and add
    nothing, so they are not visited for S).

    With ``zc`` of shape (n_partners, L) (else shape (0, L): S only, ``partners`` the active ones),
    ``zc[i, l]`` counts for active i the partners q in ``partners`` (i included) whose row at l shares no
    draw with i's row at a_i, the pair (i, i) having C_ii(a, a) + ``diag_plus`` at l = a and 0 elsewhere,
    for the levels l with ``need_l[l]``. Rows of inactive partners and the other columns stay 0.

    A task holds the rows of its block's units word-major (``fr[w, k]``) and streams every partner's rows
    past them, each test running over the whole block at once (vectorised; a partner's row of at most
    ``sparse`` draws ORs the block's bitsets of those draws, ``col[r]``). Each unordered active pair's
    count is taken once: by the block of i when j's block is less than half the blocks ahead
    (cyclically; ties to the lower block; within one block, by the earlier unit), so every task gets
    about the same share. Other tests only need to know whether a count is 0 (:func:`_dense_misses`). The
    per-block sums are added in block order by the caller: the result does not depend on the number of
    threads.
    """
    L = rows.shape[1]
    W = rows.shape[2]
    M = U.shape[1]
    need_zc = zc.shape[0] > 0
    n_blocks = blk_lo.shape[0]
    for blk in prange(n_blocks):
        p0 = blk_lo[blk]
        p1 = blk_hi[blk]
        nb = p1 - p0
        a = lev[act[p0]]
        fr = np.empty((W, nb), dtype=np.uint64)
        mi = np.empty(nb)
        Ub = np.empty((M, nb))
        for k in range(nb):
            i = act[p0 + k]
            mi[k] = marg[i, a]
            for m in range(M):
                Ub[m, k] = U[i, m]
            for w in range(W):
                fr[w, k] = rows[i, a, w]
        # col[r, h] bit k: the block row 64 h + k has draw r (for partners' rows of few draws)
        H = (nb + 63) // 64
        col = np.zeros((W * 64, H), dtype=np.uint64)
        for k in range(nb):
            bit = np.uint64(1) << np.uint64(k % 64)
            for w in range(W):
                x = fr[w, k]
                while x:
                    low = x & (~x + np.uint64(1))
                    col[64 * w + popcount64(low - np.uint64(1)), k // 64] |= bit
                    x ^= low
        hit = np.empty(H, dtype=np.uint64)
        acc = np.empty(nb, dtype=np.uint64)
        cn = np.empty(nb, dtype=np.int64)
        fk = np.empty(nb)
        zl = np.zeros((L, nb), dtype=np.int64)
        z_all = np.zeros(L, dtype=np.int64)  # partners never at l: a zero joint with every block row
        Sb = np.zeros((M, L))
        if need_zc:
            for k in range(nb):  # the pairs (i, i)
                i = act[p0 + k]
                for l in range(L):
                    if need_l[l] and (l != a or cnt[i, a] + diag_plus == 0):
                        zl[l, k] += 1
        for t in range(partners.shape[0]):
            q = partners[t]
            b = lev[q]
            bq = act_blk[q]
            ks = -1  # q's own column when q is in this block
            hi_m = 0  # the block rows k < hi_m own the count of their pair with q
            if bq == blk:
                for k in range(nb):
                    if act[p0 + k] == q:
                        ks = k
                hi_m = ks
            elif bq >= 0:
                e = bq - blk
                if e < 0:
                    e += n_blocks
                if 2 * e < n_blocks or (2 * e == n_blocks and blk < bq):
                    hi_m = nb
            for l in range(L):
                if l == b and hi_m > 0:
                    for k in range(nb):
                        cn[k] = 0
                    for w in range(W):
                        x = rows[q, b, w]
                        for k in range(nb):
                            cn[k] += popcount64(fr[w, k] & x)
                    vq = marg[q, b]
                    e = 0 if a == b else 1
                    for k in range(hi_m):  # f = (J - pi_i pi_j) / J, 0 when the count is 0
                        c = cn[k]
                        f = (jtab[e, c] - mi[k] * vq) * ijtab[e, c]
                        fk[k] = f if c > 0 else 0.0
                    for m in range(M):  # sum_k f_k U_k: four partial sums in a fixed order
                        t0 = 0.0
                        t1 = 0.0
                        t2 = 0.0
                        t3 = 0.0
                        k = 0
                        while k + 4 <= hi_m:
                            t0 += fk[k] * Ub[m, k]
                            t1 += fk[k + 1] * Ub[m, k + 1]
                            t2 += fk[k + 2] * Ub[m, k + 2]
                            t3 += fk[k + 3] * Ub[m, k + 3]
                            k += 4
                        while k < hi_m:
                            t0 += fk[k] * Ub[m, k]
                            k += 1
                        Sb[m, b] += ((t0 + t1) + (t2 + t3)) * U[q, m]
                    if need_zc and need_l[b]:
                        if ks >= 0:
                            cn[ks] = 1  # the pair (q, q) is counted apart
                        for k in range(nb):
                            zl[l, k] += cn[k] == 0
                    continue
                if not (need_zc and need_l[l]):
                    continue
                c = cnt[q, l]
                if c == 0:
                    z_all[l] += 1
                    if ks >= 0:
                        zl[l, ks] -= 1
                    continue
                if c <= sparse:  # the block rows holding one of the row's draws
                    for h in range(H):
                        hit[h] = 0
                    for u in range(ptr[q * L + l], ptr[q * L + l + 1]):
                        r = draws[u]
                        for h in range(H):
                            hit[h] |= col[r, h]
                    if ks >= 0:
                        hit[ks // 64] |= np.uint64(1) << np.uint64(ks % 64)
                    _add_missed(hit, nb, zl[l])
                    continue
                miss = _dense_misses(fr, nb, rows, q, l, acc)
                if ks >= 0 and acc[ks] == 0:
                    acc[ks] = 1
                    miss -= 1
                if miss > 0:
                    for k in range(nb):
                        zl[l, k] += acc[k] == 0
        for m in range(M):
            for l in range(L):
                S_blocks[blk, m, a, l] += Sb[m, l]
                S_blocks[blk, m, l, a] += Sb[m, l]
        if need_zc:
            for k in range(nb):
                i = act[p0 + k]
                for l in range(L):
                    zc[i, l] += zl[l, k] + z_all[l]


#: The last Young's counts computed (one (n, L) array): the Hajek call after the HT one on the same
#: probabilities, levels, mask and active units reuses them and counts the active pairs only.
_ZC_CACHE: dict = {}


def _zc_key(codes_R, convention, codes, mask, active, need_l):
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for x in (np.ascontiguousarray(codes, dtype=np.int64), mask, active, need_l):
        h.update(np.ascontiguousarray(x).tobytes())
    return (id(codes_R), codes_R.shape, convention, h.hexdigest())


def mc_pair_terms(codes_R, convention, marg, codes, U, mask, levels=None):
    """Aronow-Samii pair sums and zero counts (the contract of ``ExposureProbabilities._pair_terms``).

    Only the rows of ``zc`` of the active units (``mask`` and a non-zero ``U`` row) are filled: the others
    enter the variances with the weight 0; with ``levels`` (level codes), only those columns (the Young's
    pass then tests those levels only). ``U`` must be 0 outside ``mask``.
    """
    import weakref

    from .._parallel import threads_for

    R, n = codes_R.shape
    L = marg.shape[1]
    M = U.shape[1]
    units = np.flatnonzero(mask).astype(np.int64)
    active = mask & (U != 0).any(1)
    lev = np.ascontiguousarray(codes[units], dtype=np.int64)
    act = np.flatnonzero(active[units]).astype(np.int64)  # positions among the partners
    act = act[np.argsort(lev[act], kind="stable")]  # blocks of one level each
    n_a = act.shape[0]
    S = np.zeros((M, L, L))
    zc = np.zeros((n, L), dtype=np.int64)
    if n_a == 0:
        return S, zc
    need_l = np.ones(L, dtype=np.bool_)
    if levels is not None:
        need_l[:] = False
        need_l[np.asarray(levels, dtype=np.int64)] = True
    key = _zc_key(codes_R, convention, codes, mask, active, need_l)
    last = _ZC_CACHE.get("last")  # one read: (key, weak reference to the codes, zc)
    hit = last is not None and last[0] == key and last[1]() is codes_R
    partners = act if hit else np.arange(units.shape[0], dtype=np.int64)
    with threads_for(float(R) * units.shape[0]):
        rows, cnt = pack_partner_rows(np.ascontiguousarray(codes_R, dtype=np.int8), units, L)
        ptr, draws = list_sparse_draws(rows, cnt, SPARSE)
    inter = convention == "interference"
    c = np.arange(R + 1, dtype=float)
    jtab = np.stack([c / float(R + 1 if inter else R), c / float(R)])  # the joint of a count, equal / other levels
    starts = np.flatnonzero(np.r_[True, lev[act][1:] != lev[act][:-1]])
    blk_lo = np.concatenate([np.arange(g0, g1, BLOCK) for g0, g1 in zip(starts, np.r_[starts[1:], n_a])])
    blk_hi = np.minimum(blk_lo + BLOCK, np.r_[starts[1:], n_a][np.searchsorted(starts, blk_lo, "right") - 1])
    act_blk = np.full(units.shape[0], -1, dtype=np.int64)
    act_blk[act] = np.repeat(np.arange(blk_lo.shape[0]), blk_hi - blk_lo)
    S_blocks = np.zeros((blk_lo.shape[0], M, L, L))
    zc_u = np.zeros((0 if hit else units.shape[0], L), dtype=np.int64)
    with threads_for(float(n_a) * partners.shape[0] * (L + 1)):
        mc_pair_sums(rows, cnt, ptr, draws, SPARSE, lev, act, act_blk, blk_lo, blk_hi, partners,
                     np.ascontiguousarray(marg[units], dtype=float), np.ascontiguousarray(U[units], dtype=float),
                     jtab, 1.0 / np.where(jtab > 0, jtab, 1.0), 1 if inter else 0, need_l, S_blocks, zc_u)
    for b in range(S_blocks.shape[0]):  # fixed order: the same sums on any number of threads
        S += S_blocks[b]
    if hit:
        zc[:] = last[2]
    else:
        zc[units] = zc_u
        _ZC_CACHE["last"] = (key, weakref.ref(codes_R), zc.copy())
    return S, zc


@njit(parallel=True, cache=True)
def draw_level_sums(codes_R, V):
    """``sv[r, k]`` = sum of ``V[i, k]`` over the units at level k in draw r, and ``sq[r, k]`` the same
    sum of ``V[i, k]**2`` (one pass over the codes; each draw summed in a fixed order on one thread)."""
    R, n = codes_R.shape
    L = V.shape[1]
    sv = np.zeros((R, L))
    sq = np.zeros((R, L))
    chunk = 256  # partial sums of 256 units, then added up: the rounding grows with n / 256, not n
    for r in prange(R):
        ps = np.zeros(L)
        pq = np.zeros(L)
        for i0 in range(0, n, chunk):
            ps[:] = 0.0
            pq[:] = 0.0
            for i in range(i0, min(n, i0 + chunk)):
                k = codes_R[r, i]
                v = V[i, k]
                ps[k] += v
                pq[k] += v * v
            for k in range(L):
                sv[r, k] += ps[k]
                sq[r, k] += pq[k]
    return sv, sq


def mc_cov_terms(codes_R, convention, marg, V, mask):
    """Covariance sums (the contract of ``ExposureProbabilities._cov_terms``) as a quadratic form over draws.

    Memory: the per-draw sums ``(R, L)``; the codes are read once."""
    from .._parallel import threads_for

    R, n = codes_R.shape
    L = marg.shape[1]
    V = np.ascontiguousarray(np.where(mask[:, None], V, 0.0), dtype=float)
    with threads_for(float(R) * n):
        sv, sq = draw_level_sums(np.ascontiguousarray(codes_R, dtype=np.int8), V)
    Q = sv.T @ sv
    Q[np.diag_indices(L)] -= sq.sum(0)  # the pairs i == j: sum_i C_ii(k, k) V_ik^2
    den = np.full((L, L), float(R))
    if convention == "interference":
        den[np.diag_indices(L)] = R + 1.0
    pv = (marg * V).sum(0)
    return Q / den - (np.outer(pv, pv) - np.einsum("ik,il->kl", marg * V, marg * V))
