"""Bit-packed draws: 64 assignments of a unit in one uint64 word.

Layout (draw-major transpose): ``words[j, w]`` holds the treatments of unit ``j`` in draws
``64 w .. 64 w + 63``, draw ``64 w + b`` in bit ``b``; bits past the last draw are zero. Reading
one neighbour then brings all its draws in ``ceil(R / 64)`` words (two cache lines for
``R = 1000``), which is what makes the fused exposure kernels in :mod:`._kernels` fast.

This module also holds two tiny LLVM intrinsics numba does not expose: ``popcount64``
(``llvm.ctpop``, one ``popcnt`` instruction) and ``prefetch`` (``llvm.prefetch``, a software
prefetch of an array element, used to hide the latency of the random reads of neighbours' rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._parallel import threads_for
from .._errors import InputError
from .._validation import check_binary_matrix, readonly

__all__ = ["PackedDraws", "pack_draws", "unpack_draws", "aligned_empty"]

_PACK_BLOCK = 4096  # units per task: one page of every draw row


# ---------------------------------------------------------------------------------- intrinsics
@intrinsic
def popcount64(typingctx, x):
    """Number of set bits of a uint64 (``llvm.ctpop.i64``)."""
    if not isinstance(x, types.Integer) or x.bitwidth != 64:
        return None
    sig = types.uint64(x)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the CPU to load ``arr[idx]`` into cache (``llvm.prefetch``, read, high locality).

    No bounds check: callers pass an index inside the array.
    """
    if not isinstance(arr, types.Array) or arr.ndim != 1 or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        i = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = builder.gep(ary.data, [i])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------------------------- packing
def aligned_empty(shape, dtype, align: int = 64) -> np.ndarray:
    """``np.empty`` whose data starts on an ``align``-byte boundary (a cache line by default)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buf = np.empty(nbytes + align, dtype=np.uint8)
    off = (-buf.ctypes.data) % align
    return buf[off:off + nbytes].view(dtype).reshape(shape)


@njit(cache=True, parallel=True, nogil=True)
def _pack_kernel(z, out):
    """``out[i, w]`` bit ``b`` = ``z[64 w + b, i]`` (z: uint8 (R, n); out: uint64 (n, W))."""
    R, n = z.shape
    W = out.shape[1]
    nb = (n + _PACK_BLOCK - 1) // _PACK_BLOCK
    for blk in prange(nb):
        i0 = blk * _PACK_BLOCK
        i1 = min(n, i0 + _PACK_BLOCK)
        acc = np.empty(i1 - i0, dtype=np.uint64)
        for w in range(W):
            acc[:] = 0
            r0 = w * 64
            r1 = min(R, r0 + 64)
            for r in range(r0, r1):
                sh = np.uint64(r - r0)
                row = z[r]
                for i in range(i0, i1):
                    acc[i - i0] |= np.uint64(row[i]) << sh
            for i in range(i0, i1):
                out[i, w] = acc[i - i0]


@njit(cache=True, parallel=True, nogil=True)
def _unpack_kernel(words, n_draws, out):
    n = words.shape[0]
    for i in prange(n):
        for r in range(n_draws):
            out[r, i] = (words[i, r >> 6] >> np.uint64(r & 63)) & np.uint64(1)


class PackedDraws:
    """Draws of a design packed 64 per uint64 word, unit-major (see :func:`pack_draws`).

    Attributes
    ----------
    words : ndarray of uint64, shape (n_units, ceil(n_draws / 64))
        ``words[j, w]`` bit ``b`` is the treatment of unit ``j`` in draw ``64 w + b``
        (read-only; padding bits of the last word are zero).
    n_draws : int
    n_units : int
    """

    __slots__ = ("_words", "_n_draws")

    def __init__(self, words: np.ndarray, n_draws: int):
        words = np.ascontiguousarray(words, dtype=np.uint64)
        if words.ndim != 2 or words.shape[1] != (n_draws + 63) // 64:
            raise InputError(f"words must have shape (n_units, ceil(n_draws / 64)) = (n_units, "
                             f"{(n_draws + 63) // 64}); got {words.shape}.")
        object.__setattr__(self, "_words", readonly(words))
        object.__setattr__(self, "_n_draws", int(n_draws))

    def __setattr__(self, key, value):
        raise AttributeError("PackedDraws is immutable")

    @property
    def words(self) -> np.ndarray:
        return self._words

    @property
    def n_draws(self) -> int:
        return self._n_draws

    @property
    def n_units(self) -> int:
        return int(self._words.shape[0])

    @property
    def n_words(self) -> int:
        return int(self._words.shape[1])

    def unpack(self) -> np.ndarray:
        """The draws as a bool array of shape ``(n_draws, n_units)``."""
        return unpack_draws(self)

    def __repr__(self) -> str:
        return f"PackedDraws(n_draws={self._n_draws}, n_units={self.n_units})"


def pack_draws(Z: Any) -> PackedDraws:
    """Pack draws ``(n_draws, n_units)`` of 0/1 into 64-draw words per unit.

    Parameters
    ----------
    Z : array-like of 0/1, shape (n_draws, n_units)
        Assignments, one per row (as from ``Design.sample_many``).

    Returns
    -------
    PackedDraws
        ``words`` of shape ``(n_units, ceil(n_draws / 64))`` (uint64): one eighth of the bool
        matrix, laid out so that all draws of one unit are contiguous.

    Notes
    -----
    Bit :math:`b` of word :math:`w` of unit :math:`j` is :math:`Z_{64w+b,\\,j}`. Passing the
    packed draws to :meth:`ExposureMapping.level_counts` skips the packing step, which is
    worth it when the same draws feed several mappings.

    Examples
    --------
    >>> import numpy as np
    >>> from netexp.exposure import pack_draws
    >>> p = pack_draws(np.array([[1, 0], [1, 1], [0, 1]]))
    >>> p.words.ravel().tolist()  # unit 0: draws 0, 1 -> 0b011; unit 1: draws 1, 2 -> 0b110
    [3, 6]
    >>> p.unpack().astype(int).tolist()
    [[1, 0], [1, 1], [0, 1]]
    """
    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise InputError(f"Z must have shape (n_draws, n_units); got shape {Z.shape}.")
    Zb = np.ascontiguousarray(check_binary_matrix("Z", Z, Z.shape[1]))
    R, n = Zb.shape
    out = aligned_empty((n, (R + 63) // 64), np.uint64)
    if R and n:
        with threads_for(R * n):
            _pack_kernel(Zb.view(np.uint8), out)
    return PackedDraws(out, R)


def unpack_draws(packed: PackedDraws) -> np.ndarray:
    """Inverse of :func:`pack_draws`: bool array of shape ``(n_draws, n_units)``."""
    out = np.empty((packed.n_draws, packed.n_units), dtype=np.uint8)
    if out.size:
        with threads_for(out.size):
            _unpack_kernel(packed.words, packed.n_draws, out)
    return out.view(np.bool_)
