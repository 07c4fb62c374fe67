"""Threshold contagion: a unit responds to its neighbours only once enough of them are treated."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_positive, check_rng
from ..exposure import treated_neighbor_counts
from ..graph import Graph
from ._custom import SimulatedOutcomes, _ro

__all__ = ["ThresholdContagion", "ThresholdOutcomes"]


@dataclasses.dataclass(frozen=True)
class ThresholdContagion:
    r"""Outcomes with a threshold (complex-contagion) spillover.

    .. math::

        Y_i(z) = \alpha_i + \tau z_i + \gamma \, \mathbf 1\{d_i > 0,\ \bar z_{N(i)} \ge \theta\}
        + \varepsilon_i

    where :math:`\bar z_{N(i)}` is the fraction of i's (in-)neighbours treated, :math:`d_i`
    its number of neighbours (isolated units never receive the spillover),
    :math:`\alpha_i = \beta_0 + \sigma_\alpha \eta_i` a unit baseline and
    :math:`\varepsilon_i \sim N(0, \sigma^2)`; :math:`\eta_i \sim N(0,1)` and
    :math:`\varepsilon_i` are drawn once by :meth:`realize`.

    Parameters
    ----------
    baseline : float, default 0
        :math:`\beta_0`.
    direct : float, default 1
        :math:`\tau`, effect of own treatment.
    spillover : float, default 1
        :math:`\gamma`, jump once the threshold is reached.
    threshold : float in (0, 1], default 0.5
        :math:`\theta`: the spillover switches on when at least this share of neighbours is
        treated (unit i needs :math:`\lceil \theta d_i \rceil` treated neighbours).
    baseline_sd : float, default 1
        :math:`\sigma_\alpha`, spread of the unit baselines.
    noise_sd : float, default 1
        :math:`\sigma`.

    Notes
    -----
    Estimands (finite-population averages over the n units; :math:`\bar c` is the share of
    units with at least one neighbour):

    - ``"global effect"`` :math:`= \frac1n\sum_i\{Y_i(\mathbf 1) - Y_i(\mathbf 0)\} = \tau + \gamma\bar c`:
      with everyone treated every connected unit is over the threshold, with no one treated none is;
    - ``"direct effect"`` :math:`= \tau`: own treatment shifts the outcome by :math:`\tau` whatever the
      neighbours' assignment;
    - ``"spillover effect"`` :math:`= \gamma \bar c`.

    Unlike the linear-in-means model, the effect of treating neighbours is not linear in the
    fraction treated: a design that treats half of everyone's neighbours (Bernoulli(1/2)) puts
    roughly half the units over a threshold of 1/2, while a cluster design puts nearly all units
    of treated clusters over it. Estimators that assume linearity (exposure regression) are then
    biased for the global effect.

    References
    ----------
    Centola, D., & Macy, M. (2007). Complex contagions and the weakness of long ties. *American
    Journal of Sociology*, 113(3), 702-734.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.simulate import ThresholdContagion
    >>> g = ne.load_graph("karate")
    >>> po = ThresholdContagion(direct=1.0, spillover=0.5, threshold=0.5).realize(g, rng=0)
    >>> po.truth["global effect"]
    1.5
    """

    baseline: float = 0.0
    direct: float = 1.0
    spillover: float = 1.0
    threshold: float = 0.5
    baseline_sd: float = 1.0
    noise_sd: float = 1.0

    _effect_param = "direct"

    def __post_init__(self):
        for name in ("baseline", "direct", "spillover"):
            v = getattr(self, name)
            if not np.isfinite(float(v)):
                raise InputError(f"ThresholdContagion: {name} must be finite; got {v!r}.")
        th = float(self.threshold)
        if not (0.0 < th <= 1.0):
            raise InputError(f"ThresholdContagion: threshold must be in (0, 1] (a share of neighbours treated); "
                             f"got {self.threshold!r}.")
        check_positive("ThresholdContagion: baseline_sd", self.baseline_sd, allow_zero=True)
        check_positive("ThresholdContagion: noise_sd", self.noise_sd, allow_zero=True)

    def realize(self, graph: Graph, *, rng=None) -> "ThresholdOutcomes":
        """Draw unit baselines and noise once; return the potential outcomes on ``graph``."""
        if not isinstance(graph, Graph):
            raise InputError(f"ThresholdContagion: graph must be a netexp Graph (spillover runs along its edges); "
                             f"got {type(graph).__name__}.")
        g = check_rng(rng)
        n = graph.n_nodes
        alpha = self.baseline + (g.normal(0.0, self.baseline_sd, n) if self.baseline_sd > 0 else np.zeros(n))
        noise = g.normal(0.0, self.noise_sd, n) if self.noise_sd > 0 else np.zeros(n)
        return ThresholdOutcomes(self, graph, alpha, noise)


class ThresholdOutcomes(SimulatedOutcomes):
    """Realized potential outcomes of a :class:`ThresholdContagion` model."""

    def __init__(self, model: ThresholdContagion, graph: Graph, alpha, noise):
        self.model = model
        self.graph = graph
        self.n_units = int(graph.n_nodes)
        self.alpha = _ro(alpha)
        self.noise = _ro(noise)
        self.noise_sd = float(model.noise_sd)
        self._covariates = None
        deg = np.asarray(graph.degree, dtype=np.int64)
        # smallest count of treated neighbours reaching the threshold; exact for thresholds like 1/3
        need = np.ceil(float(model.threshold) * deg - 1e-9).astype(np.int64)
        self._need = np.where(deg > 0, np.maximum(need, 1), np.iinfo(np.int64).max)
        c = float(np.mean(deg > 0))
        self._truth = {"global effect": float(model.direct) + float(model.spillover) * c,
                       "direct effect": float(model.direct), "spillover effect": float(model.spillover) * c}

    @property
    def truth(self) -> dict:
        return dict(self._truth)

    def over_threshold(self, z: Any) -> np.ndarray:
        """Whether each unit's treated share of neighbours reaches the threshold; shape follows ``z``."""
        counts = treated_neighbor_counts(self.graph, z)
        return counts >= self._need

    def _mean(self, Z):
        return self.alpha + self.model.direct * Z + self.model.spillover * self.over_threshold(Z)
