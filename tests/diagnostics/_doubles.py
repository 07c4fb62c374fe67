"""Test doubles shared by the diagnostics tests."""

import numpy as np

import netexp as ne


class CoinDesign(ne.Design):
    """Independent coins with unit-specific probabilities (unequal shares). Draws consume the stream
    row by row (``rng.random``), so splitting draws into batches gives the same draws."""

    def __init__(self, p):
        self._p = np.asarray(p, dtype=float)
        self._freeze()

    @property
    def n_units(self):
        return self._p.shape[0]

    def _sample_many(self, n_draws, rng):
        return rng.random((n_draws, self.n_units)) < self._p

    def _probabilities(self):
        return self._p
