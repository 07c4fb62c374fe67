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
