"""Outcome models with known potential outcomes, for simulation and design diagnosis."""

from ._linear_in_means import LinearInMeans, PotentialOutcomes

__all__ = ["LinearInMeans", "PotentialOutcomes"]
