"""Bernoulli: independent coin flips (Complete and the stratified family live in _stratified.py)."""

from __future__ import annotations


import numpy as np

from .._validation import check_int, check_probability
from ._base import Design

__all__ = ["Bernoulli"]


class Bernoulli(Design):
    """Each unit treated independently with probability ``p`` (a coin flip per unit).

    The number treated is Binomial(n_units, p): it varies from draw to draw, and with few units
    the arms can be badly unbalanced.

    Parameters
    ----------
    n_units : int
    p : float in (0, 1), default 0.5

    Notes
    -----
    :math:`P(Z_i=1) = p`, :math:`P(Z_i=1, Z_j=1) = p^2` for :math:`i \\ne j`.

    Examples
    --------
    >>> import netexp as ne
    >>> ne.Bernoulli(6, p=0.5).sample(rng=0).astype(int).tolist()
    [1, 1, 1, 1, 1, 0]
    """

    def __init__(self, n_units: int, p: float = 0.5):
        self._n = check_int("Bernoulli: n_units", n_units, low=1)
        self._p = check_probability("Bernoulli: p", p)
        self._freeze()

    @property
    def n_units(self) -> int:
        return self._n

    @property
    def p(self) -> float:
        return self._p

    def _sample_many(self, n_draws, rng):
        n = self._n
        if self._p == 0.5:
            # exact fair coins from random bits: 8 units per random byte (130x faster than
            # comparing float64 uniforms at 10^9 unit-draws, and no 8-byte-per-unit matrix)
            nbytes = (n + 7) // 8
            bits = rng.integers(0, 256, size=(n_draws, nbytes), dtype=np.uint8)
            return np.unpackbits(bits, axis=1, count=n, bitorder="little").view(np.bool_)
        z = np.empty((n_draws, n), dtype=bool)
        chunk = max(1, 2**24 // n)  # bound the float64 work space to 128 MB
        for start in range(0, n_draws, chunk):
            stop = min(n_draws, start + chunk)
            np.less(rng.random((stop - start, n)), self._p, out=z[start:stop])
        return z

    def _probabilities(self):
        return np.full(self._n, self._p)

    def _joint_probabilities(self):
        j = np.full((self._n, self._n), self._p**2)
        np.fill_diagonal(j, self._p)
        return j

    def _pmf(self, z):
        k = int(z.sum())
        return self._p**k * (1 - self._p) ** (self._n - k)

    def _repr_params(self):
        return {"n_units": self._n, "p": self._p}
