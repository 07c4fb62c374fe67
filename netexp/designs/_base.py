"""The Design contract: a declared distribution over assignment vectors, separate from its draws."""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod

import numpy as np

from .._errors import DesignError
from .._validation import check_int, check_rng

__all__ = ["Design"]

_MAX_ENUMERATE = 2**20


class Design(ABC):
    """Base class of every randomization design.

    A design is an immutable declaration of a probability distribution over treatment
    vectors ``z`` in ``{0, 1}^n_units``. It holds no random state: every draw takes
    ``rng`` (None, int, SeedSequence or Generator), so the same seed gives the same
    assignment, bit for bit.

    Subclasses implement ``_sample_many(n_draws, rng)`` returning a bool array of shape
    ``(n_draws, n_units)`` and ``_probabilities()`` returning the exact marginal
    ``P(Z_i = 1)``; optionally ``_joint_probabilities()`` and ``_enumerate()``.
    """

    @property
    @abstractmethod
    def n_units(self) -> int:
        """Number of units the design assigns."""

    @abstractmethod
    def _sample_many(self, n_draws: int, rng: np.random.Generator) -> np.ndarray: ...

    @abstractmethod
    def _probabilities(self) -> np.ndarray: ...

    # ---------------------------------------------------------------- public API
    def sample(self, *, rng=None) -> np.ndarray:
        """One assignment: bool array of shape ``(n_units,)``."""
        return self.sample_many(1, rng=rng)[0]

    def sample_many(self, n_draws: int, *, rng=None) -> np.ndarray:
        """``n_draws`` independent assignments: bool array of shape ``(n_draws, n_units)``."""
        n_draws = check_int("n_draws", n_draws, low=1)
        z = self._sample_many(n_draws, check_rng(rng))
        assert z.shape == (n_draws, self.n_units) and z.dtype == np.bool_
        return z

    @property
    def probabilities(self) -> np.ndarray:
        """Exact marginal treatment probabilities ``P(Z_i = 1)``, shape ``(n_units,)``."""
        p = np.asarray(self._probabilities(), dtype=float)
        p.flags.writeable = False
        return p

    def estimate_probabilities(self, n_draws: int = 10_000, *, rng=None, joint: bool = False,
                               batch_size: int = 1000):
        """Monte Carlo estimate of the marginal (and optionally joint) treatment probabilities.

        For designs without closed-form probabilities (re-randomization). Returns
        ``(p_hat, std_error)`` with the binomial standard error of each marginal, or
        ``(p_hat, std_error, joint_hat)`` with ``joint=True`` (dense, moderate ``n_units`` only).
        """
        n_draws = check_int("n_draws", n_draws, low=1)
        g = check_rng(rng)
        total = np.zeros(self.n_units)
        jt = np.zeros((self.n_units, self.n_units)) if joint else None
        done = 0
        while done < n_draws:
            b = min(batch_size, n_draws - done)
            Z = self._sample_many(b, g)
            total += Z.sum(0)
            if joint:
                Zf = Z.astype(float)
                jt += Zf.T @ Zf
            done += b
        p = total / n_draws
        se = np.sqrt(p * (1 - p) / n_draws)
        return (p, se, jt / n_draws) if joint else (p, se)

    def joint_probabilities(self) -> np.ndarray:
        """Exact ``P(Z_i = 1, Z_j = 1)`` as a dense ``(n_units, n_units)`` matrix (diagonal: marginals).

        Available where a closed form exists; dense, so meant for moderate ``n_units``.
        """
        if self.n_units > 20_000:
            raise DesignError(f"joint_probabilities is dense: {self.n_units}^2 entries is too large; "
                              "use pairwise formulas or Monte Carlo for large designs.")
        return self._joint_probabilities()

    def _joint_probabilities(self) -> np.ndarray:
        support, weights = self.enumerate()
        zf = support.astype(float)
        return (zf * weights[:, None]).T @ zf

    def enumerate(self) -> tuple[np.ndarray, np.ndarray]:
        """Every assignment with positive probability and its probability, for tiny designs.

        Returns ``(Z, w)`` with ``Z`` bool of shape ``(n_support, n_units)`` and ``w`` summing to 1.
        """
        return self._enumerate()

    def _enumerate(self):
        n = self.n_units
        if 2**n > _MAX_ENUMERATE:
            raise DesignError(f"{type(self).__name__}: cannot enumerate 2^{n} assignments; enumeration is "
                              "for tiny designs (n_units <= 20).")
        z = np.array(list(itertools.product((0, 1), repeat=n)), dtype=bool)
        w = np.array([self._pmf(row) for row in z])
        keep = w > 0
        return z[keep], w[keep]

    def _pmf(self, z: np.ndarray) -> float:
        raise DesignError(f"{type(self).__name__} does not support enumeration.")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._repr_params().items())
        return f"{type(self).__name__}({params})"

    def _repr_params(self) -> dict:
        return {"n_units": self.n_units}

    def __setattr__(self, key, value):
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable; declare a new design instead.")
        object.__setattr__(self, key, value)

    def _freeze(self):
        object.__setattr__(self, "_frozen", True)
