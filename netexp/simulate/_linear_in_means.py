"""Outcome models with known potential outcomes."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_binary_matrix, check_positive, check_rng
from ..exposure import fraction_treated_neighbors
from ..graph import Graph

__all__ = ["LinearInMeans", "PotentialOutcomes"]


@dataclasses.dataclass(frozen=True)
class LinearInMeans:
    r"""The seed notebook's spillover model, as potential outcomes.

    .. math:: Y_i(z) = \beta_0 + \beta_1 z_i + \beta_2 \, \bar z_{N(i)} + \varepsilon_i

    where :math:`\bar z_{N(i)}` is the fraction of i's neighbours treated (0 for isolated
    units) and :math:`\varepsilon_i \sim N(0, \sigma^2)` is drawn once per unit when the
    potential outcomes are realized, so every assignment is evaluated on the same units (a
    finite-population model: the only randomness left is the design's).

    Parameters
    ----------
    baseline : float
        :math:`\beta_0` (seed: 0.05).
    direct : float
        :math:`\beta_1`, effect of own treatment (seed: 0.2).
    spillover : float
        :math:`\beta_2`, effect of going from no to all neighbours treated (seed: 0.1).
    noise_sd : float
        :math:`\sigma` (seed: 0.01).

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> po = ne.LinearInMeans().realize(g, rng=0)
    >>> round(po.global_effect, 3), round(po.direct_effect, 3)
    (0.3, 0.2)
    """

    baseline: float = 0.05
    direct: float = 0.2
    spillover: float = 0.1
    noise_sd: float = 0.01

    def __post_init__(self):
        for name in ("baseline", "direct", "spillover"):
            v = getattr(self, name)
            if not np.isfinite(float(v)):
                raise InputError(f"LinearInMeans: {name} must be finite; got {v!r}.")
        check_positive("LinearInMeans: noise_sd", self.noise_sd, allow_zero=True)

    def realize(self, graph: Graph, *, rng=None) -> "PotentialOutcomes":
        """Draw the unit-level noise once and return the potential-outcome schedule on ``graph``."""
        if not isinstance(graph, Graph):
            raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
        eps = check_rng(rng).normal(0.0, self.noise_sd, graph.n_nodes) if self.noise_sd > 0 else np.zeros(graph.n_nodes)
        eps.flags.writeable = False
        return PotentialOutcomes(self, graph, eps)


@dataclasses.dataclass(frozen=True, eq=False)
class PotentialOutcomes:
    """Realized potential outcomes of a :class:`LinearInMeans` model on a graph.

    Estimands (finite-population averages over the graph's units):

    - ``global_effect`` = mean_i [Y_i(1) - Y_i(0)]: everyone treated vs no one treated,
      :math:`\\beta_1 + \\beta_2 \\times` (share of units with at least one neighbour);
    - ``direct_effect`` = :math:`\\beta_1`: the effect of a unit's own treatment holding its
      neighbours' assignment fixed (the same for every unit and every neighbour assignment in
      this model);
    - ``spillover_effect`` = global - direct.
    """

    model: LinearInMeans
    graph: Graph
    noise: np.ndarray

    def outcomes(self, z: Any) -> np.ndarray:
        """Observed outcomes under assignment(s) ``z``; shape follows ``z``."""
        one = np.ndim(z) == 1
        Z = check_binary_matrix("z", z, self.graph.n_nodes)
        frac = fraction_treated_neighbors(self.graph, Z[0] if one else Z)
        m = self.model
        y = m.baseline + m.direct * (Z[0] if one else Z) + m.spillover * frac + self.noise
        return np.asarray(y, dtype=float)

    @property
    def y0(self) -> np.ndarray:
        """Outcomes when no unit is treated."""
        return self.model.baseline + self.noise

    @property
    def y1(self) -> np.ndarray:
        """Outcomes when every unit is treated."""
        connected = np.asarray(self.graph.degree) > 0
        return self.model.baseline + self.model.direct + self.model.spillover * connected + self.noise

    @property
    def global_effect(self) -> float:
        return float(np.mean(self.y1 - self.y0))

    @property
    def direct_effect(self) -> float:
        return float(self.model.direct)

    @property
    def spillover_effect(self) -> float:
        return self.global_effect - self.direct_effect

    def truth(self) -> dict:
        return {"global_effect": self.global_effect, "direct_effect": self.direct_effect,
                "spillover_effect": self.spillover_effect}
