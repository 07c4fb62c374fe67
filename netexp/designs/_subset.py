"""The marginal design of a subset of units: the same draws, read only at some units."""

from __future__ import annotations

import numpy as np

from .._errors import DesignError
from ._base import Design

__all__ = ["UnitSubset"]


class UnitSubset(Design):
    """The assignments of ``design`` read at ``units`` only (their marginal distribution).

    For analyses over the units that have outcomes: a randomization test on those units draws
    the full design and keeps their columns, so the null distribution is exactly the design's
    (clusters, strata, two stages), restricted to them. Valid under the sharp null when which
    units have outcomes does not depend on treatment (no differential attrition).

    Parameters
    ----------
    design : Design
    units : array of int
        Positions of the kept units in ``design``'s unit order (distinct).

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.designs import UnitSubset
    >>> d = UnitSubset(ne.ClusterRandomized([0, 0, 1, 1, 2, 2], p=0.5), [0, 1, 4])
    >>> d.sample_many(3, rng=0).astype(int).tolist() == ne.ClusterRandomized(
    ...     [0, 0, 1, 1, 2, 2], p=0.5).sample_many(3, rng=0)[:, [0, 1, 4]].astype(int).tolist()
    True
    """

    def __init__(self, design: Design, units):
        idx = np.asarray(units, dtype=np.int64).ravel()
        if idx.size == 0:
            raise DesignError("UnitSubset: units is empty.")
        if idx.min() < 0 or idx.max() >= design.n_units or np.unique(idx).size != idx.size:
            raise DesignError(f"UnitSubset: units must be distinct positions in 0..{design.n_units - 1}.")
        self._design = design
        self._idx = idx
        self._idx.flags.writeable = False
        self._freeze()

    @property
    def n_units(self) -> int:
        return int(self._idx.shape[0])

    @property
    def base(self) -> Design:
        return self._design

    @property
    def units(self) -> np.ndarray:
        return self._idx

    def _sample_many(self, n_draws, rng):
        return np.ascontiguousarray(self._design._sample_many(n_draws, rng)[:, self._idx])

    def _probabilities(self):
        return self._design.probabilities[self._idx]

    def _joint_probabilities(self):
        return self._design.joint_probabilities()[np.ix_(self._idx, self._idx)]

    def _enumerate(self):
        Z, w = self._design.enumerate()
        return Z[:, self._idx], w

    def _repr_params(self):
        return {"design": self._design, "n_units": self.n_units}
