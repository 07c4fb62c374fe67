"""Monte Carlo joints without dense ``(n, n)`` matrices: variance sums from the stored exposure codes.

With R draws, ``E[r, i]`` the level of unit i in draw r and ``I_l[r, i] = [E[r, i] = l]``, the Monte Carlo
joint of a pair is :math:`\\hat\\pi_{ij}(a, b) = C_{ij}(a, b) / \\delta_{ab}` with the count
:math:`C_{ij}(a, b) = \\sum_r I_a[r, i] I_b[r, j]` and the denominator ``R`` (``R + 1`` for equal levels
under the R package ``interference``'s convention).

* The covariance sums of the constant-effects variance are a quadratic form in the per-draw indicator
  vectors: :math:`\\sum_{i \\ne j} C_{ij}(k, l) V_{ik} V_{jl} = \\sum_r s_{rk} s_{rl} - [k = l]
  \\sum_i C_{ii}(k, k) V_{ik}^2` with :math:`s_{rk} = \\sum_i I_k[r, i] V_{ik}`, accumulated over
  batches of draws (memory: one batch).
* The Aronow-Samii sums divide by each pair's own joint, so they stay a sum over pairs; the counts come
  from the codes packed 64 draws per word (a popcount of an AND per word) and each unit's row is
  streamed against every other, in parallel, without storing any pair.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._bits import popcount64


@njit(cache=True)
def pack_level_bits(codes, L):
    """``bits[l, i, w]``: bit ``r % 64`` of word ``w = r // 64`` is set when ``codes[r, i] == l``."""
    R, n = codes.shape
    W = (R + 63) // 64
    bits = np.zeros((L, n, W), dtype=np.uint64)
    for r in range(R):
        w = r // 64
        b = np.uint64(1) << np.uint64(r % 64)
        for i in range(n):
            bits[codes[r, i], i, w] |= b
    return bits


@njit(cache=True)
def word_ranges(bits):
    """``lo[l, i]``, ``hi[l, i]``: the first and one past the last non-zero word of each row (0, 0 if none)."""
    L, n, W = bits.shape
    lo = np.zeros((L, n), dtype=np.int64)
    hi = np.zeros((L, n), dtype=np.int64)
    for l in range(L):
        for i in range(n):
            first = -1
            last = -1
            for w in range(W):
                if bits[l, i, w] != 0:
                    if first < 0:
                        first = w
                    last = w
            if first >= 0:
                lo[l, i] = first
                hi[l, i] = last + 1
    return lo, hi


@njit(parallel=True, cache=True)
def mc_pair_sums(bits, lo, hi, codes, units, marg, U, den_same, den_cross, diag_plus, block, S_blocks, zc):
    """Aronow-Samii sums over ordered pairs of distinct units of ``units`` from packed level bits.

    ``codes[i]``: observed level of unit i. For i != j with joint J = C_ij(a_i, a_j) / den (``den_same``
    when the levels are equal, else ``den_cross``) adds (J - pi_i(a_i) pi_j(a_j)) / J U_i U_j (J > 0) to
    ``S_blocks[block, m, a_i, a_j]``; ``zc[i, l]`` counts the j in ``units`` (i included) with a zero
    joint at (a_i, l), the pair (i, i) having C_ii(a, a) + ``diag_plus`` at l = a and 0 elsewhere.

    Units are taken ``block`` at a time (their rows stay in cache) against every other unit. The count at
    the observed levels is symmetric (C_ij(a_i, a_j) = C_ji(a_j, a_i)), so it is taken once per unordered
    pair and added both ways; every other test only needs to know whether a count is 0 and stops at the
    first common draw. ``lo``/``hi`` (:func:`word_ranges`) bound the words scanned.
    """
    n_u = units.shape[0]
    L = bits.shape[0]
    M = U.shape[1]
    n_blocks = S_blocks.shape[0]
    for blk in prange(n_blocks):
        p0 = blk * block
        p1 = min(n_u, p0 + block)
        for p in range(p0, p1):  # the pairs (i, i)
            i = units[p]
            a = codes[i]
            c = 0
            for w in range(lo[a, i], hi[a, i]):
                c += popcount64(bits[a, i, w])
            for l in range(L):
                if l != a or c + diag_plus == 0:
                    zc[i, l] += 1
        for q in range(n_u):
            j = units[q]
            b = codes[j]
            for p in range(p0, p1):
                if q == p:
                    continue
                i = units[p]
                a = codes[i]
                ilo = lo[a, i]
                ihi = hi[a, i]
                for l in range(L):
                    if l == b and q > p:  # the full count, once per unordered pair
                        c = 0
                        for w in range(max(ilo, lo[b, j]), min(ihi, hi[b, j])):
                            c += popcount64(bits[a, i, w] & bits[b, j, w])
                        if c == 0:
                            zc[i, l] += 1
                            continue
                        v = c / (den_same if a == b else den_cross)
                        f = (v - marg[i, a] * marg[j, b]) / v
                        for m in range(M):
                            t = f * U[i, m] * U[j, m]
                            S_blocks[blk, m, a, b] += t
                            S_blocks[blk, m, b, a] += t
                        continue
                    hit = False
                    for w in range(max(ilo, lo[l, j]), min(ihi, hi[l, j])):
                        if bits[a, i, w] & bits[l, j, w]:
                            hit = True
                            break
                    if not hit:
                        zc[i, l] += 1


def mc_pair_terms(codes_R, convention, marg, codes, U, mask):
    """Aronow-Samii pair sums and zero counts (the contract of ``ExposureProbabilities._pair_terms``)."""
    from .._parallel import threads_for

    R, n = codes_R.shape
    L = marg.shape[1]
    M = U.shape[1]
    units = np.flatnonzero(mask).astype(np.int64)
    bits = pack_level_bits(np.ascontiguousarray(codes_R, dtype=np.int8), L)
    lo, hi = word_ranges(bits)
    inter = convention == "interference"
    block = 32
    S_blocks = np.zeros(((units.shape[0] + block - 1) // block, M, L, L))
    zc = np.zeros((n, L), dtype=np.int64)
    with threads_for(float(units.shape[0]) ** 2 * (bits.shape[2] + L)):
        mc_pair_sums(bits, lo, hi, np.ascontiguousarray(codes, dtype=np.int64), units,
                     np.ascontiguousarray(marg, dtype=float),
                     np.ascontiguousarray(U, dtype=float), float(R + 1 if inter else R), float(R),
                     1 if inter else 0, block, S_blocks, zc)
    return S_blocks.sum(0), zc


def mc_cov_terms(codes_R, convention, marg, V, mask, batch_size=None):
    """Covariance sums (the contract of ``ExposureProbabilities._cov_terms``) as a quadratic form over draws."""
    R, n = codes_R.shape
    L = marg.shape[1]
    V = np.where(mask[:, None], V, 0.0)
    if batch_size is None:
        batch_size = max(1, min(R, 2**24 // max(n, 1)))
    Q = np.zeros((L, L))
    cnt = np.zeros((n, L))
    for s in range(0, R, batch_size):
        E = codes_R[s:s + batch_size]
        sv = np.empty((E.shape[0], L))
        for k in range(L):
            Ik = E == k
            sv[:, k] = Ik @ V[:, k]
            cnt[:, k] += Ik.sum(0)
        Q += sv.T @ sv
    Q[np.diag_indices(L)] -= (cnt * V * V).sum(0)  # the pairs i == j
    den = np.full((L, L), float(R))
    if convention == "interference":
        den[np.diag_indices(L)] = R + 1.0
    pv = (marg * V).sum(0)
    return Q / den - (np.outer(pv, pv) - np.einsum("ik,il->kl", marg * V, marg * V))
