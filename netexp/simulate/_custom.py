"""User-defined outcome models, and the potential-outcomes contract shared by the simulated models.

Every outcome model in :mod:`netexp.simulate` follows one protocol::

    po = model.realize(graph_or_n_units, rng=...)   # draw the unit-level quantities once
    po.outcomes(z)            # (n,) for one assignment, (R, n) for a batch Z
    po.truth                  # {"global effect": ..., "direct effect": ..., ...}
    po.covariates             # pandas DataFrame of pre-treatment covariates, or None

The noise is drawn once by ``realize`` (a finite population: the only randomness left is the
design's); :meth:`SimulatedOutcomes.outcomes_redrawn` gives outcomes with fresh noise for every
row of a batch, which :func:`netexp.diagnostics.diagnose` uses with ``noise="redraw"``.
"""

from __future__ import annotations

import abc

import dataclasses
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import check_binary_matrix, check_int, check_positive, check_rng, readonly
from ..graph import Graph

__all__ = ["CustomOutcomes", "SimulatedOutcomes", "graph_and_size"]


def graph_and_size(where: str, graph_or_n_units: Any) -> tuple[Graph | None, int]:
    """``(graph or None, n_units)`` from a Graph or a positive unit count."""
    if isinstance(graph_or_n_units, Graph):
        return graph_or_n_units, int(graph_or_n_units.n_nodes)
    if isinstance(graph_or_n_units, (bool, np.bool_)):
        raise InputError(f"{where}: pass a netexp Graph or a number of units; got {graph_or_n_units!r}.")
    try:
        n = check_int(f"{where}: n_units", graph_or_n_units, low=1)
    except InputError:
        raise InputError(f"{where}: pass a netexp Graph or a positive number of units; got "
                         f"{type(graph_or_n_units).__name__}.") from None
    return None, n


class SimulatedOutcomes(abc.ABC):
    """Base of realized potential outcomes: fixed unit noise plus a noiseless mean schedule.

    Subclasses set ``graph``, ``n_units``, ``noise`` (read-only, shape ``(n_units,)``),
    ``noise_sd`` and implement ``_mean(Z)``: outcomes without noise for a bool batch ``Z`` of
    shape ``(R, n_units)``, and ``truth`` (a dict of named estimands).
    """

    graph: Graph | None
    n_units: int
    noise: np.ndarray
    noise_sd: float

    @abc.abstractmethod
    def _mean(self, Z: np.ndarray) -> np.ndarray:
        """Outcomes without noise for a bool batch ``Z`` of shape ``(R, n_units)``."""

    def outcomes(self, z: Any) -> np.ndarray:
        """Observed outcomes under assignment(s) ``z``; shape follows ``z`` ((n,) or (R, n))."""
        one = np.ndim(z) == 1
        Z = check_binary_matrix("z", z, self.n_units)
        Y = self._mean(Z) + self.noise
        return Y[0] if one else Y

    def outcomes_redrawn(self, z: Any, *, rng=None) -> np.ndarray:
        """Outcomes with fresh unit noise for every row (each row a new sample of units' noise).

        The estimands do not change: the noise enters treated and control potential outcomes
        alike, so unit-level effects are the same as in the realized population.
        """
        one = np.ndim(z) == 1
        Z = check_binary_matrix("z", z, self.n_units)
        Y = self._mean(Z)
        if self.noise_sd > 0:
            Y = Y + check_rng(rng).normal(0.0, self.noise_sd, Y.shape)
        return Y[0] if one else Y

    @property
    def y0(self) -> np.ndarray:
        """Outcomes when no unit is treated."""
        return self.outcomes(np.zeros(self.n_units, dtype=bool))

    @property
    def y1(self) -> np.ndarray:
        """Outcomes when every unit is treated."""
        return self.outcomes(np.ones(self.n_units, dtype=bool))

    @property
    def global_effect(self) -> float:
        return float(self.truth["global effect"])

    @property
    def covariates(self) -> pd.DataFrame | None:
        cov = getattr(self, "_covariates", None)
        return None if cov is None else cov.copy()

    def __repr__(self) -> str:
        t = ", ".join(f"{k}={v:.4g}" for k, v in self.truth.items())
        return f"{type(self).__name__}(n_units={self.n_units}, {t})"


def _ro(a) -> np.ndarray:
    return readonly(np.array(a, dtype=float))


@dataclasses.dataclass(frozen=True)
class CustomOutcomes:
    r"""Outcome model from a user function of the assignment batch.

    Parameters
    ----------
    func : callable
        ``func(Z, graph) -> Y`` with ``Z`` a bool array of shape ``(R, n_units)`` and ``Y`` a
        float array of the same shape: the noiseless potential outcomes of every unit under every
        row of ``Z``. ``graph`` is the Graph given to :meth:`realize` (None when realized on a
        number of units). Must be vectorized over rows and deterministic.
    truth : mapping, optional
        Named estimands to report (e.g. ``{"direct effect": 0.2}``). ``"global effect"`` is
        always computed from ``func`` (Notes) unless given here.
    covariates : DataFrame, optional
        Pre-treatment covariates, one row per unit, passed through to estimators.
    noise_sd : float, default 0
        Standard deviation of normal unit noise added to every potential outcome.

    Notes
    -----
    The global effect is

    .. math:: \tau_{global} = \frac1n \sum_i \{Y_i(\mathbf 1) - Y_i(\mathbf 0)\},

    computed as ``mean(func(ones) - func(zeros))``; additive noise cancels in it.

    Examples
    --------
    >>> import numpy as np
    >>> import netexp as ne
    >>> from netexp.simulate import CustomOutcomes
    >>> g = ne.load_graph("karate")
    >>> model = CustomOutcomes(lambda Z, graph: 1.0 + 2.0 * Z, noise_sd=0.5)
    >>> po = model.realize(g, rng=0)
    >>> po.truth
    {'global effect': 2.0}
    >>> po.outcomes(np.zeros(34, dtype=bool)).shape
    (34,)
    """

    func: Callable
    truth: Mapping | None = None
    covariates: Any = None
    noise_sd: float = 0.0

    def __post_init__(self):
        if not callable(self.func):
            raise InputError(f"CustomOutcomes: func must be callable as func(Z, graph) -> Y; got "
                             f"{type(self.func).__name__}.")
        check_positive("CustomOutcomes: noise_sd", self.noise_sd, allow_zero=True)
        if self.truth is not None and not isinstance(self.truth, Mapping):
            raise InputError(f"CustomOutcomes: truth must be a mapping of estimand name to value; got "
                             f"{type(self.truth).__name__}.")

    def realize(self, graph_or_n_units: Any, *, rng=None) -> "CustomPotentialOutcomes":
        """Draw the unit noise once and return the potential outcomes."""
        graph, n = graph_and_size("CustomOutcomes", graph_or_n_units)
        cov = None
        if self.covariates is not None:
            cov = pd.DataFrame(self.covariates).reset_index(drop=True).copy()
            if len(cov) != n:
                raise InputError(f"CustomOutcomes: covariates must have one row per unit ({n}); got {len(cov)}.")
        noise = check_rng(rng).normal(0.0, self.noise_sd, n) if self.noise_sd > 0 else np.zeros(n)
        return CustomPotentialOutcomes(self, graph, n, noise, cov)


class CustomPotentialOutcomes(SimulatedOutcomes):
    """Realized potential outcomes of a :class:`CustomOutcomes` model."""

    def __init__(self, model: CustomOutcomes, graph, n_units: int, noise, covariates):
        self.model = model
        self.graph = graph
        self.n_units = n_units
        self.noise = _ro(noise)
        self.noise_sd = float(model.noise_sd)
        self._covariates = covariates
        ends = self._mean(np.vstack([np.ones(n_units, dtype=bool), np.zeros(n_units, dtype=bool)]))
        truth = {"global effect": float(np.mean(ends[0] - ends[1]))}
        for k, v in (model.truth or {}).items():
            truth[str(k)] = float(v)
        self._truth = truth

    @property
    def truth(self) -> dict:
        return dict(self._truth)

    def _mean(self, Z):
        Y = np.asarray(self.model.func(Z, self.graph), dtype=float)
        if Y.shape != Z.shape:
            raise InputError(f"CustomOutcomes: func(Z, graph) must return an array of Z's shape {Z.shape}; got "
                             f"{Y.shape}. Vectorize it over the rows of Z.")
        if not np.isfinite(Y).all():
            raise InputError("CustomOutcomes: func(Z, graph) returned missing or non-finite outcomes.")
        return Y
