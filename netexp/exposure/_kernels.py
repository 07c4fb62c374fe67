"""Compiled CSR kernels for neighbourhood exposure.

Layout matters more than arithmetic here. For many draws the kernel works on the draws of a
unit laid out contiguously (``Zt`` of shape ``(n_units, n_draws)``, uint8), so reading one
neighbour brings all its draws in a few cache lines and the inner loop is a SIMD add; the
result is written back transposed in blocks of 64 units so that the output ``(n_draws, n_units)``
is filled a cache line at a time.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._bits import popcount64, prefetch

_BLOCK = 64


@njit(cache=True, nogil=True)
def counts_one(indptr, indices, z):
    """Treated in-neighbours of every unit for one assignment ``z`` (uint8)."""
    n = indptr.shape[0] - 1
    out = np.zeros(n, dtype=np.int64)
    for i in range(n):
        s = 0
        for k in range(indptr[i], indptr[i + 1]):
            s += z[indices[k]]
        out[i] = s
    return out


@njit(cache=True, parallel=True, nogil=True)
def transpose_u8(z, zt):
    """``zt[i, r] = z[r, i]`` in 64 x 64 tiles (bool/uint8 matrices)."""
    R, n = z.shape
    nb = (n + _BLOCK - 1) // _BLOCK
    for b in prange(nb):
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        for r0 in range(0, R, _BLOCK):
            r1 = min(R, r0 + _BLOCK)
            for i in range(i0, i1):
                for r in range(r0, r1):
                    zt[i, r] = z[r, i]


@njit(cache=True, parallel=True, nogil=True)
def counts_many(indptr, indices, zt, out):
    """``out[r, i] = sum_{j in N(i)} zt[j, r]`` for all draws r at once."""
    n, R = zt.shape
    nb = (n + _BLOCK - 1) // _BLOCK
    for b in prange(nb):
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        buf = np.zeros((_BLOCK, R), dtype=out.dtype)
        for i in range(i0, i1):
            row = buf[i - i0]
            for k in range(indptr[i], indptr[i + 1]):
                zj = zt[indices[k]]
                for r in range(R):
                    row[r] += zj[r]
        for r in range(R):
            for i in range(i0, i1):
                out[r, i] = buf[i - i0, r]


# ------------------------------------------------------------------------------ k-hop reach
@njit(cache=True, inline="always")
def _bfs_in(indptr, indices, src, k, stamp, queue):
    """Units ``j != src`` with a path ``j -> src`` of at most ``k`` arcs, in ``queue[1:tail]``.

    Follows in-neighbour lists (row ``u`` = units that can affect ``u``). ``stamp[v] == src + 1``
    marks v as seen for this source, so the array is never cleared between sources.
    """
    mark = src + 1
    stamp[src] = mark
    queue[0] = src
    head = 0
    tail = 1
    for _ in range(k):
        end = tail
        if head == end:
            break
        while head < end:
            u = queue[head]
            head += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if stamp[v] != mark:
                    stamp[v] = mark
                    queue[tail] = v
                    tail += 1
    return tail


@njit(cache=True, parallel=True, nogil=True)
def khop_counts(indptr, indices, k, n_chunks, counts):
    """``counts[i]`` = number of units within ``1..k`` hops of ``i`` (pass 1 of :func:`khop_fill`)."""
    n = indptr.shape[0] - 1
    size = (n + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        stamp = np.zeros(n, dtype=np.int64)
        queue = np.empty(n, dtype=np.int32)
        for i in range(ch * size, min(n, (ch + 1) * size)):
            counts[i] = _bfs_in(indptr, indices, i, k, stamp, queue) - 1


@njit(cache=True, parallel=True, nogil=True)
def khop_fill(indptr, indices, k, n_chunks, out_ptr, out_idx):
    """Sorted rows of the k-hop reach into ``out_idx`` (row pointer ``out_ptr`` from :func:`khop_counts`)."""
    n = indptr.shape[0] - 1
    size = (n + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        stamp = np.zeros(n, dtype=np.int64)
        queue = np.empty(n, dtype=np.int32)
        for i in range(ch * size, min(n, (ch + 1) * size)):
            tail = _bfs_in(indptr, indices, i, k, stamp, queue)
            row = np.sort(queue[1:tail])
            out_idx[out_ptr[i]:out_ptr[i + 1]] = row


# ------------------------------------------------------------------------------ fused exposure levels
# Draws are bit-packed (see _bits.py): words[j * W + w] holds unit j's draws 64w..64w+63. For every
# unit one pass over its in-neighbours' words builds the number of treated neighbours in every draw
# as a bit-sliced counter (plane p = bit p of the count, 64 draws per word), or just their OR when
# the mapping only asks "any treated neighbour?" (mode 1). A unit's level is a function of
# (own treatment z, count c) that is constant on runs of c; a run [s, s') is the bit mask
# (c >= s) & ~(c >= s'), evaluated with a bit-sliced comparator and counted with popcount.

PREFETCH = 32  # prefetch the words of the neighbour this many edges ahead (tuned on 10^6 nodes)
_CHUNK = 1024  # units per parallel task in level_counts_packed


@njit(cache=True, inline="always")
def _bit_length(d):
    b = 0
    while d:
        d >>= 1
        b += 1
    return b


@njit(cache=True, inline="always")
def _accumulate(indptr, indices, words, W, i, planes, carry, mode, B, nnz, pf):
    for p in range(B):
        for w in range(W):
            planes[p, w] = 0
    k1 = indptr[i + 1]
    acc = planes[0]
    for k in range(indptr[i], k1):
        kp = k + pf
        if pf > 0 and kp < nnz:
            jp = np.int64(indices[kp]) * W
            for w in range(0, W, 8):  # one prefetch per 64-byte line, plus the row's last word
                prefetch(words, jp + w)
            prefetch(words, jp + W - 1)
        base = np.int64(indices[k]) * W
        if mode == 1:
            for w in range(W):
                acc[w] |= words[base + w]
        else:
            # ripple-carry add of the neighbour's bits, plane by plane across all W words
            # (branch-free inner loop, SIMD over words); stop once no carry is left
            for w in range(W):
                carry[w] = words[base + w]
            for p in range(B):
                row = planes[p]
                left = np.uint64(0)
                for w in range(W):
                    t = row[w] & carry[w]
                    row[w] ^= carry[w]
                    carry[w] = t
                    left |= t
                if left == 0:
                    break


@njit(cache=True, inline="always")
def _ge(planes, B, w, t, valid):
    """Bit mask of the draws (in word w) whose bit-sliced count is >= t (t < 2**B)."""
    gt = np.uint64(0)
    eq = valid
    for p in range(B - 1, -1, -1):
        x = planes[p, w]
        if (t >> p) & 1:
            eq &= x
        else:
            gt |= eq & x
            eq &= ~x
    return gt | eq


@njit(cache=True, parallel=True, nogil=True)
def level_counts_packed(indptr, indices, words, W, n_draws, group, run_ptr, run_start, run_level, mode,
                        n_planes, pf, out):
    """``out[i, l] +=`` number of draws in which unit i is at level l (no n x R matrix).

    ``group[i]`` indexes i's (degree) group; segment ``2 * group + z`` of ``run_ptr`` lists the
    runs (``run_start``: first count of the run, ``run_level``: its level) for own treatment z.
    ``mode``: 0 = level depends on z only, 1 = on z and [c >= 1] (OR pass), 2 = general.
    """
    n = indptr.shape[0] - 1
    nnz = indices.shape[0]
    full = ~np.uint64(0)
    rem = n_draws - (W - 1) * 64
    last_valid = full if rem == 64 else (np.uint64(1) << np.uint64(rem)) - np.uint64(1)
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for ch in prange(n_chunks):
        planes = np.zeros((max(n_planes, 1), W), dtype=np.uint64)
        carry = np.zeros(W, dtype=np.uint64)
        for i in range(ch * _CHUNK, min(n, (ch + 1) * _CHUNK)):
            d = indptr[i + 1] - indptr[i]
            B = 0
            if mode == 1 and d > 0:
                B = 1
            elif mode == 2:
                B = _bit_length(d)
            if B > 0:
                _accumulate(indptr, indices, words, W, i, planes, carry, mode, B, nnz, pf)
            g = group[i]
            for zval in range(2):
                seg = 2 * g + zval
                m1 = run_ptr[seg + 1]
                for m in range(run_ptr[seg], m1):
                    s = run_start[m]
                    s2 = run_start[m + 1] if m + 1 < m1 else 0
                    cnt = np.uint64(0)
                    for w in range(W):
                        valid = full if w < W - 1 else last_valid
                        own = words[np.int64(i) * W + w]
                        msk = own if zval == 1 else (~own & valid)
                        if s > 0:
                            msk &= _ge(planes, B, w, s, valid)
                        if s2 > 0:
                            msk &= ~_ge(planes, B, w, s2, valid)
                        cnt += popcount64(msk)
                    out[i, run_level[m]] += np.int64(cnt)


@njit(cache=True, parallel=True, nogil=True)
def levels_packed(indptr, indices, words, W, n_draws, group, tab_ptr, table, mode, n_planes, pf, out):
    """``out[r, i]`` = level of unit i in draw r, looked up in ``table[tab_ptr[group[i]] + z (d + 1) + c]``."""
    n = indptr.shape[0] - 1
    nnz = indices.shape[0]
    nb = (n + _BLOCK - 1) // _BLOCK
    for b in prange(nb):
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        buf = np.empty((_BLOCK, n_draws), dtype=np.int8)
        planes = np.zeros((max(n_planes, 1), W), dtype=np.uint64)
        carry = np.zeros(W, dtype=np.uint64)
        for i in range(i0, i1):
            d = indptr[i + 1] - indptr[i]
            B = 0
            if mode == 1 and d > 0:
                B = 1
            elif mode == 2:
                B = _bit_length(d)
            if B > 0:
                _accumulate(indptr, indices, words, W, i, planes, carry, mode, B, nnz, pf)
            base = tab_ptr[group[i]]
            stride = d + 1
            row = buf[i - i0]
            if mode < 2:
                # level is a function of (z, [c >= 1]): branch-free select, SIMD over draws
                c1 = min(d, 1)
                t00 = np.int64(table[base])
                t01 = np.int64(table[base + c1])
                t10 = np.int64(table[base + stride])
                t11 = np.int64(table[base + stride + c1])
                for w in range(W):
                    own = words[np.int64(i) * W + w]
                    acc = planes[0, w] if B > 0 else np.uint64(0)
                    r0 = w * 64
                    for bb in range(min(64, n_draws - r0)):
                        sh = np.uint64(bb)
                        z = np.int64((own >> sh) & np.uint64(1))
                        c = np.int64((acc >> sh) & np.uint64(1))
                        row[r0 + bb] = np.int8(t00 + z * (t10 - t00) + c * (t01 - t00 + z * (t11 - t10 - t01 + t00)))
                continue
            for w in range(W):
                own = words[np.int64(i) * W + w]
                r0 = w * 64
                for bb in range(min(64, n_draws - r0)):
                    sh = np.uint64(bb)
                    c = 0
                    for p in range(B):
                        c |= np.int64((planes[p, w] >> sh) & np.uint64(1)) << p
                    z = np.int64((own >> sh) & np.uint64(1))
                    row[r0 + bb] = table[base + z * stride + c]
        for r in range(n_draws):
            for i in range(i0, i1):
                out[r, i] = buf[i - i0, r]
