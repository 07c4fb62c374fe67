"""Exposure mappings: what each unit sees of an assignment through the graph."""

from ._exposure import NeighborhoodExposure, exposure, fraction_treated_neighbors, treated_neighbor_counts

__all__ = ["NeighborhoodExposure", "exposure", "treated_neighbor_counts", "fraction_treated_neighbors"]
