"""Unit-level designs: Bernoulli (independent coin flips) and Complete (fixed number treated)."""

from __future__ import annotations

import math

import numpy as np

from .._errors import DesignError
from .._validation import check_int, check_probability
from ._base import Design

__all__ = ["Bernoulli", "Complete"]


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


class Complete(Design):
    """Exactly ``n_treated`` of ``n_units`` treated, every such set equally likely.

    Parameters
    ----------
    n_units : int
    n_treated : int, optional
        Number treated, in ``[1, n_units - 1]``. Default ``n_units // 2``.
    p : float, optional
        Alternative to ``n_treated``: treat ``round(p * n_units)`` units.

    Notes
    -----
    With :math:`n_1` treated of :math:`n`: :math:`P(Z_i=1) = n_1/n` and
    :math:`P(Z_i=1, Z_j=1) = n_1 (n_1-1) / (n (n-1))` for :math:`i \\ne j`.

    Examples
    --------
    >>> import netexp as ne
    >>> z = ne.Complete(10, n_treated=3).sample(rng=0)
    >>> int(z.sum())
    3
    """

    def __init__(self, n_units: int, n_treated: int | None = None, *, p: float | None = None):
        n = check_int("Complete: n_units", n_units, low=2)
        if n_treated is not None and p is not None:
            raise DesignError("Complete: give n_treated or p, not both.")
        if p is not None:
            p = check_probability("Complete: p", p)
            n_treated = int(math.floor(p * n + 0.5))
        elif n_treated is None:
            n_treated = n // 2
        self._n = n
        self._k = check_int("Complete: n_treated", n_treated, low=1, high=n - 1)
        self._freeze()

    @property
    def n_units(self) -> int:
        return self._n

    @property
    def n_treated(self) -> int:
        return self._k

    def _sample_many(self, n_draws, rng):
        n, k = self._n, self._k
        small = min(k, n - k)  # draw the smaller arm, fill the other
        fill_treated = small == k
        z = np.zeros((n_draws, n), dtype=bool) if fill_treated else np.ones((n_draws, n), dtype=bool)
        if n <= 4096:
            # vectorized over draws: the `small` smallest of n iid uniforms are a uniform subset
            chunk = max(1, 2**22 // n)
            for start in range(0, n_draws, chunk):
                stop = min(n_draws, start + chunk)
                idx = np.argpartition(rng.random((stop - start, n)), small - 1, axis=1)[:, :small]
                np.put_along_axis(z[start:stop], idx, fill_treated, axis=1)
        else:
            # large n: numpy's O(n) sampling without replacement, one draw at a time
            for r in range(n_draws):
                z[r, rng.choice(n, small, replace=False, shuffle=False)] = fill_treated
        return z

    def _probabilities(self):
        return np.full(self._n, self._k / self._n)

    def _joint_probabilities(self):
        n, k = self._n, self._k
        j = np.full((n, n), k * (k - 1) / (n * (n - 1)))
        np.fill_diagonal(j, k / n)
        return j

    def _pmf(self, z):
        return 1.0 / math.comb(self._n, self._k) if int(z.sum()) == self._k else 0.0

    def _repr_params(self):
        return {"n_units": self._n, "n_treated": self._k}
