"""Outcome models with known potential outcomes, for simulation and design diagnosis.

One protocol: ``model.realize(graph_or_n_units, rng=...)`` returns realized potential outcomes
with ``outcomes(z)`` (one assignment or a batch), ``truth`` (named estimands such as
``"global effect"``) and ``covariates`` (a DataFrame or None).
"""

from ._contagion import ThresholdContagion, ThresholdOutcomes
from ._custom import CustomOutcomes, CustomPotentialOutcomes, SimulatedOutcomes
from ._heterogeneous import HeterogeneousOutcomes, HeterogeneousPopulation
from ._linear_in_means import LinearInMeans, PotentialOutcomes

__all__ = ["LinearInMeans", "PotentialOutcomes", "HeterogeneousPopulation", "HeterogeneousOutcomes",
           "ThresholdContagion", "ThresholdOutcomes", "CustomOutcomes", "CustomPotentialOutcomes",
           "SimulatedOutcomes"]
