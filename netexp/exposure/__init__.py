"""Exposure mappings: what each unit sees of an assignment through the graph."""

from ._bits import PackedDraws, pack_draws, unpack_draws
from ._exposure import NeighborhoodExposure, exposure, fraction_treated_neighbors, treated_neighbor_counts
from ._multiarm import arm_shares, expected_arm_shares
from ._cost import ProbabilityCost, estimate_cost
from ._probabilities import ExposureProbabilities, exposure_probabilities
from ._mappings import (MAPPINGS, AronowSamii, CustomMapping, ExposureMapping, FractionalExposure, FractionBins,
                        FullNeighborhood, OwnTreatment, get_mapping, khop_graph)

__all__ = ["NeighborhoodExposure", "exposure", "treated_neighbor_counts", "fraction_treated_neighbors",
           "ExposureMapping", "AronowSamii", "FractionalExposure", "FullNeighborhood", "FractionBins", "OwnTreatment",
           "CustomMapping", "get_mapping", "MAPPINGS", "khop_graph", "PackedDraws", "pack_draws", "unpack_draws",
           "ExposureProbabilities", "exposure_probabilities",
           "arm_shares", "expected_arm_shares", "estimate_cost", "ProbabilityCost"]
