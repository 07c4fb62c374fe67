"""Numba helpers shared by several rooms: log binomials, log factorials, the split of a pair's clusters."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def log_binom(a, b):
    """log C(a, b) by lgamma; -inf outside 0 <= b <= a."""
    if b < 0 or b > a or a < 0:
        return -np.inf
    return math.lgamma(a + 1.0) - math.lgamma(b + 1.0) - math.lgamma(a - b + 1.0)


@njit(cache=True)
def log_factorials(nmax):
    """``out[k] = log k!`` for k = 0..nmax + 1."""
    out = np.zeros(nmax + 2)
    for k in range(1, nmax + 2):
        out[k] = out[k - 1] + math.log(k)
    return out


@njit(cache=True)
def log_binom_lf(log_fact, a, b):
    """log C(a, b) from the table ``log_fact`` of :func:`log_factorials`; -inf outside 0 <= b <= a."""
    if b < 0 or a < 0 or b > a:
        return -np.inf
    return log_fact[a] - log_fact[b] - log_fact[a - b]


@njit(cache=True, inline="always")
def split_pair_parts(row_ptr, row_unit, i, j, ini, inj, wi_of, wj_of):
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
    for e in range(row_ptr[i], row_ptr[i + 1]):
        r = row_unit[e]
        if inj[r]:
            mS += 1
            xs += wi_of[r]
            ys += wj_of[r]
        else:
            mA += 1
            dA += wi_of[r]
    for e in range(row_ptr[j], row_ptr[j + 1]):
        r = row_unit[e]
        if not ini[r]:
            mB += 1
            dB += wj_of[r]
    return mA, mB, mS, dA, dB, xs, ys
