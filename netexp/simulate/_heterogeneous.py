"""The teaching notebook's product-experiment population, with heterogeneous effects and optional spillover."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import check_positive, check_rng
from ..exposure import fraction_treated_neighbors, treated_neighbor_counts
from ._custom import SimulatedOutcomes, _ro, graph_and_size

__all__ = ["HeterogeneousPopulation", "HeterogeneousOutcomes", "SEGMENTS"]

#: Segment names, in the order of the per-segment parameters.
SEGMENTS = ("new", "growing", "mature")


def _triple(name: str, value: Any) -> tuple:
    t = tuple(float(v) for v in value)
    if len(t) != 3 or not np.all(np.isfinite(t)):
        raise InputError(f"HeterogeneousPopulation: {name} must be 3 finite numbers, one per segment {SEGMENTS}; "
                         f"got {value!r}.")
    return t


@dataclasses.dataclass(frozen=True)
class HeterogeneousPopulation:
    r"""Users of a product with segments, usage history and heterogeneous treatment effects.

    The seed notebook's ``create_experiment_population`` (an onboarding checklist tested on a
    30-day value score) as an outcome model. Covariates, drawn independently per unit:

    - ``segment`` in ``("new", "growing", "mature")`` with probabilities ``segment_shares``
      (notebook: 0.35, 0.40, 0.25);
    - ``prior_usage`` ~ Gamma(shape 2, scale 1.2);
    - ``account_age`` ~ Exponential(scale 14) (days);
    - ``is_team_account`` ~ Bernoulli(0.38).

    Potential outcomes (:math:`s_i` the segment, :math:`u_i` prior usage, :math:`a_i` account
    age, :math:`t_i` team account, :math:`\bar z_{N(i)}` the fraction of i's neighbours treated,
    0 for isolated units and without a graph):

    .. math::

        Y_i(0) &= \beta_0 + 4.8 \log(1 + u_i) + 0.18 a_i + 2.4 t_i + b_{s_i} + \varepsilon_i,
        \quad \varepsilon_i \sim N(0, \sigma^2)

        \tau_i &= \tau_0 + d_{s_i} + \delta_u \log(1 + u_i) + \delta_t t_i

        Y_i(z) &= Y_i(0) + \tau_i z_i + \gamma \, \bar z_{N(i)}

    with segment baselines :math:`b = (-3, 1.5, 4)`, segment effect shifts :math:`d = (2.2, 0.9, 0)`,
    :math:`\tau_0 = 1.4`, :math:`\delta_u = -0.35`, :math:`\delta_t = 0.5`, :math:`\sigma = 6`,
    :math:`\beta_0 = 25` by default (the notebook's values; its finite-population ATE is about 2.33).

    Parameters
    ----------
    effect : float, default 1.4
        :math:`\tau_0`, the effect intercept; shifting it shifts every unit's effect.
    segment_effect : 3 floats, default (2.2, 0.9, 0.0)
        :math:`d_s`, extra effect in each segment.
    usage_effect : float, default -0.35
        :math:`\delta_u`: heavier prior users benefit less.
    team_effect : float, default 0.5
        :math:`\delta_t`.
    baseline : float, default 25
    segment_baseline : 3 floats, default (-3.0, 1.5, 4.0)
    segment_shares : 3 floats, default (0.35, 0.40, 0.25)
    noise_sd : float, default 6
    spillover : float, default 0
        :math:`\gamma`, effect of going from no to all neighbours treated; needs a graph.

    Notes
    -----
    Estimands in :attr:`HeterogeneousOutcomes.truth` (finite-population averages over units):
    ``"direct effect"`` :math:`= \bar\tau`, ``"spillover effect"`` :math:`= \gamma \bar c` with
    :math:`\bar c` the share of units with at least one neighbour, ``"global effect"`` their
    sum; ``"average treatment effect"`` equals the direct effect (the ATE without interference).
    Per-segment averages of :math:`\tau_i` are in :attr:`HeterogeneousOutcomes.segment_effects`.

    Departures from the notebook (its bugs, corrected here): the notebook calls the average
    effect among new accounts ``true_att_if_all_new``, but it is a conditional average effect
    (CATE) of a segment, not an effect on the treated; and the notebook's population is tied to
    a hard-coded ``seed=10`` instead of the caller's ``rng``.

    References
    ----------
    Athey, S., & Imbens, G. W. (2017). The econometrics of randomized experiments. *Handbook of
    Economic Field Experiments*, 1, 73-140.

    Examples
    --------
    >>> from netexp.simulate import HeterogeneousPopulation
    >>> po = HeterogeneousPopulation().realize(20_000, rng=0)
    >>> round(po.truth["global effect"], 2)
    2.32
    >>> list(po.covariates.columns)
    ['segment', 'prior_usage', 'account_age', 'is_team_account']
    """

    effect: float = 1.4
    segment_effect: tuple = (2.2, 0.9, 0.0)
    usage_effect: float = -0.35
    team_effect: float = 0.5
    baseline: float = 25.0
    segment_baseline: tuple = (-3.0, 1.5, 4.0)
    segment_shares: tuple = (0.35, 0.40, 0.25)
    noise_sd: float = 6.0
    spillover: float = 0.0

    #: parameter that :func:`netexp.diagnostics.simulate_power` varies
    _effect_param = "effect"

    def __post_init__(self):
        for name in ("effect", "usage_effect", "team_effect", "baseline", "spillover"):
            v = getattr(self, name)
            if not np.isfinite(float(v)):
                raise InputError(f"HeterogeneousPopulation: {name} must be finite; got {v!r}.")
        object.__setattr__(self, "segment_effect", _triple("segment_effect", self.segment_effect))
        object.__setattr__(self, "segment_baseline", _triple("segment_baseline", self.segment_baseline))
        shares = _triple("segment_shares", self.segment_shares)
        if min(shares) < 0 or abs(sum(shares) - 1) > 1e-9:
            raise InputError(f"HeterogeneousPopulation: segment_shares must be non-negative and sum to 1; got "
                             f"{self.segment_shares!r}.")
        object.__setattr__(self, "segment_shares", shares)
        check_positive("HeterogeneousPopulation: noise_sd", self.noise_sd, allow_zero=True)

    def realize(self, graph_or_n_units: Any, *, rng=None) -> "HeterogeneousOutcomes":
        """Draw covariates and noise once; return the potential outcomes of every unit.

        Parameters
        ----------
        graph_or_n_units : Graph or int
            A graph (needed when ``spillover != 0``) or a number of units.
        rng : None, int, SeedSequence or Generator
        """
        graph, n = graph_and_size("HeterogeneousPopulation", graph_or_n_units)
        if graph is None and self.spillover != 0:
            raise InputError("HeterogeneousPopulation: spillover != 0 needs a graph; pass realize(graph, rng=...) "
                             "or set spillover=0.")
        g = check_rng(rng)
        seg = g.choice(3, size=n, p=np.asarray(self.segment_shares))
        usage = g.gamma(shape=2.0, scale=1.2, size=n)
        age = g.exponential(scale=14.0, size=n)
        team = g.binomial(1, 0.38, size=n)
        noise = g.normal(0.0, self.noise_sd, n) if self.noise_sd > 0 else np.zeros(n)
        lu = np.log1p(usage)
        base = (self.baseline + 4.8 * lu + 0.18 * age + 2.4 * team + np.asarray(self.segment_baseline)[seg])
        tau = self.effect + np.asarray(self.segment_effect)[seg] + self.usage_effect * lu + self.team_effect * team
        cov = pd.DataFrame({
            "segment": pd.Categorical.from_codes(seg, categories=list(SEGMENTS)),
            "prior_usage": usage, "account_age": age, "is_team_account": team,
        })
        return HeterogeneousOutcomes(self, graph, base, tau, noise, cov)


class HeterogeneousOutcomes(SimulatedOutcomes):
    """Realized potential outcomes of a :class:`HeterogeneousPopulation`.

    Attributes
    ----------
    tau : ndarray
        Unit-level effects of own treatment :math:`\\tau_i` (read-only).
    covariates : DataFrame
        ``segment``, ``prior_usage``, ``account_age``, ``is_team_account`` (a copy on every access).
    """

    def __init__(self, model, graph, base, tau, noise, covariates):
        self.model = model
        self.graph = graph
        self.n_units = int(tau.shape[0])
        self.base = _ro(base)
        self.tau = _ro(tau)
        self.noise = _ro(noise)
        self.noise_sd = float(model.noise_sd)
        self._covariates = covariates
        connected = 0.0 if graph is None else float(np.mean(np.asarray(graph.degree) > 0))
        direct = float(self.tau.mean())
        spill = float(model.spillover) * connected
        self._truth = {"global effect": direct + spill, "direct effect": direct, "spillover effect": spill,
                       "average treatment effect": direct}

    @property
    def truth(self) -> dict:
        return dict(self._truth)

    @property
    def segment_effects(self) -> pd.Series:
        """Average :math:`\\tau_i` within each segment (conditional average effects)."""
        seg = self._covariates["segment"]
        return pd.Series(self.tau, name="effect").groupby(seg.to_numpy(), observed=True).mean().reindex(list(SEGMENTS))

    def _mean(self, Z):
        Y = self.base + self.tau * Z
        if self.model.spillover != 0:
            Y = Y + self.model.spillover * fraction_treated_neighbors(self.graph, Z, counts=treated_neighbor_counts(
                self.graph, Z))
        return Y
